"""GET /v1/deadlines: expirations coming up, milestones falling due, registrations overdue against
the configured grace period and activities ahead, each with its date, kind, agreement, title and a
link that works; the window, the filters, whose deadlines each caller sees, and keyset pages."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from tests import conftest
from tests.conftest import MakeKey, MakeOrg
from tests.factories import (
    AGREEMENTS,
    TODAY,
    World,
    add_registration,
    assert_problem,
    create_agreement,
    make_world,
    pin_today,
    walk,
)
from tests.targets.factories import SIGNED_ON, create_target, make_agreement

DEADLINES = "/v1/deadlines"
BASE = "http://testserver"


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@dataclass(frozen=True, slots=True)
class Agenda:
    """Guadalajara's public agreement (listing the university), its private draft, and Monterrey's
    registered agreement, with their deadlines around TODAY (2025-06-15)."""

    public: dict[str, Any]
    draft: dict[str, Any]
    monterrey: dict[str, Any]
    target: dict[str, Any]
    confirmed: dict[str, Any]
    planned: dict[str, Any]
    evening: dict[str, Any]
    in_draft: dict[str, Any]


async def add_activity(
    client: httpx2.AsyncClient, headers: dict[str, str], agreement_id: str, starts_at: str, **fields: Any
) -> dict[str, Any]:
    body = {"kind": "meeting", "title": f"Reunión {starts_at[:10]}", "starts_at": starts_at, **fields}
    response = await client.post(f"{AGREEMENTS}/{agreement_id}/activities", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
async def agenda(client: httpx2.AsyncClient, world: World) -> Agenda:
    editor = world.headers("editor")
    # Signed 2025-01-15 and not registered: with the default 90-day grace, overdue since 2025-04-15.
    public = await make_agreement(client, world, "public")
    etag = (await client.get(f"{AGREEMENTS}/{public['id']}", headers=editor)).headers["etag"]
    expiring = await client.patch(
        f"{AGREEMENTS}/{public['id']}", json={"expires_on": "2025-07-01"}, headers={**editor, "If-Match": etag}
    )
    assert expiring.status_code == 200, expiring.text
    # Milestones due 2025-07-15, 2026-01-15 and 2027-01-15.
    target = await create_target(client, editor, public["id"])
    confirmed = await add_activity(client, editor, public["id"], "2025-06-20T10:00:00-06:00", status="confirmed")
    planned = await add_activity(client, world.headers("participant"), public["id"], "2025-06-25T10:00:00-06:00")
    # 19:00 in Guadalajara is already the next day in UTC: the deadline is the day it was given for.
    evening = await add_activity(client, editor, public["id"], "2025-06-22T19:00:00-06:00", status="confirmed")
    await add_activity(client, editor, public["id"], "2025-06-23T10:00:00-06:00", status="cancelled")
    await add_activity(client, editor, public["id"], "2025-06-10T10:00:00-06:00", status="held")

    draft = await make_agreement(client, world, "private")
    in_draft = await add_activity(client, editor, draft["id"], "2025-06-18T10:00:00-06:00")

    monterrey = await create_agreement(
        client,
        world.headers("other_editor"),
        world.other.id,
        title="Hermanamiento Monterrey - Wichita",
        signed_on="2025-03-01",
        expires_on="2025-06-30",
    )
    await add_registration(
        client,
        world.headers("other_editor"),
        monterrey["id"],
        status="registered",
        submitted_on="2025-03-10",
        registered_on="2025-04-01",
        registry_number="SRE-DGCJ-2025-0042",
    )
    return Agenda(public, draft, monterrey, target, confirmed, planned, evening, in_draft)


def expected(agenda: Agenda) -> list[tuple[str, str, str, str]]:
    """Everything due within the default 30 days, as (date, kind, agreement_id, subject_id), in order."""
    public, draft, monterrey = agenda.public["id"], agenda.draft["id"], agenda.monterrey["id"]
    return [
        ("2025-04-15", "registration_overdue", public, public),
        ("2025-06-18", "activity", draft, agenda.in_draft["id"]),
        ("2025-06-20", "activity", public, agenda.confirmed["id"]),
        ("2025-06-22", "activity", public, agenda.evening["id"]),
        ("2025-06-25", "activity", public, agenda.planned["id"]),
        ("2025-06-30", "expiry", monterrey, monterrey),
        ("2025-07-01", "expiry", public, public),
        ("2025-07-15", "milestone_due", public, agenda.target["id"]),
    ]


def keys(items: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(d["date"], d["kind"], d["agreement_id"], d["subject_id"]) for d in items]


async def deadlines(client: httpx2.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    return await walk(client, DEADLINES, headers, params, limit=200)


async def test_every_kind_of_deadline_with_its_date_title_and_a_working_link(
    client: httpx2.AsyncClient, world: World, agenda: Agenda
) -> None:
    items = await deadlines(client, world.headers("auditor"))
    assert keys(items) == expected(agenda)
    by_subject = {(d["kind"], d["subject_id"]): d for d in items}
    title = agenda.public["title"]
    assert by_subject[("expiry", agenda.public["id"])]["title"] == f'Vencimiento de "{title}"'
    assert by_subject[("milestone_due", agenda.target["id"])]["title"] == 'Hito de 6 meses de "Empresas atendidas"'
    assert title in by_subject[("registration_overdue", agenda.public["id"])]["title"]
    assert by_subject[("activity", agenda.confirmed["id"])]["title"] == agenda.confirmed["title"]
    # In English on request; the subject's own title (data) is never translated.
    english = await walk(client, DEADLINES, world.headers("auditor") | {"Accept-Language": "en"}, {}, limit=200)
    in_english = {(d["kind"], d["subject_id"]): d["title"] for d in english}
    assert in_english[("expiry", agenda.public["id"])] == f'Expiry of "{title}"'
    assert in_english[("milestone_due", agenda.target["id"])] == '6-month milestone of "Empresas atendidas"'
    assert in_english[("activity", agenda.confirmed["id"])] == agenda.confirmed["title"]

    for item in items:
        assert item["url"].startswith(f"{BASE}/v1/"), item
        followed = await client.get(item["url"].removeprefix(BASE), headers=world.headers("auditor"))
        assert followed.status_code == 200, (item, followed.text)
        assert followed.json()["id"] == item["subject_id"]
        if item["kind"] != "milestone_due":
            assert followed.json().get("agreement_id", followed.json()["id"]) == item["agreement_id"]
    target = await client.get(by_subject[("milestone_due", agenda.target["id"])]["url"].removeprefix(BASE))
    assert target.json()["milestones"][0]["due_on"] == "2025-07-15"


async def test_the_window_reaches_within_days_ahead_and_overdue_registrations_stay(
    client: httpx2.AsyncClient, world: World, agenda: Agenda
) -> None:
    auditor = world.headers("auditor")
    everything = expected(agenda)
    today_only = await deadlines(client, auditor, within_days=0)
    assert keys(today_only) == [everything[0]]  # only what is overdue: nothing falls on TODAY itself
    assert keys(await deadlines(client, auditor, within_days=15)) == everything[:6]
    assert keys(await deadlines(client, auditor, within_days=30)) == everything
    year = keys(await deadlines(client, auditor, within_days=214))
    assert year[-1] == ("2026-01-15", "milestone_due", agenda.public["id"], agenda.target["id"])
    assert len(year) == len(everything) + 1
    for bad in (-1, 3661, "soon"):
        assert_problem(await client.get(DEADLINES, params={"within_days": bad}, headers=auditor), 422)


async def test_filters_by_state_and_signatory(client: httpx2.AsyncClient, world: World, agenda: Agenda) -> None:
    auditor = world.headers("auditor")
    everything = expected(agenda)
    monterrey = [d for d in everything if d[2] == agenda.monterrey["id"]]
    guadalajara = [d for d in everything if d[2] != agenda.monterrey["id"]]
    assert keys(await deadlines(client, auditor, state="MX-NLE")) == monterrey
    assert keys(await deadlines(client, auditor, state="MX-JAL")) == guadalajara
    assert keys(await deadlines(client, auditor, state="MX-YUC")) == []
    assert keys(await deadlines(client, auditor, signatory_org_id=str(world.other.id))) == monterrey
    assert keys(await deadlines(client, auditor, signatory_org_id=str(world.signatory.id), state="MX-NLE")) == []
    # A filter narrows what the caller may see; it never widens it.
    editor = world.headers("editor")
    assert keys(await deadlines(client, editor, signatory_org_id=str(world.other.id))) == []
    assert_problem(await client.get(DEADLINES, params={"state": "Jalisco"}, headers=auditor), 422)
    assert_problem(await client.get(DEADLINES, params={"signatory_org_id": "gdl"}, headers=auditor), 422)


async def test_each_caller_sees_the_deadlines_of_its_organizations_agreements(
    client: httpx2.AsyncClient, world: World, agenda: Agenda
) -> None:
    everything = expected(agenda)
    guadalajara = [d for d in everything if d[2] != agenda.monterrey["id"]]
    monterrey = [d for d in everything if d[2] == agenda.monterrey["id"]]
    seen = {
        "admin": everything,
        "auditor": everything,
        "editor": guadalajara,  # its own, private draft included
        "legal_reviewer": guadalajara,
        "participant": guadalajara,  # the agreements it takes part in
        "other_editor": monterrey,
        "outsider": [],
    }
    for actor, want in seen.items():
        assert keys(await deadlines(client, world.headers(actor))) == want, actor
    assert_problem(await client.get(DEADLINES), 401)


async def test_pages_walk_with_a_keyset_cursor(client: httpx2.AsyncClient, world: World, agenda: Agenda) -> None:
    auditor = world.headers("auditor")
    first = await client.get(DEADLINES, params={"limit": 2}, headers=auditor)
    assert first.status_code == 200
    assert len(first.json()["items"]) == 2
    assert first.json()["next_cursor"]
    assert 'rel="next"' in first.headers["link"]
    walked = await walk(client, DEADLINES, auditor, limit=2)
    assert keys(walked) == expected(agenda)
    assert walked == await deadlines(client, auditor)
    bad = await client.get(DEADLINES, params={"cursor": "not-a-cursor"}, headers=auditor)
    assert_problem(bad, 422)


@pytest.fixture
async def strict_client(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[httpx2.AsyncClient]:
    """The same database, served with PACTA_REGISTRATION_GRACE_DAYS=200."""
    strict = create_app(conftest.test_settings(registration_grace_days=200))
    strict.state.sessionmaker = sessionmaker
    pin_today(strict, TODAY)
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=strict), base_url=BASE) as c:
        yield c


async def test_the_registration_grace_period_comes_from_the_settings(
    client: httpx2.AsyncClient, strict_client: httpx2.AsyncClient, world: World, agenda: Agenda
) -> None:
    auditor = world.headers("auditor")
    registration = ("registration_overdue", agenda.public["id"])
    assert any((d["kind"], d["agreement_id"]) == registration for d in await deadlines(client, auditor))
    # 200 days after SIGNED_ON (2025-01-15): 2025-08-03, beyond the default 30-day window.
    due = date.fromordinal(SIGNED_ON.toordinal() + 200).isoformat()
    assert not any((d["kind"], d["agreement_id"]) == registration for d in await deadlines(strict_client, auditor))
    later = await deadlines(strict_client, auditor, within_days=60)
    assert [d["date"] for d in later if (d["kind"], d["agreement_id"]) == registration] == [due]
    # A registered agreement never has a registration deadline, whatever the window.
    assert not any(
        d["kind"] == "registration_overdue" and d["agreement_id"] == agenda.monterrey["id"]
        for d in await deadlines(client, auditor, within_days=3000)
    )
