"""Regressions a review found in webhooks: malformed or disguised URLs are refused; a subscription
stops with its key and changes only with its role.

Moved from tests/test_review_regressions.py (issue 11): a regression lives beside its feature."""

import uuid

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.organizations import PLATFORM_ORG_ID
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.factories import (
    AGREEMENTS,
    TODAY,
    World,
    assert_problem,
    count,
    delete_current,
    get_ok,
    make_world,
    patch_current,
    pin_today,
    post_created,
    scalar,
)
from tests.targets.factories import make_agreement

WEBHOOKS = "/v1/webhooks"
ORGS = "/v1/organizations"


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


# A public address written as a literal: subscribing needs no DNS.
PUBLIC_HOOK = "https://93.184.215.14/hooks/pacta"


# --- malformed or disguised webhook URLs -----------------------------------------------------------


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


# --- webhook subscriptions and the key that made them ---------------------------------------------


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
    subscription = await post_created(
        client, WEBHOOKS, {"url": PUBLIC_HOOK, "event_types": ["agreement.*"]}, subscriber
    )
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
    auditor_key = await post_created(client, f"{ORGS}/{PLATFORM_ORG_ID}/api-keys", {"role": "auditor"}, admin_headers)
    platform = await post_created(
        client, WEBHOOKS, {"url": PUBLIC_HOOK, "event_types": ["agreement.*"]}, bearer(auditor_key["secret"])
    )
    platform_url = f"{WEBHOOKS}/{platform['id']}"
    patched = await patch_current(client, platform_url, admin_headers, {"description": "Cambiada por admin"})
    assert patched.status_code == 200, patched.text
    assert (await delete_current(client, platform_url, admin_headers)).status_code == 204
