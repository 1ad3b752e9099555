"""Regressions a review found in legal reviews: two concurrent PATCHes with one If-Match let only
one through; document_id names evidence of the same agreement (reviews and registrations alike).

Moved from tests/test_review_regressions.py (issue 11): a regression lives beside its feature."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx2
import pytest
from fastapi import FastAPI

from app.api_keys import service as key_service
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.main import create_app
from app.models import Role
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from tests import conftest
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.db import drop_database
from tests.factories import (
    AGREEMENTS,
    TODAY,
    World,
    assert_problem,
    create_agreement,
    get_ok,
    iso,
    make_world,
    patch_current,
    pin_today,
    post_created,
    read_agreement,
    walk,
)
from tests.targets.factories import make_agreement, upload_evidence

ORGS = "/v1/organizations"


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


# --- concurrent PATCHes of one legal review --------------------------------------------------------


@pytest.fixture
def committed_url() -> Iterator[str]:
    """A database of its own whose transactions really commit (the shared one rolls back)."""
    url = conftest.migrated_database("pacta_regressions")
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
async def committed_client(committed_url: str) -> AsyncIterator[tuple[httpx2.AsyncClient, dict[str, str]]]:
    """A client on the committed database, with an admin key there."""
    engine = make_engine(committed_url, pool_size=10)
    try:
        maker = make_sessionmaker(engine)
        app = create_app(conftest.test_settings())
        app.state.sessionmaker = maker
        pin_today(app, TODAY)
        async with unit_of_work(maker) as session:
            platform = await org_service.get_organization(session, PLATFORM_ORG_ID)
            _, secret = await key_service.issue_key(
                session, platform, role=Role.admin, name="regressions", expires_at=None, actor_org_id=PLATFORM_ORG_ID
            )
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, bearer(secret)
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_concurrent_patches_with_one_if_match_let_only_one_through(
    committed_client: tuple[httpx2.AsyncClient, dict[str, str]],
) -> None:
    client, admin = committed_client
    gdl = await post_created(
        client, ORGS, {"kind": "municipality", "name": "Municipio de Guadalajara", "inegi_code": "14039"}, admin
    )
    editor = bearer((await post_created(client, f"{ORGS}/{gdl['id']}/api-keys", {"role": "editor"}, admin))["secret"])
    lawyer = bearer(
        (await post_created(client, f"{ORGS}/{gdl['id']}/api-keys", {"role": "legal_reviewer"}, admin))["secret"]
    )
    agreement = await create_agreement(client, editor, uuid.UUID(gdl["id"]))
    favorable = {"outcome": "favorable", "decided_on": iso(-5)}
    for round_ in range(3):
        review = await post_created(
            client,
            f"{AGREEMENTS}/{agreement['id']}/legal-reviews",
            {"kind": "sre_dictamen", "requested_on": iso(-60)},
            editor,
        )
        url = f"/v1/legal-reviews/{review['id']}"
        etag = (await get_ok(client, url, editor)).headers["etag"]
        # The editor records the decision while the legal reviewer corrects the oficio number.
        responses = await asyncio.gather(
            client.patch(url, json=favorable, headers={**editor, "If-Match": etag}),
            client.patch(url, json={"reference": f"SRE/{round_}"}, headers={**lawyer, "If-Match": etag}),
        )
        assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
        assert_problem(next(r for r in responses if r.status_code == 412), 412)
        winner = next(r for r in responses if r.status_code == 200).json()
        stored = (await get_ok(client, url, editor)).json()
        assert (stored["outcome"], stored["reference"]) == (winner["outcome"], winner["reference"])
        if stored["outcome"] != "favorable":  # the correction won: the decision is recorded after it
            patched = await patch_current(client, url, editor, favorable)
            assert patched.status_code == 200, patched.text
        # The SRE dictamen is favorable: so is what the agreement says, and what the log recorded.
        assert (await read_agreement(client, agreement["id"], editor))["status"] == "cleared_for_signature"
        history = await walk(client, f"{AGREEMENTS}/{agreement['id']}/history", editor, limit=200)
        logged = [e for e in history if e["resource_id"] == review["id"]]
        assert [e["changes"].get("outcome", {}).get("to") for e in logged][-1] == "favorable"


# --- document_id on legal reviews and registrations -----------------------------------------------


async def test_document_id_names_evidence_of_the_same_agreement(client: httpx2.AsyncClient, world: World) -> None:
    editor = world.headers("editor")
    agreement = await make_agreement(client, world, "public")
    other = await make_agreement(client, world, "public")
    mine = await upload_evidence(client, world.headers("participant"), agreement["id"])
    theirs = await upload_evidence(client, world.headers("participant"), other["id"])
    reviews = f"{AGREEMENTS}/{agreement['id']}/legal-reviews"
    registrations = f"{AGREEMENTS}/{agreement['id']}/registrations"
    review_body = {"kind": "internal_legal", "requested_on": iso(-200)}
    registration_body = {"registry": "sre", "submitted_on": iso(-10)}

    review = await post_created(client, reviews, {**review_body, "document_id": mine["id"]}, editor)
    assert review["document_id"] == mine["id"]
    registration = await post_created(client, registrations, {**registration_body, "document_id": mine["id"]}, editor)
    assert registration["document_id"] == mine["id"]

    for url, body in ((reviews, review_body), (registrations, registration_body)):
        response = await client.post(url, json={**body, "document_id": theirs["id"]}, headers=editor)
        assert_problem(response, 422, loc=["body", "document_id"])
