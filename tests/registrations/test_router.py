"""/v1/agreements/{id}/registrations and /v1/registrations/{id}: submissions to the SRE (and other)
registries, their rules, who may record and read them, If-Match, and their effect on the agreement."""

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
    add_registration,
    assert_problem,
    count,
    create_agreement,
    get_ok,
    iso,
    make_world,
    moment,
    patch_current,
    pin_today,
    read_agreement,
    snapshot,
    walk,
)

REGISTRATIONS = "/v1/registrations"


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


async def make_agreement(client: httpx2.AsyncClient, world: World, scenario: str = "public") -> dict[str, Any]:
    fields: dict[str, Any] = {"participant_org_ids": [str(world.participant.id)]}
    if scenario == "public":
        fields["signed_on"] = iso(-30)
    return await create_agreement(client, world.headers("editor"), world.signatory.id, **fields)


def registrations_of(agreement: dict[str, Any]) -> str:
    return f"{AGREEMENTS}/{agreement['id']}/registrations"


# --- create and read -----------------------------------------------------------------------------


async def test_create_and_read_a_registration(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world)
    body = {
        "registry": "sre",
        "status": "registered",
        "submitted_on": iso(-20),
        "registered_on": iso(-5),
        "registry_number": "  SRE-AI-2025-0103  ",
        "observations": "Inscrito tras subsanar la falta del acta de cabildo.",
    }
    response = await client.post(registrations_of(agreement), json=body, headers=world.headers("editor"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"].endswith(f"{REGISTRATIONS}/{created['id']}")
    assert created["agreement_id"] == agreement["id"]
    assert created["registry_number"] == "SRE-AI-2025-0103"
    assert {k: created[k] for k in ("registry", "status", "submitted_on", "registered_on", "observations")} == {
        k: body[k] for k in ("registry", "status", "submitted_on", "registered_on", "observations")
    }
    read = await get_ok(client, response.headers["location"], world.headers("editor"))
    assert read.json() == created
    assert read.headers["etag"] == response.headers["etag"]
    cached = await client.get(
        response.headers["location"], headers={**world.headers("editor"), "If-None-Match": read.headers["etag"]}
    )
    assert cached.status_code == 304
    assert (await read_agreement(client, agreement["id"], world.headers("editor")))[
        "registration_status"
    ] == "registered"


async def test_a_registration_defaults_to_submitted(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world)
    created = await add_registration(client, world.headers("editor"), agreement["id"])
    assert (created["status"], created["registered_on"], created["registry_number"]) == ("submitted", None, None)


async def test_registrations_are_listed_oldest_first_page_by_page(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world)
    editor = world.headers("editor")
    made = [
        (await add_registration(client, editor, agreement["id"], registry=registry))["id"]
        for registry in ("sre", "state", "other", "sre")
    ]
    other = await make_agreement(client, world)
    await add_registration(client, editor, other["id"])
    assert [r["id"] for r in await walk(client, registrations_of(agreement), editor, limit=3)] == made


async def test_unknown_agreement_or_registration_is_404(client: httpx2.AsyncClient, world: World) -> None:
    admin = world.headers("admin")
    response = await client.post(
        f"{AGREEMENTS}/{uuid.uuid4()}/registrations", json={"registry": "sre", "submitted_on": iso(-1)}, headers=admin
    )
    assert_problem(response, 404)
    assert_problem(await client.get(f"{AGREEMENTS}/{uuid.uuid4()}/registrations", headers=admin), 404)
    assert_problem(await client.get(f"{REGISTRATIONS}/{uuid.uuid4()}", headers=admin), 404)
    assert_problem(
        await client.patch(f"{REGISTRATIONS}/{uuid.uuid4()}", json={}, headers={**admin, "If-Match": '"x"'}), 404
    )


# --- rules ---------------------------------------------------------------------------------------


async def test_an_unsigned_agreement_cannot_be_registered(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    agreement = await make_agreement(client, world, "draft")
    before = await snapshot(session)
    response = await client.post(
        registrations_of(agreement), json={"registry": "sre", "submitted_on": iso(-1)}, headers=world.headers("editor")
    )
    assert_problem(response, 422, loc=["body", "submitted_on"])
    assert await snapshot(session) == before
    assert (await read_agreement(client, agreement["id"], world.headers("editor")))["registration_status"] == (
        "not_applicable"
    )


CREATE_REFUSALS = [
    pytest.param({"status": "registered", "registered_on": iso(-2)}, ["body", "registry_number"], id="no-number"),
    pytest.param({"status": "registered", "registry_number": "SRE-1"}, ["body", "registered_on"], id="no-date"),
    pytest.param({"status": "registered"}, ["body", "registry_number"], id="neither"),
    pytest.param(
        {"status": "registered", "registered_on": iso(-2), "registry_number": "   "},
        ["body", "registry_number"],
        id="blank-number",
    ),
    pytest.param(
        {"status": "registered", "submitted_on": iso(-5), "registered_on": iso(-6), "registry_number": "SRE-1"},
        ["body", "registered_on"],
        id="registered-before-submitted",
    ),
    pytest.param({"submitted_on": iso(-31)}, ["body", "submitted_on"], id="submitted-before-signature"),
    pytest.param({"submitted_on": iso(1)}, ["body", "submitted_on"], id="submitted-in-the-future"),
    pytest.param(
        {"status": "registered", "registered_on": iso(1), "registry_number": "SRE-1"},
        ["body", "registered_on"],
        id="registered-in-the-future",
    ),
    pytest.param({"registered_on": iso(-2)}, ["body", "registered_on"], id="registered-on-but-only-submitted"),
    pytest.param({"registry": "un"}, ["body", "registry"], id="registry"),
    pytest.param({"status": "pending"}, ["body", "status"], id="status"),
    pytest.param({"submitted_on": None}, ["body", "submitted_on"], id="submitted-on-missing"),
    pytest.param({"document_id": str(uuid.uuid4())}, ["body", "document_id"], id="document-unknown"),
    pytest.param({"registry_kind": "sre"}, ["body", "registry_kind"], id="internal-name-not-accepted"),
]


@pytest.mark.parametrize(("fields", "loc"), CREATE_REFUSALS)
async def test_create_refuses_what_cannot_be(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, fields: dict[str, Any], loc: list[str | int]
) -> None:
    agreement = await make_agreement(client, world)
    before = await snapshot(session)
    body = {"registry": "sre", "submitted_on": iso(-10), **fields}
    response = await client.post(registrations_of(agreement), json=body, headers=world.headers("editor"))
    assert_problem(response, 422, loc=loc)
    assert await snapshot(session) == before
    assert await read_agreement(client, agreement["id"], world.headers("editor")) == agreement


PATCH_REFUSALS = [
    pytest.param({"status": "registered"}, ["body", "registry_number"], id="registered-without-number"),
    pytest.param({"status": "registered", "registry_number": "SRE-2"}, ["body", "registered_on"], id="without-date"),
    pytest.param(
        {"status": "registered", "registered_on": iso(-11), "registry_number": "SRE-2"},
        ["body", "registered_on"],
        id="registered-before-submitted",
    ),
    pytest.param({"submitted_on": iso(-40)}, ["body", "submitted_on"], id="before-signature"),
    pytest.param({"status": None}, ["body", "status"], id="status-null"),
    pytest.param({"registry": None}, ["body", "registry"], id="registry-null"),
    pytest.param({"submitted_on": None}, ["body", "submitted_on"], id="submitted-null"),
    pytest.param({"agreement_id": str(uuid.uuid4())}, ["body", "agreement_id"], id="agreement-id-not-movable"),
]


@pytest.mark.parametrize(("changes", "loc"), PATCH_REFUSALS)
async def test_patch_refuses_what_cannot_be(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, changes: dict[str, Any], loc: list[str | int]
) -> None:
    agreement = await make_agreement(client, world)
    editor = world.headers("editor")
    registration = await add_registration(client, editor, agreement["id"], submitted_on=iso(-10))
    before = await snapshot(session)
    response = await patch_current(client, f"{REGISTRATIONS}/{registration['id']}", editor, changes)
    assert_problem(response, 422, loc=loc)
    assert await snapshot(session) == before
    assert (await get_ok(client, f"{REGISTRATIONS}/{registration['id']}", editor)).json() == registration


async def test_registering_and_reverting_a_registration(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world)
    editor = world.headers("editor")
    registration = await add_registration(client, editor, agreement["id"], submitted_on=iso(-10))
    url = f"{REGISTRATIONS}/{registration['id']}"
    registered = await patch_current(
        client, url, editor, {"status": "registered", "registered_on": iso(-1), "registry_number": "SRE-AI-9"}
    )
    assert registered.status_code == 200, registered.text
    assert registered.json()["registry"] == "sre"  # untouched
    assert (await read_agreement(client, agreement["id"], editor))["registration_status"] == "registered"
    # A registration recorded by mistake is taken back: registered_on and the number go too.
    reverted = await patch_current(
        client, url, editor, {"status": "submitted", "registered_on": None, "registry_number": None}
    )
    assert reverted.status_code == 200, reverted.text
    assert (await read_agreement(client, agreement["id"], editor))["registration_status"] == "submitted"


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"signed_on": None}, id="signature-removed"),
        pytest.param({"signed_on": iso(-5)}, id="signature-moved-after-submission"),
    ],
)
async def test_the_signature_cannot_move_past_a_registration_of_it(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, changes: dict[str, Any]
) -> None:
    agreement = await make_agreement(client, world)
    editor = world.headers("editor")
    await add_registration(client, editor, agreement["id"], submitted_on=iso(-10))
    before = await snapshot(session)
    response = await patch_current(client, f"{AGREEMENTS}/{agreement['id']}", editor, changes)
    assert_problem(response, 422, loc=["body", "signed_on"])
    assert await snapshot(session) == before
    current = await read_agreement(client, agreement["id"], editor)
    assert (current["signed_on"], current["registration_status"]) == (iso(-30), "submitted")
    # Moving it within what the registration allows is fine.
    moved = await patch_current(client, f"{AGREEMENTS}/{agreement['id']}", editor, {"signed_on": iso(-10)})
    assert moved.status_code == 200, moved.text


# --- effect on the agreement ---------------------------------------------------------------------


async def test_each_write_bumps_the_agreement_and_logs_one_entry_under_it(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    agreement = await make_agreement(client, world)
    editor, admin = world.headers("editor"), world.headers("admin")
    history = f"{AGREEMENTS}/{agreement['id']}/history"
    entries, logged = await count(session, "log_entries"), len(await walk(client, history, admin, limit=200))

    registration = await add_registration(client, editor, agreement["id"])
    after_create = await read_agreement(client, agreement["id"], admin)
    assert moment(after_create["updated_at"]) > moment(agreement["updated_at"])
    assert await count(session, "log_entries") == entries + 1
    synced = await client.get(AGREEMENTS, params={"updated_since": agreement["updated_at"]}, headers=admin)
    assert [i["id"] for i in synced.json()["items"]] == [agreement["id"]]

    changed = await patch_current(client, f"{REGISTRATIONS}/{registration['id']}", editor, {"observations": "Folio 3"})
    assert changed.status_code == 200
    after_patch = await read_agreement(client, agreement["id"], admin)
    assert moment(after_patch["updated_at"]) > moment(after_create["updated_at"])
    assert await count(session, "log_entries") == entries + 2
    synced = await client.get(AGREEMENTS, params={"updated_since": after_create["updated_at"]}, headers=admin)
    assert [i["id"] for i in synced.json()["items"]] == [agreement["id"]]

    logged_now = await walk(client, history, admin, limit=200)
    assert len(logged_now) == logged + 2
    assert [(e["action"], e["resource_type"], e["resource_id"]) for e in logged_now[-2:]] == [
        ("create", "registration", registration["id"]),
        ("update", "registration", registration["id"]),
    ]
    assert logged_now[-1]["changes"]["observations"] == {"from": None, "to": "Folio 3"}
    assert logged_now[-1]["actor_org_id"] == str(world.signatory.id)


async def test_a_retried_create_with_the_same_idempotency_key_records_one_registration(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    agreement = await make_agreement(client, world)
    headers = {**world.headers("editor"), "Idempotency-Key": "registration-1"}
    body = {"registry": "sre", "submitted_on": iso(-3)}
    first = await client.post(registrations_of(agreement), json=body, headers=headers)
    again = await client.post(registrations_of(agreement), json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert await count(session, "registrations") == 1


# --- If-Match -------------------------------------------------------------------------------------


async def test_patch_needs_a_current_if_match(client: httpx2.AsyncClient, session: AsyncSession, world: World) -> None:
    agreement = await make_agreement(client, world)
    editor, admin = world.headers("editor"), world.headers("admin")
    registration = await add_registration(client, editor, agreement["id"])
    url = f"{REGISTRATIONS}/{registration['id']}"
    before = await snapshot(session)
    assert_problem(await client.patch(url, json={"observations": "x"}, headers=editor), 428)
    assert_problem(await client.patch(url, json={"observations": "x"}, headers={**editor, "If-Match": '"old"'}), 412)
    assert await snapshot(session) == before

    etag = (await get_ok(client, url, editor)).headers["etag"]
    first = await client.patch(url, json={"status": "rejected"}, headers={**editor, "If-Match": etag})
    assert first.status_code == 200, first.text
    second = await client.patch(url, json={"observations": "Otra nota"}, headers={**admin, "If-Match": etag})
    assert_problem(second, 412)
    current = (await get_ok(client, url, editor)).json()
    assert (current["status"], current["observations"]) == ("rejected", None)


# --- who may do what --------------------------------------------------------------------------------

ALL_OK = dict.fromkeys(ACTORS, 200)
READ = {
    "draft": {**ALL_OK, "other_editor": 404, "outsider": 404, "anonymous": 404},
    "public": ALL_OK,
}
DENIED = {"legal_reviewer": 403, "participant": 403, "auditor": 403, "anonymous": 401}
# On a draft the refusal for those allowed to write is the rule (unsigned: 422), not permission.
CREATE = {
    "draft": {"admin": 422, "editor": 422, "other_editor": 404, "outsider": 404, **DENIED},
    "public": {"admin": 201, "editor": 201, "other_editor": 403, "outsider": 403, **DENIED},
}
CHANGE = {"public": {"admin": 200, "editor": 200, "other_editor": 403, "outsider": 403, **DENIED}}


def matrix(table: dict[str, dict[str, int]]) -> list[Any]:
    return [
        pytest.param(scenario, actor, expected, id=f"{scenario}-{actor}")
        for scenario, by_actor in table.items()
        for actor, expected in by_actor.items()
    ]


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(READ))
async def test_who_may_list_registrations(
    client: httpx2.AsyncClient, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    made = []
    if scenario == "public":
        made.append((await add_registration(client, world.headers("editor"), agreement["id"]))["id"])
    response = await client.get(registrations_of(agreement), headers=world.headers(actor))
    if expected == 200:
        assert response.status_code == 200, response.text
        assert [r["id"] for r in response.json()["items"]] == made
    else:
        assert_problem(response, expected)


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix({"public": READ["public"]}))
async def test_who_may_read_a_registration(
    client: httpx2.AsyncClient, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    registration = await add_registration(client, world.headers("editor"), agreement["id"])
    response = await client.get(f"{REGISTRATIONS}/{registration['id']}", headers=world.headers(actor))
    assert response.status_code == expected, response.text
    assert response.json()["id"] == registration["id"]


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(CREATE))
async def test_who_may_record_a_registration(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    before = await snapshot(session)
    response = await client.post(
        registrations_of(agreement), json={"registry": "sre", "submitted_on": iso(-2)}, headers=world.headers(actor)
    )
    if expected == 201:
        assert response.status_code == 201, response.text
        assert await count(session, "registrations") == before[2] + 1
    else:
        assert_problem(response, expected)
        assert await snapshot(session) == before


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(CHANGE))
async def test_who_may_change_a_registration(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    registration = await add_registration(client, world.headers("editor"), agreement["id"])
    url = f"{REGISTRATIONS}/{registration['id']}"
    etag = (await get_ok(client, url, world.headers("admin"))).headers["etag"]
    before = await snapshot(session)
    response = await client.patch(url, json={"status": "rejected"}, headers={**world.headers(actor), "If-Match": etag})
    current = (await get_ok(client, url, world.headers("admin"))).json()
    if expected == 200:
        assert response.status_code == 200, response.text
        assert current["status"] == "rejected"
    else:
        assert_problem(response, expected)
        assert current == registration
        assert await snapshot(session) == before


# --- observations ---------------------------------------------------------------------------------

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
    agreement = await make_agreement(client, world)
    note = "La SRE pidió la versión en inglés firmada."
    registration = await add_registration(client, world.headers("editor"), agreement["id"], observations=note)
    expected = note if sees else None
    headers = world.headers(actor)

    single = (await get_ok(client, f"{REGISTRATIONS}/{registration['id']}", headers)).json()
    assert single["observations"] == expected
    assert single["registry"] == "sre"
    listed = (await get_ok(client, registrations_of(agreement), headers)).json()["items"]
    assert [r["observations"] for r in listed] == [expected]
    exported = await client.get(registrations_of(agreement), headers={**headers, "Accept": "text/csv"})
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["observations"] for r in rows] == [note if sees else ""]
