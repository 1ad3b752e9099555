"""Regressions a review found in targets and measurements: values with more than four decimals are
refused, four are kept.

Moved from tests/test_review_regressions.py (issue 11): a regression lives beside its feature."""

from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

from tests.conftest import MakeKey, MakeOrg
from tests.factories import TODAY, World, assert_problem, get_ok, iso, make_world, pin_today
from tests.targets.factories import (
    TARGETS,
    create_target,
    make_agreement,
    report,
    target_body,
    targets_of,
    upload_evidence,
)


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


# --- four decimal places ---------------------------------------------------------------------------


async def test_values_with_more_than_four_decimals_are_refused_and_four_are_kept(
    client: httpx2.AsyncClient, world: World
) -> None:
    editor, participant = world.headers("editor"), world.headers("participant")
    agreement = await make_agreement(client, world, "public")
    too_fine: list[tuple[dict[str, Any], list[str | int]]] = [
        (target_body(baseline={"value": 1.23456}), ["body", "baseline", "value"]),
        (
            target_body(milestones=[{"months": 6, "target_value": 10.00001}]),
            ["body", "milestones", 0, "target_value"],
        ),
    ]
    for body, loc in too_fine:
        assert_problem(await client.post(targets_of(agreement["id"]), json=body, headers=editor), 422, loc=loc)

    target = await create_target(
        client,
        editor,
        agreement["id"],
        target_body(baseline={"value": 1.2345}, milestones=[{"months": 6, "target_value": 10.0001}]),
    )
    read = (await get_ok(client, f"{TARGETS}/{target['id']}", editor)).json()
    assert read["baseline"]["value"] == 1.2345
    assert read["milestones"][0]["target_value"] == 10.0001

    evidence = await upload_evidence(client, participant, agreement["id"])
    response = await client.post(
        f"{TARGETS}/{target['id']}/measurements",
        json={"as_of": iso(-10), "value": 3.14159, "evidence_ids": [evidence["id"]]},
        headers=participant,
    )
    assert_problem(response, 422, loc=["body", "value"])
    measurement = await report(
        client, participant, target["id"], as_of=TODAY.replace(day=5), value=3.1416, evidence_ids=[evidence["id"]]
    )
    assert measurement["value"] == 3.1416
    assert (await get_ok(client, f"/v1/measurements/{measurement['id']}", participant)).json()["value"] == 3.1416
