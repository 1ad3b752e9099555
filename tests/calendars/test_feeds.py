"""iCalendar feeds (RFC 5545), read back with the `icalendar` library as a calendar client would:
who may fetch which feed (public without a token, private with a feed token of an organization
that belongs there), stable UIDs, activity times and all-day deadlines, and the feed tokens
themselves (managed by the organization's own keys, shown once, stored hashed, revocable)."""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from icalendar import Calendar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import MakeKey, MakeOrg
from tests.factories import AGREEMENTS, TODAY, World, assert_problem, make_world, patch_current, pin_today
from tests.targets.factories import SIGNED_ON, create_target, make_agreement

ORGANIZATIONS = "/v1/organizations"
BASE = "http://testserver"


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@dataclass(frozen=True, slots=True)
class Event:
    uid: str
    summary: str
    start: date | datetime
    end: date | datetime | None
    status: str | None
    url: str | None


def parse(response: httpx2.Response) -> dict[str, Event]:
    """The feed's events by UID, as a calendar client reads them."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    assert calendar.name == "VCALENDAR"
    assert str(calendar["VERSION"]) == "2.0"
    assert calendar.get("PRODID")
    events: dict[str, Event] = {}
    for component in calendar.walk("VEVENT"):
        assert not component.errors, component.errors
        assert component.get("DTSTAMP") is not None  # required by RFC 5545
        uid = str(component["UID"])
        assert uid not in events, f"duplicate UID {uid}"
        events[uid] = Event(
            uid=uid,
            summary=str(component["SUMMARY"]),
            start=component.decoded("DTSTART"),
            end=component.decoded("DTEND") if "DTEND" in component else None,
            status=None if component.get("STATUS") is None else str(component["STATUS"]),
            url=None if component.get("URL") is None else str(component["URL"]),
        )
    return events


def agreement_feed(agreement_id: str) -> str:
    return f"{AGREEMENTS}/{agreement_id}/calendar.ics"


def organization_feed(org_id: uuid.UUID) -> str:
    return f"{ORGANIZATIONS}/{org_id}/calendar.ics"


def tokens_of(org_id: uuid.UUID) -> str:
    return f"{ORGANIZATIONS}/{org_id}/calendar-tokens"


async def issue_token(client: httpx2.AsyncClient, headers: dict[str, str], org_id: uuid.UUID) -> dict[str, Any]:
    response = await client.post(tokens_of(org_id), json={"name": "Google Calendar"}, headers=headers)
    assert response.status_code == 201, response.text
    issued: dict[str, Any] = response.json()
    return issued


async def fetch(client: httpx2.AsyncClient, path: str, token: str | None = None) -> httpx2.Response:
    """As a calendar client: no Authorization header, perhaps a token in the URL."""
    return await client.get(path, params={} if token is None else {"token": token})


async def add_activity(
    client: httpx2.AsyncClient, headers: dict[str, str], agreement_id: str, **fields: Any
) -> dict[str, Any]:
    body = {
        "kind": "training",
        "title": "Taller de gestión del agua",
        "starts_at": "2025-07-01T10:00:00-06:00",
        "ends_at": "2025-07-01T13:30:00-06:00",
        "place": "Centro Universitario, Guadalajara",
        **fields,
    }
    response = await client.post(f"{AGREEMENTS}/{agreement_id}/activities", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Registry:
    public: dict[str, Any]  # signed, expiring, with a target; Guadalajara's, listing the university
    draft: dict[str, Any]  # Guadalajara's private draft, also listing the university
    target: dict[str, Any]
    confirmed: dict[str, Any]
    planned: dict[str, Any]
    draft_activity: dict[str, Any]


@pytest.fixture
async def registry(client: httpx2.AsyncClient, world: World) -> Registry:
    editor = world.headers("editor")
    public = await make_agreement(client, world, "public")
    changed = await patch_current(client, f"{AGREEMENTS}/{public['id']}", editor, {"expires_on": "2027-12-31"})
    assert changed.status_code == 200, changed.text
    target = await create_target(client, editor, public["id"])
    confirmed = await add_activity(client, editor, public["id"], status="confirmed")
    planned = await add_activity(
        client, world.headers("participant"), public["id"], starts_at="2025-07-08T10:00:00-06:00", ends_at=None
    )
    draft = await make_agreement(client, world, "private")
    draft_activity = await add_activity(client, editor, draft["id"], title="Reunión preparatoria")
    return Registry(public, draft, target, confirmed, planned, draft_activity)


def public_uids(registry: Registry) -> set[str]:
    agreement, target = registry.public["id"], registry.target["id"]
    return {
        f"expiry-{agreement}@pacta",
        f"registration-{agreement}@pacta",
        f"milestone-{target}-6@pacta",
        f"milestone-{target}-12@pacta",
        f"milestone-{target}-24@pacta",
        f"activity-{registry.confirmed['id']}@pacta",
    }


# --- what the feeds hold ---------------------------------------------------------------------------


async def test_a_public_agreements_feed_needs_no_token_and_holds_its_dates(
    client: httpx2.AsyncClient, registry: Registry
) -> None:
    response = await fetch(client, agreement_feed(registry.public["id"]))
    events = parse(response)
    # Only what the public may see: the participant's planned proposal is not there.
    assert set(events) == public_uids(registry)

    activity = events[f"activity-{registry.confirmed['id']}@pacta"]
    assert activity.start == instant("2025-07-01T10:00:00-06:00")
    assert activity.end == instant("2025-07-01T13:30:00-06:00")
    assert isinstance(activity.start, datetime)
    assert activity.start.utcoffset() == timedelta(0)
    assert activity.summary == "Taller de gestión del agua"
    assert activity.status == "CONFIRMED"
    assert activity.url == f"{BASE}/v1/activities/{registry.confirmed['id']}"

    # Deadlines are all-day events: a DATE, ending the next day.
    target = registry.target["id"]
    for uid, day in (
        (f"milestone-{target}-6@pacta", date(2025, 7, 15)),
        (f"milestone-{target}-12@pacta", date(2026, 1, 15)),
        (f"milestone-{target}-24@pacta", date(2027, 1, 15)),
        (f"expiry-{registry.public['id']}@pacta", date(2027, 12, 31)),
        (f"registration-{registry.public['id']}@pacta", SIGNED_ON + timedelta(days=90)),
    ):
        event = events[uid]
        assert type(event.start) is date, uid
        assert (event.start, event.end) == (day, day + timedelta(days=1)), uid
        assert event.url == f"{BASE}/v1/agreements/{registry.public['id']}"
    assert events[f"milestone-{target}-6@pacta"].summary == 'Hito de 6 meses de "Empresas atendidas"'
    assert response.headers["content-disposition"].startswith("inline")
    assert response.headers["content-language"] == "es-MX"


async def test_feed_summaries_follow_accept_language(client: httpx2.AsyncClient, registry: Registry) -> None:
    url = agreement_feed(registry.public["id"])
    response = await client.get(url, headers={"Accept-Language": "en-US"})
    events = parse(response)
    target = registry.target["id"]
    assert events[f"milestone-{target}-6@pacta"].summary == '6-month milestone of "Empresas atendidas"'
    # Data is never translated.
    assert events[f"activity-{registry.confirmed['id']}@pacta"].summary == "Taller de gestión del agua"
    assert response.headers["content-language"] == "en-US"
    assert "Accept-Language" in response.headers["vary"]


async def test_a_private_agreements_feed_needs_a_token_of_its_signatory_or_a_participant(
    client: httpx2.AsyncClient, world: World, registry: Registry
) -> None:
    draft = agreement_feed(registry.draft["id"])
    assert_problem(await fetch(client, draft), 404)
    # A Bearer key is no way in either: calendar clients cannot send one.
    assert_problem(await client.get(draft, headers=world.headers("outsider")), 404)

    signatory = (await issue_token(client, world.headers("editor"), world.signatory.id))["token"]
    participant = (await issue_token(client, world.headers("participant"), world.participant.id))["token"]
    uid = f"activity-{registry.draft_activity['id']}@pacta"
    for token in (signatory, participant):
        events = parse(await fetch(client, draft, token))
        assert set(events) == {uid}
        assert events[uid].status == "TENTATIVE"  # planned
        assert events[uid].summary == "Reunión preparatoria"

    for actor, org in (("other_editor", world.other), ("outsider", world.outsider)):
        other = (await issue_token(client, world.headers(actor), org.id))["token"]
        assert_problem(await fetch(client, draft, other), 404)
        # Another organization's token opens public feeds as the public sees them, no more.
        assert set(parse(await fetch(client, agreement_feed(registry.public["id"]), other))) == public_uids(registry)
    # With the signatory's token, the public agreement's feed also shows the planned proposal.
    insider = parse(await fetch(client, agreement_feed(registry.public["id"]), signatory))
    assert set(insider) == public_uids(registry) | {f"activity-{registry.planned['id']}@pacta"}

    for missing in (f"pcal_{uuid.uuid4().hex}", "nonsense"):
        assert_problem(await fetch(client, draft, missing), 404)
        assert_problem(await fetch(client, agreement_feed(registry.public["id"]), missing), 404)
    assert_problem(await fetch(client, agreement_feed(str(uuid.uuid4())), signatory), 404)


async def test_an_organizations_feed_is_public_without_a_token_and_complete_with_its_own(
    client: httpx2.AsyncClient, world: World, registry: Registry
) -> None:
    own = public_uids(registry) | {
        f"activity-{registry.planned['id']}@pacta",
        f"activity-{registry.draft_activity['id']}@pacta",
    }
    assert set(parse(await fetch(client, organization_feed(world.signatory.id)))) == public_uids(registry)
    signatory = (await issue_token(client, world.headers("editor"), world.signatory.id))["token"]
    assert set(parse(await fetch(client, organization_feed(world.signatory.id), signatory))) == own

    # The university signs nothing: its public feed is empty; its token adds what it takes part in.
    assert parse(await fetch(client, organization_feed(world.participant.id))) == {}
    participant = (await issue_token(client, world.headers("participant"), world.participant.id))["token"]
    assert set(parse(await fetch(client, organization_feed(world.participant.id), participant))) == own

    # A token speaks for its own organization only.
    assert_problem(await fetch(client, organization_feed(world.signatory.id), participant), 404)
    assert_problem(await fetch(client, organization_feed(world.participant.id), signatory), 404)
    assert parse(await fetch(client, organization_feed(world.other.id))) == {}


async def test_uids_are_stable_so_updates_replace_events(
    client: httpx2.AsyncClient, world: World, registry: Registry
) -> None:
    editor = world.headers("editor")
    token = (await issue_token(client, editor, world.signatory.id))["token"]
    feed = agreement_feed(registry.public["id"])
    first, second = parse(await fetch(client, feed, token)), parse(await fetch(client, feed, token))
    assert set(first) == set(second)
    assert {u: (e.start, e.summary) for u, e in first.items()} == {u: (e.start, e.summary) for u, e in second.items()}

    activity = f"activity-{registry.confirmed['id']}@pacta"
    moved = await patch_current(
        client,
        f"/v1/activities/{registry.confirmed['id']}",
        editor,
        {"starts_at": "2025-07-02T17:00:00-05:00", "ends_at": "2025-07-02T19:00:00-05:00"},
    )
    assert moved.status_code == 200, moved.text
    retitled = await patch_current(client, f"/v1/targets/{registry.target['id']}", editor, {"title": "Empresas"})
    assert retitled.status_code == 200, retitled.text
    after = parse(await fetch(client, feed, token))
    assert set(after) == set(first)
    assert after[activity].start == instant("2025-07-02T17:00:00-05:00") != first[activity].start
    assert after[activity].end == instant("2025-07-02T19:00:00-05:00")
    milestone = f"milestone-{registry.target['id']}-6@pacta"
    assert after[milestone].start == first[milestone].start
    assert after[milestone].summary != first[milestone].summary

    cancelled = await patch_current(client, f"/v1/activities/{registry.planned['id']}", editor, {"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.text
    planned = f"activity-{registry.planned['id']}@pacta"
    assert parse(await fetch(client, feed, token))[planned].status == "CANCELLED"
    # The public never saw it, and does not see its cancellation either.
    assert planned not in parse(await fetch(client, feed))


# --- feed tokens ---------------------------------------------------------------------------------------


async def test_feed_tokens_are_managed_by_the_organizations_own_keys_or_an_admin(
    client: httpx2.AsyncClient, world: World
) -> None:
    tokens = tokens_of(world.signatory.id)
    for actor in ("editor", "legal_reviewer", "admin"):
        issue_token_response = await client.post(tokens, json={}, headers=world.headers(actor))
        assert issue_token_response.status_code == 201, (actor, issue_token_response.text)
    for actor in ("other_editor", "outsider", "participant", "auditor"):
        assert_problem(await client.post(tokens, json={}, headers=world.headers(actor)), 403)
        assert_problem(await client.get(tokens, headers=world.headers(actor)), 403)
    assert_problem(await client.post(tokens, json={}), 401)
    assert_problem(await client.post(tokens_of(uuid.uuid4()), json={}, headers=world.headers("admin")), 404)
    # Any organization's own keys may take its feed (an auditor too, for its own).
    assert (
        await client.post(tokens_of(world.auditor.id), json={}, headers=world.headers("auditor"))
    ).status_code == 201

    listed = await client.get(tokens, headers=world.headers("editor"))
    assert listed.status_code == 200
    assert len(listed.json()["items"]) == 3
    assert all("token" not in item for item in listed.json()["items"])

    issued = await issue_token(client, world.headers("editor"), world.signatory.id)
    revoke = f"{tokens}/{issued['id']}"
    assert_problem(await client.delete(revoke, headers=world.headers("other_editor")), 403)
    assert_problem(await client.delete(f"{tokens}/{uuid.uuid4()}", headers=world.headers("editor")), 404)
    other_org = await issue_token(client, world.headers("other_editor"), world.other.id)
    assert_problem(await client.delete(f"{tokens}/{other_org['id']}", headers=world.headers("editor")), 404)


async def test_a_token_is_shown_once_stored_hashed_and_revocable(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, registry: Registry
) -> None:
    editor = world.headers("editor")
    response = await client.post(tokens_of(world.signatory.id), json={"name": "Outlook"}, headers=editor)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    issued = response.json()
    token = issued["token"]
    assert token.startswith("pcal_")
    assert len(token) > 40
    assert issued["name"] == "Outlook"
    assert issued["revoked_at"] is None
    # The feed URL is ready to paste into a calendar client.
    assert issued["feed_url"].startswith(f"{BASE}{organization_feed(world.signatory.id)}?token=")
    own = parse(await client.get(issued["feed_url"].removeprefix(BASE)))
    assert f"activity-{registry.draft_activity['id']}@pacta" in own

    stored = (
        (await session.execute(text("SELECT * FROM calendar_tokens WHERE id = :id"), {"id": issued["id"]}))
        .mappings()
        .one()
    )
    assert stored["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in " ".join(str(v) for v in stored.values())
    logged = await session.execute(
        text("SELECT count(*) FROM log_details WHERE document::text LIKE :t"), {"t": f"%{token}%"}
    )
    assert logged.scalar_one() == 0
    await session.commit()
    listed = (await client.get(tokens_of(world.signatory.id), headers=editor)).json()["items"]
    assert [item["id"] for item in listed] == [issued["id"]]
    assert token not in str(listed)

    revoke = f"{tokens_of(world.signatory.id)}/{issued['id']}"
    assert (await client.delete(revoke, headers=editor)).status_code == 204
    assert (await client.delete(revoke, headers=editor)).status_code == 204  # revoking again is harmless
    for feed in (organization_feed(world.signatory.id), agreement_feed(registry.draft["id"])):
        assert_problem(await fetch(client, feed, token), 404)
    # Revoked, not forgotten: the list says when.
    listed = (await client.get(tokens_of(world.signatory.id), headers=editor)).json()["items"]
    assert listed[0]["revoked_at"] is not None
    assert datetime.fromisoformat(listed[0]["revoked_at"]) <= datetime.now(UTC)
