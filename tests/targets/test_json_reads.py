"""GET /v1/agreements/{id}/targets (the progress read) is JSON text built by PostgreSQL, milestones
evaluated there: the same bytes the pydantic models write, on varied targets and days."""

import uuid
from datetime import date
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.agreements import service as agreement_service
from app.auth.dependencies import authenticate
from app.db import Reader
from app.http.pagination import Page, PageParams
from app.targets import service
from app.targets.schemas import TargetRead
from tests.conftest import MakeKey, MakeOrg
from tests.factories import World, make_world, pin_today
from tests.targets.factories import (
    DUE_6,
    DUE_12,
    DUE_24,
    SIGNED_ON,
    Progress,
    create_target,
    descending_body,
    make_agreement,
    qualitative_body,
    target_body,
    targets_of,
)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


async def _varied(client: httpx2.AsyncClient, app: FastAPI, world: World, agreement_id: str) -> None:
    editor = world.headers("editor")
    progress = Progress(client, app, world, agreement_id)
    decimals = await create_target(
        client,
        editor,
        agreement_id,
        target_body(
            title='Índice "León" \\ de calidad — 東京\t😀 </script>',
            description="Línea 1\nLínea 2",
            unit="MXN",
            measure="currency",
            baseline={"value": 1.5, "comment": "Estimación"},
            milestones=[
                {"months": 6, "target_value": 12.25},
                {"months": 12, "target_value": 100},
                {"months": 24, "target_value": 0.0001},
            ],
        ),
    )
    await progress.add(decimals["id"], date(2025, 3, 1), 0.75)
    await progress.add(decimals["id"], date(2025, 7, 1), 3.3333)
    await progress.add(decimals["id"], date(2025, 9, 1), 99999999999999.9, decision=None)
    counted = await create_target(client, editor, agreement_id, target_body(baseline={"on": SIGNED_ON.isoformat()}))
    await progress.add(counted["id"], DUE_6, 10)
    await progress.add(counted["id"], date(2025, 12, 1), 7, decision="rejected")
    await progress.add(counted["id"], DUE_12, 26)
    falling = await create_target(client, editor, agreement_id, descending_body())
    await progress.add(falling["id"], date(2025, 5, 1), 60)
    await progress.add(falling["id"], DUE_12, 80)
    qualitative = await create_target(client, editor, agreement_id, qualitative_body(milestones=[{"months": 6}]))
    await progress.add(qualitative["id"], date(2025, 6, 1), None)
    await create_target(client, editor, agreement_id, qualitative_body(title="Sin medir", milestones=[{"months": 12}]))
    await create_target(client, editor, agreement_id, target_body(baseline=None, milestones=[]))


async def _compare(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    agreement_id: str,
    on: date,
) -> int:
    pages = 0
    reader = Reader(await session.connection())
    for actor in ("editor", "participant", "auditor", None):
        headers = {} if actor is None else world.headers(actor)
        principal = None if actor is None else await authenticate(sessionmaker, headers["Authorization"])
        agreement = await agreement_service.get_visible(session, agreement_id, principal=principal, today=on)  # type: ignore[arg-type]
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 2} | ({} if cursor is None else {"cursor": cursor})
            response = await client.get(targets_of(agreement_id), params=params, headers=headers)
            assert response.status_code == 200, response.text
            items, expected_cursor = await service.list_targets(session, agreement, PageParams(2, cursor), today=on)
            expected = Page[TargetRead](items=items, next_cursor=expected_cursor)
            assert response.content == expected.model_dump_json().encode()
            # Written by PostgreSQL, not by the models' fallback.
            found = await service.list_targets_json(
                reader, uuid.UUID(agreement_id), PageParams(2, cursor), principal=principal, today=on
            )
            assert found is not None
            assert found == ([m.model_dump_json() for m in items], expected_cursor)
            pages += 1
            cursor = expected_cursor
            if cursor is None:
                break
    return pages


@pytest.mark.parametrize("on", [SIGNED_ON, DUE_6, date(2025, 8, 1), DUE_12, date(2026, 6, 1), DUE_24, date(2030, 1, 1)])
async def test_progress_is_the_pydantic_bytes(
    client: httpx2.AsyncClient,
    app: FastAPI,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    on: date,
) -> None:
    agreement = await make_agreement(client, world, "public")
    await _varied(client, app, world, agreement["id"])
    pin_today(app, on)
    assert await _compare(client, session, sessionmaker, world, agreement["id"], on) >= 12


async def test_a_draft_has_no_due_dates(
    client: httpx2.AsyncClient,
    app: FastAPI,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    draft = await make_agreement(client, world, "private")
    await create_target(client, world.headers("editor"), draft["id"], target_body())
    await create_target(client, world.headers("editor"), draft["id"], qualitative_body(milestones=[{"months": 6}]))
    pin_today(app, DUE_12)
    response = await client.get(targets_of(draft["id"]), headers=world.headers("editor"))
    assert [m["due_on"] for t in response.json()["items"] for m in t["milestones"]] == [None, None, None, None]
    principal = await authenticate(sessionmaker, world.headers("editor")["Authorization"])
    agreement = await agreement_service.get_visible(session, draft["id"], principal=principal, today=DUE_12)
    items, _ = await service.list_targets(session, agreement, PageParams(50, None), today=DUE_12)
    assert response.content == Page[TargetRead](items=items, next_cursor=None).model_dump_json().encode()
    anonymous = await client.get(targets_of(draft["id"]))
    assert anonymous.status_code == 404


# Ratios whose fifth decimal is a 5, where rounding the shortest decimal and rounding the double
# disagree or nearly do: 237.02 / 400 = 0.59255 (a hair above as a double), 1.38 / 400 = 0.00345,
# 0.02 / 400 = 0.00005, 100.18 / 400 = 0.25045, 0.0004 / 8 = 0.00005, 1 / 20000 = 0.00005,
# 0.0625 / 2 = 0.03125 (a double exactly: half to even), 2.5 / 8 = 0.3125 (exact, no rounding),
# a fall from 10 to 9.5 against 9 (0.5), and a loss below the baseline (a negative attainment).
TIES: list[tuple[float, float, float]] = [
    (0, 400, 237.02),
    (0, 400, 1.38),
    (0, 400, 0.02),
    (0, 400, 100.18),
    (0, 8, 0.0004),
    (0, 20000, 1),
    (0, 2, 0.0625),
    (0, 8, 2.5),
    (0, 400, 3.3),
    (0, 3, 1),
    (10, 9, 9.5),
    (10, 30, 9.99),
    (1.0001, 3.0001, 1.0002),
]


async def test_attainments_at_a_half_are_rounded_as_python_rounds_them(
    client: httpx2.AsyncClient,
    app: FastAPI,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    """Written by PostgreSQL (not left to the models) and the same bytes, ties included."""
    agreement = await make_agreement(client, world, "public")
    progress = Progress(client, app, world, agreement["id"])
    for base, target, actual in TIES:
        body = target_body(
            baseline={"value": base, "on": SIGNED_ON.isoformat()},
            milestones=[{"months": 6, "target_value": target}],
        )
        if target < base:
            body["ascending"] = False
        created = await create_target(client, world.headers("editor"), agreement["id"], body)
        await progress.add(created["id"], date(2025, 5, 1), actual)
    pin_today(app, DUE_12)
    assert await _compare(client, session, sessionmaker, world, agreement["id"], DUE_12) >= 4 * 7
    response = await client.get(targets_of(agreement["id"]), params={"limit": 50})
    attainments = [t["milestones"][0]["attainment"] for t in response.json()["items"]]
    assert attainments[:3] == [0.5926, 0.0034, 0.0001]  # round() on the doubles, as the models do
    assert attainments[6:8] == [0.0312, 0.3125]


async def test_postgresql_rounds_any_double_as_python_round_does(session: AsyncSession) -> None:
    """The rounding on its own, over thousands of doubles: random ones of every size, halves that
    are exact doubles, ratios of four-decimal values (where the halves are), signs and zeros."""
    import random

    from sqlalchemy import text

    from app.targets.repository import _ROUNDED

    rng = random.Random(20261207)
    values = [0.0, -0.0, 0.03125, -0.03125, 0.00005, -0.00005, 2.0**-1074, 1e-300, 123456789.12345]
    values += [rng.uniform(-2, 2) for _ in range(2000)]
    values += [rng.uniform(-1, 1) * 10 ** rng.randint(-8, 12) for _ in range(2000)]
    values += [(k + 0.5) / 10000 for k in range(-500, 500)]
    values += [round(rng.uniform(-1e4, 1e4), 4) / round(rng.uniform(0.0001, 1e4), 4) for _ in range(3000)]
    rows = (
        await session.execute(
            text(f"SELECT qq.n, r.attainment FROM unnest(CAST(:v AS float8[])) WITH ORDINALITY AS qq(q, n) {_ROUNDED}"),  # noqa: S608 - a constant
            {"v": values},
        )
    ).all()
    got: dict[int, float] = {int(n): float(a) for n, a in rows}
    mismatches = [(v, got[i + 1]) for i, v in enumerate(values) if repr(round(v, 4)) != repr(got[i + 1])]
    assert len(got) == len(values)
    assert mismatches == []
