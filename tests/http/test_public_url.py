"""PACTA_PUBLIC_URL: every absolute URL the service writes starts with it, whatever Host a client
sends (host header poisoning of Location, Link, content_url, feeds and deadline links)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from tests import conftest
from tests.conftest import MakeKey, MakeOrg
from tests.factories import World, make_world
from tests.targets.factories import make_agreement, upload_evidence

PUBLIC = "https://pacta.example.org"
FORGED = {"Host": "attacker.example"}


def served(sessionmaker: async_sessionmaker[AsyncSession], **settings: Any) -> FastAPI:
    application = create_app(conftest.test_settings(**settings))
    application.state.sessionmaker = sessionmaker
    return application


@pytest.fixture
def app(sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    return served(sessionmaker, public_url=PUBLIC)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


async def absolute_urls(client: httpx2.AsyncClient, world: World) -> dict[str, str]:
    """One of each kind of absolute URL, written while the client claims another Host."""
    admin, editor = {**world.headers("admin"), **FORGED}, {**world.headers("editor"), **FORGED}
    created = await client.post(
        "/v1/organizations", json={"kind": "university", "name": "Universidad de Colima"}, headers=admin
    )
    assert created.status_code == 201, created.text
    listed = await client.get("/v1/organizations", params={"limit": 1}, headers=admin)
    assert listed.status_code == 200, listed.text
    agreement = await make_agreement(client, world)
    evidence = await upload_evidence(client, {**world.headers("participant"), **FORGED}, agreement["id"])
    token = await client.post(f"/v1/organizations/{world.signatory.id}/calendar-tokens", json={}, headers=editor)
    assert token.status_code == 201, token.text
    deadlines = await client.get("/v1/deadlines", params={"within_days": 3660}, headers=editor)
    assert deadlines.status_code == 200, deadlines.text
    provenance = await client.get(f"/v1/evidence/{evidence['id']}/provenance", headers=editor)
    assert provenance.status_code == 200, provenance.text
    urls = {
        "Location": created.headers["location"],
        "Link": listed.headers["link"].split(">")[0].lstrip("<"),
        "content_url": evidence["content_url"],
        "feed_url": token.json()["feed_url"],
        "inclusion_proof_url": provenance.json()["inclusion_proof_url"],
    }
    urls.update({f"deadline {i}": d["url"] for i, d in enumerate(deadlines.json()["items"])})
    return urls


async def test_absolute_urls_start_with_the_public_url_whatever_the_host_header(
    client: httpx2.AsyncClient, world: World
) -> None:
    urls = await absolute_urls(client, world)
    assert any(k.startswith("deadline") for k in urls)
    wrong = {k: v for k, v in urls.items() if not v.startswith(PUBLIC + "/")}
    assert wrong == {}
    assert "attacker.example" not in str(urls)


async def test_the_calendar_feed_links_start_with_the_public_url(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world)
    starts = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0).isoformat()
    activity = await client.post(
        f"/v1/agreements/{agreement['id']}/activities",
        json={"kind": "training", "title": "Taller", "starts_at": starts, "status": "confirmed"},
        headers=world.headers("editor"),
    )
    assert activity.status_code == 201, activity.text
    feed = await client.get(f"/v1/agreements/{agreement['id']}/calendar.ics", headers=FORGED)
    assert feed.status_code == 200, feed.text
    assert f"URL:{PUBLIC}/v1/" in feed.text.replace("\r\n ", "")
    assert "attacker.example" not in feed.text


async def test_under_a_path_the_links_keep_it(sessionmaker: async_sessionmaker[AsyncSession], world: World) -> None:
    application = served(sessionmaker, public_url=PUBLIC + "/registro/")
    async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application), base_url="http://testserver") as c:
        urls = await absolute_urls(c, world)
    wrong = {k: v for k, v in urls.items() if not v.startswith(PUBLIC + "/registro/v1/")}
    assert wrong == {}


async def test_unset_the_request_base_url_is_used(sessionmaker: async_sessionmaker[AsyncSession], world: World) -> None:
    application = served(sessionmaker)
    async with httpx2.AsyncClient(
        transport=httpx2.ASGITransport(app=application), base_url="http://localhost:8000"
    ) as c:
        urls = await absolute_urls(c, world)
    # A local run: links follow the address the developer typed (here the forged one, by design).
    assert all(v.startswith("http://attacker.example/") for v in urls.values()), urls


@pytest.mark.parametrize("value", ["pacta.example.org", "ftp://pacta.example.org", "https://", "https://x.org/?a=1"])
def test_a_public_url_that_is_not_an_absolute_http_url_is_refused_at_start(value: str) -> None:
    with pytest.raises(ValidationError, match="public_url"):
        Settings(database_url="postgresql://unused.invalid/pacta", public_url=value)
