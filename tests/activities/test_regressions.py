"""Regressions a review found in activities: a planned activity stays out of the public history
until confirmed; one that ends past year 9999 in its organizer's offset is a 422.

Moved from tests/test_review_regressions.py (issue 11): a regression lives beside its feature."""

from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import MakeKey, MakeOrg
from tests.factories import (
    AGREEMENTS,
    TODAY,
    World,
    assert_problem,
    count,
    make_world,
    patch_current,
    pin_today,
    post_created,
    walk,
)
from tests.targets.factories import make_agreement


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


def history_of(agreement_id: str) -> str:
    return f"{AGREEMENTS}/{agreement_id}/history"


def activities_of(agreement_id: str) -> str:
    return f"{AGREEMENTS}/{agreement_id}/activities"


def activity_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "technical_exchange",
        "title": "Intercambio técnico sobre agua potable",
        "starts_at": "2025-07-01T10:00:00-06:00",
        "ends_at": "2025-07-01T14:00:00-06:00",
        "place": "Guadalajara, Jalisco",
    }
    body.update(fields)
    return body


# --- planned activities in the history -------------------------------------------------------------


async def test_history_hides_a_planned_activity_from_anonymous_until_confirmed(
    client: httpx2.AsyncClient, world: World
) -> None:
    agreement = await make_agreement(client, world, "public")
    secret = {"title": "Reunión reservada con inversionistas", "place": "Sala 3", "description": "Agenda privada"}
    proposed = await post_created(
        client, activities_of(agreement["id"]), activity_body(**secret), world.headers("participant")
    )
    assert proposed["status"] == "planned"

    def about_activity(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in entries if e["resource_id"] == proposed["id"]]

    anonymous = about_activity(await walk(client, history_of(agreement["id"]), {}, limit=200))
    assert len(anonymous) == 1
    for value in secret.values():
        assert value not in str(anonymous), anonymous
    # Its own people still see what was proposed.
    insider = about_activity(await walk(client, history_of(agreement["id"]), world.headers("editor"), limit=200))
    assert insider[0]["changes"]["title"]["to"] == secret["title"]

    confirmed = await patch_current(
        client, f"/v1/activities/{proposed['id']}", world.headers("editor"), {"status": "confirmed"}
    )
    assert confirmed.status_code == 200, confirmed.text
    anonymous = about_activity(await walk(client, history_of(agreement["id"]), {}, limit=200))
    assert len(anonymous) == 2
    shown = anonymous[-1]["changes"]
    assert {field: shown[field]["to"] for field in secret} == secret
    assert shown["status"]["to"] == "confirmed"


# --- an activity that ends past the calendar in the organizer's offset -----------------------------


async def test_an_activity_ending_past_year_9999_in_its_offset_is_a_422(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    agreement = await make_agreement(client, world, "public")
    before = await count(session, "activities")
    response = await client.post(
        activities_of(agreement["id"]),
        json=activity_body(starts_at="9999-12-31T22:00:00+01:00", ends_at="9999-12-31T23:30:00Z"),
        headers=world.headers("editor"),
    )
    assert_problem(response, 422)
    assert await count(session, "activities") == before
