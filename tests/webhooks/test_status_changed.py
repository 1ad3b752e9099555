"""agreement.status_changed: emitted when a write, or a date arriving, moves an agreement's status."""

from datetime import timedelta
from typing import Any

import httpx2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import today_in
from app.models import OrganizationKind, Role
from app.webhooks import notices
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.conftest import test_settings as settings_with


async def _status_events(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.execute(
        text("SELECT payload FROM webhook_events WHERE type = 'agreement.status_changed' ORDER BY created_at")
    )
    return [r[0]["data"] for r in rows]


async def _subscribe(session: AsyncSession, org_id: Any) -> None:
    """A subscription as POST /v1/webhooks makes it (its URL is not called in these tests)."""
    key_id = (
        await session.execute(text("SELECT id FROM api_keys WHERE organization_id = :org"), {"org": org_id})
    ).scalar()
    await session.execute(
        text(
            "INSERT INTO webhook_subscriptions (id, organization_id, role, api_key_id, url, event_types, secret, "
            "status, consecutive_failures, created_at, updated_at) VALUES (gen_random_uuid(), :org, 'editor', :key, "
            "'https://example.org/hook', ARRAY['agreement.status_changed'], 'whsec_x', 'active', 0, now(), now())"
        ),
        {"org": org_id, "key": key_id},
    )


async def test_a_write_that_moves_the_status_emits_it_once(
    client: httpx2.AsyncClient, session: AsyncSession, make_org: MakeOrg, make_key: MakeKey
) -> None:
    city = await make_org(OrganizationKind.municipality, inegi_code="14039")
    editor = bearer(await make_key(Role.editor, city.id))
    body = {
        "title": "Hermanamiento",
        "instrument": "sister_city",
        "signatory_org_id": str(city.id),
        "counterparts": [{"name": "Kraków", "kind": "foreign_government_body", "country": "PL"}],
    }
    created = await client.post("/v1/agreements", json=body, headers=editor)
    agreement_id = created.json()["id"]
    changed = await client.patch(
        f"/v1/agreements/{agreement_id}",
        json={"summary": "no status change"},
        headers={**editor, "If-Match": created.headers["etag"]},
    )
    assert await _status_events(session) == []
    signed = await client.patch(
        f"/v1/agreements/{agreement_id}",
        json={"signed_on": "2024-01-10"},
        headers={**editor, "If-Match": changed.headers["etag"]},
    )
    assert signed.status_code == 200
    assert await _status_events(session) == [
        {"id": agreement_id, "agreement_id": agreement_id, "from": "draft", "to": "in_force"}
    ]
    review = await client.post(
        f"/v1/agreements/{agreement_id}/legal-reviews",
        json={"kind": "internal_legal", "requested_on": "2024-01-05"},
        headers=editor,
    )
    assert review.status_code == 201
    assert len(await _status_events(session)) == 1  # signed agreements stay in force whatever the reviews


async def test_a_date_arriving_is_announced_by_the_worker_scan(
    client: httpx2.AsyncClient, session: AsyncSession, make_org: MakeOrg, make_key: MakeKey
) -> None:
    city = await make_org(OrganizationKind.municipality, inegi_code="14120")
    editor = bearer(await make_key(Role.editor, city.id))
    settings = settings_with()
    today = today_in(settings)
    body = {
        "title": "Acuerdo que vence",
        "instrument": "cooperation",
        "signatory_org_id": str(city.id),
        "counterparts": [{"name": "Austin", "kind": "foreign_government_body", "country": "US"}],
        "signed_on": str(today - timedelta(days=400)),
        "expires_on": str(today - timedelta(days=1)),
    }
    assert (await client.post("/v1/agreements", json=body, headers=editor)).status_code == 201
    await _subscribe(session, city.id)
    await session.commit()
    emitted = await notices.scan_status_changes(session, settings)
    again = await notices.scan_status_changes(session, settings)
    events = await _status_events(session)
    assert emitted == 1
    assert again == 0
    assert [(e["from"], e["to"], e["cause"]) for e in events] == [("in_force", "expired", "date")]
