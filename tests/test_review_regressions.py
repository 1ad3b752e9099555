"""Regression tests for the defects a review found (one test each), asserting what an API user
would notice, on real PostgreSQL: lost updates between concurrent PATCHes, planned activities
leaking through the history, drafts deleted with their children, values rounded silently, NUL
characters and crafted cursors as 500s, huge Range headers, disguised webhook URLs, activities
past the calendar, document_id on reviews and registrations, subscriptions that outlive their key,
replays with a revoked key, and progress writes that left the agreement's updated_at behind."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.repository import HISTORY_SORT, SORTS
from app.api_keys import service as key_service
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.http.pagination import encode_cursor
from app.main import create_app
from app.models import Role
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from tests import conftest
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.db import drop_database
from tests.factories import (
    AGREEMENTS,
    TODAY,
    World,
    assert_problem,
    count,
    create_agreement,
    get_ok,
    iso,
    make_world,
    patch_current,
    pin_today,
    read_agreement,
    scalar,
    walk,
)
from tests.targets.factories import (
    TARGETS,
    create_target,
    decide,
    make_agreement,
    pdf,
    report,
    review_evidence,
    target_body,
    targets_of,
    upload_evidence,
)

WEBHOOKS = "/v1/webhooks"
ORGS = "/v1/organizations"
# A public address written as a literal: subscribing needs no DNS.
PUBLIC_HOOK = "https://93.184.215.14/hooks/pacta"


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


def history_of(agreement_id: str) -> str:
    return f"{AGREEMENTS}/{agreement_id}/history"


def activities_of(agreement_id: str) -> str:
    return f"{AGREEMENTS}/{agreement_id}/activities"


def activity_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "technical_exchange",
        "title": "Intercambio técnico sobre agua potable",
        "starts_at": "2025-07-01T10:00:00-06:00",
        "ends_at": "2025-07-01T14:00:00-06:00",
        "place": "Guadalajara, Jalisco",
    }
    body.update(fields)
    return body


async def delete_current(client: httpx2.AsyncClient, url: str, headers: dict[str, str]) -> httpx2.Response:
    etag = (await get_ok(client, url, headers)).headers["etag"]
    return await client.delete(url, headers={**headers, "If-Match": etag})


# --- 1. concurrent PATCHes of one legal review --------------------------------------------------------


@pytest.fixture
def committed_url() -> Iterator[str]:
    """A database of its own whose transactions really commit (the shared one rolls back)."""
    url = conftest.migrated_database("pacta_regressions")
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
async def committed_client(committed_url: str) -> AsyncIterator[tuple[httpx2.AsyncClient, dict[str, str]]]:
    """A client on the committed database, with an admin key there."""
    engine = make_engine(committed_url, pool_size=10)
    try:
        maker = make_sessionmaker(engine)
        app = create_app(conftest.test_settings())
        app.state.sessionmaker = maker
        pin_today(app, TODAY)
        async with unit_of_work(maker) as session:
            platform = await org_service.get_organization(session, PLATFORM_ORG_ID)
            _, secret = await key_service.issue_key(
                session, platform, role=Role.admin, name="regressions", expires_at=None, actor_org_id=PLATFORM_ORG_ID
            )
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, bearer(secret)
    finally:
        await engine.dispose()


async def _post(client: httpx2.AsyncClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post(url, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.mark.slow
async def test_concurrent_patches_with_one_if_match_let_only_one_through(
    committed_client: tuple[httpx2.AsyncClient, dict[str, str]],
) -> None:
    client, admin = committed_client
    gdl = await _post(
        client, ORGS, {"kind": "municipality", "name": "Municipio de Guadalajara", "inegi_code": "14039"}, admin
    )
    editor = bearer((await _post(client, f"{ORGS}/{gdl['id']}/api-keys", {"role": "editor"}, admin))["secret"])
    lawyer = bearer((await _post(client, f"{ORGS}/{gdl['id']}/api-keys", {"role": "legal_reviewer"}, admin))["secret"])
    agreement = await create_agreement(client, editor, uuid.UUID(gdl["id"]))
    favorable = {"outcome": "favorable", "decided_on": iso(-5)}
    for round_ in range(3):
        review = await _post(
            client,
            f"{AGREEMENTS}/{agreement['id']}/legal-reviews",
            {"kind": "sre_dictamen", "requested_on": iso(-60)},
            editor,
        )
        url = f"/v1/legal-reviews/{review['id']}"
        etag = (await get_ok(client, url, editor)).headers["etag"]
        # The editor records the decision while the legal reviewer corrects the oficio number.
        responses = await asyncio.gather(
            client.patch(url, json=favorable, headers={**editor, "If-Match": etag}),
            client.patch(url, json={"reference": f"SRE/{round_}"}, headers={**lawyer, "If-Match": etag}),
        )
        assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
        assert_problem(next(r for r in responses if r.status_code == 412), 412)
        winner = next(r for r in responses if r.status_code == 200).json()
        stored = (await get_ok(client, url, editor)).json()
        assert (stored["outcome"], stored["reference"]) == (winner["outcome"], winner["reference"])
        if stored["outcome"] != "favorable":  # the correction won: the decision is recorded after it
            patched = await patch_current(client, url, editor, favorable)
            assert patched.status_code == 200, patched.text
        # The SRE dictamen is favorable: so is what the agreement says, and what the log recorded.
        assert (await read_agreement(client, agreement["id"], editor))["status"] == "cleared_for_signature"
        history = await walk(client, f"{AGREEMENTS}/{agreement['id']}/history", editor, limit=200)
        logged = [e for e in history if e["resource_id"] == review["id"]]
        assert [e["changes"].get("outcome", {}).get("to") for e in logged][-1] == "favorable"


# --- 2. planned activities in the history -------------------------------------------------------------


async def test_history_hides_a_planned_activity_from_anonymous_until_confirmed(
    client: httpx2.AsyncClient, world: World
) -> None:
    agreement = await make_agreement(client, world, "public")
    secret = {"title": "Reunión reservada con inversionistas", "place": "Sala 3", "description": "Agenda privada"}
    proposed = await _post(
        client, activities_of(agreement["id"]), activity_body(**secret), world.headers("participant")
    )
    assert proposed["status"] == "planned"

    def about_activity(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in entries if e["resource_id"] == proposed["id"]]

    anonymous = about_activity(await walk(client, history_of(agreement["id"]), {}, limit=200))
    assert len(anonymous) == 1
    for value in secret.values():
        assert value not in str(anonymous), anonymous
    # Its own people still see what was proposed.
    insider = about_activity(await walk(client, history_of(agreement["id"]), world.headers("editor"), limit=200))
    assert insider[0]["changes"]["title"]["to"] == secret["title"]

    confirmed = await patch_current(
        client, f"/v1/activities/{proposed['id']}", world.headers("editor"), {"status": "confirmed"}
    )
    assert confirmed.status_code == 200, confirmed.text
    anonymous = about_activity(await walk(client, history_of(agreement["id"]), {}, limit=200))
    assert len(anonymous) == 2
    shown = anonymous[-1]["changes"]
    assert {field: shown[field]["to"] for field in secret} == secret
    assert shown["status"]["to"] == "confirmed"


# --- 3. deleting drafts with children, targets with evidence ------------------------------------------


async def test_drafts_with_children_and_targets_with_evidence_are_not_deleted(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    editor = world.headers("editor")
    with_target = await make_agreement(client, world, "private")
    await create_target(client, editor, with_target["id"])
    with_evidence = await make_agreement(client, world, "private")
    await upload_evidence(client, world.headers("participant"), with_evidence["id"])
    with_activity = await make_agreement(client, world, "private")
    await _post(client, activities_of(with_activity["id"]), activity_body(), editor)

    rows = (
        await count(session, "agreements"),
        await count(session, "targets"),
        await count(session, "evidence_documents"),
        await count(session, "activities"),
        await count(session, "log_entries"),
    )
    for draft in (with_target, with_evidence, with_activity):
        assert draft["status"] == "draft"
        response = await delete_current(client, f"{AGREEMENTS}/{draft['id']}", editor)
        assert_problem(response, 409)
        assert (await read_agreement(client, draft["id"], editor))["id"] == draft["id"]
    assert len(await walk(client, targets_of(with_target["id"]), editor, limit=200)) == 1
    assert len(await walk(client, f"{AGREEMENTS}/{with_evidence['id']}/evidence", editor, limit=200)) == 1
    assert len(await walk(client, activities_of(with_activity["id"]), editor, limit=200)) == 1

    # A target that evidence was filed under stays too.
    public = await make_agreement(client, world, "public")
    target = await create_target(client, editor, public["id"])
    filed = await client.post(
        f"{AGREEMENTS}/{public['id']}/evidence",
        files={"file": ("lista.pdf", pdf(), "application/pdf")},
        data={"title": "Lista", "document_type": "attendance_list", "target_id": target["id"]},
        headers=world.headers("participant"),
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["target_id"] == target["id"]
    response = await delete_current(client, f"{TARGETS}/{target['id']}", editor)
    assert_problem(response, 409)
    assert (await get_ok(client, f"{TARGETS}/{target['id']}", editor)).json()["id"] == target["id"]
    evidence = (await get_ok(client, f"/v1/evidence/{filed.json()['id']}", editor)).json()
    assert evidence["target_id"] == target["id"]
    assert (
        await count(session, "agreements"),
        await count(session, "targets"),
        await count(session, "evidence_documents"),
        await count(session, "activities"),
    ) == (rows[0] + 1, rows[1] + 1, rows[2] + 1, rows[3])


# --- 4. four decimal places ---------------------------------------------------------------------------


async def test_values_with_more_than_four_decimals_are_refused_and_four_are_kept(
    client: httpx2.AsyncClient, world: World
) -> None:
    editor, participant = world.headers("editor"), world.headers("participant")
    agreement = await make_agreement(client, world, "public")
    too_fine: list[tuple[dict[str, Any], list[str | int]]] = [
        (target_body(baseline={"value": 1.23456}), ["body", "baseline", "value"]),
        (
            target_body(milestones=[{"months": 6, "target_value": 10.00001}]),
            ["body", "milestones", 0, "target_value"],
        ),
    ]
    for body, loc in too_fine:
        assert_problem(await client.post(targets_of(agreement["id"]), json=body, headers=editor), 422, loc=loc)

    target = await create_target(
        client,
        editor,
        agreement["id"],
        target_body(baseline={"value": 1.2345}, milestones=[{"months": 6, "target_value": 10.0001}]),
    )
    read = (await get_ok(client, f"{TARGETS}/{target['id']}", editor)).json()
    assert read["baseline"]["value"] == 1.2345
    assert read["milestones"][0]["target_value"] == 10.0001

    evidence = await upload_evidence(client, participant, agreement["id"])
    response = await client.post(
        f"{TARGETS}/{target['id']}/measurements",
        json={"as_of": iso(-10), "value": 3.14159, "evidence_ids": [evidence["id"]]},
        headers=participant,
    )
    assert_problem(response, 422, loc=["body", "value"])
    measurement = await report(
        client, participant, target["id"], as_of=TODAY.replace(day=5), value=3.1416, evidence_ids=[evidence["id"]]
    )
    assert measurement["value"] == 3.1416
    assert (await get_ok(client, f"/v1/measurements/{measurement['id']}", participant)).json()["value"] == 3.1416


# --- 5. NUL characters --------------------------------------------------------------------------------


async def test_nul_characters_are_a_422_and_write_nothing(
    client: httpx2.AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
) -> None:
    response = await client.get(AGREEMENTS, params={"q": "a\x00b"})
    assert_problem(response, 422)

    before = (await count(session, "organizations"), await count(session, "log_entries"))
    response = await client.post(ORGS, json={"kind": "university", "name": "Universidad\u0000X"}, headers=admin_headers)
    assert_problem(response, 422)
    assert (await count(session, "organizations"), await count(session, "log_entries")) == before


# --- 6. crafted cursors -------------------------------------------------------------------------------


async def test_crafted_cursors_are_a_422(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world, "public")
    huge = encode_cursor(HISTORY_SORT, (2**64,))
    response = await client.get(history_of(agreement["id"]), params={"cursor": huge})
    assert_problem(response, 422, loc=["query", "cursor"])

    overflowing = encode_cursor(SORTS["-updated_at"], ("0001-01-01T00:00:00+14:00", str(uuid.uuid4())))
    response = await client.get(AGREEMENTS, params={"cursor": overflowing})
    assert_problem(response, 422, loc=["query", "cursor"])


# --- 7. a Range header with a number too long to parse ------------------------------------------------


async def test_a_range_with_thousands_of_digits_gets_the_whole_file(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world, "public")
    participant = world.headers("participant")
    content = pdf()
    uploaded = await client.post(
        f"{AGREEMENTS}/{agreement['id']}/evidence",
        files={"file": ("lista.pdf", content, "application/pdf")},
        data={"title": "Lista", "document_type": "attendance_list"},
        headers=participant,
    )
    assert uploaded.status_code == 201, uploaded.text
    response = await client.get(
        f"/v1/evidence/{uploaded.json()['id']}/content",
        headers={**participant, "Range": "bytes=" + "9" * 5000 + "-"},
    )
    assert response.status_code == 200, response.text
    assert response.content == content


# --- 8. malformed or disguised webhook URLs -----------------------------------------------------------


async def test_malformed_or_disguised_webhook_urls_are_refused(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    urls = [
        "https://[::1",
        "https://a..b/",
        "https://1.1.1.1:99999/hook",
        "https://[64:ff9b::a00:1]/",  # NAT64 for 10.0.0.1
        "https://[::7f00:1]/",  # IPv4-compatible 127.0.0.1
        "https://[2002:a9fe:a9fe::1]/",  # 6to4 for 169.254.169.254
        "https://[fec0::1]/",  # site-local
        "https://[::ffff:0:a9fe:a9fe]/",  # IPv4-translated 169.254.169.254
    ]
    before = await count(session, "webhook_subscriptions")
    statuses = {}
    for url in urls:
        response = await client.post(
            WEBHOOKS, json={"url": url, "event_types": ["agreement.*"]}, headers=world.headers("editor")
        )
        statuses[url] = response.status_code
        if response.status_code == 422:
            assert_problem(response, 422, loc=["body", "url"])
    assert statuses == dict.fromkeys(urls, 422)
    assert await count(session, "webhook_subscriptions") == before


# --- 9. an activity that ends past the calendar in the organizer's offset -----------------------------


async def test_an_activity_ending_past_year_9999_in_its_offset_is_a_422(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    agreement = await make_agreement(client, world, "public")
    before = await count(session, "activities")
    response = await client.post(
        activities_of(agreement["id"]),
        json=activity_body(starts_at="9999-12-31T22:00:00+01:00", ends_at="9999-12-31T23:30:00Z"),
        headers=world.headers("editor"),
    )
    assert_problem(response, 422)
    assert await count(session, "activities") == before


# --- 10. document_id on legal reviews and registrations -----------------------------------------------


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

    review = await _post(client, reviews, {**review_body, "document_id": mine["id"]}, editor)
    assert review["document_id"] == mine["id"]
    registration = await _post(client, registrations, {**registration_body, "document_id": mine["id"]}, editor)
    assert registration["document_id"] == mine["id"]

    for url, body in ((reviews, review_body), (registrations, registration_body)):
        response = await client.post(url, json={**body, "document_id": theirs["id"]}, headers=editor)
        assert_problem(response, 422, loc=["body", "document_id"])


# --- 11. webhook subscriptions and the key that made them ---------------------------------------------


async def _deliveries(session: AsyncSession, subscription_id: str) -> int:
    return int(
        await scalar(
            session,
            "SELECT count(*) FROM webhook_deliveries WHERE subscription_id = :id",
            id=uuid.UUID(subscription_id),
        )
    )


async def test_a_subscription_stops_with_its_key_and_changes_only_with_its_role(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, admin_headers: dict[str, str]
) -> None:
    editor = world.headers("editor")
    key = await _post(client, f"{ORGS}/{world.signatory.id}/api-keys", {"role": "editor"}, admin_headers)
    subscriber = bearer(key["secret"])
    subscription = await _post(client, WEBHOOKS, {"url": PUBLIC_HOOK, "event_types": ["agreement.*"]}, subscriber)
    url = f"{WEBHOOKS}/{subscription['id']}"

    agreement = await make_agreement(client, world, "public")
    delivered = await _deliveries(session, subscription["id"])
    assert delivered >= 1, "the live key's subscription receives the agreement's events"
    # Another role of the same organization may read it, not redirect or remove it.
    lawyer = world.headers("legal_reviewer")
    assert (await get_ok(client, url, lawyer)).json()["url"] == PUBLIC_HOOK
    assert_problem(await patch_current(client, url, lawyer, {"url": "https://93.184.215.15/elsewhere"}), 403)
    assert_problem(await delete_current(client, url, lawyer), 403)
    assert (await get_ok(client, url, subscriber)).json()["url"] == PUBLIC_HOOK

    revoked = await client.delete(f"{ORGS}/{world.signatory.id}/api-keys/{key['id']}", headers=admin_headers)
    assert revoked.status_code == 204, revoked.text
    changed = await patch_current(client, f"{AGREEMENTS}/{agreement['id']}", editor, {"summary": "Nuevo resumen"})
    assert changed.status_code == 200, changed.text
    assert await _deliveries(session, subscription["id"]) == delivered, "a revoked key's subscription gets nothing"

    # An admin may change and remove the platform's subscriptions, whichever role made them.
    auditor_key = await _post(client, f"{ORGS}/{PLATFORM_ORG_ID}/api-keys", {"role": "auditor"}, admin_headers)
    platform = await _post(
        client, WEBHOOKS, {"url": PUBLIC_HOOK, "event_types": ["agreement.*"]}, bearer(auditor_key["secret"])
    )
    platform_url = f"{WEBHOOKS}/{platform['id']}"
    patched = await patch_current(client, platform_url, admin_headers, {"description": "Cambiada por admin"})
    assert patched.status_code == 200, patched.text
    assert (await delete_current(client, platform_url, admin_headers)).status_code == 204


# --- 12. replays need a live key ----------------------------------------------------------------------


async def test_a_replay_after_the_key_is_revoked_is_a_401(
    client: httpx2.AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
) -> None:
    key = await _post(client, f"{ORGS}/{PLATFORM_ORG_ID}/api-keys", {"role": "admin"}, admin_headers)
    headers = {**bearer(key["secret"]), "Idempotency-Key": f"org-{uuid.uuid4()}"}
    body = {"kind": "university", "name": f"Universidad {uuid.uuid4().hex[:8]}"}
    first = await client.post(ORGS, json=body, headers=headers)
    assert first.status_code == 201, first.text
    replayed = await client.post(ORGS, json=body, headers=headers)
    assert (replayed.status_code, replayed.json()) == (201, first.json())

    revoked = await client.delete(f"{ORGS}/{PLATFORM_ORG_ID}/api-keys/{key['id']}", headers=admin_headers)
    assert revoked.status_code == 204, revoked.text
    organizations = await count(session, "organizations")
    response = await client.post(ORGS, json=body, headers=headers)
    assert_problem(response, 401)
    assert first.json()["id"] not in response.text
    assert await count(session, "organizations") == organizations


# --- 13. progress writes move the agreement's updated_at ----------------------------------------------


async def test_progress_writes_move_the_agreements_updated_at(client: httpx2.AsyncClient, world: World) -> None:
    editor, participant = world.headers("editor"), world.headers("participant")
    agreement = await make_agreement(client, world, "public")
    target = await create_target(client, editor, agreement["id"])
    state: dict[str, Any] = {}

    async def upload() -> None:
        state["evidence"] = (await upload_evidence(client, participant, agreement["id"]))["id"]

    async def accept() -> None:
        await review_evidence(client, editor, state["evidence"], "accepted")

    async def report_one() -> None:
        measurement = await report(
            client, participant, target["id"], as_of=TODAY.replace(day=1), value=4, evidence_ids=[state["evidence"]]
        )
        state["measurement"] = measurement["id"]

    async def verify() -> None:
        await decide(client, editor, state["measurement"], "verified")

    for step in (upload, accept, report_one, verify):
        before = (await read_agreement(client, agreement["id"], editor))["updated_at"]
        await step()
        after = (await read_agreement(client, agreement["id"], editor))["updated_at"]
        assert datetime.fromisoformat(after) > datetime.fromisoformat(before), step.__name__
        found = await walk(client, AGREEMENTS, editor, {"updated_since": before}, limit=200)
        assert agreement["id"] in [a["id"] for a in found], step.__name__
