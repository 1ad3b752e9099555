"""Regressions a review found in agreements: drafts with children (and targets with evidence) are
not deleted; every progress write moves the agreement's updated_at.

Moved from tests/test_review_regressions.py (issue 11): a regression lives beside its feature."""

from datetime import datetime
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
    delete_current,
    get_ok,
    make_world,
    pin_today,
    post_created,
    read_agreement,
    walk,
)
from tests.targets.factories import (
    TARGETS,
    create_target,
    decide,
    make_agreement,
    pdf,
    report,
    review_evidence,
    targets_of,
    upload_evidence,
)


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


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


# --- deleting drafts with children, targets with evidence ------------------------------------------


async def test_drafts_with_children_and_targets_with_evidence_are_not_deleted(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    editor = world.headers("editor")
    with_target = await make_agreement(client, world, "private")
    await create_target(client, editor, with_target["id"])
    with_evidence = await make_agreement(client, world, "private")
    await upload_evidence(client, world.headers("participant"), with_evidence["id"])
    with_activity = await make_agreement(client, world, "private")
    await post_created(client, activities_of(with_activity["id"]), activity_body(), editor)

    rows = (
        await count(session, "agreements"),
        await count(session, "targets"),
        await count(session, "evidence_documents"),
        await count(session, "activities"),
        await count(session, "log_entries"),
    )
    for draft in (with_target, with_evidence, with_activity):
        assert draft["status"] == "draft"
        response = await delete_current(client, f"{AGREEMENTS}/{draft['id']}", editor)
        assert_problem(response, 409)
        assert (await read_agreement(client, draft["id"], editor))["id"] == draft["id"]
    assert len(await walk(client, targets_of(with_target["id"]), editor, limit=200)) == 1
    assert len(await walk(client, f"{AGREEMENTS}/{with_evidence['id']}/evidence", editor, limit=200)) == 1
    assert len(await walk(client, activities_of(with_activity["id"]), editor, limit=200)) == 1

    # A target that evidence was filed under stays too.
    public = await make_agreement(client, world, "public")
    target = await create_target(client, editor, public["id"])
    filed = await client.post(
        f"{AGREEMENTS}/{public['id']}/evidence",
        files={"file": ("lista.pdf", pdf(), "application/pdf")},
        data={"title": "Lista", "document_type": "attendance_list", "target_id": target["id"]},
        headers=world.headers("participant"),
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["target_id"] == target["id"]
    response = await delete_current(client, f"{TARGETS}/{target['id']}", editor)
    assert_problem(response, 409)
    assert (await get_ok(client, f"{TARGETS}/{target['id']}", editor)).json()["id"] == target["id"]
    evidence = (await get_ok(client, f"/v1/evidence/{filed.json()['id']}", editor)).json()
    assert evidence["target_id"] == target["id"]
    assert (
        await count(session, "agreements"),
        await count(session, "targets"),
        await count(session, "evidence_documents"),
        await count(session, "activities"),
    ) == (rows[0] + 1, rows[1] + 1, rows[2] + 1, rows[3])


# --- progress writes move the agreement's updated_at ----------------------------------------------


async def test_progress_writes_move_the_agreements_updated_at(client: httpx2.AsyncClient, world: World) -> None:
    editor, participant = world.headers("editor"), world.headers("participant")
    agreement = await make_agreement(client, world, "public")
    target = await create_target(client, editor, agreement["id"])
    state: dict[str, Any] = {}

    async def upload() -> None:
        state["evidence"] = (await upload_evidence(client, participant, agreement["id"]))["id"]

    async def accept() -> None:
        await review_evidence(client, editor, state["evidence"], "accepted")

    async def report_one() -> None:
        measurement = await report(
            client, participant, target["id"], as_of=TODAY.replace(day=1), value=4, evidence_ids=[state["evidence"]]
        )
        state["measurement"] = measurement["id"]

    async def verify() -> None:
        await decide(client, editor, state["measurement"], "verified")

    for step in (upload, accept, report_one, verify):
        before = (await read_agreement(client, agreement["id"], editor))["updated_at"]
        await step()
        after = (await read_agreement(client, agreement["id"], editor))["updated_at"]
        assert datetime.fromisoformat(after) > datetime.fromisoformat(before), step.__name__
        found = await walk(client, AGREEMENTS, editor, {"updated_since": before}, limit=200)
        assert agreement["id"] in [a["id"] for a in found], step.__name__
