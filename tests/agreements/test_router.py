"""/v1/agreements: create, read, change, delete, history; validation against reality; who may do what."""

import uuid
from datetime import datetime
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements.repository import HISTORY_SORT, SORTS
from app.http.pagination import encode_cursor
from app.models import OrganizationKind, Role
from app.models.organizations import PLATFORM_ORG_ID
from tests.activities.test_router import activities_of, activity_body, history_of
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.factories import (
    ACTORS,
    AGREEMENTS,
    TODAY,
    World,
    add_registration,
    add_review,
    agreement_body,
    assert_problem,
    count,
    counterpart,
    create_agreement,
    day,
    delete_current,
    get_ok,
    iso,
    make_world,
    moment,
    patch_current,
    pin_today,
    post_created,
    read_agreement,
    scalar,
    snapshot,
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
    targets_of,
    upload_evidence,
)


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


def url_of(agreement: dict[str, Any]) -> str:
    return f"{AGREEMENTS}/{agreement['id']}"


async def make_scenario(client: httpx2.AsyncClient, world: World, scenario: str) -> dict[str, Any]:
    """A draft (private) or signed (public) agreement of the signatory, listing the participant."""
    fields: dict[str, Any] = {"participant_org_ids": [str(world.participant.id)], "summary": "Texto original."}
    if scenario == "public":
        fields["signed_on"] = iso(-30)
    return await create_agreement(client, world.headers("editor"), world.signatory.id, **fields)


# --- create and read ------------------------------------------------------------------------------


async def test_create_returns_the_agreement_with_location_and_etag(client: httpx2.AsyncClient, world: World) -> None:
    body = agreement_body(
        world.signatory.id,
        title="  Hermanamiento Guadalajara - Kraków  ",
        summary="Cooperación económica y cultural.",
        counterparts=[counterpart(region="Pequeña Polonia"), counterpart("Ville de Lyon", "FR")],
        participant_org_ids=[str(world.participant.id)],
        has_dispute_settlement_clause=True,
        signed_on=iso(-10),
        signed_place="Guadalajara, Jalisco",
        expires_on=iso(3000),
        external_ref="GDL/DRI/2025/014",
    )
    response = await client.post(AGREEMENTS, json=body, headers=world.headers("editor"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"].endswith(f"{AGREEMENTS}/{created['id']}")
    assert response.headers["etag"]
    assert created["title"] == "Hermanamiento Guadalajara - Kraków"
    assert created["signatory_org_id"] == str(world.signatory.id)
    assert created["counterparts"] == [
        {"name": "Kraków", "kind": "foreign_government_body", "country": "PL", "region": "Pequeña Polonia"},
        {"name": "Ville de Lyon", "kind": "foreign_government_body", "country": "FR", "region": None},
    ]
    assert created["participant_org_ids"] == [str(world.participant.id)]
    assert created["subject_areas"] == ["culture", "trade"]
    assert created["languages"] == ["es", "pl"]
    assert created["entry_into_force_on"] == iso(-10)  # defaults to signed_on
    assert created["external_ref"] == "GDL/DRI/2025/014"
    assert (created["status"], created["registration_status"]) == ("in_force", "pending")
    assert moment(created["created_at"]) <= moment(created["updated_at"])

    again = await get_ok(client, response.headers["location"], world.headers("editor"))
    assert again.json() == created
    assert again.headers["etag"] == response.headers["etag"]


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (OrganizationKind.state, {"subdivision": "MX-JAL", "name": "Gobierno del Estado de Jalisco"}),
        (OrganizationKind.federal_body, {"name": "Secretaría de Economía"}),
        (OrganizationKind.municipality, {"inegi_code": "21114", "name": "Municipio de Puebla"}),
    ],
)
async def test_municipalities_states_and_federal_bodies_may_sign(
    client: httpx2.AsyncClient, make_org: MakeOrg, make_key: MakeKey, kind: OrganizationKind, fields: dict[str, Any]
) -> None:
    signatory = await make_org(kind, **fields)
    editor = bearer(await make_key(Role.editor, signatory.id))
    created = await create_agreement(client, editor, signatory.id)
    assert created["signatory_org_id"] == str(signatory.id)


async def test_if_none_match_with_the_current_etag_is_304(client: httpx2.AsyncClient, world: World) -> None:
    created = await make_scenario(client, world, "public")
    etag = (await get_ok(client, url_of(created), {})).headers["etag"]
    response = await client.get(url_of(created), headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""


async def test_unknown_agreement_is_404(client: httpx2.AsyncClient, world: World) -> None:
    response = await client.get(f"{AGREEMENTS}/{uuid.uuid4()}", headers=world.headers("admin"))
    assert_problem(response, 404)


async def test_a_body_that_is_not_json_is_400(client: httpx2.AsyncClient, world: World) -> None:
    response = await client.post(
        AGREEMENTS, content=b"{not json", headers={**world.headers("editor"), "Content-Type": "application/json"}
    )
    assert_problem(response, 400)


# --- validation against reality: 422 naming the field, nothing written -------------------------


CREATE_REFUSALS = [
    pytest.param(
        {"counterparts": [counterpart(country="XX")]}, ["body", "counterparts", 0, "country"], id="country-xx"
    ),
    pytest.param(
        {"counterparts": [counterpart(country="pl")]}, ["body", "counterparts", 0, "country"], id="country-lc"
    ),
    pytest.param(
        {"counterparts": [counterpart(), counterpart("Atlantis", "AA")]},
        ["body", "counterparts", 1, "country"],
        id="second-country-unknown",
    ),
    pytest.param(
        {"counterparts": [{**counterpart(), "kind": "foreign_company"}]},
        ["body", "counterparts", 0, "kind"],
        id="counterpart-kind",
    ),
    pytest.param({"counterparts": []}, ["body", "counterparts"], id="counterparts-empty"),
    pytest.param({"counterparts": None}, ["body", "counterparts"], id="counterparts-null"),
    pytest.param({"languages": ["xx"]}, ["body", "languages", 0], id="language-unknown"),
    pytest.param({"languages": ["es", "qq"]}, ["body", "languages", 1], id="second-language-unknown"),
    pytest.param({"languages": ["spa"]}, ["body", "languages", 0], id="language-not-639-1"),
    pytest.param({"instrument": "treaty"}, ["body", "instrument"], id="instrument"),
    pytest.param({"subject_areas": ["trade", "space"]}, ["body", "subject_areas", 1], id="subject-area"),
    pytest.param({"title": "   "}, ["body", "title"], id="title-blank"),
    pytest.param(
        {"participant_org_ids": [str(uuid.uuid4())]}, ["body", "participant_org_ids", 0], id="participant-unknown"
    ),
    pytest.param(
        {"participant_org_ids": [str(PLATFORM_ORG_ID)]}, ["body", "participant_org_ids", 0], id="participant-platform"
    ),
    pytest.param({"signed_on": iso(1)}, ["body", "signed_on"], id="signed-in-the-future"),
    pytest.param(
        {"signed_on": iso(-10), "terminated_on": iso(-20), "termination_reason": "Por acuerdo mutuo."},
        ["body", "terminated_on"],
        id="terminated-before-signed",
    ),
    pytest.param(
        {"terminated_on": iso(-20), "termination_reason": "Por acuerdo mutuo."},
        ["body", "terminated_on"],
        id="terminated-never-signed",
    ),
    pytest.param(
        {"signed_on": iso(-10), "entry_into_force_on": iso(-11)},
        ["body", "entry_into_force_on"],
        id="force-before-signature",
    ),
    pytest.param({"entry_into_force_on": iso(-11)}, ["body", "entry_into_force_on"], id="force-without-signature"),
    pytest.param({"signed_on": iso(-10), "expires_on": iso(-20)}, ["body", "expires_on"], id="expiry-before-signature"),
    pytest.param({"signed_on": iso(-10), "expires_on": iso(-10)}, ["body", "expires_on"], id="expiry-on-signature-day"),
    pytest.param(
        {"signed_on": iso(-10), "entry_into_force_on": iso(30), "expires_on": iso(20)},
        ["body", "expires_on"],
        id="expiry-before-entry-into-force",
    ),
    pytest.param({"signed_on": iso(-10), "suspended_on": iso(-11)}, ["body", "suspended_on"], id="suspended-early"),
    pytest.param({"suspended_on": iso(-11)}, ["body", "suspended_on"], id="suspended-never-signed"),
    pytest.param({"signed_on": iso(-10), "withdrawn_on": iso(-11)}, ["body", "withdrawn_on"], id="withdrawn-early"),
    pytest.param(
        {"signed_on": iso(-10), "terminated_on": iso(-1)}, ["body", "termination_reason"], id="termination-no-reason"
    ),
    pytest.param(
        {"signed_on": iso(-10), "termination_reason": "Sin efecto."},
        ["body", "termination_reason"],
        id="reason-without-termination",
    ),
    pytest.param({"signed_on": "2025-02-30"}, ["body", "signed_on"], id="date-that-does-not-exist"),
    pytest.param({"title": None}, ["body", "title"], id="title-null"),
]


@pytest.mark.parametrize(("fields", "loc"), CREATE_REFUSALS)
async def test_create_refuses_what_cannot_be_true(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, fields: dict[str, Any], loc: list[str | int]
) -> None:
    before = await snapshot(session)
    participants = await count(session, "agreement_participants")
    response = await client.post(
        AGREEMENTS, json=agreement_body(world.signatory.id, **fields), headers=world.headers("editor")
    )
    assert_problem(response, 422, loc=loc)
    assert await snapshot(session) == before
    assert await count(session, "agreement_participants") == participants


async def test_every_broken_rule_is_named_at_once(client: httpx2.AsyncClient, world: World) -> None:
    body = agreement_body(
        world.signatory.id,
        counterparts=[counterpart(country="XX")],
        languages=["zz"],
        signed_on=iso(-10),
        expires_on=iso(-20),
    )
    problem = assert_problem(await client.post(AGREEMENTS, json=body, headers=world.headers("editor")), 422)
    locs = [e["loc"] for e in problem["errors"]]
    assert ["body", "counterparts", 0, "country"] in locs
    assert ["body", "languages", 0] in locs
    assert ["body", "expires_on"] in locs


async def test_signed_on_in_the_future_is_accepted_once_the_day_comes(
    app: FastAPI, client: httpx2.AsyncClient, world: World
) -> None:
    body = agreement_body(world.signatory.id, signed_on=iso(1))
    assert_problem(
        await client.post(AGREEMENTS, json=body, headers=world.headers("editor")), 422, loc=["body", "signed_on"]
    )
    pin_today(app, day(1))
    response = await client.post(AGREEMENTS, json=body, headers=world.headers("editor"))
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "in_force"


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (OrganizationKind.university, {}),
        (OrganizationKind.business_chamber, {}),
        (OrganizationKind.civil_society, {}),
        (OrganizationKind.auditor, {}),
    ],
)
async def test_only_governments_may_sign(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    world: World,
    make_org: MakeOrg,
    make_key: MakeKey,
    kind: OrganizationKind,
    fields: dict[str, Any],
) -> None:
    org = await make_org(kind, **fields)
    own_editor = bearer(await make_key(Role.editor, org.id))
    before = await snapshot(session)
    body = agreement_body(org.id)
    # An admin may create for any signatory: the refusal is about the kind, not the caller.
    response = await client.post(AGREEMENTS, json=body, headers=world.headers("admin"))
    assert_problem(response, 422, loc=["body", "signatory_org_id"])
    # The organization's own editor key is refused for the same reason.
    response = await client.post(AGREEMENTS, json=body, headers=own_editor)
    assert_problem(response, 422, loc=["body", "signatory_org_id"])
    assert await snapshot(session) == before


@pytest.mark.parametrize("value", ["0.5", "1700000000"])
async def test_updated_since_written_as_a_number_is_422(client: httpx2.AsyncClient, value: str) -> None:
    assert_problem(await client.get(AGREEMENTS, params={"updated_since": value}), 422, loc=["query", "updated_since"])


async def test_a_signatory_id_that_is_not_a_uuid_is_422(client: httpx2.AsyncClient, world: World) -> None:
    body = {**agreement_body(world.signatory.id), "signatory_org_id": "Guadalajara"}
    assert_problem(
        await client.post(AGREEMENTS, json=body, headers=world.headers("admin")), 422, loc=["body", "signatory_org_id"]
    )


async def test_unknown_signatory_is_422_for_an_admin(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    before = await snapshot(session)
    response = await client.post(AGREEMENTS, json=agreement_body(uuid.uuid4()), headers=world.headers("admin"))
    assert_problem(response, 422, loc=["body", "signatory_org_id"])
    assert await snapshot(session) == before


PATCH_REFUSALS = [
    pytest.param(
        {"terminated_on": iso(-200), "termination_reason": "Por acuerdo mutuo."},
        ["body", "terminated_on"],
        id="terminated-before-signed",
    ),
    pytest.param({"terminated_on": iso(-1)}, ["body", "termination_reason"], id="termination-without-reason"),
    pytest.param({"entry_into_force_on": iso(-101)}, ["body", "entry_into_force_on"], id="force-before-signature"),
    pytest.param({"signed_on": iso(-80)}, ["body", "entry_into_force_on"], id="signature-moved-after-force"),
    pytest.param({"signed_on": None}, ["body", "entry_into_force_on"], id="unsigned-but-in-force"),
    pytest.param({"expires_on": iso(-150)}, ["body", "expires_on"], id="expiry-before-signature"),
    pytest.param({"signed_on": iso(1)}, ["body", "signed_on"], id="signed-in-the-future"),
    pytest.param({"counterparts": []}, ["body", "counterparts"], id="counterparts-empty"),
    pytest.param({"counterparts": None}, ["body", "counterparts"], id="counterparts-null"),
    pytest.param({"counterparts": [counterpart(country="XX")]}, ["body", "counterparts", 0, "country"], id="country"),
    pytest.param({"languages": ["zz"]}, ["body", "languages", 0], id="language"),
    pytest.param({"participant_org_ids": [str(uuid.uuid4())]}, ["body", "participant_org_ids", 0], id="participant"),
    pytest.param({"title": None}, ["body", "title"], id="title-null"),
    pytest.param({"instrument": None}, ["body", "instrument"], id="instrument-null"),
    pytest.param({"signatory_org_id": str(uuid.uuid4())}, ["body", "signatory_org_id"], id="signatory-not-changeable"),
    # The schema says ISO 8601 text; a number was once read as a Unix time (0 became 1970-01-01).
    pytest.param({"signed_on": 0}, ["body", "signed_on"], id="day-as-number"),
    pytest.param({"signed_on": "20250101"}, ["body", "signed_on"], id="day-as-digits"),
    # Likewise 0 or "yes" for a boolean: the schema says true or false.
    pytest.param({"has_dispute_settlement_clause": 0}, ["body", "has_dispute_settlement_clause"], id="flag-as-number"),
]


@pytest.mark.parametrize(("changes", "loc"), PATCH_REFUSALS)
async def test_patch_refuses_what_cannot_be_true(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, changes: dict[str, Any], loc: list[str | int]
) -> None:
    editor = world.headers("editor")
    created = await create_agreement(
        client, editor, world.signatory.id, signed_on=iso(-100), entry_into_force_on=iso(-90)
    )
    before = await snapshot(session)
    response = await patch_current(client, url_of(created), editor, changes)
    assert_problem(response, 422, loc=loc)
    assert await snapshot(session) == before
    assert await read_agreement(client, created["id"], editor) == created


async def test_patch_rechecks_the_kinds_of_organizations_it_already_names(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    # The kinds are read with the lock, not looked up again: a signatory that has since become
    # a university is still refused by a change that does not touch the participants.
    editor = world.headers("editor")
    participants = [str(world.participant.id)]
    created = await create_agreement(client, editor, world.signatory.id, participant_org_ids=participants)
    org_url = f"/v1/organizations/{world.signatory.id}"
    becomes = {"kind": "university", "inegi_code": None}
    changed = await patch_current(client, org_url, world.headers("admin"), becomes)
    assert changed.status_code == 200, changed.text
    before = await snapshot(session)
    response = await patch_current(client, url_of(created), editor, {"summary": "Cooperación cultural"})
    assert_problem(response, 422, loc=["body", "signatory_org_id"])
    assert await snapshot(session) == before


async def test_patch_changes_only_what_it_names_and_null_clears(client: httpx2.AsyncClient, world: World) -> None:
    editor = world.headers("editor")
    created = await create_agreement(
        client, editor, world.signatory.id, summary="Borrador", signed_place="Guadalajara", external_ref="F-1"
    )
    response = await patch_current(
        client,
        url_of(created),
        editor,
        {"summary": None, "title": "Acuerdo de Cooperación Guadalajara - Kraków", "subject_areas": ["education"]},
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["summary"] is None
    assert changed["title"] == "Acuerdo de Cooperación Guadalajara - Kraków"
    assert changed["subject_areas"] == ["education"]
    assert changed["signed_place"] == "Guadalajara"
    assert changed["external_ref"] == "F-1"
    assert moment(changed["updated_at"]) > moment(created["updated_at"])
    assert changed["created_at"] == created["created_at"]
    assert response.headers["etag"] == (await get_ok(client, url_of(created), editor)).headers["etag"]


async def test_participants_can_be_replaced(client: httpx2.AsyncClient, world: World) -> None:
    editor = world.headers("editor")
    created = await create_agreement(
        client, editor, world.signatory.id, participant_org_ids=[str(world.participant.id)]
    )
    response = await patch_current(client, url_of(created), editor, {"participant_org_ids": [str(world.outsider.id)]})
    assert response.status_code == 200, response.text
    assert response.json()["participant_org_ids"] == [str(world.outsider.id)]
    # The draft now shows to the new participant and no longer to the old one.
    assert (await client.get(url_of(created), headers=world.headers("outsider"))).status_code == 200
    assert (await client.get(url_of(created), headers=world.headers("participant"))).status_code == 404


# --- external_ref: unique per signatory ---------------------------------------------------------


async def test_external_ref_is_unique_per_signatory(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    editor = world.headers("editor")
    first = await create_agreement(client, editor, world.signatory.id, external_ref="DRI-2025-001")

    before = await snapshot(session)
    response = await client.post(
        AGREEMENTS, json=agreement_body(world.signatory.id, external_ref="DRI-2025-001"), headers=editor
    )
    assert_problem(response, 409)
    assert await snapshot(session) == before

    # Another signatory's folio may be spelled the same.
    other = await create_agreement(client, world.headers("other_editor"), world.other.id, external_ref="DRI-2025-001")
    assert other["external_ref"] == first["external_ref"]

    # Taking the folio through a change is refused too; keeping one's own is fine.
    second = await create_agreement(client, editor, world.signatory.id, external_ref="DRI-2025-002")
    before = await snapshot(session)
    assert_problem(await patch_current(client, url_of(second), editor, {"external_ref": "DRI-2025-001"}), 409)
    assert await snapshot(session) == before
    response = await patch_current(client, url_of(first), editor, {"external_ref": "DRI-2025-001", "summary": "x"})
    assert response.status_code == 200, response.text


# --- authorization, every endpoint, every role --------------------------------------------------

ALL_OK = dict.fromkeys(ACTORS, 200)
READ = {
    "draft": {**ALL_OK, "other_editor": 404, "outsider": 404, "anonymous": 404},
    "public": ALL_OK,
}
WRITE_DENIED = {"legal_reviewer": 403, "participant": 403, "auditor": 403, "anonymous": 401}
PATCH = {
    "draft": {"admin": 200, "editor": 200, "other_editor": 404, "outsider": 404, **WRITE_DENIED},
    "public": {"admin": 200, "editor": 200, "other_editor": 403, "outsider": 403, **WRITE_DENIED},
}
DELETE = {
    "draft": {"admin": 204, "editor": 204, "other_editor": 404, "outsider": 404, **WRITE_DENIED},
    "public": {"admin": 409, "editor": 409, "other_editor": 403, "outsider": 403, **WRITE_DENIED},
}
CREATE = {"admin": 201, "editor": 201, "other_editor": 403, "outsider": 403, **WRITE_DENIED}


def matrix(table: dict[str, dict[str, int]]) -> list[Any]:
    return [
        pytest.param(scenario, actor, expected, id=f"{scenario}-{actor}-{expected}")
        for scenario, by_actor in table.items()
        for actor, expected in by_actor.items()
    ]


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(READ))
async def test_who_may_read_an_agreement(
    client: httpx2.AsyncClient, world: World, scenario: str, actor: str, expected: int
) -> None:
    created = await make_scenario(client, world, scenario)
    response = await client.get(url_of(created), headers=world.headers(actor))
    if expected == 200:
        assert response.status_code == 200, response.text
        assert response.json() == created
    else:
        hidden = assert_problem(response, 404)
        missing = assert_problem(await client.get(f"{AGREEMENTS}/{uuid.uuid4()}", headers=world.headers(actor)), 404)
        assert (hidden["title"], hidden["detail"]) == (missing["title"], missing["detail"])


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(READ))
async def test_who_sees_an_agreement_in_lists(
    client: httpx2.AsyncClient, world: World, scenario: str, actor: str, expected: int
) -> None:
    created = await make_scenario(client, world, scenario)
    response = await client.get(AGREEMENTS, headers=world.headers(actor))
    assert response.status_code == 200, response.text
    listed = [item["id"] for item in response.json()["items"]]
    assert listed == ([created["id"]] if expected == 200 else [])


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(READ))
async def test_who_may_read_the_history(
    client: httpx2.AsyncClient, world: World, scenario: str, actor: str, expected: int
) -> None:
    created = await make_scenario(client, world, scenario)
    response = await client.get(f"{url_of(created)}/history", headers=world.headers(actor))
    if expected == 200:
        assert response.status_code == 200, response.text
        assert [(e["action"], e["resource_id"]) for e in response.json()["items"]] == [("create", created["id"])]
    else:
        assert_problem(response, 404)


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix({"draft": CREATE, "public": CREATE}))
async def test_who_may_create_an_agreement_for_the_signatory(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, scenario: str, actor: str, expected: int
) -> None:
    fields = {"signed_on": iso(-30)} if scenario == "public" else {}
    before = await snapshot(session)
    response = await client.post(
        AGREEMENTS, json=agreement_body(world.signatory.id, **fields), headers=world.headers(actor)
    )
    if expected == 201:
        assert response.status_code == 201, response.text
        assert await count(session, "agreements") == before[0] + 1
    else:
        assert_problem(response, expected)
        assert await snapshot(session) == before


async def test_every_editor_creates_for_its_own_organization(client: httpx2.AsyncClient, world: World) -> None:
    created = await create_agreement(client, world.headers("other_editor"), world.other.id)
    assert created["signatory_org_id"] == str(world.other.id)


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(PATCH))
async def test_who_may_change_an_agreement(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, scenario: str, actor: str, expected: int
) -> None:
    created = await make_scenario(client, world, scenario)
    etag = (await get_ok(client, url_of(created), world.headers("admin"))).headers["etag"]
    before = await snapshot(session)
    response = await client.patch(
        url_of(created), json={"summary": "Texto corregido."}, headers={**world.headers(actor), "If-Match": etag}
    )
    current = await read_agreement(client, created["id"], world.headers("admin"))
    if expected == 200:
        assert response.status_code == 200, response.text
        assert current["summary"] == "Texto corregido."
    else:
        assert_problem(response, expected)
        assert current == created
        assert await snapshot(session) == before


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(DELETE))
async def test_who_may_delete_an_agreement(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, scenario: str, actor: str, expected: int
) -> None:
    created = await make_scenario(client, world, scenario)
    etag = (await get_ok(client, url_of(created), world.headers("admin"))).headers["etag"]
    before = await snapshot(session)
    response = await client.delete(url_of(created), headers={**world.headers(actor), "If-Match": etag})
    after = await client.get(url_of(created), headers=world.headers("admin"))
    if expected == 204:
        assert response.status_code == 204, response.text
        assert response.content == b""
        assert_problem(after, 404)
    else:
        assert_problem(response, expected)
        assert after.json() == created
        assert await snapshot(session) == before


async def test_a_bad_key_is_401_even_for_public_reads(client: httpx2.AsyncClient, world: World) -> None:
    created = await make_scenario(client, world, "public")
    response = await client.get(url_of(created), headers=bearer("pacta_000000000000_notakey"))
    assert_problem(response, 401)


# --- If-Match: no lost updates -------------------------------------------------------------------


async def test_patch_without_if_match_is_428(client: httpx2.AsyncClient, session: AsyncSession, world: World) -> None:
    created = await make_scenario(client, world, "draft")
    before = await snapshot(session)
    response = await client.patch(url_of(created), json={"summary": "x"}, headers=world.headers("editor"))
    assert_problem(response, 428)
    assert await snapshot(session) == before


async def test_patch_with_a_stale_etag_is_412(client: httpx2.AsyncClient, session: AsyncSession, world: World) -> None:
    editor = world.headers("editor")
    created = await make_scenario(client, world, "draft")
    response = await client.patch(url_of(created), json={"summary": "x"}, headers={**editor, "If-Match": '"stale"'})
    assert_problem(response, 412)
    assert (await read_agreement(client, created["id"], editor))["summary"] == created["summary"]


async def test_two_clients_editing_from_the_same_etag_never_lose_an_update(
    client: httpx2.AsyncClient, world: World
) -> None:
    editor, admin = world.headers("editor"), world.headers("admin")
    created = await make_scenario(client, world, "draft")
    etag = (await get_ok(client, url_of(created), editor)).headers["etag"]

    first = await client.patch(
        url_of(created), json={"title": "Título del portal A"}, headers={**editor, "If-Match": etag}
    )
    assert first.status_code == 200, first.text
    second = await client.patch(
        url_of(created), json={"summary": "Resumen del portal B"}, headers={**admin, "If-Match": etag}
    )
    assert_problem(second, 412)
    current = await read_agreement(client, created["id"], editor)
    assert (current["title"], current["summary"]) == ("Título del portal A", created["summary"])

    # The second client reads again and applies its change on top of the first one's.
    retried = await patch_current(client, url_of(created), admin, {"summary": "Resumen del portal B"})
    assert retried.status_code == 200, retried.text
    assert (retried.json()["title"], retried.json()["summary"]) == ("Título del portal A", "Resumen del portal B")


async def test_a_write_to_a_legal_review_makes_the_agreement_etag_stale(
    client: httpx2.AsyncClient, world: World
) -> None:
    editor = world.headers("editor")
    created = await make_scenario(client, world, "draft")
    etag = (await get_ok(client, url_of(created), editor)).headers["etag"]
    await add_review(client, world.headers("legal_reviewer"), created["id"])
    response = await client.patch(url_of(created), json={"summary": "x"}, headers={**editor, "If-Match": etag})
    assert_problem(response, 412)


async def test_delete_needs_a_current_if_match(client: httpx2.AsyncClient, session: AsyncSession, world: World) -> None:
    editor = world.headers("editor")
    created = await make_scenario(client, world, "draft")
    before = await snapshot(session)
    assert_problem(await client.delete(url_of(created), headers=editor), 428)
    assert_problem(await client.delete(url_of(created), headers={**editor, "If-Match": '"stale"'}), 412)
    assert await snapshot(session) == before
    await get_ok(client, url_of(created), editor)


# --- delete: drafts only -------------------------------------------------------------------------


async def test_deleting_a_draft_removes_it_everywhere(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    editor = world.headers("editor")
    created = await make_scenario(client, world, "draft")
    kept = await make_scenario(client, world, "draft")
    etag = (await get_ok(client, url_of(created), editor)).headers["etag"]
    entries = await count(session, "log_entries")

    response = await client.delete(url_of(created), headers={**editor, "If-Match": etag})
    assert response.status_code == 204, response.text

    assert_problem(await client.get(url_of(created), headers=editor), 404)
    assert_problem(await client.get(f"{url_of(created)}/history", headers=editor), 404)
    assert_problem(await client.patch(url_of(created), json={}, headers={**editor, "If-Match": etag}), 404)
    assert_problem(await client.delete(url_of(created), headers={**editor, "If-Match": etag}), 404)
    listed = (await client.get(AGREEMENTS, headers=editor)).json()["items"]
    assert [i["id"] for i in listed] == [kept["id"]]
    # The deletion itself is on the record.
    assert await count(session, "log_entries") == entries + 1
    action = await scalar(
        session,
        "SELECT action || ' ' || resource_type || ' ' || resource_id FROM log_entries ORDER BY index DESC LIMIT 1",
    )
    assert action == f"delete agreement {created['id']}"


async def test_agreements_past_the_draft_stage_cannot_be_deleted(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    editor = world.headers("editor")
    under_review = await make_scenario(client, world, "draft")
    await add_review(client, world.headers("legal_reviewer"), under_review["id"])
    signed = await create_agreement(client, editor, world.signatory.id, signed_on=iso(-10), entry_into_force_on=iso(10))
    withdrawn = await create_agreement(client, editor, world.signatory.id, withdrawn_on=iso(-1))
    for agreement, status in ((under_review, "under_review"), (signed, "signed"), (withdrawn, "withdrawn")):
        current = await get_ok(client, url_of(agreement), editor)
        assert current.json()["status"] == status
        before = await snapshot(session)
        response = await client.delete(url_of(agreement), headers={**editor, "If-Match": current.headers["etag"]})
        problem = assert_problem(response, 409)
        assert status in problem["detail"]
        assert await snapshot(session) == before
        await get_ok(client, url_of(agreement), editor)


# --- Idempotency-Key -----------------------------------------------------------------------------


async def test_a_retried_create_with_the_same_idempotency_key_creates_one_agreement(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    headers = {**world.headers("editor"), "Idempotency-Key": "portal-gdl-7f3a"}
    body = agreement_body(world.signatory.id)
    before = await snapshot(session)
    first = await client.post(AGREEMENTS, json=body, headers=headers)
    assert first.status_code == 201, first.text
    replay = await client.post(AGREEMENTS, json=body, headers=headers)
    assert replay.status_code == 201, replay.text
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["location"] == first.headers["location"]
    assert await snapshot(session) == (before[0] + 1, before[1], before[2], before[3] + 1)
    listed = (await client.get(AGREEMENTS, headers=world.headers("editor"))).json()["items"]
    assert [i["id"] for i in listed] == [first.json()["id"]]

    # The same key with another body is a client error, not a second agreement.
    other = await client.post(AGREEMENTS, json={**body, "title": "Otro"}, headers=headers)
    assert_problem(other, 422)
    assert await count(session, "agreements") == before[0] + 1


async def test_idempotency_keys_are_scoped_to_the_api_key(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, make_key: MakeKey
) -> None:
    body = agreement_body(world.signatory.id)
    second_portal = bearer(await make_key(Role.editor, world.signatory.id))
    first = await client.post(AGREEMENTS, json=body, headers={**world.headers("editor"), "Idempotency-Key": "k-1"})
    other = await client.post(AGREEMENTS, json=body, headers={**second_portal, "Idempotency-Key": "k-1"})
    assert first.status_code == other.status_code == 201
    assert first.json()["id"] != other.json()["id"]


# --- history -------------------------------------------------------------------------------------


async def test_history_shows_who_changed_what_in_log_order(client: httpx2.AsyncClient, world: World) -> None:
    editor, lawyer, admin = world.headers("editor"), world.headers("legal_reviewer"), world.headers("admin")
    created = await create_agreement(
        client, editor, world.signatory.id, title="Hermanamiento", participant_org_ids=[str(world.participant.id)]
    )
    review = await add_review(
        client, lawyer, created["id"], kind="sre_dictamen", requested_on=iso(-60), observations="Revisar cláusula 8."
    )
    assert (
        await patch_current(client, url_of(created), admin, {"title": "Hermanamiento GDL - Kraków"})
    ).status_code == 200
    decided = await patch_current(
        client, f"/v1/legal-reviews/{review['id']}", lawyer, {"outcome": "favorable", "decided_on": iso(-30)}
    )
    assert decided.status_code == 200
    assert (await patch_current(client, url_of(created), editor, {"signed_on": iso(-20)})).status_code == 200
    registration = await add_registration(client, editor, created["id"], submitted_on=iso(-10))
    registered = await patch_current(
        client,
        f"/v1/registrations/{registration['id']}",
        editor,
        {"status": "registered", "registered_on": iso(-5), "registry_number": "SRE-AI-77"},
    )
    assert registered.status_code == 200
    # Another agreement's writes are not part of this one's history.
    await create_agreement(client, editor, world.signatory.id)

    entries = (await get_ok(client, f"{url_of(created)}/history", world.headers("auditor"))).json()["items"]
    assert [(e["action"], e["resource_type"], e["resource_id"]) for e in entries] == [
        ("create", "agreement", created["id"]),
        ("create", "legal_review", review["id"]),
        ("update", "agreement", created["id"]),
        ("update", "legal_review", review["id"]),
        ("update", "agreement", created["id"]),
        ("create", "registration", registration["id"]),
        ("update", "registration", registration["id"]),
    ]
    signatory, platform = str(world.signatory.id), str(PLATFORM_ORG_ID)
    assert [e["actor_org_id"] for e in entries] == [
        signatory,
        signatory,
        platform,
        signatory,
        signatory,
        signatory,
        signatory,
    ]
    indexes = [e["index"] for e in entries]
    assert indexes == sorted(indexes)
    assert len(set(indexes)) == len(indexes)
    assert [moment(e["at"]) for e in entries] == sorted(moment(e["at"]) for e in entries)

    created_changes = entries[0]["changes"]
    assert created_changes["title"] == {"from": None, "to": "Hermanamiento"}
    assert created_changes["participant_org_ids"] == {"from": None, "to": [str(world.participant.id)]}
    assert created_changes["counterparts"]["to"][0]["name"] == "Kraków"
    assert entries[1]["changes"]["kind"] == {"from": None, "to": "sre_dictamen"}
    assert entries[1]["changes"]["observations"] == {"from": None, "to": "Revisar cláusula 8."}
    assert entries[2]["changes"] == {"title": {"from": "Hermanamiento", "to": "Hermanamiento GDL - Kraków"}}
    assert entries[3]["changes"]["outcome"] == {"from": "pending", "to": "favorable"}
    assert entries[3]["changes"]["decided_on"] == {"from": None, "to": iso(-30)}
    assert "kind" not in entries[3]["changes"]
    assert entries[4]["changes"] == {"signed_on": {"from": None, "to": iso(-20)}}
    assert entries[6]["changes"]["status"] == {"from": "submitted", "to": "registered"}
    assert entries[6]["changes"]["registry_number"] == {"from": None, "to": "SRE-AI-77"}

    # Paging through the history gives the same entries, diffs included.
    paged = await walk(client, f"{url_of(created)}/history", world.headers("auditor"), limit=2)
    assert paged == entries


@pytest.mark.parametrize(
    ("actor", "sees_observations"),
    [
        ("admin", True),
        ("editor", True),
        ("legal_reviewer", True),
        ("auditor", True),
        ("other_editor", False),
        ("participant", False),
        ("outsider", False),
        ("anonymous", False),
    ],
)
async def test_history_hides_observations_from_those_who_may_not_read_them(
    client: httpx2.AsyncClient, world: World, actor: str, sees_observations: bool
) -> None:
    editor, lawyer = world.headers("editor"), world.headers("legal_reviewer")
    created = await make_scenario(client, world, "public")
    review = await add_review(client, lawyer, created["id"], observations="Opinión reservada.")
    changed = await patch_current(
        client, f"/v1/legal-reviews/{review['id']}", lawyer, {"observations": "Otra opinión."}
    )
    assert changed.status_code == 200
    await add_registration(client, editor, created["id"], observations="Nota interna de la DGCP.")

    entries = (await get_ok(client, f"{url_of(created)}/history", world.headers(actor))).json()["items"]
    assert [e["resource_type"] for e in entries] == ["agreement", "legal_review", "legal_review", "registration"]
    shown = ["observations" in e["changes"] for e in entries[1:]]
    assert shown == [sees_observations] * 3
    # What the public may read is still there.
    assert entries[1]["changes"]["kind"] == {"from": None, "to": "internal_legal"}


async def test_refused_writes_leave_no_trace_in_history(client: httpx2.AsyncClient, world: World) -> None:
    editor = world.headers("editor")
    created = await make_scenario(client, world, "public")
    await patch_current(client, url_of(created), editor, {"signed_on": iso(5)})
    await patch_current(client, url_of(created), world.headers("other_editor"), {"summary": "x"})
    await client.patch(url_of(created), json={"summary": "x"}, headers=editor)
    entries = (await get_ok(client, f"{url_of(created)}/history", editor)).json()["items"]
    assert [e["action"] for e in entries] == ["create"]


# --- deleting drafts with children, targets with evidence (a regression a review found) -----------


async def test_drafts_with_children_and_targets_with_evidence_are_not_deleted(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    editor = world.headers("editor")
    with_target = await make_agreement(client, world, "private")
    await create_target(client, editor, with_target["id"])
    with_evidence = await make_agreement(client, world, "private")
    await upload_evidence(client, world.headers("participant"), with_evidence["id"])
    with_activity = await make_agreement(client, world, "private")
    await post_created(client, activities_of(with_activity["id"]), activity_body(), editor)

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


# --- crafted cursors (a regression a review found) ------------------------------------------------


async def test_crafted_cursors_are_a_422(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world, "public")
    huge = encode_cursor(HISTORY_SORT, (2**64,))
    response = await client.get(history_of(agreement["id"]), params={"cursor": huge})
    assert_problem(response, 422, loc=["query", "cursor"])

    overflowing = encode_cursor(SORTS["-updated_at"], ("0001-01-01T00:00:00+14:00", str(uuid.uuid4())))
    response = await client.get(AGREEMENTS, params={"cursor": overflowing})
    assert_problem(response, 422, loc=["query", "cursor"])


# --- progress writes move the agreement's updated_at (a regression a review found) ----------------


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
