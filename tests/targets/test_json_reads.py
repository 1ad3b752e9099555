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
