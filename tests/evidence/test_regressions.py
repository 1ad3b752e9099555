"""Regressions a review found in evidence: a Range header with a number too long to parse gets
the whole file.

Moved from tests/test_review_regressions.py (issue 11): a regression lives beside its feature."""

import httpx2
import pytest
from fastapi import FastAPI

from tests.conftest import MakeKey, MakeOrg
from tests.factories import AGREEMENTS, TODAY, World, make_world, pin_today
from tests.targets.factories import make_agreement, pdf


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


# --- a Range header with a number too long to parse ------------------------------------------------


async def test_a_range_with_thousands_of_digits_gets_the_whole_file(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await make_agreement(client, world, "public")
    participant = world.headers("participant")
    content = pdf()
    uploaded = await client.post(
        f"{AGREEMENTS}/{agreement['id']}/evidence",
        files={"file": ("lista.pdf", content, "application/pdf")},
        data={"title": "Lista", "document_type": "attendance_list"},
        headers=participant,
    )
    assert uploaded.status_code == 201, uploaded.text
    response = await client.get(
        f"/v1/evidence/{uploaded.json()['id']}/content",
        headers={**participant, "Range": "bytes=" + "9" * 5000 + "-"},
    )
    assert response.status_code == 200, response.text
    assert response.content == content
