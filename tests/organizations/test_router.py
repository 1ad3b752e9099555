"""/v1/organizations: real catalogues, uniqueness, ETags, authorization, pagination, CSV, the log."""

import base64
import csv
import io
import json
import uuid
from datetime import datetime
from typing import Any

import httpx2
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Organization, OrganizationKind, Role
from app.models.organizations import PLATFORM_ORG_ID
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.problems import assert_problem

ORGS = "/v1/organizations"
CSV_HEADER = ["id", "name", "kind", "country", "subdivision", "inegi_code", "website", "created_at", "updated_at"]


# --- helpers -------------------------------------------------------------------------------------


async def scalar(session: AsyncSession, sql: str, **params: Any) -> Any:
    """One value, read inside the test's transaction (so it sees what the requests wrote)."""
    value = (await session.execute(text(sql), params)).scalar_one()
    await session.commit()
    return value


async def log_count(session: AsyncSession) -> int:
    return int(await scalar(session, "SELECT count(*) FROM log_entries"))


async def last_log(session: AsyncSession) -> dict[str, Any]:
    row = (
        await session.execute(
            text("SELECT action, resource_type, resource_id, actor_org_id FROM log_entries ORDER BY index DESC LIMIT 1")
        )
    ).one()
    await session.commit()
    return dict(row._mapping)


async def all_orgs(client: httpx2.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(ORGS, params={"limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert page["next_cursor"] is None, "the test expects fewer than 200 organizations"
    items: list[dict[str, Any]] = page["items"]
    return items


async def read(client: httpx2.AsyncClient, org_id: uuid.UUID | str, headers: dict[str, str]) -> httpx2.Response:
    response = await client.get(f"{ORGS}/{org_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response


async def caller_headers(make_org: MakeOrg, make_key: MakeKey, role: Role | None) -> dict[str, str]:
    """Headers of a caller with this role (admin: the platform; others: an organization of their own)."""
    if role is None:
        return {}
    if role is Role.admin:
        return bearer(await make_key(Role.admin))
    own = await make_org(OrganizationKind.civil_society)
    return bearer(await make_key(role, own.id))


# --- creation and validation against the real catalogues ------------------------------------------


async def test_create_returns_the_resource_with_location_and_etag(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        ORGS,
        json={"name": "Universidad de Guadalajara", "kind": "university", "subdivision": "MX-JAL"},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Universidad de Guadalajara"
    assert body["kind"] == "university"
    assert body["country"] == "MX", "country defaults to MX"
    assert body["subdivision"] == "MX-JAL"
    assert body["inegi_code"] is None
    uuid.UUID(body["id"])
    assert response.headers["location"].endswith(f"{ORGS}/{body['id']}")
    fetched = await client.get(response.headers["location"], headers=admin_headers)
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert fetched.headers["etag"] == response.headers["etag"]


@pytest.mark.parametrize(
    ("fields", "subdivision"),
    [
        pytest.param({"inegi_code": "14120"}, "MX-JAL", id="zapopan"),
        pytest.param({"inegi_code": "03008"}, "MX-BCS", id="los-cabos-after-the-bcs-gap"),
        pytest.param({"inegi_code": "09002"}, "MX-CMX", id="azcapotzalco"),
        pytest.param({"inegi_code": "19039", "subdivision": "MX-NLE"}, "MX-NLE", id="monterrey-explicit"),
    ],
)
async def test_municipality_subdivision_comes_from_its_inegi_code(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], fields: dict[str, str], subdivision: str
) -> None:
    response = await client.post(
        ORGS, json={"name": "Municipio", "kind": "municipality", **fields}, headers=admin_headers
    )
    assert response.status_code == 201, response.text
    assert response.json()["subdivision"] == subdivision
    assert response.json()["inegi_code"] == fields["inegi_code"]


async def test_foreign_municipality_needs_no_inegi_code(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        ORGS,
        json={"name": "City of San Antonio", "kind": "municipality", "country": "US", "subdivision": "US-TX"},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["country"] == "US"
    assert response.json()["inegi_code"] is None


async def test_website_is_kept_as_a_url(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post(
        ORGS,
        json={"name": "Canaco", "kind": "business_chamber", "website": "https://www.canaco.example.mx/"},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    assert response.json()["website"] == "https://www.canaco.example.mx/"


INVALID_ORGANIZATIONS = [
    pytest.param({"kind": "university", "country": "XX"}, ["body", "country"], id="country-not-iso-3166"),
    pytest.param({"kind": "university", "country": "mx"}, ["body", "country"], id="country-lowercase"),
    pytest.param({"kind": "university", "country": "MEX"}, ["body", "country"], id="country-alpha-3"),
    pytest.param(
        {"kind": "state", "country": "MX", "subdivision": "US-TX"},
        ["body", "subdivision"],
        id="subdivision-of-another-country",
    ),
    pytest.param({"kind": "state", "subdivision": "MX-ZZZ"}, ["body", "subdivision"], id="subdivision-unknown"),
    pytest.param({"kind": "state"}, ["body", "subdivision"], id="state-without-subdivision"),
    pytest.param({"kind": "municipality"}, ["body", "inegi_code"], id="mx-municipality-without-inegi-code"),
    pytest.param(
        {"kind": "municipality", "subdivision": "MX-JAL"},
        ["body", "inegi_code"],
        id="mx-municipality-with-only-a-subdivision",
    ),
    pytest.param({"kind": "municipality", "inegi_code": "99999"}, ["body", "inegi_code"], id="inegi-99999"),
    pytest.param({"kind": "municipality", "inegi_code": "03004"}, ["body", "inegi_code"], id="inegi-gap-bcs-03004"),
    pytest.param({"kind": "municipality", "inegi_code": "07095"}, ["body", "inegi_code"], id="inegi-gap-chiapas"),
    pytest.param({"kind": "municipality", "inegi_code": "09001"}, ["body", "inegi_code"], id="inegi-gap-cdmx"),
    pytest.param({"kind": "municipality", "inegi_code": "1412"}, ["body", "inegi_code"], id="inegi-four-digits"),
    pytest.param(
        {"kind": "municipality", "inegi_code": "14120", "subdivision": "MX-NLE"},
        ["body", "subdivision"],
        id="inegi-code-of-another-state",
    ),
    pytest.param({"kind": "university", "inegi_code": "14120"}, ["body", "inegi_code"], id="inegi-on-a-university"),
    pytest.param(
        {"kind": "municipality", "country": "US", "inegi_code": "14120"},
        ["body", "inegi_code"],
        id="inegi-on-a-foreign-municipality",
    ),
    pytest.param({"kind": "platform"}, ["body", "kind"], id="second-platform"),
    pytest.param({"kind": "galaxy"}, ["body", "kind"], id="unknown-kind"),
    pytest.param({"kind": "university", "colour": "red"}, ["body", "colour"], id="unknown-field"),
    pytest.param({"kind": "university", "name": "   "}, ["body", "name"], id="blank-name"),
    pytest.param({"kind": "university", "name": "x" * 301}, ["body", "name"], id="name-too-long"),
    pytest.param({"kind": "university", "website": "not a url"}, ["body", "website"], id="website-not-a-url"),
    pytest.param({"kind": "university", "name": None}, ["body", "name"], id="name-null"),
]


@pytest.mark.parametrize(("fields", "loc"), INVALID_ORGANIZATIONS)
async def test_invalid_organization_is_422_naming_the_field_and_writes_nothing(
    client: httpx2.AsyncClient,
    admin_headers: dict[str, str],
    session: AsyncSession,
    fields: dict[str, Any],
    loc: list[str | int],
) -> None:
    before = await all_orgs(client, admin_headers)
    logged = await log_count(session)
    response = await client.post(ORGS, json={"name": "Refused Org", **fields}, headers=admin_headers)
    assert_problem(response, 422, slug="validation-error", loc=loc)
    assert await all_orgs(client, admin_headers) == before
    assert await log_count(session) == logged


async def test_missing_name_and_kind_are_both_reported(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    body = assert_problem(await client.post(ORGS, json={}, headers=admin_headers), 422)
    locs = [error["loc"] for error in body["errors"]]
    assert ["body", "name"] in locs
    assert ["body", "kind"] in locs


async def test_body_that_is_not_json_is_400(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post(
        ORGS, content=b"{not json", headers={**admin_headers, "Content-Type": "application/json"}
    )
    assert_problem(response, 400)


async def test_duplicate_name_is_409_without_regard_to_case(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    await make_org(OrganizationKind.university, name="Universidad Autónoma de Nuevo León")
    before = await all_orgs(client, admin_headers)
    logged = await log_count(session)
    for spelling in ("Universidad Autónoma de Nuevo León", "  UNIVERSIDAD AUTÓNOMA DE NUEVO LEÓN  "):
        response = await client.post(ORGS, json={"name": spelling, "kind": "civil_society"}, headers=admin_headers)
        assert_problem(response, 409, slug="duplicate-organization")
    assert await all_orgs(client, admin_headers) == before
    assert await log_count(session) == logged


async def test_duplicate_inegi_code_is_409_naming_the_holder(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    holder = await make_org(OrganizationKind.municipality, name="Gobierno de Zapopan", inegi_code="14120")
    before = await all_orgs(client, admin_headers)
    logged = await log_count(session)
    response = await client.post(
        ORGS,
        json={"name": "Ayuntamiento de Zapopan", "kind": "municipality", "inegi_code": "14120"},
        headers=admin_headers,
    )
    body = assert_problem(response, 409, slug="duplicate-organization")
    assert body["existing_id"] == str(holder.id)
    assert await all_orgs(client, admin_headers) == before
    assert await log_count(session) == logged


async def test_get_unknown_or_malformed_id(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    assert_problem(await client.get(f"{ORGS}/{uuid.uuid4()}", headers=admin_headers), 404)
    assert_problem(await client.get(f"{ORGS}/not-a-uuid", headers=admin_headers), 422, loc=["path", "organization_id"])


# --- ETags: conditional reads, PATCH and DELETE ---------------------------------------------------


async def test_if_none_match_with_the_current_etag_is_304(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org()
    etag = (await read(client, org.id, admin_headers)).headers["etag"]
    for header in (etag, f'"something-else", {etag}', f"W/{etag}", "*"):
        response = await client.get(f"{ORGS}/{org.id}", headers={**admin_headers, "If-None-Match": header})
        assert response.status_code == 304, header
        assert response.content == b""
        assert response.headers["etag"] == etag
    stale = await client.get(f"{ORGS}/{org.id}", headers={**admin_headers, "If-None-Match": '"stale"'})
    assert stale.status_code == 200
    assert stale.json()["id"] == str(org.id)


async def test_patch_without_if_match_is_428_and_changes_nothing(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    org = await make_org(name="Original Name")
    logged = await log_count(session)
    response = await client.patch(f"{ORGS}/{org.id}", json={"name": "New Name"}, headers=admin_headers)
    assert_problem(response, 428, slug="precondition-required")
    assert (await read(client, org.id, admin_headers)).json()["name"] == "Original Name"
    assert await log_count(session) == logged


async def test_patch_with_a_stale_etag_is_412_and_changes_nothing(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    org = await make_org(name="Original Name")
    logged = await log_count(session)
    response = await client.patch(
        f"{ORGS}/{org.id}", json={"name": "New Name"}, headers={**admin_headers, "If-Match": '"0123456789abcdef"'}
    )
    assert_problem(response, 412, slug="precondition-failed")
    assert (await read(client, org.id, admin_headers)).json()["name"] == "Original Name"
    assert await log_count(session) == logged


async def test_patch_with_the_current_etag_changes_it_and_logs_an_update(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    org = await make_org(name="Original Name", website="https://old.example.org/")
    first = await read(client, org.id, admin_headers)
    etag = first.headers["etag"]
    logged = await log_count(session)

    response = await client.patch(
        f"{ORGS}/{org.id}", json={"name": "New Name", "website": None}, headers={**admin_headers, "If-Match": etag}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "New Name"
    assert body["website"] is None, "null clears an optional field"
    assert body["kind"] == first.json()["kind"], "absent fields are kept"
    assert datetime.fromisoformat(body["updated_at"]) > datetime.fromisoformat(first.json()["updated_at"])
    new_etag = response.headers["etag"]
    assert new_etag != etag
    again = await read(client, org.id, admin_headers)
    assert again.headers["etag"] == new_etag
    assert again.json() == body

    assert await log_count(session) == logged + 1
    entry = await last_log(session)
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == ("update", "organization", str(org.id))
    assert entry["actor_org_id"] == PLATFORM_ORG_ID

    # The first client still holds the old ETag: it can no longer overwrite the change.
    lost = await client.patch(
        f"{ORGS}/{org.id}", json={"name": "Lost Update"}, headers={**admin_headers, "If-Match": etag}
    )
    assert_problem(lost, 412)
    assert (await read(client, org.id, admin_headers)).json()["name"] == "New Name"


async def test_patch_new_inegi_code_rederives_the_subdivision(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org(OrganizationKind.municipality, name="Municipio", inegi_code="14120")
    etag = (await read(client, org.id, admin_headers)).headers["etag"]
    response = await client.patch(
        f"{ORGS}/{org.id}", json={"inegi_code": "19039"}, headers={**admin_headers, "If-Match": etag}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["inegi_code"], response.json()["subdivision"]) == ("19039", "MX-NLE")


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        pytest.param({"subdivision": "US-TX"}, ["body", "subdivision"], id="subdivision-of-another-country"),
        pytest.param({"inegi_code": "03004"}, ["body", "inegi_code"], id="inegi-not-in-catalogue"),
        pytest.param({"inegi_code": None}, ["body", "inegi_code"], id="mx-municipality-loses-its-code"),
        pytest.param({"subdivision": "MX-NLE"}, ["body", "subdivision"], id="subdivision-against-inegi"),
        pytest.param({"country": "ZZ"}, ["body", "country"], id="country-not-iso"),
        pytest.param({"kind": "platform"}, ["body", "kind"], id="becomes-platform"),
        pytest.param({"name": None}, ["body", "name"], id="name-null"),
        pytest.param({"colour": "red"}, ["body", "colour"], id="unknown-field"),
    ],
)
async def test_invalid_patch_is_422_and_changes_nothing(
    client: httpx2.AsyncClient,
    admin_headers: dict[str, str],
    make_org: MakeOrg,
    session: AsyncSession,
    changes: dict[str, Any],
    loc: list[str | int],
) -> None:
    org = await make_org(OrganizationKind.municipality, name="Municipio", inegi_code="14120")
    before = await read(client, org.id, admin_headers)
    logged = await log_count(session)
    response = await client.patch(
        f"{ORGS}/{org.id}", json=changes, headers={**admin_headers, "If-Match": before.headers["etag"]}
    )
    assert_problem(response, 422, loc=loc)
    after = await read(client, org.id, admin_headers)
    assert after.json() == before.json()
    assert after.headers["etag"] == before.headers["etag"]
    assert await log_count(session) == logged


async def test_patch_to_another_organizations_name_is_409(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    await make_org(name="Taken Name")
    org = await make_org(name="Free Name")
    etag = (await read(client, org.id, admin_headers)).headers["etag"]
    response = await client.patch(
        f"{ORGS}/{org.id}", json={"name": "TAKEN name"}, headers={**admin_headers, "If-Match": etag}
    )
    assert_problem(response, 409, slug="duplicate-organization")
    # Renaming to its own name in another case is not a conflict with itself.
    own = await client.patch(
        f"{ORGS}/{org.id}", json={"name": "FREE NAME"}, headers={**admin_headers, "If-Match": etag}
    )
    assert own.status_code == 200, own.text
    assert own.json()["name"] == "FREE NAME"


async def test_platform_kind_cannot_change(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    etag = (await read(client, PLATFORM_ORG_ID, admin_headers)).headers["etag"]
    response = await client.patch(
        f"{ORGS}/{PLATFORM_ORG_ID}", json={"kind": "university"}, headers={**admin_headers, "If-Match": etag}
    )
    assert_problem(response, 422, loc=["body", "kind"])


async def test_patch_unknown_organization_is_404(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.patch(
        f"{ORGS}/{uuid.uuid4()}", json={"name": "x"}, headers={**admin_headers, "If-Match": "*"}
    )
    assert_problem(response, 404)


async def test_delete_needs_the_current_etag_then_removes_and_logs(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    org = await make_org(name="Short Lived")
    etag = (await read(client, org.id, admin_headers)).headers["etag"]
    logged = await log_count(session)

    assert_problem(await client.delete(f"{ORGS}/{org.id}", headers=admin_headers), 428)
    stale = await client.delete(f"{ORGS}/{org.id}", headers={**admin_headers, "If-Match": '"stale"'})
    assert_problem(stale, 412)
    await read(client, org.id, admin_headers)
    assert await log_count(session) == logged

    response = await client.delete(f"{ORGS}/{org.id}", headers={**admin_headers, "If-Match": etag})
    assert response.status_code == 204
    assert response.content == b""
    assert_problem(await client.get(f"{ORGS}/{org.id}", headers=admin_headers), 404)
    assert str(org.id) not in {o["id"] for o in await all_orgs(client, admin_headers)}

    assert await log_count(session) == logged + 1
    entry = await last_log(session)
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == ("delete", "organization", str(org.id))

    gone = await client.delete(f"{ORGS}/{org.id}", headers={**admin_headers, "If-Match": etag})
    assert_problem(gone, 404)


async def test_platform_organization_cannot_be_deleted(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    etag = (await read(client, PLATFORM_ORG_ID, admin_headers)).headers["etag"]
    response = await client.delete(f"{ORGS}/{PLATFORM_ORG_ID}", headers={**admin_headers, "If-Match": etag})
    assert_problem(response, 409, slug="organization-in-use")
    await read(client, PLATFORM_ORG_ID, admin_headers)


@pytest.mark.parametrize("revoked", [False, True], ids=["live-key", "revoked-key"])
async def test_organization_that_ever_held_a_key_cannot_be_deleted(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession, revoked: bool
) -> None:
    org = await make_org()
    issued = await client.post(f"{ORGS}/{org.id}/api-keys", json={"role": "editor"}, headers=admin_headers)
    assert issued.status_code == 201, issued.text
    if revoked:
        revoke = await client.delete(f"{ORGS}/{org.id}/api-keys/{issued.json()['id']}", headers=admin_headers)
        assert revoke.status_code == 204
    etag = (await read(client, org.id, admin_headers)).headers["etag"]
    logged = await log_count(session)
    response = await client.delete(f"{ORGS}/{org.id}", headers={**admin_headers, "If-Match": etag})
    assert_problem(response, 409, slug="organization-in-use")
    await read(client, org.id, admin_headers)
    assert await log_count(session) == logged


# --- the transparency log -------------------------------------------------------------------------


async def test_create_appends_one_log_entry(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], session: AsyncSession
) -> None:
    logged = await log_count(session)
    response = await client.post(ORGS, json={"name": "Logged Org", "kind": "civil_society"}, headers=admin_headers)
    assert response.status_code == 201, response.text
    assert await log_count(session) == logged + 1
    entry = await last_log(session)
    assert entry["action"] == "create"
    assert entry["resource_type"] == "organization"
    assert entry["resource_id"] == response.json()["id"]
    assert entry["actor_org_id"] == PLATFORM_ORG_ID


# --- authorization: every endpoint, every role ----------------------------------------------------

ROLES = [
    pytest.param(None, id="anonymous"),
    *(pytest.param(role, id=role.value) for role in Role),
]
SUCCESS = {"list": 200, "get": 200, "create": 201, "update": 200, "delete": 204}
WRITES = {"create", "update", "delete"}


async def _call(
    client: httpx2.AsyncClient, endpoint: str, headers: dict[str, str], target: Organization, etag: str
) -> httpx2.Response:
    conditional = {**headers, "If-Match": etag}
    match endpoint:
        case "list":
            return await client.get(ORGS, headers=headers)
        case "get":
            return await client.get(f"{ORGS}/{target.id}", headers=headers)
        case "create":
            return await client.post(ORGS, json={"name": "Created By Caller", "kind": "university"}, headers=headers)
        case "update":
            return await client.patch(f"{ORGS}/{target.id}", json={"name": "Renamed By Caller"}, headers=conditional)
        case "delete":
            return await client.delete(f"{ORGS}/{target.id}", headers=conditional)
    raise AssertionError(endpoint)


@pytest.mark.parametrize("endpoint", list(SUCCESS))
@pytest.mark.parametrize("role", ROLES)
async def test_authorization_matrix(
    client: httpx2.AsyncClient,
    admin_headers: dict[str, str],
    make_org: MakeOrg,
    make_key: MakeKey,
    session: AsyncSession,
    endpoint: str,
    role: Role | None,
) -> None:
    """Anonymous: 401 everywhere. Reads: any key. Writes: admin only, 403 for every other role."""
    target = await make_org(name="Target Org")
    before = await read(client, target.id, admin_headers)
    headers = await caller_headers(make_org, make_key, role)
    logged = await log_count(session)

    response = await _call(client, endpoint, headers, target, before.headers["etag"])

    if role is None:
        assert_problem(response, 401, slug="unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")
    elif endpoint in WRITES and role is not Role.admin:
        assert_problem(response, 403, slug="forbidden")
    else:
        assert response.status_code == SUCCESS[endpoint], response.text
        if endpoint in WRITES:
            assert await log_count(session) == logged + 1
        return
    # Refused: nothing changed.
    assert await log_count(session) == logged
    after = await client.get(f"{ORGS}/{target.id}", headers=admin_headers)
    assert after.status_code == 200
    assert after.json() == before.json()
    assert "Created By Caller" not in {o["name"] for o in await all_orgs(client, admin_headers)}


async def test_anonymous_cannot_learn_whether_an_organization_exists(client: httpx2.AsyncClient) -> None:
    missing = await client.get(f"{ORGS}/{uuid.uuid4()}")
    existing = await client.get(f"{ORGS}/{PLATFORM_ORG_ID}")
    assert_problem(missing, 401)
    assert_problem(existing, 401)


# --- pagination -----------------------------------------------------------------------------------

PAGED_NAMES = ["alfa Org", "Bravo Org", "CHARLIE org", "delta ORG", "Ébano Org", "ñandú Org", "Ángeles Org", "zulu Org"]


def _tamper(cursor: str, how: str) -> str:
    raw: dict[str, Any] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    match how:
        case "other-sort":
            raw["s"] = "created"
        case "wrong-type":
            raw["v"] = [42, raw["v"][1]]
        case "not-a-uuid":
            raw["v"] = [raw["v"][0], "not-a-uuid"]
        case "too-few-values":
            raw["v"] = raw["v"][:1]
        case "not-an-object":
            return base64.urlsafe_b64encode(b"[1, 2]").decode()
        case "not-json":
            return base64.urlsafe_b64encode(b"\xff\xfe garbage").decode()
        case "not-base64":
            return "!!!***"
        case "truncated":
            return cursor[: len(cursor) // 2]
        case _:
            raise AssertionError(how)
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


async def test_walking_pages_by_next_cursor_yields_every_organization_once(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    for name in PAGED_NAMES:
        await make_org(name=name)
    everything = await all_orgs(client, admin_headers)
    assert len(everything) == len(PAGED_NAMES) + 1  # and the platform

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(ORGS, params=params, headers=admin_headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages += 1
        assert len(page["items"]) <= 2
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            assert "link" not in response.headers, "the last page has no next link"
            break
        link = response.headers["link"]
        assert link.endswith('>; rel="next"'), link
        next_url = httpx2.URL(link[1 : link.index(">")])
        assert next_url.params["cursor"] == cursor
        assert next_url.params["limit"] == "2"
        assert next_url.path == ORGS
        assert pages < 10, "pagination does not end"

    ids = [o["id"] for o in seen]
    assert len(ids) == len(set(ids)), "an organization appeared on two pages"
    assert seen == everything, "the pages, joined, are the full list in the same order"
    assert pages == 5  # 9 organizations, 2 per page
    ascii_names = [
        o["name"] for o in seen if o["name"] in {"alfa Org", "Bravo Org", "CHARLIE org", "delta ORG", "zulu Org"}
    ]
    assert ascii_names == ["alfa Org", "Bravo Org", "CHARLIE org", "delta ORG", "zulu Org"], "sorted ignoring case"


async def test_following_the_link_header_gives_the_next_page(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    for name in PAGED_NAMES[:4]:
        await make_org(name=name)
    first = await client.get(ORGS, params={"limit": 3}, headers=admin_headers)
    link = first.headers["link"]
    second = await client.get(link[1 : link.index(">")], headers=admin_headers)
    assert second.status_code == 200, second.text
    by_cursor = await client.get(
        ORGS, params={"limit": 3, "cursor": first.json()["next_cursor"]}, headers=admin_headers
    )
    assert second.json() == by_cursor.json()
    assert not {o["id"] for o in first.json()["items"]} & {o["id"] for o in second.json()["items"]}


@pytest.mark.parametrize(
    "how",
    [
        "other-sort",
        "wrong-type",
        "not-a-uuid",
        "too-few-values",
        "not-an-object",
        "not-json",
        "not-base64",
        "truncated",
    ],
)
async def test_tampered_cursor_is_422(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, how: str
) -> None:
    for name in PAGED_NAMES[:3]:
        await make_org(name=name)
    cursor = (await client.get(ORGS, params={"limit": 1}, headers=admin_headers)).json()["next_cursor"]
    assert cursor is not None
    response = await client.get(ORGS, params={"limit": 1, "cursor": _tamper(cursor, how)}, headers=admin_headers)
    assert_problem(response, 422, slug="validation-error", loc=["query", "cursor"])


@pytest.mark.parametrize("limit", ["0", "201", "-1", "many"])
async def test_limit_out_of_range_is_422(client: httpx2.AsyncClient, admin_headers: dict[str, str], limit: str) -> None:
    response = await client.get(ORGS, params={"limit": limit}, headers=admin_headers)
    assert_problem(response, 422, loc=["query", "limit"])


async def test_limit_bounds_are_accepted(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    await make_org()
    one = await client.get(ORGS, params={"limit": 1}, headers=admin_headers)
    assert one.status_code == 200
    assert len(one.json()["items"]) == 1
    assert one.json()["next_cursor"] is not None
    most = await client.get(ORGS, params={"limit": 200}, headers=admin_headers)
    assert most.status_code == 200
    assert len(most.json()["items"]) == 2


async def test_list_filters(client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg) -> None:
    jalisco = await make_org(OrganizationKind.state, name="Gobierno de Jalisco", subdivision="MX-JAL")
    zapopan = await make_org(OrganizationKind.municipality, name="Zapopan", inegi_code="14120")
    texas = await make_org(OrganizationKind.state, name="State of Texas", country="US", subdivision="US-TX")

    async def ids(**params: str) -> set[str]:
        response = await client.get(ORGS, params=params, headers=admin_headers)
        assert response.status_code == 200, response.text
        return {o["id"] for o in response.json()["items"]}

    assert await ids(kind="state") == {str(jalisco.id), str(texas.id)}
    assert await ids(subdivision="MX-JAL") == {str(jalisco.id), str(zapopan.id)}
    assert await ids(country="US") == {str(texas.id)}
    assert await ids(kind="state", country="MX") == {str(jalisco.id)}
    assert_problem(await client.get(ORGS, params={"kind": "galaxy"}, headers=admin_headers), 422, loc=["query", "kind"])
    assert_problem(
        await client.get(ORGS, params={"country": "mx"}, headers=admin_headers), 422, loc=["query", "country"]
    )


# --- CSV ------------------------------------------------------------------------------------------


async def test_csv_lists_every_organization_with_a_header_row(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    await make_org(
        OrganizationKind.municipality, name="Zapopan", inegi_code="14120", website="https://zapopan.example/"
    )
    await make_org(name="=HYPERLINK(evil)")
    await make_org(name='Comma, "Quoted" Org')
    expected = await all_orgs(client, admin_headers)

    response = await client.get(ORGS, headers={**admin_headers, "Accept": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == CSV_HEADER
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [r["id"] for r in records] == [o["id"] for o in expected]
    by_name = {r["name"]: r for r in records}
    zapopan = by_name["Zapopan"]
    assert (zapopan["kind"], zapopan["subdivision"], zapopan["inegi_code"]) == ("municipality", "MX-JAL", "14120")
    assert zapopan["website"] == "https://zapopan.example/"
    assert 'Comma, "Quoted" Org' in by_name
    # A spreadsheet must not run a name as a formula.
    assert "'=HYPERLINK(evil)" in by_name
    assert by_name["platform"]["subdivision"] == "", "empty cells for nulls"


async def test_csv_respects_filters_and_needs_a_key(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    await make_org(OrganizationKind.state, name="Gobierno de Jalisco", subdivision="MX-JAL")
    response = await client.get(ORGS, params={"kind": "state"}, headers={**admin_headers, "Accept": "text/csv"})
    rows = list(csv.reader(io.StringIO(response.text)))
    assert [row[1] for row in rows[1:]] == ["Gobierno de Jalisco"]
    anonymous = await client.get(ORGS, headers={"Accept": "text/csv"})
    assert_problem(anonymous, 401)


async def test_list_in_an_unsupported_media_type_is_406(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(ORGS, headers={**admin_headers, "Accept": "application/xml"})
    assert_problem(response, 406)
