"""/v1/organizations/{id}/api-keys: secrets shown once and stored as hashes, roles, revocation."""

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
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
READ_FIELDS = {
    "id",
    "organization_id",
    "name",
    "prefix",
    "role",
    "created_at",
    "expires_at",
    "revoked_at",
    "last_used_at",
}


# --- helpers -------------------------------------------------------------------------------------


def keys_url(org_id: uuid.UUID | str) -> str:
    return f"{ORGS}/{org_id}/api-keys"


def utc(value: str) -> datetime:
    """An RFC 3339 timestamp from the API, which must carry the UTC offset."""
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(0), value
    return parsed


async def log_count(session: AsyncSession) -> int:
    value = (await session.execute(text("SELECT count(*) FROM log_entries"))).scalar_one()
    await session.commit()
    return int(value)


async def last_log(session: AsyncSession) -> dict[str, Any]:
    row = (
        await session.execute(
            text("SELECT action, resource_type, resource_id, actor_org_id FROM log_entries ORDER BY index DESC LIMIT 1")
        )
    ).one()
    await session.commit()
    return dict(row._mapping)


async def issue(client: httpx2.AsyncClient, headers: dict[str, str], org_id: uuid.UUID, **body: Any) -> dict[str, Any]:
    body.setdefault("role", "editor")
    response = await client.post(keys_url(org_id), json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def list_keys(client: httpx2.AsyncClient, headers: dict[str, str], org_id: uuid.UUID) -> list[dict[str, Any]]:
    response = await client.get(keys_url(org_id), params={"limit": 200}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def key_works(client: httpx2.AsyncClient, secret: str) -> bool:
    response = await client.get(ORGS, params={"limit": 1}, headers=bearer(secret))
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


# --- issuing --------------------------------------------------------------------------------------


async def test_create_returns_the_secret_once_and_it_authenticates(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org()
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    before = datetime.now(UTC)
    response = await client.post(
        keys_url(org.id),
        json={"role": "contributor", "name": "field team", "expires_at": expires.isoformat()},
        headers=admin_headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == READ_FIELDS | {"secret"}
    assert body["organization_id"] == str(org.id)
    assert body["role"] == "contributor"
    assert body["name"] == "field team"
    assert utc(body["expires_at"]) == expires
    assert before <= utc(body["created_at"]) <= datetime.now(UTC)
    assert body["revoked_at"] is None
    assert body["last_used_at"] is None
    assert body["secret"].startswith(f"pacta_{body['prefix']}_")
    assert len(body["secret"]) > 40
    assert response.headers["cache-control"] == "no-store", "no cache may keep the secret"
    assert await key_works(client, body["secret"])

    listed = await list_keys(client, admin_headers, org.id)
    assert [k["id"] for k in listed] == [body["id"]]
    assert set(listed[0]) == READ_FIELDS
    assert listed[0]["prefix"] == body["prefix"]


async def test_secrets_never_appear_again_in_lists_or_csv(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org()
    secrets = [(await issue(client, admin_headers, org.id, role=role))["secret"] for role in ("editor", "auditor")]
    response = await client.get(keys_url(org.id), headers=admin_headers)
    assert response.status_code == 200
    assert len(response.json()["items"]) == 2
    for item in response.json()["items"]:
        assert "secret" not in item
        assert "secret_hash" not in item
    as_csv = await client.get(keys_url(org.id), headers={**admin_headers, "Accept": "text/csv"})
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert "secret" not in rows[0]
    assert "secret_hash" not in rows[0]
    assert len(rows) == 3
    for secret in secrets:
        random_part = secret.split("_", 2)[2]
        for shown in (response.text, as_csv.text):
            assert random_part not in shown


async def test_the_database_keeps_only_a_hash(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    org = await make_org()
    created = await issue(client, admin_headers, org.id, name="hashed")
    secret: str = created["secret"]
    random_part = secret.split("_", 2)[2]
    row = (await session.execute(text("SELECT * FROM api_keys WHERE id = :id"), {"id": created["id"]})).mappings().one()
    await session.commit()
    assert row["prefix"] == created["prefix"]
    assert row["secret_hash"]
    for column, value in row.items():
        assert secret not in str(value), column
        assert random_part not in str(value), column


async def test_idempotent_retry_never_stores_the_secret(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    """The stored outcome of a retry-safe POST must not become a second copy of the secret."""
    org = await make_org()
    headers = {**admin_headers, "Idempotency-Key": f"issue-{uuid.uuid4()}"}
    first = await client.post(keys_url(org.id), json={"role": "editor"}, headers=headers)
    assert first.status_code == 201, first.text
    random_part = first.json()["secret"].split("_", 2)[2]
    stored = (await session.execute(text("SELECT * FROM idempotency_keys"))).mappings().all()
    await session.commit()
    for record in stored:
        for column, value in record.items():
            text_value = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            assert random_part not in text_value, column

    # The secret cannot be replayed, so a retry is told the key was issued instead of issuing another.
    retry = await client.post(keys_url(org.id), json={"role": "editor"}, headers=headers)
    assert_problem(retry, 409, slug="idempotency-response-lost")
    assert [k["id"] for k in await list_keys(client, admin_headers, org.id)] == [first.json()["id"]]


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.admin])
async def test_every_non_admin_role_can_be_issued_to_any_organization(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, role: Role
) -> None:
    org = await make_org(OrganizationKind.auditor if role is Role.auditor else OrganizationKind.university)
    created = await issue(client, admin_headers, org.id, role=role.value)
    assert created["role"] == role.value
    assert await key_works(client, created["secret"])


async def test_admin_key_for_the_platform_is_allowed(client: httpx2.AsyncClient, admin_headers: dict[str, str]) -> None:
    created = await issue(client, admin_headers, PLATFORM_ORG_ID, role="admin")
    second_admin = bearer(created["secret"])
    response = await client.post(ORGS, json={"name": "By Second Admin", "kind": "university"}, headers=second_admin)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        pytest.param({"role": "admin"}, ["body", "role"], id="admin-for-a-non-platform-org"),
        pytest.param({"role": "superuser"}, ["body", "role"], id="unknown-role"),
        pytest.param({}, ["body", "role"], id="no-role"),
        pytest.param({"role": "editor", "expires_at": "2001-01-01T00:00:00Z"}, ["body", "expires_at"], id="expired"),
        pytest.param({"role": "editor", "expires_at": "2099-01-01T00:00:00"}, ["body", "expires_at"], id="naive"),
        pytest.param({"role": "editor", "expires_at": "next tuesday"}, ["body", "expires_at"], id="not-a-timestamp"),
        pytest.param({"role": "editor", "name": ""}, ["body", "name"], id="empty-name"),
        pytest.param({"role": "editor", "name": "n" * 201}, ["body", "name"], id="name-too-long"),
        pytest.param({"role": "editor", "secret": "mine"}, ["body", "secret"], id="chosen-secret"),
    ],
)
async def test_invalid_key_request_is_422_and_issues_nothing(
    client: httpx2.AsyncClient,
    admin_headers: dict[str, str],
    make_org: MakeOrg,
    session: AsyncSession,
    body: dict[str, Any],
    loc: list[str | int],
) -> None:
    org = await make_org()
    logged = await log_count(session)
    response = await client.post(keys_url(org.id), json=body, headers=admin_headers)
    assert_problem(response, 422, slug="validation-error", loc=loc)
    assert await list_keys(client, admin_headers, org.id) == []
    assert await log_count(session) == logged


async def test_expiry_a_moment_ago_is_refused(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org()
    just_past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    response = await client.post(
        keys_url(org.id), json={"role": "editor", "expires_at": just_past}, headers=admin_headers
    )
    assert_problem(response, 422, loc=["body", "expires_at"])


async def test_expiry_in_another_offset_is_kept_as_the_same_instant(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org()
    created = await issue(client, admin_headers, org.id, expires_at="2099-06-01T12:00:00-06:00")
    assert utc(created["expires_at"]) == datetime(2099, 6, 1, 18, 0, tzinfo=UTC)


async def test_keys_for_an_unknown_organization_are_404(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    missing = uuid.uuid4()
    assert_problem(await client.post(keys_url(missing), json={"role": "editor"}, headers=admin_headers), 404)
    assert_problem(await client.get(keys_url(missing), headers=admin_headers), 404)
    assert_problem(await client.delete(f"{keys_url(missing)}/{uuid.uuid4()}", headers=admin_headers), 404)


async def test_issuing_appends_one_log_entry(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    org = await make_org()
    logged = await log_count(session)
    created = await issue(client, admin_headers, org.id)
    assert await log_count(session) == logged + 1
    entry = await last_log(session)
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == ("create", "api_key", created["id"])
    assert entry["actor_org_id"] == PLATFORM_ORG_ID


# --- revoking -------------------------------------------------------------------------------------


async def test_revoke_stops_the_key_and_is_safe_to_repeat(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    org = await make_org()
    created = await issue(client, admin_headers, org.id)
    other = await issue(client, admin_headers, org.id)
    assert await key_works(client, created["secret"])
    logged = await log_count(session)

    first = await client.delete(f"{keys_url(org.id)}/{created['id']}", headers=admin_headers)
    assert first.status_code == 204, first.text
    assert first.content == b""
    assert await log_count(session) == logged + 1
    entry = await last_log(session)
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == ("revoke", "api_key", created["id"])

    refused = await client.get(ORGS, headers=bearer(created["secret"]))
    assert_problem(refused, 401, slug="unauthorized")
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert await key_works(client, other["secret"]), "revoking one key leaves the others alone"

    listed = {k["id"]: k for k in await list_keys(client, admin_headers, org.id)}
    revoked_at = utc(listed[created["id"]]["revoked_at"])
    assert listed[other["id"]]["revoked_at"] is None

    second = await client.delete(f"{keys_url(org.id)}/{created['id']}", headers=admin_headers)
    assert second.status_code == 204, second.text
    assert await log_count(session) == logged + 1, "revoking a revoked key changes nothing"
    again = {k["id"]: k for k in await list_keys(client, admin_headers, org.id)}
    assert utc(again[created["id"]]["revoked_at"]) == revoked_at


async def test_revoke_needs_no_if_match(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org()
    created = await issue(client, admin_headers, org.id)
    response = await client.delete(f"{keys_url(org.id)}/{created['id']}", headers={**admin_headers, "If-Match": '"x"'})
    assert response.status_code == 204, response.text


async def test_revoking_another_organizations_key_is_404_and_keeps_it(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    owner = await make_org()
    bystander = await make_org()
    created = await issue(client, admin_headers, owner.id)
    logged = await log_count(session)
    response = await client.delete(f"{keys_url(bystander.id)}/{created['id']}", headers=admin_headers)
    assert_problem(response, 404, slug="not-found")
    assert await key_works(client, created["secret"])
    assert await log_count(session) == logged
    assert_problem(await client.delete(f"{keys_url(owner.id)}/{uuid.uuid4()}", headers=admin_headers), 404)
    assert_problem(
        await client.delete(f"{keys_url(owner.id)}/not-a-uuid", headers=admin_headers), 422, loc=["path", "key_id"]
    )


# --- listing --------------------------------------------------------------------------------------


async def test_list_pages_oldest_first(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org()
    issued = [(await issue(client, admin_headers, org.id, name=f"key {n}"))["id"] for n in range(5)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(keys_url(org.id), params=params, headers=admin_headers)
        assert response.status_code == 200, response.text
        seen.extend(k["id"] for k in response.json()["items"])
        cursor = response.json()["next_cursor"]
        assert ("link" in response.headers) == (cursor is not None)
        if cursor is None:
            break
    assert seen == issued


async def test_an_organizations_cursor_does_not_page_another_list(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org()
    for _ in range(2):
        await issue(client, admin_headers, org.id)
    org_cursor = (await client.get(ORGS, params={"limit": 1}, headers=admin_headers)).json()["next_cursor"]
    response = await client.get(keys_url(org.id), params={"cursor": org_cursor}, headers=admin_headers)
    assert_problem(response, 422, loc=["query", "cursor"])


# --- authorization: every endpoint, every role ----------------------------------------------------

ROLES = [
    pytest.param(None, id="anonymous"),
    *(pytest.param(role, id=role.value) for role in Role),
]
# Who gets the success status; everyone else with a key gets 403, anonymous 401.
ALLOWED: dict[str, tuple[int, set[Role]]] = {
    "create": (201, {Role.admin}),
    "list-other-org": (200, {Role.admin, Role.auditor}),
    "list-own-org": (200, set(Role)),
    "revoke-other-org": (204, {Role.admin}),
    "revoke-own-org": (204, {Role.admin}),
}


async def _call(
    client: httpx2.AsyncClient,
    endpoint: str,
    headers: dict[str, str],
    *,
    target: Organization,
    target_key: str,
    own_org: uuid.UUID,
    own_key: str,
) -> httpx2.Response:
    match endpoint:
        case "create":
            return await client.post(keys_url(target.id), json={"role": "editor"}, headers=headers)
        case "list-other-org":
            return await client.get(keys_url(target.id), headers=headers)
        case "list-own-org":
            return await client.get(keys_url(own_org), headers=headers)
        case "revoke-other-org":
            return await client.delete(f"{keys_url(target.id)}/{target_key}", headers=headers)
        case "revoke-own-org":
            return await client.delete(f"{keys_url(own_org)}/{own_key}", headers=headers)
    raise AssertionError(endpoint)


@pytest.mark.parametrize("endpoint", list(ALLOWED))
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
    target = await make_org(name="Target Org")
    target_key = await issue(client, admin_headers, target.id, role="contributor")
    if role is Role.admin:
        own_org = PLATFORM_ORG_ID
        headers = bearer(await make_key(Role.admin))
    else:
        own_org = (await make_org(OrganizationKind.civil_society)).id
        headers = {} if role is None else bearer(await make_key(role, own_org))
    # A second key of the caller's organization, for "revoke-own-org" (revoking the caller's
    # own key would make the caller's later requests fail for the wrong reason).
    own_key = await issue(client, admin_headers, own_org, role="auditor")
    before = {org_id: await list_keys(client, admin_headers, org_id) for org_id in (target.id, own_org)}
    logged = await log_count(session)

    response = await _call(
        client, endpoint, headers, target=target, target_key=target_key["id"], own_org=own_org, own_key=own_key["id"]
    )

    status, allowed = ALLOWED[endpoint]
    if role is None:
        assert_problem(response, 401, slug="unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")
    elif role in allowed:
        assert response.status_code == status, response.text
        if endpoint.startswith("list"):
            listed = response.json()["items"]
            assert all("secret" not in k and "secret_hash" not in k for k in listed)
            org_id = target.id if endpoint == "list-other-org" else own_org
            assert {k["id"] for k in listed} == {k["id"] for k in before[org_id]}
        else:
            assert await log_count(session) == logged + 1
        return
    else:
        assert_problem(response, 403, slug="forbidden")
    # Refused: no key issued or revoked, nothing logged.
    assert await log_count(session) == logged
    for org_id, keys in before.items():
        # last_used_at moves when the caller's own key is used: everything else must stay.
        after = await list_keys(client, admin_headers, org_id)
        assert [{**k, "last_used_at": None} for k in after] == [{**k, "last_used_at": None} for k in keys]
    assert await key_works(client, target_key["secret"])
    assert await key_works(client, own_key["secret"])
