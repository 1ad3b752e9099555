"""/v1/agreements/{id}/targets and /v1/targets/{id}: targets with their milestones, the progress
read evaluated on the (pinned) day from verified measurements, validation, If-Match, deletion,
the log, a fixed number of queries, and who may do what."""

import contextlib
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from tests.conftest import MakeKey, MakeOrg
from tests.factories import (
    ACTORS,
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
    walk,
)
from tests.targets.factories import (
    DUE_6,
    DUE_12,
    DUE_24,
    LATE,
    SIGNED_ON,
    TARGETS,
    Progress,
    create_target,
    descending_body,
    log_tail,
    make_agreement,
    qualitative_body,
    read_target,
    report,
    snapshot,
    summary,
    target_body,
    targets_of,
    upload_evidence,
)

ONE_DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@pytest.fixture
async def agreement(client: httpx2.AsyncClient, world: World) -> dict[str, Any]:
    return await make_agreement(client, world)


@pytest.fixture
def progress(client: httpx2.AsyncClient, app: FastAPI, world: World, agreement: dict[str, Any]) -> Progress:
    return Progress(client, app, world, agreement["id"])


def url_of(target: dict[str, Any]) -> str:
    return f"{TARGETS}/{target['id']}"


# --- create and read -------------------------------------------------------------------------------


async def test_create_and_read_a_target(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any], session: AsyncSession
) -> None:
    editor = world.headers("editor")
    body = target_body(
        description="Empresas jaliscienses atendidas por la oficina de enlace en Cracovia.",
        unit="empresas",
        responsible_org_id=str(world.participant.id),
        # Given out of order: milestones are kept in order of months.
        milestones=[
            {"months": 24, "target_value": 60},
            {"months": 6, "target_value": 10},
            {"months": 12, "target_value": 25.5},
        ],
    )
    response = await client.post(targets_of(agreement["id"]), json=body, headers=editor)
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"].endswith(url_of(created))
    assert created["agreement_id"] == agreement["id"]
    assert {k: created[k] for k in ("indicator", "title", "measure", "unit", "description", "responsible_org_id")} == {
        k: body[k] for k in ("indicator", "title", "measure", "unit", "description", "responsible_org_id")
    }
    assert created["ascending"] is True
    assert created["baseline"] == {"value": 0, "on": SIGNED_ON.isoformat(), "comment": "Sin atención previa"}
    assert created["milestones"] == [
        {"months": 6, "target_value": 10, "due_on": DUE_6.isoformat(), "status": "scheduled", "actual_value": None,
         "attainment": None},
        {"months": 12, "target_value": 25.5, "due_on": DUE_12.isoformat(), "status": "scheduled",
         "actual_value": None, "attainment": None},
        {"months": 24, "target_value": 60, "due_on": DUE_24.isoformat(), "status": "scheduled",
         "actual_value": None, "attainment": None},
    ]  # fmt: skip
    assert created["latest"] is None

    read = await get_ok(client, response.headers["location"], {})
    assert read.json() == created
    assert read.headers["etag"] == response.headers["etag"]
    cached = await client.get(url_of(created), headers={"If-None-Match": read.headers["etag"]})
    assert cached.status_code == 304


async def test_a_target_without_a_baseline_reads_null(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]
) -> None:
    body = target_body()
    del body["baseline"]
    created = await create_target(client, world.headers("editor"), agreement["id"], body)
    assert created["baseline"] is None


async def test_qualitative_targets_get_6_12_24_month_milestones_by_default(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]
) -> None:
    created = await create_target(client, world.headers("editor"), agreement["id"], qualitative_body())
    assert [(m["months"], m["target_value"], m["due_on"], m["status"]) for m in created["milestones"]] == [
        (6, None, DUE_6.isoformat(), "scheduled"),
        (12, None, DUE_12.isoformat(), "scheduled"),
        (24, None, DUE_24.isoformat(), "scheduled"),
    ]


async def test_numeric_targets_need_a_target_value_for_each_default_milestone(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    body = target_body()
    del body["milestones"]
    before = await snapshot(session)
    response = await client.post(targets_of(agreement["id"]), json=body, headers=world.headers("editor"))
    problem = assert_problem(response, 422)
    assert [e["loc"] for e in problem["errors"]] == [["body", "milestones", i, "target_value"] for i in range(3)]
    assert await snapshot(session) == before


@pytest.mark.parametrize(
    ("unit", "stored"),
    [pytest.param("MXN", "MXN", id="MXN"), pytest.param(" USD ", "USD", id="padded"), ("EUR", "EUR")],
)
async def test_a_currency_target_takes_an_iso_4217_unit(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any], unit: str, stored: str
) -> None:
    body = target_body(indicator="investment_pipeline", title="Cartera de inversión", measure="currency", unit=unit)
    created = await create_target(client, world.headers("editor"), agreement["id"], body)
    assert created["unit"] == stored


def milestones(*pairs: tuple[int, Any]) -> list[dict[str, Any]]:
    return [{"months": m} if v is ... else {"months": m, "target_value": v} for m, v in pairs]


CREATE_REFUSALS = [
    pytest.param({"milestones": milestones((6, 10), (12, ...))}, ["body", "milestones", 1, "target_value"],
                 id="numeric-milestone-without-target"),
    pytest.param({"milestones": milestones((6, 10), (12, None))}, ["body", "milestones", 1, "target_value"],
                 id="numeric-milestone-null-target"),
    pytest.param({"measure": "percentage", "milestones": milestones((6, 10), (18, ...), (24, 30))},
                 ["body", "milestones", 1, "target_value"], id="percentage-milestone-without-target"),
    pytest.param({"milestones": milestones((6, 10), (6, 20))}, ["body", "milestones"], id="duplicate-months"),
    pytest.param({"milestones": milestones((12, 10), (6, 5), (12, 20))}, ["body", "milestones"],
                 id="duplicate-months-unordered"),
    pytest.param({"measure": "currency"}, ["body", "unit"], id="currency-without-unit"),
    pytest.param({"measure": "currency", "unit": "XXY"}, ["body", "unit"], id="currency-unknown-code"),
    pytest.param({"measure": "currency", "unit": "mxn"}, ["body", "unit"], id="currency-lowercase"),
    pytest.param({"measure": "currency", "unit": "pesos"}, ["body", "unit"], id="currency-word"),
    pytest.param({"measure": "qualitative", "baseline": None}, ["body", "milestones", 0, "target_value"],
                 id="qualitative-with-target-values"),
    pytest.param({"measure": "qualitative", "milestones": None, "baseline": {"value": 1}},
                 ["body", "baseline", "value"], id="qualitative-with-numeric-baseline"),
    pytest.param({"milestones": milestones((0, 10))}, ["body", "milestones", 0, "months"], id="zero-months"),
    pytest.param({"milestones": milestones((601, 10))}, ["body", "milestones", 0, "months"], id="too-many-months"),
    pytest.param({"milestones": milestones(*((m, m) for m in range(1, 26)))}, ["body", "milestones"],
                 id="too-many-milestones"),
    pytest.param({"milestones": [{"months": 6, "target_value": 10, "due_on": "2025-01-01"}]},
                 ["body", "milestones", 0, "due_on"], id="due-on-is-derived"),
    pytest.param({"milestones": milestones((6, 1e16))}, ["body", "milestones", 0, "target_value"], id="huge-target"),
    pytest.param({"baseline": {"value": -1e16}}, ["body", "baseline", "value"], id="huge-baseline"),
    pytest.param({"baseline": {"value": 1, "unit": "x"}}, ["body", "baseline", "unit"], id="baseline-extra-field"),
    pytest.param({"indicator": "visits"}, ["body", "indicator"], id="indicator"),
    pytest.param({"measure": "ratio"}, ["body", "measure"], id="measure"),
    pytest.param({"title": "   "}, ["body", "title"], id="blank-title"),
    pytest.param({"responsible_org_id": str(uuid.uuid4())}, ["body", "responsible_org_id"],
                 id="responsible-unknown"),
    pytest.param({"status": "met"}, ["body", "status"], id="status-is-derived"),
    pytest.param({"latest": {"value": 1, "as_of": "2025-01-01"}}, ["body", "latest"], id="latest-is-derived"),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "loc"), CREATE_REFUSALS)
async def test_create_refuses_what_cannot_be(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    world: World,
    agreement: dict[str, Any],
    fields: dict[str, Any],
    loc: list[str | int],
) -> None:
    before = await snapshot(session)
    response = await client.post(
        targets_of(agreement["id"]), json=target_body(**fields), headers=world.headers("editor")
    )
    assert_problem(response, 422, loc=loc)
    assert await snapshot(session) == before
    assert (await get_ok(client, targets_of(agreement["id"]), {})).json()["items"] == []


async def test_a_body_that_is_not_json_is_400(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]
) -> None:
    response = await client.post(
        targets_of(agreement["id"]),
        content=b"{not json",
        headers={**world.headers("editor"), "Content-Type": "application/json"},
    )
    assert_problem(response, 400)


async def test_unknown_agreement_or_target_is_404(client: httpx2.AsyncClient, world: World) -> None:
    admin = world.headers("admin")
    missing_agreement = f"{AGREEMENTS}/{uuid.uuid4()}/targets"
    assert_problem(await client.post(missing_agreement, json=target_body(), headers=admin), 404)
    assert_problem(await client.get(missing_agreement, headers=admin), 404)
    missing = f"{TARGETS}/{uuid.uuid4()}"
    assert_problem(await client.get(missing, headers=admin), 404)
    assert_problem(await client.patch(missing, json={"title": "x"}, headers={**admin, "If-Match": '"x"'}), 404)
    assert_problem(await client.delete(missing, headers={**admin, "If-Match": '"x"'}), 404)


async def test_targets_are_listed_oldest_first_page_by_page(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]
) -> None:
    editor = world.headers("editor")
    made = [
        (await create_target(client, editor, agreement["id"], target_body(title=f"Meta {i}")))["id"] for i in range(5)
    ]
    other = await make_agreement(client, world)
    await create_target(client, editor, other["id"])
    listed = await walk(client, targets_of(agreement["id"]), {}, limit=2)
    assert [t["id"] for t in listed] == made
    assert all(len(t["milestones"]) == 3 for t in listed)


# --- due dates ------------------------------------------------------------------------------------------


async def test_due_dates_wait_for_the_signature_and_follow_entry_into_force(
    client: httpx2.AsyncClient, app: FastAPI, world: World
) -> None:
    editor = world.headers("editor")
    draft = await make_agreement(client, world, "private")
    target = await create_target(client, editor, draft["id"])
    assert [(m["due_on"], m["status"]) for m in target["milestones"]] == [(None, "scheduled")] * 3
    # Long after any plausible due date, an unsigned agreement's milestones are still only scheduled.
    assert summary(await read_target(client, app, target["id"], LATE, editor)) == [
        (6, "scheduled", None, None),
        (12, "scheduled", None, None),
        (24, "scheduled", None, None),
    ]
    pin_today(app, TODAY)

    signed = await patch_current(client, f"{AGREEMENTS}/{draft['id']}", editor, {"signed_on": SIGNED_ON.isoformat()})
    assert signed.status_code == 200, signed.text
    read = (await get_ok(client, url_of(target), editor)).json()
    assert [m["due_on"] for m in read["milestones"]] == [d.isoformat() for d in (DUE_6, DUE_12, DUE_24)]

    # Entry into force later than the signature moves every due date.
    later = await patch_current(client, f"{AGREEMENTS}/{draft['id']}", editor, {"entry_into_force_on": "2025-03-31"})
    assert later.status_code == 200, later.text
    read = (await get_ok(client, url_of(target), editor)).json()
    assert [m["due_on"] for m in read["milestones"]] == ["2025-09-30", "2026-03-31", "2027-03-31"]
    listed = (await get_ok(client, targets_of(draft["id"]), editor)).json()["items"]
    assert listed == [read]


async def test_due_dates_clamp_to_the_end_of_shorter_months(client: httpx2.AsyncClient, world: World) -> None:
    editor = world.headers("editor")
    agreement = await create_agreement(
        client,
        editor,
        world.signatory.id,
        signed_on="2023-08-01",
        entry_into_force_on="2023-08-31",
        participant_org_ids=[str(world.participant.id)],
    )
    body = target_body(
        milestones=[
            {"months": 6, "target_value": 1},
            {"months": 12, "target_value": 2},
            {"months": 18, "target_value": 3},
        ]
    )
    target = await create_target(client, editor, agreement["id"], body)
    assert [m["due_on"] for m in target["milestones"]] == ["2024-02-29", "2024-08-31", "2025-02-28"]


# --- progress ------------------------------------------------------------------------------------------


async def test_progress_from_verified_measurements_before_and_after_the_due_dates(
    client: httpx2.AsyncClient, app: FastAPI, world: World, agreement: dict[str, Any], progress: Progress
) -> None:
    target = await create_target(client, world.headers("editor"), agreement["id"])
    await progress.add(target["id"], date(2025, 6, 1), 12)

    # Before the 6-month due date: met early; later milestones show the latest so far.
    early = await read_target(client, app, target["id"], TODAY)
    assert summary(early) == [(6, "met", 12, 1.2), (12, "scheduled", 12, 0.48), (24, "scheduled", 12, 0.2)]
    assert early["latest"] == {"value": 12, "as_of": "2025-06-01"}

    # On the 12-month due date it is still scheduled; the day after, short of 25, partially met.
    assert summary(await read_target(client, app, target["id"], DUE_12))[1] == (12, "scheduled", 12, 0.48)
    assert summary(await read_target(client, app, target["id"], DUE_12 + ONE_DAY))[1] == (12, "partially_met", 12, 0.48)

    # A measurement dated after the 12-month due date does not rescue it, but counts for 24 months.
    await progress.add(target["id"], DUE_12 + timedelta(days=5), 30)
    later = await read_target(client, app, target["id"], DUE_12 + timedelta(days=10))
    assert summary(later) == [(6, "met", 12, 1.2), (12, "partially_met", 12, 0.48), (24, "scheduled", 30, 0.5)]
    assert later["latest"] == {"value": 30, "as_of": (DUE_12 + timedelta(days=5)).isoformat()}

    # A measurement dated on the due date itself counts for it.
    await progress.add(target["id"], DUE_24, 61)
    final = await read_target(client, app, target["id"], DUE_24 + ONE_DAY)
    assert summary(final) == [(6, "met", 12, 1.2), (12, "partially_met", 12, 0.48), (24, "met", 61, 1.0167)]


async def test_the_list_and_the_single_read_evaluate_alike(
    client: httpx2.AsyncClient, app: FastAPI, world: World, agreement: dict[str, Any], progress: Progress
) -> None:
    editor = world.headers("editor")
    first = await create_target(client, editor, agreement["id"])
    second = await create_target(client, editor, agreement["id"], descending_body())
    await progress.add(first["id"], date(2025, 5, 1), 4)
    await progress.add(second["id"], date(2025, 5, 1), 60)
    for day in (TODAY, DUE_6 + ONE_DAY, DUE_24 + ONE_DAY):
        pin_today(app, day)
        listed = (await get_ok(client, targets_of(agreement["id"]), {})).json()["items"]
        singles = [(await get_ok(client, f"{TARGETS}/{t}", {})).json() for t in (first["id"], second["id"])]
        assert listed == singles


async def test_nothing_verified_is_not_met_once_due(
    client: httpx2.AsyncClient, app: FastAPI, world: World, agreement: dict[str, Any]
) -> None:
    target = await create_target(client, world.headers("editor"), agreement["id"])
    assert [m["status"] for m in (await read_target(client, app, target["id"], DUE_6))["milestones"]] == [
        "scheduled"
    ] * 3
    after_6 = await read_target(client, app, target["id"], DUE_6 + ONE_DAY)
    assert summary(after_6) == [
        (6, "not_met", None, None),
        (12, "scheduled", None, None),
        (24, "scheduled", None, None),
    ]
    after_all = await read_target(client, app, target["id"], DUE_24 + ONE_DAY)
    assert [m["status"] for m in after_all["milestones"]] == ["not_met"] * 3
    assert after_all["latest"] is None


async def test_an_actual_that_did_not_move_from_the_baseline_is_not_met(
    client: httpx2.AsyncClient, app: FastAPI, world: World, agreement: dict[str, Any], progress: Progress
) -> None:
    body = target_body(baseline={"value": 4})
    target = await create_target(client, world.headers("editor"), agreement["id"], body)
    await progress.add(target["id"], date(2025, 6, 1), 4)
    assert summary(await read_target(client, app, target["id"], DUE_6 + ONE_DAY))[0] == (6, "not_met", 4, 0)


async def test_a_descending_target_is_met_by_going_down(
    client: httpx2.AsyncClient, app: FastAPI, world: World, agreement: dict[str, Any], progress: Progress
) -> None:
    editor = world.headers("editor")
    improving = await create_target(client, editor, agreement["id"], descending_body())
    assert improving["ascending"] is False
    await progress.add(improving["id"], date(2025, 6, 1), 60)
    assert summary(await read_target(client, app, improving["id"], TODAY))[0] == (6, "scheduled", 60, 0.5)
    assert summary(await read_target(client, app, improving["id"], DUE_6 + ONE_DAY))[0] == (
        6,
        "partially_met",
        60,
        0.5,
    )
    # Down to 20 hours early: the 6- and 12-month milestones are met, the 24-month one is not yet.
    await progress.add(improving["id"], date(2025, 7, 1), 20)
    read = await read_target(client, app, improving["id"], date(2025, 7, 2))
    assert summary(read) == [(6, "met", 20, 2.1667), (12, "met", 20, 1.0833), (24, "scheduled", 20, 0.8667)]

    unchanged = await create_target(client, editor, agreement["id"], descending_body(title="Sin cambio"))
    await progress.add(unchanged["id"], date(2025, 6, 1), 72)
    assert summary(await read_target(client, app, unchanged["id"], DUE_6 + ONE_DAY))[0] == (6, "not_met", 72, 0)

    worse = await create_target(client, editor, agreement["id"], descending_body(title="Peor"))
    await progress.add(worse["id"], date(2025, 6, 1), 90)
    assert summary(await read_target(client, app, worse["id"], DUE_6 + ONE_DAY))[0] == (6, "not_met", 90, -0.75)


async def test_a_qualitative_target_is_met_by_a_verified_measurement_by_the_due_date(
    client: httpx2.AsyncClient, app: FastAPI, world: World, agreement: dict[str, Any], progress: Progress
) -> None:
    target = await create_target(client, world.headers("editor"), agreement["id"], qualitative_body())
    assert [m["status"] for m in (await read_target(client, app, target["id"], DUE_6 + ONE_DAY))["milestones"]] == [
        "not_met",
        "scheduled",
        "scheduled",
    ]
    # Adopted a month after the 6-month due date, with no number to report.
    await progress.add(target["id"], DUE_6 + timedelta(days=30), None)
    read = await read_target(client, app, target["id"], DUE_6 + timedelta(days=31))
    assert summary(read) == [(6, "not_met", None, None), (12, "met", None, None), (24, "met", None, None)]
    assert read["latest"] == {"value": None, "as_of": (DUE_6 + timedelta(days=30)).isoformat()}


async def test_only_verified_measurements_count(
    client: httpx2.AsyncClient, app: FastAPI, world: World, agreement: dict[str, Any], progress: Progress
) -> None:
    target = await create_target(client, world.headers("editor"), agreement["id"])
    await progress.add(target["id"], date(2025, 5, 1), 5)
    pending = await progress.add(target["id"], date(2025, 6, 1), 50, decision=None)
    await progress.add(target["id"], date(2025, 6, 2), 70, decision="rejected")

    for headers in (world.headers("editor"), world.headers("participant"), {}):
        read = await read_target(client, app, target["id"], DUE_6 + ONE_DAY, headers)
        assert summary(read)[0] == (6, "partially_met", 5, 0.5)
        assert read["latest"] == {"value": 5, "as_of": "2025-05-01"}

    response = await client.post(
        f"/v1/measurements/{pending}/verification", json={"decision": "verified"}, headers=world.headers("editor")
    )
    assert response.status_code == 200, response.text
    read = await read_target(client, app, target["id"], DUE_6 + ONE_DAY)
    assert summary(read)[0] == (6, "met", 50, 5)
    assert read["latest"] == {"value": 50, "as_of": "2025-06-01"}


# --- a fixed number of queries ---------------------------------------------------------------------------


@contextlib.contextmanager
def counting(connection: AsyncConnection) -> Iterator[list[str]]:
    """The SQL statements sent to the database while the block runs."""
    statements: list[str] = []

    def record(*args: Any) -> None:  # conn, cursor, statement, parameters, context, executemany
        statements.append(args[2])

    event.listen(connection.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(connection.sync_engine, "before_cursor_execute", record)


async def test_the_progress_read_takes_the_same_queries_whatever_the_number_of_targets_and_measurements(
    client: httpx2.AsyncClient, app: FastAPI, world: World, connection: AsyncConnection
) -> None:
    editor = world.headers("editor")
    small = await make_agreement(client, world)
    one = await create_target(client, editor, small["id"])
    await Progress(client, app, world, small["id"]).add(one["id"], date(2025, 6, 1), 12)

    large = await make_agreement(client, world)
    filler = Progress(client, app, world, large["id"])
    for i in range(8):
        body = qualitative_body(title=f"Meta {i}") if i % 4 == 3 else target_body(title=f"Meta {i}")
        target = await create_target(client, editor, large["id"], body)
        for month in range(1, 6):
            await filler.add(target["id"], date(2025, month, 10), 3 * month + i)
        await filler.add(target["id"], date(2025, 6, 1), 100, decision=None)
        await filler.add(target["id"], date(2025, 6, 2), 200, decision="rejected")

    pin_today(app, DUE_6 + ONE_DAY)
    with counting(connection) as for_one:
        response = await client.get(targets_of(small["id"]))
    assert response.status_code == 200
    assert summary(response.json()["items"][0])[0] == (6, "met", 12, 1.2)

    with counting(connection) as for_eight:
        response = await client.get(targets_of(large["id"]))
    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 8
    assert [summary(t)[0][:3] for t in items] == [(6, "met", 15 + i) for i in range(8)]
    assert [t["latest"] for t in items] == [{"value": 15 + i, "as_of": "2025-05-10"} for i in range(8)]
    assert for_one, "the listener saw no statements: the count would prove nothing"
    assert len(for_eight) == len(for_one), (for_one, for_eight)

    # The single read does not grow with the measurements either.
    with counting(connection) as single_small:
        assert (await client.get(url_of(one))).status_code == 200
    with counting(connection) as single_large:
        assert (await client.get(url_of(items[0]))).status_code == 200
    assert len(single_large) == len(single_small)


# --- change ------------------------------------------------------------------------------------------------


async def test_patch_needs_a_current_if_match(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    editor, admin = world.headers("editor"), world.headers("admin")
    target = await create_target(client, editor, agreement["id"])
    before = await snapshot(session)
    assert_problem(await client.patch(url_of(target), json={"title": "x"}, headers=editor), 428)
    stale = await client.patch(url_of(target), json={"title": "x"}, headers={**editor, "If-Match": '"stale"'})
    assert_problem(stale, 412)
    assert await snapshot(session) == before

    etag = (await get_ok(client, url_of(target), editor)).headers["etag"]
    first = await client.patch(url_of(target), json={"title": "Empresas"}, headers={**editor, "If-Match": etag})
    assert first.status_code == 200, first.text
    assert first.headers["etag"] != etag
    second = await client.patch(url_of(target), json={"title": "Otra"}, headers={**admin, "If-Match": etag})
    assert_problem(second, 412)
    assert (await get_ok(client, url_of(target), editor)).json()["title"] == "Empresas"


async def test_a_negative_zero_is_written_and_read_as_zero_with_one_etag(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]
) -> None:
    """-0.0 is stored as 0 (NUMERIC has no negative zero): the write's answer and its ETag must be
    the read's, so that its ETag works as an If-Match."""
    editor = world.headers("editor")
    body = target_body(baseline={"value": -0.0, "on": SIGNED_ON.isoformat()})
    created = await client.post(targets_of(agreement["id"]), json=body, headers=editor)
    assert created.status_code == 201, created.text
    assert created.json()["baseline"]["value"] == 0.0
    assert '"value":-0.0' not in created.text
    read = await get_ok(client, url_of(created.json()), editor)
    assert read.headers["etag"] == created.headers["etag"]
    changed = await client.patch(
        url_of(created.json()), json={"title": "Otra"}, headers={**editor, "If-Match": created.headers["etag"]}
    )
    assert changed.status_code == 200, changed.text


async def test_a_new_verified_measurement_changes_the_etag(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any], progress: Progress, app: FastAPI
) -> None:
    # The milestones are part of the representation: a PATCH based on a read from before the
    # verification would overwrite a target the editor has not seen evaluated.
    editor = world.headers("editor")
    target = await create_target(client, editor, agreement["id"])
    etag = (await get_ok(client, url_of(target), editor)).headers["etag"]
    await progress.add(target["id"], date(2025, 6, 1), 12)
    pin_today(app, TODAY)
    assert_problem(await client.patch(url_of(target), json={"title": "x"}, headers={**editor, "If-Match": etag}), 412)


async def test_changing_the_milestones_re_evaluates_them(
    client: httpx2.AsyncClient, app: FastAPI, world: World, agreement: dict[str, Any], progress: Progress
) -> None:
    editor = world.headers("editor")
    target = await create_target(client, editor, agreement["id"])
    await progress.add(target["id"], date(2025, 6, 1), 12)
    pin_today(app, TODAY)
    changed = await patch_current(
        client,
        url_of(target),
        editor,
        {"milestones": [{"months": 6, "target_value": 20}, {"months": 36, "target_value": 100}]},
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert summary(body) == [(6, "scheduled", 12, 0.6), (36, "scheduled", 12, 0.12)]
    assert body["milestones"][1]["due_on"] == "2028-01-15"
    assert (body["title"], body["baseline"]["value"]) == (target["title"], 0)  # untouched
    assert (await get_ok(client, url_of(target), editor)).json() == body


async def test_patch_can_turn_a_target_descending(
    client: httpx2.AsyncClient, app: FastAPI, world: World, agreement: dict[str, Any], progress: Progress
) -> None:
    editor = world.headers("editor")
    target = await create_target(client, editor, agreement["id"], target_body(baseline={"value": 72}))
    await progress.add(target["id"], date(2025, 6, 1), 40)
    pin_today(app, TODAY)
    changed = await patch_current(
        client,
        url_of(target),
        editor,
        {"ascending": False, "milestones": [{"months": 6, "target_value": 48}, {"months": 12, "target_value": 24}]},
    )
    assert changed.status_code == 200, changed.text
    assert summary(changed.json()) == [(6, "met", 40, 1.3333), (12, "scheduled", 40, 0.6667)]


PATCH_REFUSALS = [
    pytest.param({"title": None}, ["body", "title"], id="title-null"),
    pytest.param({"indicator": None}, ["body", "indicator"], id="indicator-null"),
    pytest.param({"measure": None}, ["body", "measure"], id="measure-null"),
    pytest.param({"ascending": None}, ["body", "ascending"], id="ascending-null"),
    pytest.param({"measure": "currency"}, ["body", "unit"], id="currency-without-unit"),
    pytest.param({"measure": "currency", "unit": "XXY"}, ["body", "unit"], id="currency-unknown-unit"),
    pytest.param({"measure": "qualitative"}, ["body", "milestones", 0, "target_value"], id="qualitative-keeps-values"),
    pytest.param({"milestones": None}, ["body", "milestones", 0, "target_value"], id="default-milestones-no-values"),
    pytest.param({"milestones": [{"months": 6, "target_value": 1}, {"months": 6, "target_value": 2}]},
                 ["body", "milestones"], id="duplicate-months"),
    pytest.param({"milestones": [{"months": 6}]}, ["body", "milestones", 0, "target_value"], id="no-target-value"),
    pytest.param({"responsible_org_id": str(uuid.uuid4())}, ["body", "responsible_org_id"], id="responsible"),
    pytest.param({"agreement_id": str(uuid.uuid4())}, ["body", "agreement_id"], id="agreement-not-movable"),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "loc"), PATCH_REFUSALS)
async def test_patch_refuses_what_cannot_be(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    world: World,
    agreement: dict[str, Any],
    changes: dict[str, Any],
    loc: list[str | int],
) -> None:
    editor = world.headers("editor")
    target = await create_target(client, editor, agreement["id"])
    before = await snapshot(session)
    response = await patch_current(client, url_of(target), editor, changes)
    assert_problem(response, 422, loc=loc)
    assert await snapshot(session) == before
    assert (await get_ok(client, url_of(target), editor)).json() == target


async def test_patch_to_currency_with_its_unit(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]
) -> None:
    editor = world.headers("editor")
    target = await create_target(client, editor, agreement["id"])
    changed = await patch_current(client, url_of(target), editor, {"measure": "currency", "unit": "USD"})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["measure"], changed.json()["unit"]) == ("currency", "USD")


# --- delete ---------------------------------------------------------------------------------------------


async def test_delete_a_target_without_measurements(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    editor = world.headers("editor")
    target = await create_target(client, editor, agreement["id"])
    kept = await create_target(client, editor, agreement["id"], qualitative_body())
    assert_problem(await client.delete(url_of(target), headers=editor), 428)
    assert_problem(await client.delete(url_of(target), headers={**editor, "If-Match": '"stale"'}), 412)
    etag = (await get_ok(client, url_of(target), editor)).headers["etag"]
    response = await client.delete(url_of(target), headers={**editor, "If-Match": etag})
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert_problem(await client.get(url_of(target), headers=editor), 404)
    assert [t["id"] for t in (await get_ok(client, targets_of(agreement["id"]), editor)).json()["items"]] == [
        kept["id"]
    ]
    [entry] = await log_tail(session, 1)
    assert (entry["action"], entry["resource_type"], entry["resource_id"]) == ("delete", "target", target["id"])
    assert entry["agreement_id"] == uuid.UUID(agreement["id"])
    assert entry["document"] is None


@pytest.mark.parametrize("decision", [None, "verified", "rejected"])
async def test_a_target_with_measurements_cannot_be_deleted(
    client: httpx2.AsyncClient,
    app: FastAPI,
    session: AsyncSession,
    world: World,
    agreement: dict[str, Any],
    progress: Progress,
    decision: str | None,
) -> None:
    editor = world.headers("editor")
    target = await create_target(client, editor, agreement["id"])
    await progress.add(target["id"], date(2025, 6, 1), 3, decision=decision)
    pin_today(app, TODAY)
    before = await snapshot(session)
    etag = (await get_ok(client, url_of(target), editor)).headers["etag"]
    response = await client.delete(url_of(target), headers={**editor, "If-Match": etag})
    assert_problem(response, 409)
    assert await snapshot(session) == before
    assert (await get_ok(client, url_of(target), editor)).json()["id"] == target["id"]


# --- the log -------------------------------------------------------------------------------------------


async def test_each_write_logs_one_entry_filed_under_the_agreement(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    editor = world.headers("editor")
    before = await snapshot(session)
    target = await create_target(client, editor, agreement["id"])
    changed = await patch_current(client, url_of(target), editor, {"title": "Empresas con cita"})
    assert changed.status_code == 200
    assert (await snapshot(session))[3] == before[3] + 2
    entries = await log_tail(session, 2)
    assert [(e["action"], e["resource_type"], e["resource_id"]) for e in entries] == [
        ("create", "target", target["id"]),
        ("update", "target", target["id"]),
    ]
    assert {e["agreement_id"] for e in entries} == {uuid.UUID(agreement["id"])}
    assert {e["actor_org_id"] for e in entries} == {world.signatory.id}
    assert entries[0]["document"]["title"] == "Empresas atendidas"
    assert entries[1]["document"]["title"] == "Empresas con cita"
    assert [(m["months"], float(m["target_value"])) for m in entries[1]["document"]["milestones"]] == [
        (6, 10),
        (12, 25),
        (24, 60),
    ]

    history = await walk(client, f"{AGREEMENTS}/{agreement['id']}/history", world.headers("auditor"), limit=200)
    assert [(e["action"], e["resource_type"]) for e in history[-2:]] == [("create", "target"), ("update", "target")]
    assert history[-1]["changes"]["title"] == {"from": "Empresas atendidas", "to": "Empresas con cita"}


async def test_a_retried_create_with_the_same_idempotency_key_records_one_target(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    headers = {**world.headers("editor"), "Idempotency-Key": "target-1"}
    first = await client.post(targets_of(agreement["id"]), json=target_body(), headers=headers)
    again = await client.post(targets_of(agreement["id"]), json=target_body(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert (await snapshot(session))[0] == 1
    different = await client.post(targets_of(agreement["id"]), json=target_body(title="Otra"), headers=headers)
    assert_problem(different, 422)
    assert (await snapshot(session))[0] == 1


# --- who may do what ------------------------------------------------------------------------------------

ALL_OK = dict.fromkeys(ACTORS, 200)
READ = {
    "private": {**ALL_OK, "other_editor": 404, "outsider": 404, "anonymous": 404},
    "public": ALL_OK,
}
DENIED = {"legal_reviewer": 403, "participant": 403, "auditor": 403, "anonymous": 401}
WRITE = {
    "private": {"admin": 200, "editor": 200, "other_editor": 404, "outsider": 404, **DENIED},
    "public": {"admin": 200, "editor": 200, "other_editor": 403, "outsider": 403, **DENIED},
}


def matrix(table: dict[str, dict[str, int]], ok: int = 200) -> list[Any]:
    return [
        pytest.param(scenario, actor, ok if expected == 200 else expected, id=f"{scenario}-{actor}")
        for scenario, by_actor in table.items()
        for actor, expected in by_actor.items()
    ]


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(READ))
async def test_who_may_read_targets(
    client: httpx2.AsyncClient, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    target = await create_target(client, world.headers("editor"), agreement["id"])
    listed = await client.get(targets_of(agreement["id"]), headers=world.headers(actor))
    single = await client.get(url_of(target), headers=world.headers(actor))
    if expected == 200:
        assert listed.status_code == single.status_code == 200, (listed.text, single.text)
        assert listed.json()["items"] == [target]
        assert single.json() == target
    else:
        assert_problem(listed, expected)
        hidden = assert_problem(single, expected)
        missing = assert_problem(await client.get(f"{TARGETS}/{uuid.uuid4()}", headers=world.headers(actor)), 404)
        assert (hidden["title"], hidden["detail"]) == (missing["title"], missing["detail"])


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(WRITE, 201))
async def test_who_may_set_a_target(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    before = await snapshot(session)
    response = await client.post(targets_of(agreement["id"]), json=target_body(), headers=world.headers(actor))
    if expected == 201:
        assert response.status_code == 201, response.text
        assert (await snapshot(session))[0] == before[0] + 1
        assert (await log_tail(session, 1))[0]["actor_org_id"] == world.org_of(actor)
    else:
        assert_problem(response, expected)
        assert await snapshot(session) == before


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(WRITE))
async def test_who_may_change_a_target(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    target = await create_target(client, world.headers("editor"), agreement["id"])
    etag = (await get_ok(client, url_of(target), world.headers("admin"))).headers["etag"]
    before = await snapshot(session)
    response = await client.patch(
        url_of(target), json={"title": "Cambiada"}, headers={**world.headers(actor), "If-Match": etag}
    )
    current = (await get_ok(client, url_of(target), world.headers("admin"))).json()
    if expected == 200:
        assert response.status_code == 200, response.text
        assert current["title"] == "Cambiada"
    else:
        assert_problem(response, expected)
        assert current == target
        assert await snapshot(session) == before


@pytest.mark.parametrize(("scenario", "actor", "expected"), matrix(WRITE, 204))
async def test_who_may_delete_a_target(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, scenario: str, actor: str, expected: int
) -> None:
    agreement = await make_agreement(client, world, scenario)
    target = await create_target(client, world.headers("editor"), agreement["id"])
    etag = (await get_ok(client, url_of(target), world.headers("admin"))).headers["etag"]
    before = await snapshot(session)
    response = await client.delete(url_of(target), headers={**world.headers(actor), "If-Match": etag})
    if expected == 204:
        assert response.status_code == 204, response.text
        assert (await snapshot(session))[0] == before[0] - 1
    else:
        assert_problem(response, expected)
        assert await snapshot(session) == before
        assert (await get_ok(client, url_of(target), world.headers("admin"))).json() == target


async def test_a_contributor_listed_elsewhere_can_do_nothing_here(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    # The outsider is a listed participant of another agreement: that gives it nothing on this one.
    other = await create_agreement(
        client, world.headers("editor"), world.signatory.id, participant_org_ids=[str(world.outsider.id)]
    )
    target = await create_target(client, world.headers("editor"), agreement["id"])
    outsider = world.headers("outsider")
    before = await snapshot(session)
    assert_problem(await client.post(targets_of(agreement["id"]), json=target_body(), headers=outsider), 403)
    evidence = await upload_evidence(client, outsider, other["id"])
    response = await client.post(
        f"{TARGETS}/{target['id']}/measurements",
        json={"as_of": "2025-06-01", "value": 3, "evidence_ids": [evidence["id"]]},
        headers=outsider,
    )
    assert_problem(response, 403)
    assert (await snapshot(session))[:3] == before[:3]
    # ...while on the agreement that lists it, it reports.
    other_target = await create_target(client, world.headers("editor"), other["id"])
    await report(client, outsider, other_target["id"], as_of=date(2025, 6, 1), value=3, evidence_ids=[evidence["id"]])


# --- four decimal places (a regression a review found) --------------------------------------------


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
