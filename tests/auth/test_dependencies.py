"""Who is calling: Bearer API keys, refused with 401 when missing, malformed, unknown, expired or
revoked; roles decide the rest (403); last_used_at follows use."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import PROBLEM_MEDIA_TYPE
from app.models import Role
from app.models.organizations import PLATFORM_ORG_ID
from tests.conftest import MakeKey, MakeOrg, bearer

ORGS = "/v1/organizations"
PROTECTED = f"{ORGS}/{PLATFORM_ORG_ID}"
PROBLEM_KEYS = {"type", "title", "status", "detail", "instance"}


def assert_unauthorized(response: httpx2.Response) -> dict[str, Any]:
    """401 as a problem document, with the challenge that tells the client to send a Bearer key."""
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_MEDIA_TYPE
    assert response.headers["www-authenticate"].startswith("Bearer")
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_KEYS, body
    assert body["type"] == "/problems/unauthorized"
    assert body["status"] == 401
    assert body["title"]
    assert body["detail"]
    assert body["instance"] == response.request.url.path
    return body


def prefix_of(secret: str) -> str:
    return secret.split("_", 2)[1]


async def execute(session: AsyncSession, sql: str, **params: Any) -> None:
    """A direct change inside the test's transaction, visible to the requests that follow."""
    await session.execute(text(sql), params)
    await session.commit()


async def key_row(session: AsyncSession, secret: str) -> dict[str, Any]:
    row = (
        await session.execute(text("SELECT * FROM api_keys WHERE prefix = :prefix"), {"prefix": prefix_of(secret)})
    ).mappings()
    found = dict(row.one())
    await session.commit()
    return found


async def listed_key(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], org_id: uuid.UUID, secret: str
) -> dict[str, Any]:
    response = await client.get(f"{ORGS}/{org_id}/api-keys", headers=admin_headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    matching = [k for k in items if k["prefix"] == prefix_of(secret)]
    assert len(matching) == 1
    return matching[0]


# --- anonymous and malformed credentials ----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", ORGS),
        ("POST", ORGS),
        ("GET", PROTECTED),
        ("PATCH", PROTECTED),
        ("DELETE", PROTECTED),
        ("GET", f"{PROTECTED}/api-keys"),
        ("POST", f"{PROTECTED}/api-keys"),
        ("DELETE", f"{PROTECTED}/api-keys/{uuid.UUID(int=7)}"),
    ],
)
async def test_no_authorization_header_is_401_with_a_bearer_challenge(
    client: httpx2.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, json={} if method in ("POST", "PATCH") else None)
    body = assert_unauthorized(response)
    assert "Bearer" in body["detail"]


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("", id="empty"),
        pytest.param("Bearer", id="scheme-only"),
        pytest.param("Bearer ", id="scheme-and-space"),
        pytest.param("Bearer not-a-key", id="not-a-key"),
        pytest.param("Bearer pacta_abc_def", id="short-prefix"),
        pytest.param("Bearer pacta_0123456789ab_", id="no-secret-part"),
        pytest.param("Bearer other_0123456789ab_secretsecretsecret", id="other-product-prefix"),
        pytest.param(f"Bearer pacta_{'0' * 12}_{'x' * 43}", id="well-formed-but-unknown"),
        pytest.param("Basic dXNlcjpwYXNzd29yZA==", id="basic-auth"),
        pytest.param("Digest username=admin", id="digest"),
    ],
)
async def test_malformed_or_unknown_credentials_are_401(client: httpx2.AsyncClient, header: str) -> None:
    assert_unauthorized(await client.get(ORGS, headers={"Authorization": header}))


@pytest.mark.parametrize("scheme", ["Basic", "Token", "ApiKey"])
async def test_a_real_key_under_another_scheme_is_401(
    client: httpx2.AsyncClient, make_key: MakeKey, scheme: str
) -> None:
    secret = await make_key(Role.admin)
    assert_unauthorized(await client.get(ORGS, headers={"Authorization": f"{scheme} {secret}"}))
    assert_unauthorized(await client.get(ORGS, headers={"Authorization": secret}))


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
async def test_the_bearer_scheme_is_case_insensitive(
    client: httpx2.AsyncClient, make_key: MakeKey, scheme: str
) -> None:
    secret = await make_key(Role.auditor)
    response = await client.get(ORGS, headers={"Authorization": f"{scheme} {secret}"})
    assert response.status_code == 200, response.text


async def test_a_known_prefix_with_the_wrong_secret_is_401(client: httpx2.AsyncClient, make_key: MakeKey) -> None:
    secret = await make_key(Role.admin)
    head, _, tail = secret.rpartition("_")
    forged = f"{head}_{'A' if tail[0] != 'A' else 'B'}{tail[1:]}"
    assert_unauthorized(await client.get(ORGS, headers=bearer(forged)))
    assert_unauthorized(await client.get(ORGS, headers=bearer(secret[:-1])))
    assert_unauthorized(await client.get(ORGS, headers=bearer(secret + "x")))
    assert_unauthorized(await client.get(ORGS, headers=bearer(f"{secret} {secret}")))
    assert (await client.get(ORGS, headers=bearer(secret))).status_code == 200


async def test_a_bad_key_is_401_even_where_the_resource_is_missing(client: httpx2.AsyncClient) -> None:
    """Authentication is decided first, so a bad key learns nothing about what exists."""
    response = await client.get(f"{ORGS}/{uuid.uuid4()}", headers=bearer(f"pacta_{'1' * 12}_{'y' * 43}"))
    assert_unauthorized(response)


# --- keys that stopped being valid ----------------------------------------------------------------


async def test_an_expired_key_is_401(
    client: httpx2.AsyncClient, make_org: MakeOrg, make_key: MakeKey, session: AsyncSession
) -> None:
    org = await make_org()
    secret = await make_key(Role.editor, org.id, expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert (await client.get(ORGS, headers=bearer(secret))).status_code == 200, "valid until it expires"

    await execute(
        session,
        "UPDATE api_keys SET expires_at = clock_timestamp() - interval '1 second' WHERE prefix = :prefix",
        prefix=prefix_of(secret),
    )
    body = assert_unauthorized(await client.get(ORGS, headers=bearer(secret)))
    assert "expiró" in body["detail"].lower()
    # Expiry is not revocation: the key is still listed, unrevoked, with its expiry.
    assert (await key_row(session, secret))["revoked_at"] is None


async def test_a_key_with_a_future_expiry_works(
    client: httpx2.AsyncClient, make_org: MakeOrg, make_key: MakeKey
) -> None:
    org = await make_org()
    secret = await make_key(Role.contributor, org.id, expires_at=datetime.now(UTC) + timedelta(minutes=5))
    assert (await client.get(f"{ORGS}/{org.id}", headers=bearer(secret))).status_code == 200


async def test_a_revoked_key_is_401(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, make_key: MakeKey
) -> None:
    org = await make_org()
    secret = await make_key(Role.auditor, org.id)
    key_id = (await listed_key(client, admin_headers, org.id, secret))["id"]
    assert (await client.get(ORGS, headers=bearer(secret))).status_code == 200
    revoked = await client.delete(f"{ORGS}/{org.id}/api-keys/{key_id}", headers=admin_headers)
    assert revoked.status_code == 204
    body = assert_unauthorized(await client.get(ORGS, headers=bearer(secret)))
    assert "revocada" in body["detail"].lower()
    # Even for reading its own organization.
    assert_unauthorized(await client.get(f"{ORGS}/{org.id}", headers=bearer(secret)))


async def test_an_admin_can_revoke_its_own_key_and_is_locked_out(
    client: httpx2.AsyncClient, make_key: MakeKey, admin_headers: dict[str, str]
) -> None:
    secret = await make_key(Role.admin)
    key_id = (await listed_key(client, admin_headers, PLATFORM_ORG_ID, secret))["id"]
    response = await client.delete(f"{ORGS}/{PLATFORM_ORG_ID}/api-keys/{key_id}", headers=bearer(secret))
    assert response.status_code == 204, response.text
    assert_unauthorized(await client.get(ORGS, headers=bearer(secret)))
    assert (await client.get(ORGS, headers=admin_headers)).status_code == 200, "other admin keys still work"


# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [r for r in Role if r is not Role.admin])
async def test_a_valid_key_without_the_role_is_403_not_401(
    client: httpx2.AsyncClient, make_org: MakeOrg, make_key: MakeKey, role: Role
) -> None:
    org = await make_org()
    secret = await make_key(role, org.id)
    response = await client.post(ORGS, json={"name": "Not Allowed", "kind": "university"}, headers=bearer(secret))
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].split(";")[0] == PROBLEM_MEDIA_TYPE
    assert response.json()["type"] == "/problems/forbidden"
    assert "www-authenticate" not in response.headers


async def test_the_role_is_the_keys_not_the_organizations(client: httpx2.AsyncClient, make_key: MakeKey) -> None:
    """An auditor key of the platform organization is still only an auditor."""
    secret = await make_key(Role.auditor, PLATFORM_ORG_ID)
    assert (await client.get(ORGS, headers=bearer(secret))).status_code == 200
    response = await client.post(ORGS, json={"name": "Not Allowed", "kind": "university"}, headers=bearer(secret))
    assert response.status_code == 403, response.text


# --- last_used_at ---------------------------------------------------------------------------------


async def test_last_used_at_is_set_on_first_use(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, make_key: MakeKey
) -> None:
    org = await make_org()
    secret = await make_key(Role.editor, org.id)
    assert (await listed_key(client, admin_headers, org.id, secret))["last_used_at"] is None

    before = datetime.now(UTC)
    assert (await client.get(ORGS, headers=bearer(secret))).status_code == 200
    after = datetime.now(UTC)

    used = datetime.fromisoformat((await listed_key(client, admin_headers, org.id, secret))["last_used_at"])
    assert used.utcoffset() == timedelta(0)
    assert before <= used <= after


async def test_last_used_at_is_refreshed_at_most_once_a_minute(
    client: httpx2.AsyncClient,
    admin_headers: dict[str, str],
    make_org: MakeOrg,
    make_key: MakeKey,
    session: AsyncSession,
) -> None:
    org = await make_org()
    secret = await make_key(Role.editor, org.id)
    assert (await client.get(ORGS, headers=bearer(secret))).status_code == 200
    first = (await listed_key(client, admin_headers, org.id, secret))["last_used_at"]
    assert (await client.get(ORGS, headers=bearer(secret))).status_code == 200
    assert (await listed_key(client, admin_headers, org.id, secret))["last_used_at"] == first

    long_ago = datetime.now(UTC) - timedelta(hours=1)
    await execute(
        session, "UPDATE api_keys SET last_used_at = :at WHERE prefix = :prefix", at=long_ago, prefix=prefix_of(secret)
    )
    before = datetime.now(UTC)
    assert (await client.get(ORGS, headers=bearer(secret))).status_code == 200
    refreshed = datetime.fromisoformat((await listed_key(client, admin_headers, org.id, secret))["last_used_at"])
    assert refreshed >= before


async def test_refused_keys_are_not_marked_as_used(
    client: httpx2.AsyncClient, make_org: MakeOrg, make_key: MakeKey, session: AsyncSession
) -> None:
    org = await make_org()
    secret = await make_key(Role.editor, org.id, expires_at=datetime.now(UTC) + timedelta(hours=1))
    await execute(
        session,
        "UPDATE api_keys SET expires_at = clock_timestamp() - interval '1 second' WHERE prefix = :prefix",
        prefix=prefix_of(secret),
    )
    assert_unauthorized(await client.get(ORGS, headers=bearer(secret)))
    head, _, tail = secret.rpartition("_")
    assert_unauthorized(await client.get(ORGS, headers=bearer(f"{head}_{tail[::-1]}")))
    assert (await key_row(session, secret))["last_used_at"] is None
