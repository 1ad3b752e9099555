"""/v1/webhooks: an organization's subscriptions. The signing secret is shown once; URLs must be
https on a public address (no loopback, private, link-local or metadata targets, however spelled;
PACTA_WEBHOOKS_ALLOW_LOOPBACK=true admits plain http on loopback only); credentials in a URL are
refused; PATCH and DELETE need If-Match; each organization sees its own subscriptions only."""

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks import Webhook

from app.main import create_app
from app.models.organizations import PLATFORM_ORG_ID
from tests import conftest
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.factories import (
    AGREEMENTS,
    World,
    assert_problem,
    count,
    delete_current,
    get_ok,
    make_world,
    patch_current,
    post_created,
    scalar,
)
from tests.targets.factories import make_agreement

WEBHOOKS = "/v1/webhooks"
ORGS = "/v1/organizations"
# A public address, written as a literal so no DNS is needed (nothing is sent while subscribing).
PUBLIC = "https://93.184.215.14/hooks/pacta"

# Each of these reaches something other than a public host, however it is spelled.
SSRF = [
    "https://127.0.0.1/hooks",
    "https://localhost/hooks",
    "https://10.0.0.1/hooks",
    "https://172.16.0.1/hooks",
    "https://192.168.1.1/hooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/hooks",
    "https://[::1]/hooks",
    "https://[fd00::1]/hooks",
    "https://[fe80::1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[::ffff:169.254.169.254]/hooks",
    "https://0.0.0.0/hooks",
    "https://[::]/hooks",
    "https://2130706433/hooks",  # 127.0.0.1 as one number
    "https://0x7f000001/hooks",
    "https://127.1/hooks",
    "https://224.0.0.1/hooks",
    "https://no-such-host.invalid/hooks",
]


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@pytest.fixture
async def loopback_client(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx2.AsyncClient]:
    """The same database, served with PACTA_WEBHOOKS_ALLOW_LOOPBACK=true."""
    app = create_app(conftest.test_settings(webhooks_allow_loopback=True))
    app.state.sessionmaker = sessionmaker
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


def body(url: str = PUBLIC, **fields: Any) -> dict[str, Any]:
    return {"url": url, "event_types": ["agreement.*", "activity.created"], **fields}


async def subscribe(client: httpx2.AsyncClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = await client.post(WEBHOOKS, json=body(**fields), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def url_of(subscription: dict[str, Any]) -> str:
    return f"{WEBHOOKS}/{subscription['id']}"


async def test_the_signing_secret_is_shown_once(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    editor = world.headers("editor")
    response = await client.post(
        WEBHOOKS,
        json=body(event_types=["activity.created", "agreement.*", "activity.created"], description="Portal municipal"),
        headers=editor,
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert response.headers["location"].endswith(url_of(created))
    secret = created["secret"]
    assert secret.startswith("whsec_")
    assert created["url"] == PUBLIC
    assert created["event_types"] == ["activity.created", "agreement.*"]
    assert created["organization_id"] == str(world.signatory.id)
    assert (created["status"], created["consecutive_failures"], created["description"]) == (
        "active",
        0,
        "Portal municipal",
    )
    # A secret the Standard Webhooks library accepts: what it signs, it verifies.
    hook = Webhook(secret)
    moment = datetime.now(UTC)
    payload = json.dumps({"type": "agreement.created", "timestamp": moment.isoformat(), "data": {}})
    signature = hook.sign("msg_1", moment, payload)
    headers = {"webhook-id": "msg_1", "webhook-timestamp": str(int(moment.timestamp())), "webhook-signature": signature}
    assert hook.verify(payload, headers)["type"] == "agreement.created"

    read = await get_ok(client, url_of(created), editor)
    assert "secret" not in read.json()
    assert read.json() == {k: v for k, v in created.items() if k != "secret"}
    listed = await get_ok(client, WEBHOOKS, editor)
    assert [s["id"] for s in listed.json()["items"]] == [created["id"]]
    assert secret not in listed.text
    patched = await patch_current(client, url_of(created), editor, {"description": "Portal"})
    assert patched.status_code == 200
    assert secret not in patched.text
    # Nor does the transparency log keep it.
    leaked = await session.execute(
        text("SELECT count(*) FROM log_details WHERE document::text LIKE :s"), {"s": f"%{secret[6:]}%"}
    )
    assert leaked.scalar_one() == 0
    await session.commit()


async def test_urls_that_reach_private_loopback_or_metadata_addresses_are_refused(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    editor = world.headers("editor")
    for url in SSRF:
        assert_problem(await client.post(WEBHOOKS, json=body(url), headers=editor), 422, loc=["body", "url"])
    assert await count(session, "webhook_subscriptions") == 0
    assert (await subscribe(client, editor))["url"] == PUBLIC


async def test_plain_http_only_on_loopback_and_only_when_allowed(
    client: httpx2.AsyncClient, loopback_client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    editor = world.headers("editor")
    for url in ("http://127.0.0.1:8080/hooks", "http://localhost:8080/hooks", "http://93.184.215.14/hooks"):
        assert_problem(await client.post(WEBHOOKS, json=body(url), headers=editor), 422, loc=["body", "url"])
    assert await count(session, "webhook_subscriptions") == 0

    for url in ("http://127.0.0.1:8080/hooks", "http://localhost:8080/hooks", "http://[::1]:8080/hooks"):
        assert (await subscribe(loopback_client, editor, url=url))["url"] == url
    # Allowing loopback allows loopback, nothing else: no http elsewhere, no private ranges.
    for url in (
        "http://93.184.215.14/hooks",
        "https://10.0.0.1/hooks",
        "http://192.168.1.1/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:8080/hooks",
    ):
        response = await loopback_client.post(WEBHOOKS, json=body(url), headers=editor)
        assert_problem(response, 422, loc=["body", "url"])
    assert await count(session, "webhook_subscriptions") == 3


async def test_credentials_other_schemes_and_unknown_event_types_are_refused(
    client: httpx2.AsyncClient, loopback_client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    editor = world.headers("editor")
    for url in (
        "https://user:secret@93.184.215.14/hooks",
        "https://token@93.184.215.14/hooks",
        "ftp://93.184.215.14/hooks",
        "file:///etc/passwd",
        "https:///hooks",
    ):
        assert_problem(await client.post(WEBHOOKS, json=body(url), headers=editor), 422, loc=["body", "url"])
    response = await loopback_client.post(WEBHOOKS, json=body("http://user:pw@127.0.0.1:8080/h"), headers=editor)
    assert_problem(response, 422, loc=["body", "url"])
    for event_types in ([], ["Agreement.Created"], ["agreement"], ["agreement.created", "agrement.created"]):
        response = await client.post(WEBHOOKS, json=body(event_types=event_types), headers=editor)
        assert_problem(response, 422)
    # Well-formed, but no such event: a typo would otherwise never deliver anything.
    for event_types in (["agreement.signed"], ["agrement.*"], ["activity.created", "deadline.missed"]):
        response = await client.post(WEBHOOKS, json=body(event_types=event_types), headers=editor)
        assert_problem(response, 422, loc=["body", "event_types", len(event_types) - 1])
    assert await count(session, "webhook_subscriptions") == 0
    for event_types in (["*"], ["measurement.verified", "deadline.approaching"], ["compliance.*"]):
        assert (await subscribe(client, editor, event_types=event_types))["event_types"] == sorted(event_types)


async def test_changes_need_if_match_and_keep_urls_safe(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    editor = world.headers("editor")
    created = await subscribe(client, editor)
    url = url_of(created)
    assert_problem(await client.patch(url, json={"description": "x"}, headers=editor), 428)
    assert_problem(await client.patch(url, json={"description": "x"}, headers={**editor, "If-Match": '"old"'}), 412)
    assert_problem(
        await patch_current(client, url, editor, {"url": "https://10.0.0.1/hooks"}), 422, loc=["body", "url"]
    )
    assert_problem(await patch_current(client, url, editor, {"status": "failing"}), 422)
    unknown = await patch_current(client, url, editor, {"event_types": ["agreement.signed"]})
    assert_problem(unknown, 422, loc=["body", "event_types", 0])
    assert (await get_ok(client, url, editor)).json()["url"] == PUBLIC
    assert (await get_ok(client, url, editor)).json()["event_types"] == created["event_types"]

    changed = await patch_current(
        client,
        url,
        editor,
        {"url": "https://93.184.215.15/v2/hooks", "event_types": ["measurement.*"], "status": "disabled"},
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["url"], changed.json()["event_types"], changed.json()["status"]) == (
        "https://93.184.215.15/v2/hooks",
        ["measurement.*"],
        "disabled",
    )
    assert changed.headers["etag"] == (await get_ok(client, url, editor)).headers["etag"]
    enabled = await patch_current(client, url, editor, {"status": "active"})
    assert enabled.json()["status"] == "active"

    assert_problem(await client.delete(url, headers=editor), 428)
    assert_problem(await client.delete(url, headers={**editor, "If-Match": '"old"'}), 412)
    etag = (await get_ok(client, url, editor)).headers["etag"]
    deleted = await client.delete(url, headers={**editor, "If-Match": etag})
    assert deleted.status_code == 204, deleted.text
    assert_problem(await client.get(url, headers=editor), 404)
    assert await count(session, "webhook_subscriptions") == 0


async def test_an_organization_sees_only_its_own_subscriptions(client: httpx2.AsyncClient, world: World) -> None:
    ours = await subscribe(client, world.headers("editor"))
    theirs = await subscribe(client, world.headers("other_editor"))
    auditors = await subscribe(client, world.headers("auditor"), event_types=["*"])
    # Subscriptions belong to the organization, whichever of its keys made them.
    assert [s["id"] for s in (await get_ok(client, WEBHOOKS, world.headers("legal_reviewer"))).json()["items"]] == [
        ours["id"]
    ]
    assert [s["id"] for s in (await get_ok(client, WEBHOOKS, world.headers("other_editor"))).json()["items"]] == [
        theirs["id"]
    ]
    assert [s["id"] for s in (await get_ok(client, WEBHOOKS, world.headers("auditor"))).json()["items"]] == [
        auditors["id"]
    ]
    # Not even an admin or an auditor reads another organization's subscriptions.
    for actor in ("other_editor", "participant", "auditor", "admin"):
        headers = world.headers(actor)
        hidden = assert_problem(await client.get(url_of(ours), headers=headers), 404)
        missing = assert_problem(await client.get(f"{WEBHOOKS}/{uuid.uuid4()}", headers=headers), 404)
        assert hidden["detail"] == missing["detail"]
        stale = {**headers, "If-Match": '"x"'}
        assert_problem(await client.patch(url_of(ours), json={"description": "x"}, headers=stale), 404)
        assert_problem(await client.delete(url_of(ours), headers=stale), 404)
        assert_problem(await client.get(f"{url_of(ours)}/deliveries", headers=headers), 404)
        assert_problem(await client.post(f"{url_of(ours)}/deliveries/{uuid.uuid4()}/redeliver", headers=headers), 404)
    assert (await get_ok(client, url_of(ours), world.headers("editor"))).json()["id"] == ours["id"]
    assert_problem(await client.get(WEBHOOKS), 401)
    assert_problem(await client.post(WEBHOOKS, json=body()), 401)


# --- malformed or disguised webhook URLs (a regression a review found) ----------------------------


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


# --- webhook subscriptions and the key that made them (a regression a review found) ---------------


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
    key = await post_created(client, f"{ORGS}/{world.signatory.id}/api-keys", {"role": "editor"}, admin_headers)
    subscriber = bearer(key["secret"])
    subscription = await post_created(client, WEBHOOKS, {"url": PUBLIC, "event_types": ["agreement.*"]}, subscriber)
    url = f"{WEBHOOKS}/{subscription['id']}"

    agreement = await make_agreement(client, world, "public")
    delivered = await _deliveries(session, subscription["id"])
    assert delivered >= 1, "the live key's subscription receives the agreement's events"
    # Another role of the same organization may read it, not redirect or remove it.
    lawyer = world.headers("legal_reviewer")
    assert (await get_ok(client, url, lawyer)).json()["url"] == PUBLIC
    assert_problem(await patch_current(client, url, lawyer, {"url": "https://93.184.215.15/elsewhere"}), 403)
    assert_problem(await delete_current(client, url, lawyer), 403)
    assert (await get_ok(client, url, subscriber)).json()["url"] == PUBLIC

    revoked = await client.delete(f"{ORGS}/{world.signatory.id}/api-keys/{key['id']}", headers=admin_headers)
    assert revoked.status_code == 204, revoked.text
    changed = await patch_current(client, f"{AGREEMENTS}/{agreement['id']}", editor, {"summary": "Nuevo resumen"})
    assert changed.status_code == 200, changed.text
    assert await _deliveries(session, subscription["id"]) == delivered, "a revoked key's subscription gets nothing"

    # An admin may change and remove the platform's subscriptions, whichever role made them.
    auditor_key = await post_created(client, f"{ORGS}/{PLATFORM_ORG_ID}/api-keys", {"role": "auditor"}, admin_headers)
    platform = await post_created(
        client, WEBHOOKS, {"url": PUBLIC, "event_types": ["agreement.*"]}, bearer(auditor_key["secret"])
    )
    platform_url = f"{WEBHOOKS}/{platform['id']}"
    patched = await patch_current(client, platform_url, admin_headers, {"description": "Cambiada por admin"})
    assert patched.status_code == 200, patched.text
    assert (await delete_current(client, platform_url, admin_headers)).status_code == 204
