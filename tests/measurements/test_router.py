"""/v1/targets/{id}/measurements, /v1/measurements/{id} and their verification: what a report must
hold, who may report, read and verify, the evidence rule, the log, and idempotent retries."""

import uuid
from datetime import date
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import MakeKey, MakeOrg
from tests.factories import (
    ACTORS,
    AGREEMENTS,
    TODAY,
    World,
    assert_problem,
    create_agreement,
    day,
    get_ok,
    make_world,
    pin_today,
    walk,
)
from tests.targets.factories import (
    MEASUREMENTS,
    create_target,
    decide,
    log_tail,
    make_agreement,
    measurements_of,
    qualitative_body,
    report,
    review_evidence,
    snapshot,
    upload_evidence,
)

AS_OF = date(2025, 6, 1)


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@pytest.fixture
async def agreement(client: httpx2.AsyncClient, world: World) -> dict[str, Any]:
    return await make_agreement(client, world)


@pytest.fixture
async def target(client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]) -> dict[str, Any]:
    return await create_target(client, world.headers("editor"), agreement["id"])


@pytest.fixture
async def evidence(client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]) -> dict[str, Any]:
    return await upload_evidence(client, world.headers("participant"), agreement["id"])


def url_of(measurement: dict[str, Any]) -> str:
    return f"{MEASUREMENTS}/{measurement['id']}"


def verification_of(measurement: dict[str, Any]) -> str:
    return f"{MEASUREMENTS}/{measurement['id']}/verification"


# --- report and read --------------------------------------------------------------------------------


async def test_report_and_read_a_measurement(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any], target: dict[str, Any]
) -> None:
    participant = world.headers("participant")
    mine = await upload_evidence(client, participant, agreement["id"])
    theirs = await upload_evidence(client, world.headers("editor"), agreement["id"], title="Constancias")
    body = {
        "as_of": AS_OF.isoformat(),
        "value": 12,
        "comment": "Empresas atendidas en la misión comercial a Cracovia.",
        "evidence_ids": [theirs["id"], mine["id"]],
    }
    response = await client.post(measurements_of(target["id"]), json=body, headers=participant)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"].endswith(url_of(created))
    assert (created["target_id"], created["agreement_id"]) == (target["id"], agreement["id"])
    assert (created["as_of"], created["value"], created["comment"]) == (body["as_of"], 12, body["comment"])
    assert created["evidence_ids"] == sorted([mine["id"], theirs["id"]], key=uuid.UUID)
    assert created["status"] == "reported"
    assert created["reported_by_org_id"] == str(world.participant.id)
    assert (created["decided_at"], created["decided_by_org_id"], created["decision_note"]) == (None, None, None)

    read = await get_ok(client, response.headers["location"], participant)
    assert read.json() == created
    assert read.headers["etag"] == response.headers["etag"]
    cached = await client.get(url_of(created), headers={**participant, "If-None-Match": read.headers["etag"]})
    assert cached.status_code == 304
    listed = (await get_ok(client, measurements_of(target["id"]), world.headers("editor"))).json()["items"]
    assert listed == [created]


async def test_a_value_is_required_unless_the_target_is_qualitative(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any], target: dict[str, Any]
) -> None:
    participant = world.headers("participant")
    before = await snapshot(session)
    for body in ({"as_of": AS_OF.isoformat()}, {"as_of": AS_OF.isoformat(), "value": None}):
        response = await client.post(measurements_of(target["id"]), json=body, headers=participant)
        assert_problem(response, 422, loc=["body", "value"])
    assert await snapshot(session) == before

    adopted = await create_target(client, world.headers("editor"), agreement["id"], qualitative_body())
    without = await report(client, participant, adopted["id"], as_of=AS_OF, value=None)
    assert without["value"] is None
    with_value = await report(client, participant, adopted["id"], as_of=AS_OF, value=1)
    assert with_value["value"] == 1


async def test_as_of_may_be_today_but_not_in_the_future(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, target: dict[str, Any]
) -> None:
    participant = world.headers("participant")
    before = await snapshot(session)
    response = await client.post(
        measurements_of(target["id"]), json={"as_of": day(1).isoformat(), "value": 3}, headers=participant
    )
    assert_problem(response, 422, loc=["body", "as_of"])
    assert await snapshot(session) == before
    assert (await report(client, participant, target["id"], as_of=TODAY, value=3))["as_of"] == TODAY.isoformat()


async def test_evidence_must_be_documents_of_the_same_agreement(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    world: World,
    agreement: dict[str, Any],
    target: dict[str, Any],
    evidence: dict[str, Any],
) -> None:
    participant = world.headers("participant")
    other = await make_agreement(client, world)
    elsewhere = await upload_evidence(client, participant, other["id"])
    before = await snapshot(session)
    cases: list[tuple[list[str], list[str | int]]] = [
        ([evidence["id"], elsewhere["id"]], ["body", "evidence_ids", 1]),
        ([str(uuid.uuid4()), evidence["id"]], ["body", "evidence_ids", 0]),
    ]
    for evidence_ids, loc in cases:
        response = await client.post(
            measurements_of(target["id"]),
            json={"as_of": AS_OF.isoformat(), "value": 3, "evidence_ids": evidence_ids},
            headers=participant,
        )
        problem = assert_problem(response, 422, loc=loc)
        assert len(problem["errors"]) == 1
    assert await snapshot(session) == before
    # The same document cited twice is one citation.
    twice = await report(
        client, participant, target["id"], as_of=AS_OF, value=3, evidence_ids=[evidence["id"], evidence["id"]]
    )
    assert twice["evidence_ids"] == [evidence["id"]]


BODY_REFUSALS = [
    pytest.param({"value": "many"}, ["body", "value"], id="value-not-a-number"),
    pytest.param({"value": 1e16}, ["body", "value"], id="value-too-large"),
    pytest.param({"as_of": "2025-02-30"}, ["body", "as_of"], id="as-of-not-a-date"),
    pytest.param({"as_of": None}, ["body", "as_of"], id="as-of-missing"),
    pytest.param({"evidence_ids": ["not-a-uuid"]}, ["body", "evidence_ids", 0], id="evidence-id-not-a-uuid"),
    pytest.param({"evidence_ids": [str(uuid.uuid4()) for _ in range(51)]}, ["body", "evidence_ids"],
                 id="too-much-evidence"),
    pytest.param({"status": "verified"}, ["body", "status"], id="status-is-not-reported-by-the-reporter"),
    pytest.param({"comment": "x" * 5001}, ["body", "comment"], id="comment-too-long"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "loc"), BODY_REFUSALS)
async def test_report_refuses_what_cannot_be(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    world: World,
    target: dict[str, Any],
    fields: dict[str, Any],
    loc: list[str | int],
) -> None:
    before = await snapshot(session)
    body = {"as_of": AS_OF.isoformat(), "value": 3, **fields}
    response = await client.post(measurements_of(target["id"]), json=body, headers=world.headers("participant"))
    assert_problem(response, 422, loc=loc)
    assert await snapshot(session) == before


async def test_unknown_target_or_measurement_is_404(client: httpx2.AsyncClient, world: World) -> None:
    admin = world.headers("admin")
    missing_target = measurements_of(str(uuid.uuid4()))
    assert_problem(await client.post(missing_target, json={"as_of": AS_OF.isoformat(), "value": 1}, headers=admin), 404)
    assert_problem(await client.get(missing_target, headers=admin), 404)
    missing = {"id": str(uuid.uuid4())}
    assert_problem(await client.get(url_of(missing), headers=admin), 404)
    assert_problem(await client.post(verification_of(missing), json={"decision": "verified"}, headers=admin), 404)


async def test_measurements_are_listed_by_date_page_by_page(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any], target: dict[str, Any]
) -> None:
    participant = world.headers("participant")
    dates = [date(2025, 5, 1), date(2025, 2, 1), date(2025, 6, 10), date(2025, 2, 1), date(2025, 3, 15)]
    made = [(d, (await report(client, participant, target["id"], as_of=d, value=i))["id"]) for i, d in enumerate(dates)]
    other = await create_target(client, world.headers("editor"), agreement["id"])
    await report(client, participant, other["id"], as_of=AS_OF, value=1)
    listed = await walk(client, measurements_of(target["id"]), participant, limit=2)
    # By date; the same date in the order reported.
    assert [m["id"] for m in listed] == [m for _, m in sorted(made, key=lambda p: p[0])]


# --- verification ----------------------------------------------------------------------------------------


async def test_verify_a_measurement(
    client: httpx2.AsyncClient, world: World, target: dict[str, Any], evidence: dict[str, Any]
) -> None:
    measurement = await report(
        client, world.headers("participant"), target["id"], as_of=AS_OF, value=12, evidence_ids=[evidence["id"]]
    )
    response = await client.post(
        verification_of(measurement),
        json={"decision": "verified", "note": "Cotejado con la lista de asistencia."},
        headers=world.headers("editor"),
    )
    assert response.status_code == 200, response.text
    verified = response.json()
    assert verified["status"] == "verified"
    assert verified["decided_by_org_id"] == str(world.signatory.id)
    assert verified["decision_note"] == "Cotejado con la lista de asistencia."
    assert verified["decided_at"] is not None
    assert {k: verified[k] for k in ("as_of", "value", "evidence_ids", "reported_by_org_id")} == {
        k: measurement[k] for k in ("as_of", "value", "evidence_ids", "reported_by_org_id")
    }
    read = await get_ok(client, url_of(measurement), world.headers("editor"))
    assert read.json() == verified
    assert read.headers["etag"] == response.headers["etag"]
    # Verified, the measurement is public; its decision note, like a review note, is not.
    public = await get_ok(client, url_of(measurement), {})
    assert public.json() == {**verified, "decision_note": None}
    # The representation changed with the decision: a cached copy is stale.
    stale = await client.get(url_of(measurement), headers={**world.headers("participant"), "If-None-Match": '"x"'})
    assert stale.status_code == 200


@pytest.mark.parametrize(
    "reviews",
    [
        pytest.param([], id="no-evidence"),
        pytest.param(["rejected"], id="only-rejected-evidence"),
        pytest.param(["rejected", "rejected"], id="all-evidence-rejected"),
    ],
)
async def test_verification_needs_evidence_that_was_not_rejected(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    world: World,
    agreement: dict[str, Any],
    target: dict[str, Any],
    reviews: list[str],
) -> None:
    editor = world.headers("editor")
    documents = [(await upload_evidence(client, world.headers("participant"), agreement["id"]))["id"] for _ in reviews]
    for document, decision in zip(documents, reviews, strict=True):
        await review_evidence(client, editor, document, decision)
    measurement = await report(
        client, world.headers("participant"), target["id"], as_of=AS_OF, value=12, evidence_ids=documents
    )
    before = await snapshot(session)
    response = await client.post(verification_of(measurement), json={"decision": "verified"}, headers=editor)
    assert_problem(response, 409)
    assert await snapshot(session) == before
    assert (await get_ok(client, url_of(measurement), editor)).json() == measurement
    assert (await get_ok(client, f"/v1/targets/{target['id']}", editor)).json()["latest"] is None


@pytest.mark.parametrize(
    "reviews",
    [
        pytest.param([None], id="evidence-not-yet-reviewed"),
        pytest.param(["accepted"], id="accepted-evidence"),
        pytest.param(["rejected", "accepted"], id="one-rejected-one-accepted"),
        pytest.param(["rejected", None], id="one-rejected-one-pending"),
    ],
)
async def test_any_evidence_not_rejected_allows_verification(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any], target: dict[str, Any], reviews: list[str]
) -> None:
    editor = world.headers("editor")
    documents = [(await upload_evidence(client, world.headers("participant"), agreement["id"]))["id"] for _ in reviews]
    for document, decision in zip(documents, reviews, strict=True):
        if decision is not None:
            await review_evidence(client, editor, document, decision)
    measurement = await report(
        client, world.headers("participant"), target["id"], as_of=AS_OF, value=12, evidence_ids=documents
    )
    verified = await decide(client, editor, measurement["id"])
    assert verified["status"] == "verified"
    assert verified["evidence_ids"] == sorted(documents, key=uuid.UUID)
    assert (await get_ok(client, f"/v1/targets/{target['id']}", {})).json()["latest"] == {
        "value": 12,
        "as_of": AS_OF.isoformat(),
    }


async def test_a_measurement_can_be_rejected_without_evidence(
    client: httpx2.AsyncClient, world: World, target: dict[str, Any]
) -> None:
    measurement = await report(client, world.headers("participant"), target["id"], as_of=AS_OF, value=99)
    response = await client.post(
        verification_of(measurement),
        json={"decision": "rejected", "note": "Sin soporte documental."},
        headers=world.headers("editor"),
    )
    assert response.status_code == 200, response.text
    rejected = response.json()
    assert (rejected["status"], rejected["decision_note"]) == ("rejected", "Sin soporte documental.")
    assert rejected["decided_by_org_id"] == str(world.signatory.id)
    assert (await get_ok(client, f"/v1/targets/{target['id']}", {})).json()["latest"] is None


@pytest.mark.parametrize(
    ("first", "second"),
    [("verified", "verified"), ("verified", "rejected"), ("rejected", "verified"), ("rejected", "rejected")],
)
async def test_a_decision_is_final(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    world: World,
    target: dict[str, Any],
    evidence: dict[str, Any],
    first: str,
    second: str,
) -> None:
    editor, admin = world.headers("editor"), world.headers("admin")
    measurement = await report(
        client, world.headers("participant"), target["id"], as_of=AS_OF, value=12, evidence_ids=[evidence["id"]]
    )
    decided = await decide(client, editor, measurement["id"], first)
    before = await snapshot(session)
    response = await client.post(verification_of(measurement), json={"decision": second}, headers=admin)
    assert_problem(response, 409)
    assert await snapshot(session) == before
    assert (await get_ok(client, url_of(measurement), editor)).json() == decided


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"decision": "approved"}, id="unknown-decision"),
        pytest.param({}, id="no-decision"),
        pytest.param({"decision": "verified", "value": 3}, id="value-not-changed-by-verification"),
    ],
)
async def test_verification_refuses_a_bad_body(
    client: httpx2.AsyncClient, world: World, target: dict[str, Any], evidence: dict[str, Any], body: dict[str, Any]
) -> None:
    measurement = await report(
        client, world.headers("participant"), target["id"], as_of=AS_OF, value=12, evidence_ids=[evidence["id"]]
    )
    assert_problem(await client.post(verification_of(measurement), json=body, headers=world.headers("editor")), 422)
    assert (await get_ok(client, url_of(measurement), world.headers("editor"))).json()["status"] == "reported"


# --- the log ----------------------------------------------------------------------------------------------


async def test_each_write_logs_one_entry_filed_under_the_agreement_with_its_evidence(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    world: World,
    agreement: dict[str, Any],
    target: dict[str, Any],
    evidence: dict[str, Any],
) -> None:
    second = await upload_evidence(client, world.headers("editor"), agreement["id"], title="Constancias")
    cited = sorted([evidence["id"], second["id"]], key=uuid.UUID)
    entries = (await snapshot(session))[3]

    measurement = await report(
        client, world.headers("participant"), target["id"], as_of=AS_OF, value=12, evidence_ids=cited[::-1]
    )
    assert (await snapshot(session))[3] == entries + 1
    [created] = await log_tail(session, 1)
    assert (created["action"], created["resource_type"], created["resource_id"]) == (
        "create",
        "measurement",
        measurement["id"],
    )
    assert created["agreement_id"] == uuid.UUID(agreement["id"])
    assert created["actor_org_id"] == world.participant.id
    assert created["document"]["evidence_ids"] == cited
    assert (created["document"]["status"], float(created["document"]["value"])) == ("reported", 12)
    assert created["document"]["target_id"] == target["id"]

    await decide(client, world.headers("editor"), measurement["id"])
    assert (await snapshot(session))[3] == entries + 2
    [verified] = await log_tail(session, 1)
    assert (verified["action"], verified["resource_type"], verified["resource_id"]) == (
        "update",
        "measurement",
        measurement["id"],
    )
    assert verified["agreement_id"] == uuid.UUID(agreement["id"])
    assert verified["actor_org_id"] == world.signatory.id
    assert verified["document"]["evidence_ids"] == cited
    assert verified["document"]["status"] == "verified"

    history = await walk(client, f"{AGREEMENTS}/{agreement['id']}/history", world.headers("auditor"), limit=200)
    assert [(e["action"], e["resource_type"], e["resource_id"]) for e in history[-2:]] == [
        ("create", "measurement", measurement["id"]),
        ("update", "measurement", measurement["id"]),
    ]
    assert history[-1]["changes"]["status"] == {"from": "reported", "to": "verified"}


async def test_a_rejection_is_logged_with_the_evidence_it_cites(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    world: World,
    agreement: dict[str, Any],
    target: dict[str, Any],
    evidence: dict[str, Any],
) -> None:
    measurement = await report(
        client, world.headers("participant"), target["id"], as_of=AS_OF, value=12, evidence_ids=[evidence["id"]]
    )
    await decide(client, world.headers("admin"), measurement["id"], "rejected")
    [entry] = await log_tail(session, 1)
    assert (entry["action"], entry["resource_id"], entry["agreement_id"]) == (
        "update",
        measurement["id"],
        uuid.UUID(agreement["id"]),
    )
    assert entry["document"]["status"] == "rejected"
    assert entry["document"]["evidence_ids"] == [evidence["id"]]


# --- idempotent retries -----------------------------------------------------------------------------------


async def test_a_retried_report_with_the_same_idempotency_key_records_one_measurement(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, target: dict[str, Any], evidence: dict[str, Any]
) -> None:
    headers = {**world.headers("participant"), "Idempotency-Key": "medicion-2025-06"}
    body = {"as_of": AS_OF.isoformat(), "value": 12, "evidence_ids": [evidence["id"]]}
    before = await snapshot(session)
    first = await client.post(measurements_of(target["id"]), json=body, headers=headers)
    again = await client.post(measurements_of(target["id"]), json=body, headers=headers)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert first.json() == again.json()
    assert again.headers["location"] == first.headers["location"]
    assert await snapshot(session) == (before[0], before[1] + 1, before[2] + 1, before[3] + 1)

    changed = await client.post(measurements_of(target["id"]), json={**body, "value": 13}, headers=headers)
    assert_problem(changed, 422)
    assert (await snapshot(session))[1] == before[1] + 1
    # The key belongs to the API key that used it: another caller's same key is its own request.
    other = await client.post(
        measurements_of(target["id"]),
        json=body,
        headers={**world.headers("editor"), "Idempotency-Key": "medicion-2025-06"},
    )
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]


async def test_a_retried_verification_replays_instead_of_conflicting(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, target: dict[str, Any], evidence: dict[str, Any]
) -> None:
    measurement = await report(
        client, world.headers("participant"), target["id"], as_of=AS_OF, value=12, evidence_ids=[evidence["id"]]
    )
    headers = {**world.headers("editor"), "Idempotency-Key": "verificacion-1"}
    first = await client.post(verification_of(measurement), json={"decision": "verified"}, headers=headers)
    logged = (await snapshot(session))[3]
    again = await client.post(verification_of(measurement), json={"decision": "verified"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert (await snapshot(session))[3] == logged


# --- who may see unverified measurements -------------------------------------------------------------------

INSIDERS = ("admin", "editor", "legal_reviewer", "participant", "auditor")
OUTSIDERS = ("other_editor", "outsider", "anonymous")


@pytest.mark.parametrize("actor", ACTORS)
async def test_only_verified_measurements_are_shown_outside_the_agreement(
    client: httpx2.AsyncClient,
    world: World,
    target: dict[str, Any],
    evidence: dict[str, Any],
    actor: str,
) -> None:
    participant, editor = world.headers("participant"), world.headers("editor")
    made = {}
    for status, as_of in (
        ("reported", date(2025, 3, 1)),
        ("verified", date(2025, 4, 1)),
        ("rejected", date(2025, 5, 1)),
    ):
        measurement = await report(
            client, participant, target["id"], as_of=as_of, value=3, evidence_ids=[evidence["id"]]
        )
        if status != "reported":
            measurement = await decide(client, editor, measurement["id"], status)
        made[status] = measurement
    headers = world.headers(actor)
    listed = [m["id"] for m in (await get_ok(client, measurements_of(target["id"]), headers)).json()["items"]]
    singles = {status: await client.get(url_of(m), headers=headers) for status, m in made.items()}
    assert singles["verified"].status_code == 200
    assert singles["verified"].json() == made["verified"]
    if actor in INSIDERS:
        assert listed == [made[s]["id"] for s in ("reported", "verified", "rejected")]
        assert {s: r.json() for s, r in singles.items()} == made
    else:
        assert listed == [made["verified"]["id"]]
        missing = assert_problem(await client.get(f"{MEASUREMENTS}/{uuid.uuid4()}", headers=headers), 404)
        for status in ("reported", "rejected"):
            hidden = assert_problem(singles[status], 404)
            assert (hidden["title"], hidden["detail"]) == (missing["title"], missing["detail"])


@pytest.mark.parametrize("actor", ACTORS)
async def test_a_decision_note_is_shown_only_to_those_who_see_review_notes(
    client: httpx2.AsyncClient,
    world: World,
    agreement: dict[str, Any],
    target: dict[str, Any],
    evidence: dict[str, Any],
    actor: str,
) -> None:
    note = "Cotejado con la lista de asistencia; dos firmas dudosas."
    measurement = await report(
        client, world.headers("participant"), target["id"], as_of=AS_OF, value=5, evidence_ids=[evidence["id"]]
    )
    response = await client.post(
        verification_of(measurement), json={"decision": "verified", "note": note}, headers=world.headers("editor")
    )
    assert response.status_code == 200, response.text
    headers = world.headers(actor)
    single = (await get_ok(client, url_of(measurement), headers)).json()
    [listed] = (await get_ok(client, measurements_of(target["id"]), headers)).json()["items"]
    # The same rule as an evidence document's review note: the agreement's own people, auditors, admins.
    sees_review_notes = actor in INSIDERS
    assert (single["decision_note"], listed["decision_note"]) == ((note, note) if sees_review_notes else (None, None))
    assert single["status"] == "verified"
    # Nor does the agreement's history give it away to anyone outside the signatory.
    history = await walk(client, f"{AGREEMENTS}/{agreement['id']}/history", headers, limit=200)
    if actor not in ("admin", "editor", "legal_reviewer", "auditor"):
        assert note not in str(history)


@pytest.mark.parametrize("actor", ACTORS)
async def test_the_agreement_history_does_not_reveal_unverified_measurements(
    client: httpx2.AsyncClient,
    world: World,
    agreement: dict[str, Any],
    target: dict[str, Any],
    evidence: dict[str, Any],
    actor: str,
) -> None:
    secret = "Cifra preliminar, pendiente de cotejo."
    measurement = await report(
        client,
        world.headers("participant"),
        target["id"],
        as_of=AS_OF,
        value=987,
        evidence_ids=[evidence["id"]],
        comment=secret,
    )
    url = f"{AGREEMENTS}/{agreement['id']}/history"
    history = await walk(client, url, world.headers(actor), limit=200)
    [entry] = [e for e in history if e["resource_id"] == measurement["id"]]
    [uploaded] = [e for e in history if e["resource_id"] == evidence["id"]]
    if actor in INSIDERS:
        assert float(entry["changes"]["value"]["to"]) == 987
        assert entry["changes"]["comment"] == {"from": None, "to": secret}
        assert uploaded["changes"]["title"] == {"from": None, "to": evidence["title"]}
        return
    # The writes themselves are public (the transparency log is); what they hold is not, yet:
    # neither the measurement nor the evidence document nobody has accepted.
    assert (entry["action"], entry["resource_type"], entry["changes"]) == ("create", "measurement", {})
    assert (uploaded["action"], uploaded["resource_type"], uploaded["changes"]) == ("create", "evidence", {})
    assert secret not in str(history)

    # Once verified, the measurement is public, and so is what it says, page by page alike.
    await decide(client, world.headers("editor"), measurement["id"])
    for limit in (200, 1):
        history = await walk(client, url, world.headers(actor), limit=limit)
        entries = [e for e in history if e["resource_id"] == measurement["id"]]
        assert [(e["action"], e["changes"]) for e in entries[:1]] == [("create", {})]
        assert entries[1]["action"] == "update"
        assert entries[1]["changes"]["comment"] == {"from": None, "to": secret}
        assert float(entries[1]["changes"]["value"]["to"]) == 987
        assert entries[1]["changes"]["status"] == {"from": None, "to": "verified"}


# --- who may do what -------------------------------------------------------------------------------------

SCENARIOS = ("private", "public")
HIDDEN_FROM = {"private": {"other_editor": 404, "outsider": 404}, "public": {"other_editor": 403, "outsider": 403}}


def report_matrix() -> list[Any]:
    return [
        pytest.param(scenario, actor, expected, id=f"{scenario}-{actor}")
        for scenario in SCENARIOS
        for actor, expected in {
            "admin": 201,
            "editor": 201,
            "legal_reviewer": 403,
            "participant": 201,
            "auditor": 403,
            "anonymous": 401,
            **HIDDEN_FROM[scenario],
        }.items()
    ]


@pytest.mark.parametrize(("scenario", "actor", "expected"), report_matrix())
async def test_who_may_report_a_measurement(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    target = await create_target(client, world.headers("editor"), agreement["id"])
    evidence = await upload_evidence(client, world.headers("participant"), agreement["id"])
    before = await snapshot(session)
    response = await client.post(
        measurements_of(target["id"]),
        json={"as_of": AS_OF.isoformat(), "value": 4, "evidence_ids": [evidence["id"]]},
        headers=world.headers(actor),
    )
    if expected == 201:
        assert response.status_code == 201, response.text
        assert response.json()["reported_by_org_id"] == str(world.org_of(actor))
        assert await snapshot(session) == (before[0], before[1] + 1, before[2] + 1, before[3] + 1)
    else:
        assert_problem(response, expected)
        assert await snapshot(session) == before


def read_matrix() -> list[Any]:
    params = []
    for scenario in SCENARIOS:
        for status in ("reported", "verified"):
            for actor in ACTORS:
                visible = actor in INSIDERS or (scenario == "public" and status == "verified")
                params.append(pytest.param(scenario, status, actor, visible, id=f"{scenario}-{status}-{actor}"))
    return params


@pytest.mark.parametrize(("scenario", "status", "actor", "visible"), read_matrix())
async def test_who_may_read_a_measurement(
    client: httpx2.AsyncClient, world: World, scenario: str, status: str, actor: str, visible: bool
) -> None:
    agreement = await make_agreement(client, world, scenario)
    target = await create_target(client, world.headers("editor"), agreement["id"])
    evidence = await upload_evidence(client, world.headers("participant"), agreement["id"])
    measurement = await report(
        client, world.headers("participant"), target["id"], as_of=AS_OF, value=4, evidence_ids=[evidence["id"]]
    )
    if status == "verified":
        measurement = await decide(client, world.headers("editor"), measurement["id"])
    headers = world.headers(actor)
    single = await client.get(url_of(measurement), headers=headers)
    listed = await client.get(measurements_of(target["id"]), headers=headers)
    if visible:
        assert single.status_code == 200, single.text
        assert single.json() == measurement
        assert listed.json()["items"] == [measurement]
    else:
        assert_problem(single, 404)
        if scenario == "public":
            assert listed.status_code == 200
            assert listed.json()["items"] == []
        else:
            assert_problem(listed, 404)


def verify_matrix() -> list[Any]:
    return [
        pytest.param(scenario, actor, expected, id=f"{scenario}-{actor}")
        for scenario in SCENARIOS
        for actor, expected in {
            "admin": 200,
            "editor": 200,
            "legal_reviewer": 403,
            "participant": 403,
            "auditor": 403,
            "anonymous": 401,
            # A reported measurement is not theirs to see, on a public agreement or not.
            "other_editor": 404,
            "outsider": 404,
        }.items()
    ]


@pytest.mark.parametrize(("scenario", "actor", "expected"), verify_matrix())
@pytest.mark.parametrize("decision", ["verified", "rejected"])
async def test_who_may_verify_a_measurement(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    world: World,
    scenario: str,
    actor: str,
    expected: int,
    decision: str,
) -> None:
    agreement = await make_agreement(client, world, scenario)
    target = await create_target(client, world.headers("editor"), agreement["id"])
    evidence = await upload_evidence(client, world.headers("participant"), agreement["id"])
    measurement = await report(
        client, world.headers("participant"), target["id"], as_of=AS_OF, value=4, evidence_ids=[evidence["id"]]
    )
    before = await snapshot(session)
    response = await client.post(
        verification_of(measurement), json={"decision": decision}, headers=world.headers(actor)
    )
    current = (await get_ok(client, url_of(measurement), world.headers("admin"))).json()
    if expected == 200:
        assert response.status_code == 200, response.text
        assert current["status"] == decision
        assert current["decided_by_org_id"] == str(world.org_of(actor))
    else:
        assert_problem(response, expected)
        assert current == measurement
        assert await snapshot(session) == before


async def test_an_unlisted_contributor_cannot_cite_or_report_even_with_a_document_of_its_own(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    # Listed on the draft next door, the outsider uploads there, then tries this public agreement.
    editor, outsider = world.headers("editor"), world.headers("outsider")
    public = await make_agreement(client, world, "public")
    private = await make_agreement(client, world, "private")
    neighbour = await create_agreement(client, editor, world.signatory.id, participant_org_ids=[str(world.outsider.id)])
    own = await upload_evidence(client, outsider, neighbour["id"])
    before = await snapshot(session)
    for agreement, expected in ((public, 403), (private, 404)):
        target = await create_target(client, editor, agreement["id"])
        before = await snapshot(session)
        response = await client.post(
            measurements_of(target["id"]),
            json={"as_of": AS_OF.isoformat(), "value": 1, "evidence_ids": [own["id"]]},
            headers=outsider,
        )
        assert_problem(response, expected)
        assert await snapshot(session) == before
