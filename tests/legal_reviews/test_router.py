"""/v1/agreements/{id}/legal-reviews and /v1/legal-reviews/{id}: dated decisions, who may record
them, who may read their observations, If-Match, and their effect on the agreement."""

import csv
import io
import uuid
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
    add_review,
    assert_problem,
    count,
    create_agreement,
    get_ok,
    iso,
    make_world,
    moment,
    patch_current,
    pin_today,
    post_created,
    read_agreement,
    snapshot,
    walk,
)
from tests.targets.factories import upload_evidence

REVIEWS = "/v1/legal-reviews"


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


async def make_agreement(client: httpx2.AsyncClient, world: World, scenario: str = "draft") -> dict[str, Any]:
    fields: dict[str, Any] = {"participant_org_ids": [str(world.participant.id)]}
    if scenario == "public":
        fields["signed_on"] = iso(-30)
    return await create_agreement(client, world.headers("editor"), world.signatory.id, **fields)


def reviews_of(agreement: dict[str, Any]) -> str:
    return f"{AGREEMENTS}/{agreement['id']}/legal-reviews"


async def history_size(client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]) -> int:
    items = await walk(client, f"{AGREEMENTS}/{agreement['id']}/history", world.headers("admin"), limit=200)
    return len(items)


# --- create and read -----------------------------------------------------------------------------


async def test_create_and_read_a_legal_review(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world)
    body = {
        "kind": "council_approval",
        "requested_on": iso(-40),
        "decided_on": iso(-35),
        "outcome": "favorable_with_observations",
        "reference": "Acta de cabildo 12/2025",
        "reviewer": "Sindicatura Municipal",
        "observations": "Precisar el alcance de la cláusula de solución de controversias.",
        "checks": {"foreign_party_is_governmental": True, "within_competence": True, "is_not_a_treaty": None},
    }
    response = await client.post(reviews_of(agreement), json=body, headers=world.headers("legal_reviewer"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"].endswith(f"{REVIEWS}/{created['id']}")
    assert created["agreement_id"] == agreement["id"]
    assert {k: created[k] for k in body if k != "checks"} == {k: v for k, v in body.items() if k != "checks"}
    assert created["checks"] == {
        "foreign_party_is_governmental": True,
        "within_competence": True,
        "is_not_a_treaty": None,
        "dispute_clause_compliant": None,
    }
    assert created["document_id"] is None

    read = await get_ok(client, response.headers["location"], world.headers("editor"))
    assert read.json() == created
    assert read.headers["etag"] == response.headers["etag"]
    not_modified = await client.get(
        response.headers["location"], headers={**world.headers("editor"), "If-None-Match": read.headers["etag"]}
    )
    assert not_modified.status_code == 304


async def test_a_review_defaults_to_pending_with_unassessed_checks(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world)
    created = await add_review(client, world.headers("editor"), agreement["id"], kind="sre_dictamen")
    assert (created["outcome"], created["decided_on"]) == ("pending", None)
    assert set(created["checks"].values()) == {None}


async def test_reviews_are_listed_oldest_first_page_by_page(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world)
    lawyer = world.headers("legal_reviewer")
    made = [
        (await add_review(client, lawyer, agreement["id"], kind=kind))["id"]
        for kind in ("internal_legal", "council_approval", "state_congress", "sre_dictamen")
    ]
    other = await make_agreement(client, world)
    await add_review(client, lawyer, other["id"])
    listed = await walk(client, reviews_of(agreement), world.headers("editor"), limit=3)
    assert [r["id"] for r in listed] == made


async def test_unknown_agreement_or_review_is_404(client: httpx2.AsyncClient, world: World) -> None:
    admin = world.headers("admin")
    response = await client.post(
        f"{AGREEMENTS}/{uuid.uuid4()}/legal-reviews",
        json={"kind": "sre_dictamen", "requested_on": iso(-1)},
        headers=admin,
    )
    assert_problem(response, 404)
    assert_problem(await client.get(f"{AGREEMENTS}/{uuid.uuid4()}/legal-reviews", headers=admin), 404)
    assert_problem(await client.get(f"{REVIEWS}/{uuid.uuid4()}", headers=admin), 404)
    assert_problem(await client.patch(f"{REVIEWS}/{uuid.uuid4()}", json={}, headers={**admin, "If-Match": '"x"'}), 404)


# --- rules: 422 naming the field, nothing written ------------------------------------------------

CREATE_REFUSALS = [
    pytest.param({"outcome": "favorable"}, ["body", "decided_on"], id="decided-without-date"),
    pytest.param({"outcome": "unfavorable"}, ["body", "decided_on"], id="unfavorable-without-date"),
    pytest.param({"decided_on": iso(-5)}, ["body", "outcome"], id="dated-but-pending"),
    pytest.param({"decided_on": iso(-5), "outcome": "pending"}, ["body", "outcome"], id="dated-explicitly-pending"),
    pytest.param(
        {"requested_on": iso(-5), "decided_on": iso(-6), "outcome": "favorable"},
        ["body", "decided_on"],
        id="decided-before-requested",
    ),
    pytest.param({"requested_on": iso(1)}, ["body", "requested_on"], id="requested-in-the-future"),
    pytest.param({"decided_on": iso(1), "outcome": "favorable"}, ["body", "decided_on"], id="decided-in-the-future"),
    pytest.param({"kind": "notary"}, ["body", "kind"], id="kind"),
    pytest.param({"outcome": "approved"}, ["body", "outcome"], id="outcome"),
    pytest.param({"requested_on": None}, ["body", "requested_on"], id="requested-on-missing"),
    pytest.param({"checks": {"is_legal": True}}, ["body", "checks", "is_legal"], id="unknown-check"),
    pytest.param({"checks": {"within_competence": "maybe"}}, ["body", "checks", "within_competence"], id="check-type"),
    pytest.param({"document_id": str(uuid.uuid4())}, ["body", "document_id"], id="document-unknown"),
    pytest.param({"agreement_id": str(uuid.uuid4())}, ["body", "agreement_id"], id="agreement-id-not-settable"),
]


@pytest.mark.parametrize(("fields", "loc"), CREATE_REFUSALS)
async def test_create_refuses_a_decision_that_cannot_be(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, fields: dict[str, Any], loc: list[str | int]
) -> None:
    agreement = await make_agreement(client, world)
    before = await snapshot(session)
    body = {"kind": "sre_dictamen", "requested_on": iso(-10), **fields}
    response = await client.post(reviews_of(agreement), json=body, headers=world.headers("legal_reviewer"))
    assert_problem(response, 422, loc=loc)
    assert await snapshot(session) == before
    assert await read_agreement(client, agreement["id"], world.headers("editor")) == agreement


PATCH_REFUSALS = [
    pytest.param({"outcome": "favorable"}, ["body", "decided_on"], id="decided-without-date"),
    pytest.param({"decided_on": iso(-5)}, ["body", "outcome"], id="dated-but-pending"),
    pytest.param({"decided_on": iso(-25), "outcome": "favorable"}, ["body", "decided_on"], id="before-requested"),
    pytest.param(
        {"requested_on": iso(-1), "decided_on": iso(-2), "outcome": "favorable"}, ["body", "decided_on"], id="order"
    ),
    pytest.param({"kind": None}, ["body", "kind"], id="kind-null"),
    pytest.param({"requested_on": None}, ["body", "requested_on"], id="requested-null"),
    pytest.param({"outcome": None}, ["body", "outcome"], id="outcome-null"),
    pytest.param({"agreement_id": str(uuid.uuid4())}, ["body", "agreement_id"], id="agreement-id-not-movable"),
]


@pytest.mark.parametrize(("changes", "loc"), PATCH_REFUSALS)
async def test_patch_refuses_a_decision_that_cannot_be(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, changes: dict[str, Any], loc: list[str | int]
) -> None:
    agreement = await make_agreement(client, world)
    lawyer = world.headers("legal_reviewer")
    review = await add_review(client, lawyer, agreement["id"], kind="sre_dictamen", requested_on=iso(-20))
    before = await snapshot(session)
    response = await patch_current(client, f"{REVIEWS}/{review['id']}", lawyer, changes)
    assert_problem(response, 422, loc=loc)
    assert await snapshot(session) == before
    assert (await get_ok(client, f"{REVIEWS}/{review['id']}", lawyer)).json() == review


async def test_recording_the_decision_and_reopening_it(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world)
    lawyer = world.headers("legal_reviewer")
    review = await add_review(client, lawyer, agreement["id"], kind="sre_dictamen", requested_on=iso(-20))
    url = f"{REVIEWS}/{review['id']}"
    decided = await patch_current(
        client, url, lawyer, {"decided_on": iso(-2), "outcome": "favorable", "reference": "Oficio DGCP-123"}
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["outcome"], decided.json()["decided_on"]) == ("favorable", iso(-2))
    assert decided.json()["kind"] == "sre_dictamen"  # untouched
    assert moment(decided.json()["updated_at"]) > moment(review["updated_at"])
    assert (await read_agreement(client, agreement["id"], lawyer))["status"] == "cleared_for_signature"
    # Undo a decision recorded by mistake: back to pending, and the agreement back under review.
    reopened = await patch_current(client, url, lawyer, {"decided_on": None, "outcome": "pending"})
    assert reopened.status_code == 200, reopened.text
    assert (await read_agreement(client, agreement["id"], lawyer))["status"] == "under_review"


# --- effect on the agreement: updated_at and one log entry per write ----------------------------


async def test_each_write_bumps_the_agreement_and_logs_one_entry_under_it(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    agreement = await make_agreement(client, world, "public")
    lawyer, admin = world.headers("legal_reviewer"), world.headers("admin")
    entries, history = await count(session, "log_entries"), await history_size(client, world, agreement)

    review = await add_review(client, lawyer, agreement["id"])
    after_create = await read_agreement(client, agreement["id"], admin)
    assert moment(after_create["updated_at"]) > moment(agreement["updated_at"])
    assert await count(session, "log_entries") == entries + 1
    assert await history_size(client, world, agreement) == history + 1
    synced = await client.get(AGREEMENTS, params={"updated_since": agreement["updated_at"]}, headers=admin)
    assert [i["id"] for i in synced.json()["items"]] == [agreement["id"]]

    changed = await patch_current(client, f"{REVIEWS}/{review['id']}", lawyer, {"reviewer": "Consejería Jurídica"})
    assert changed.status_code == 200
    after_patch = await read_agreement(client, agreement["id"], admin)
    assert moment(after_patch["updated_at"]) > moment(after_create["updated_at"])
    assert await count(session, "log_entries") == entries + 2
    assert await history_size(client, world, agreement) == history + 2
    synced = await client.get(AGREEMENTS, params={"updated_since": after_create["updated_at"]}, headers=admin)
    assert [i["id"] for i in synced.json()["items"]] == [agreement["id"]]
    last = (await walk(client, f"{AGREEMENTS}/{agreement['id']}/history", admin, limit=200))[-1]
    assert (last["action"], last["resource_type"], last["resource_id"]) == ("update", "legal_review", review["id"])
    assert last["actor_org_id"] == str(world.signatory.id)
    assert last["changes"]["reviewer"] == {"from": None, "to": "Consejería Jurídica"}


async def test_a_retried_create_with_the_same_idempotency_key_records_one_review(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    agreement = await make_agreement(client, world)
    headers = {**world.headers("legal_reviewer"), "Idempotency-Key": "review-1"}
    body = {"kind": "council_approval", "requested_on": iso(-3)}
    first = await client.post(reviews_of(agreement), json=body, headers=headers)
    again = await client.post(reviews_of(agreement), json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await count(session, "legal_reviews") == 1


# --- If-Match -------------------------------------------------------------------------------------


async def test_patch_needs_a_current_if_match(client: httpx2.AsyncClient, session: AsyncSession, world: World) -> None:
    agreement = await make_agreement(client, world)
    lawyer, editor = world.headers("legal_reviewer"), world.headers("editor")
    review = await add_review(client, lawyer, agreement["id"])
    url = f"{REVIEWS}/{review['id']}"
    before = await snapshot(session)
    assert_problem(await client.patch(url, json={"reviewer": "x"}, headers=lawyer), 428)
    assert_problem(await client.patch(url, json={"reviewer": "x"}, headers={**lawyer, "If-Match": '"old"'}), 412)
    assert await snapshot(session) == before

    etag = (await get_ok(client, url, lawyer)).headers["etag"]
    first = await client.patch(url, json={"reviewer": "Síndico"}, headers={**lawyer, "If-Match": etag})
    assert first.status_code == 200, first.text
    assert first.headers["etag"] != etag
    second = await client.patch(url, json={"reference": "Oficio 9"}, headers={**editor, "If-Match": etag})
    assert_problem(second, 412)
    current = (await get_ok(client, url, lawyer)).json()
    assert (current["reviewer"], current["reference"]) == ("Síndico", None)


# --- who may do what --------------------------------------------------------------------------------

ALL_OK = dict.fromkeys(ACTORS, 200)
READ = {
    "draft": {**ALL_OK, "other_editor": 404, "outsider": 404, "anonymous": 404},
    "public": ALL_OK,
}
DENIED = {"participant": 403, "auditor": 403, "anonymous": 401}
WRITE = {
    "draft": {"admin": 201, "editor": 201, "legal_reviewer": 201, "other_editor": 404, "outsider": 404, **DENIED},
    "public": {"admin": 201, "editor": 201, "legal_reviewer": 201, "other_editor": 403, "outsider": 403, **DENIED},
}


def matrix(table: dict[str, dict[str, int]], *, created: int | None = None) -> list[Any]:
    return [
        pytest.param(scenario, actor, created if (created and expected == 201) else expected, id=f"{scenario}-{actor}")
        for scenario, by_actor in table.items()
        for actor, expected in by_actor.items()
    ]


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(READ))
async def test_who_may_list_reviews(
    client: httpx2.AsyncClient, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    review = await add_review(client, world.headers("legal_reviewer"), agreement["id"])
    response = await client.get(reviews_of(agreement), headers=world.headers(actor))
    if expected == 200:
        assert response.status_code == 200, response.text
        assert [r["id"] for r in response.json()["items"]] == [review["id"]]
    else:
        assert_problem(response, expected)


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(READ))
async def test_who_may_read_a_review(
    client: httpx2.AsyncClient, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    review = await add_review(client, world.headers("legal_reviewer"), agreement["id"])
    response = await client.get(f"{REVIEWS}/{review['id']}", headers=world.headers(actor))
    if expected == 200:
        assert response.status_code == 200, response.text
        assert response.json()["id"] == review["id"]
    else:
        hidden = assert_problem(response, 404)
        missing = assert_problem(await client.get(f"{REVIEWS}/{uuid.uuid4()}", headers=world.headers(actor)), 404)
        assert hidden["detail"] == missing["detail"]


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(WRITE))
async def test_who_may_record_a_review(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    before = await snapshot(session)
    response = await client.post(
        reviews_of(agreement), json={"kind": "internal_legal", "requested_on": iso(-2)}, headers=world.headers(actor)
    )
    if expected == 201:
        assert response.status_code == 201, response.text
        assert await count(session, "legal_reviews") == before[1] + 1
    else:
        assert_problem(response, expected)
        assert await snapshot(session) == before


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(WRITE, created=200))
async def test_who_may_change_a_review(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    review = await add_review(client, world.headers("legal_reviewer"), agreement["id"])
    url = f"{REVIEWS}/{review['id']}"
    etag = (await get_ok(client, url, world.headers("admin"))).headers["etag"]
    before = await snapshot(session)
    response = await client.patch(url, json={"reviewer": "Otro"}, headers={**world.headers(actor), "If-Match": etag})
    current = (await get_ok(client, url, world.headers("admin"))).json()
    if expected == 200:
        assert response.status_code == 200, response.text
        assert current["reviewer"] == "Otro"
    else:
        assert_problem(response, expected)
        assert current == review
        assert await snapshot(session) == before


# --- observations: only the signatory, auditors and admins read them -----------------------------

OBSERVERS = [
    ("admin", True),
    ("editor", True),
    ("legal_reviewer", True),
    ("auditor", True),
    ("other_editor", False),
    ("participant", False),
    ("outsider", False),
    ("anonymous", False),
]


@pytest.mark.parametrize(("actor", "sees"), OBSERVERS)
async def test_observations_are_shown_only_to_the_signatory_auditors_and_admins(
    client: httpx2.AsyncClient, world: World, actor: str, sees: bool
) -> None:
    agreement = await make_agreement(client, world, "public")
    note = "La contraparte no es un órgano de gobierno: revisar."
    review = await add_review(client, world.headers("legal_reviewer"), agreement["id"], observations=note)
    expected = note if sees else None
    headers = world.headers(actor)

    single = (await get_ok(client, f"{REVIEWS}/{review['id']}", headers)).json()
    assert single["observations"] == expected
    assert single["kind"] == "internal_legal"  # the public part is still there
    listed = (await get_ok(client, reviews_of(agreement), headers)).json()["items"]
    assert [r["observations"] for r in listed] == [expected]
    exported = await client.get(reviews_of(agreement), headers={**headers, "Accept": "text/csv"})
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["observations"] for r in rows] == [note if sees else ""]


# --- document_id on legal reviews and registrations (a regression a review found) -----------------


async def test_document_id_names_evidence_of_the_same_agreement(client: httpx2.AsyncClient, world: World) -> None:
    editor = world.headers("editor")
    agreement = await make_agreement(client, world, "public")
    other = await make_agreement(client, world, "public")
    mine = await upload_evidence(client, world.headers("participant"), agreement["id"])
    theirs = await upload_evidence(client, world.headers("participant"), other["id"])
    reviews = f"{AGREEMENTS}/{agreement['id']}/legal-reviews"
    registrations = f"{AGREEMENTS}/{agreement['id']}/registrations"
    review_body = {"kind": "internal_legal", "requested_on": iso(-200)}
    registration_body = {"registry": "sre", "submitted_on": iso(-10)}

    review = await post_created(client, reviews, {**review_body, "document_id": mine["id"]}, editor)
    assert review["document_id"] == mine["id"]
    registration = await post_created(client, registrations, {**registration_body, "document_id": mine["id"]}, editor)
    assert registration["document_id"] == mine["id"]

    for url, body in ((reviews, review_body), (registrations, registration_body)):
        response = await client.post(url, json={**body, "document_id": theirs["id"]}, headers=editor)
        assert_problem(response, 422, loc=["body", "document_id"])
