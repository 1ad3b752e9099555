"""GET /v1/dashboard/summary on a known data set: public agreements only, verified measurements only."""

from collections import Counter
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.dashboard.dataset import EXPECTED, TODAY, Dataset, build
from tests.factories import AGREEMENTS, World, assert_problem, patch_current

SUMMARY = "/v1/dashboard/summary"
MILESTONE_STATUSES = ("scheduled", "met", "partially_met", "not_met")


async def summary(client: httpx2.AsyncClient, headers: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    response = await client.get(SUMMARY, params=params, headers=headers or {})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def indicator(body: dict[str, Any], name: str, unit: str | None = None) -> float | None:
    for row in body["key_indicators"]:
        if row["indicator"] == name and row["unit"] == unit:
            return float(row["total"])
    return None


async def test_summary_figures_of_the_known_data_set(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    body = await summary(client)
    assert body["as_of"] == EXPECTED["as_of"]
    assert body["filters"] == {"state": None, "signatory_org_id": None}
    assert body["agreements"] == EXPECTED["agreements"]
    assert body["by_status"] == EXPECTED["by_status"]
    assert body["by_registration_status"] == EXPECTED["by_registration_status"]
    areas = body["by_subject_area"]
    assert {k: v for k, v in areas.items() if v} == EXPECTED["subject_areas_nonzero"]
    assert len(areas) == 20, "every subject area is listed, zeros included"
    assert body["by_counterpart_country"] == EXPECTED["by_counterpart_country"]
    assert list(body["by_counterpart_country"]) == ["US", "DE", "PL"], "most first, then by code"
    assert body["by_state"] == EXPECTED["by_state"]
    assert body["key_indicators"] == EXPECTED["key_indicators"]
    assert body["milestones"] == EXPECTED["milestones"]


async def test_unverified_measurements_do_not_count_until_verified(
    client: httpx2.AsyncClient, dataset: Dataset, world: World
) -> None:
    before = await summary(client)
    assert indicator(before, "companies_served") == 29, "T1's reported 40 is not verified: its latest is 20"
    listed = await client.get(f"/v1/targets/{dataset.targets['T1']}/measurements", headers=world.headers("admin"))
    reported = [m for m in listed.json()["items"] if m["status"] == "reported"]
    assert [m["value"] for m in reported] == [40]
    verified = await client.post(
        f"/v1/measurements/{reported[0]['id']}/verification",
        json={"decision": "verified"},
        headers=world.headers("admin"),
    )
    assert verified.status_code == 200, verified.text
    after = await summary(client)
    assert indicator(after, "companies_served") == 49
    # T1's 24-month milestone (60, due 2027) is still scheduled, but its actual is now 40.
    assert after["milestones"]["by_status"] == before["milestones"]["by_status"]


async def test_private_agreements_do_not_count_until_signed(
    client: httpx2.AsyncClient, dataset: Dataset, world: World
) -> None:
    before = await summary(client)
    assert before["agreements"] == 3
    assert before["by_subject_area"]["energy"] == 0, "the private draft's subject area is not counted"
    assert before["by_counterpart_country"].get("PL") == 1
    signed = await patch_current(
        client, f"{AGREEMENTS}/{dataset.agreements['A3']}", world.headers("admin"), {"signed_on": "2025-01-01"}
    )
    assert signed.status_code == 200, signed.text
    after = await summary(client)
    assert after["agreements"] == 4
    assert after["by_subject_area"]["energy"] == 1
    assert indicator(after, "companies_served") == 29 + 1000
    assert after["milestones"]["milestones"] == before["milestones"]["milestones"] + 3


async def test_filter_by_state(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    body = await summary(client, state="MX-NLE")
    assert body["filters"]["state"] == "MX-NLE"
    assert body["agreements"] == 1
    assert body["by_state"] == [{"state": "MX-NLE", "name": "Nuevo León", "agreements": 1}]
    assert body["by_status"]["in_force"] == 1
    assert body["by_status"]["terminated"] == 0
    assert body["by_registration_status"]["pending"] == 1
    assert body["by_counterpart_country"] == {"US": 1}
    assert body["key_indicators"] == [
        {"indicator": "companies_served", "measure": "count", "unit": None, "total": 9.0, "targets": 1},
        {"indicator": "investment_pipeline", "measure": "currency", "unit": "USD", "total": 250.0, "targets": 1},
        {"indicator": "public_service_improvements", "measure": "count", "unit": "hours", "total": 60.0, "targets": 1},
    ]
    assert body["milestones"] == {
        "by_status": {"scheduled": 7, "met": 2, "partially_met": 2, "not_met": 1},
        "milestones": 12,
        "due": 4,
        "mean_attainment": round((0.4 + 2.5 + 0.5) / 3, 4),
        "attainment_milestones": 3,
    }


async def test_filter_by_signatory(client: httpx2.AsyncClient, dataset: Dataset, world: World) -> None:
    body = await summary(client, signatory_org_id=str(world.signatory.id))
    assert body["filters"]["signatory_org_id"] == str(world.signatory.id)
    assert body["agreements"] == 2
    assert body["by_status"]["in_force"] == 1
    assert body["by_status"]["terminated"] == 1
    assert body["by_counterpart_country"] == {"DE": 1, "PL": 1, "US": 1}
    assert indicator(body, "companies_served") == 20
    assert indicator(body, "investment_pipeline", "MXN") == 1234567.5
    assert indicator(body, "investment_pipeline", "USD") is None


async def test_filters_combine_and_can_select_nothing(
    client: httpx2.AsyncClient, dataset: Dataset, world: World
) -> None:
    body = await summary(client, state="MX-JAL", signatory_org_id=str(world.other.id))
    assert body["agreements"] == 0
    assert set(body["by_status"].values()) == {0}
    assert body["by_state"] == []
    assert body["by_counterpart_country"] == {}
    assert body["key_indicators"] == []
    assert body["milestones"] == {
        "by_status": dict.fromkeys(MILESTONE_STATUSES, 0),
        "milestones": 0,
        "due": 0,
        "mean_attainment": None,
        "attainment_milestones": 0,
    }


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        pytest.param({"state": "Jalisco"}, ["query", "state"], id="state-not-a-code"),
        pytest.param({"state": "MX-XYZ"}, ["query", "state"], id="state-not-in-iso-3166-2"),
        pytest.param({"signatory_org_id": "guadalajara"}, ["query", "signatory_org_id"], id="org-not-a-uuid"),
    ],
)
async def test_bad_filters_are_422(client: httpx2.AsyncClient, params: dict[str, str], loc: list[str | int]) -> None:
    assert_problem(await client.get(SUMMARY, params=params), 422, loc=loc)


async def test_a_sent_key_must_be_valid(client: httpx2.AsyncClient, dataset: Dataset, world: World) -> None:
    assert_problem(await client.get(SUMMARY, headers={"Authorization": "Bearer pacta_not_a_key"}), 401)
    # A valid key sees the same public figures: auditors read everything, the dashboard is public.
    assert await summary(client, world.headers("auditor")) == await summary(client)


async def test_milestones_agree_with_each_targets_progress(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    """The summary's SQL evaluation of milestones matches the targets API's, milestone by milestone."""
    counted: Counter[str] = Counter()
    for name in ("A1", "A2", "A4"):
        response = await client.get(f"{AGREEMENTS}/{dataset.agreements[name]}/targets", params={"limit": 200})
        assert response.status_code == 200, response.text
        for target in response.json()["items"]:
            counted.update(m["status"] for m in target["milestones"])
    body = await summary(client)
    assert body["milestones"]["by_status"] == {s: counted[s] for s in MILESTONE_STATUSES}


async def test_private_agreement_targets_are_not_public(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    """The draft's verified 1,000 is real data in the database, only hidden: it is what the summary leaves out."""
    response = await client.get(f"{AGREEMENTS}/{dataset.agreements['A3']}/targets")
    assert_problem(response, 404)


async def test_summary_runs_a_fixed_number_of_statements(
    app: FastAPI, client: httpx2.AsyncClient, engine: AsyncEngine, dataset: Dataset, world: World
) -> None:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        await summary(client)
        small = len(statements)
        # Twice the data: another copy of the whole data set.
        await build(client, world.headers("admin"), jalisco=world.signatory.id, nuevo_leon=world.other.id)
        statements.clear()
        doubled = await summary(client)
        large = len(statements)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    assert doubled["agreements"] == 6
    assert doubled["milestones"]["milestones"] == 36
    assert large == small
    assert sum(s.lstrip().upper().startswith(("WITH", "SELECT")) for s in statements) == 3
    assert TODAY.isoformat() == doubled["as_of"]
