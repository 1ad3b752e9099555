"""Fixtures for the workspace tests: the cast of tests.factories, and browsers (HTTP clients with
their own cookie jar) signed in as one of its keys."""

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

from tests.conftest import MakeKey, MakeOrg
from tests.factories import World, make_world, pin_today
from tests.targets.factories import LATE

CSRF = re.compile(r"[?&]csrf=([A-Za-z0-9_-]+)")


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey, app: FastAPI) -> World:
    pin_today(app, LATE)
    return await make_world(make_org, make_key)


def secret_of(world: World, actor: str) -> str:
    return world.headers(actor)["Authorization"].removeprefix("Bearer ")


def csrf_in(html: str) -> str:
    found = CSRF.search(html)
    assert found is not None, "the page carries no CSRF token"
    return found.group(1)


class Browser:
    """A client with its own cookies, as one person's browser."""

    def __init__(self, client: httpx2.AsyncClient) -> None:
        self.client = client

    async def sign_in(self, secret: str, lang: str = "es") -> httpx2.Response:
        response = await self.client.post(
            "/workspace/login" + ("?lang=en" if lang == "en" else ""), data={"api_key": secret}
        )
        assert response.status_code == 303, response.text
        return response

    async def csrf(self, path: str = "/workspace") -> str:
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        return csrf_in(page.text)

    async def get(self, path: str, **kwargs: Any) -> httpx2.Response:
        return await self.client.get(path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx2.Response:
        return await self.client.post(path, **kwargs)


OpenBrowser = Callable[..., Any]


@pytest.fixture
def open_browser(app: FastAPI) -> OpenBrowser:
    @asynccontextmanager
    async def open_(target: FastAPI | None = None, base_url: str = "http://testserver") -> AsyncIterator[Browser]:
        transport = httpx2.ASGITransport(app=target or app)
        async with httpx2.AsyncClient(transport=transport, base_url=base_url) as client:
            yield Browser(client)

    return open_
