"""Fixtures for the dashboard tests: the cast of tests.factories and the known data set."""

import httpx2
import pytest
from fastapi import FastAPI

from tests.conftest import MakeKey, MakeOrg
from tests.dashboard.dataset import TODAY, Dataset, build
from tests.factories import World, make_world, pin_today


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@pytest.fixture
async def dataset(app: FastAPI, client: httpx2.AsyncClient, world: World) -> Dataset:
    """The data set of tests.dashboard.dataset, loaded through the API, with today pinned to TODAY."""
    pin_today(app, TODAY)
    return await build(client, world.headers("admin"), jalisco=world.signatory.id, nuevo_leon=world.other.id)
