"""GET /v1/deadlines is JSON text built by PostgreSQL (titles written in the reader's language
there too): the same bytes the pydantic models write, page by page, for every caller."""

import httpx2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.dependencies import authenticate
from app.deadlines import service
from app.deadlines.schemas import Deadline
from app.http.pagination import Page, PageParams
from tests.deadlines.test_router import BASE, DEADLINES, Agenda, add_activity, agenda, pinned_today, world
from tests.factories import TODAY, World

__all__ = ["agenda", "pinned_today", "world"]  # fixtures

GRACE_DAYS = 90


async def test_deadlines_are_the_pydantic_bytes(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
    agenda: Agenda,
) -> None:
    # A title that exercises every encoding question (quotes, escapes, controls, accents, emoji).
    nasty = 'Reunión "León" \\ Łódź — 東京\t\n\u0001 ☃ </script> 😀'
    await add_activity(client, world.headers("editor"), agenda.public["id"], "2025-07-02T10:00:00-06:00", title=nasty)
    seen_nasty = False
    for actor in ("auditor", "editor", "participant", "other_editor", "outsider"):
        headers = world.headers(actor)
        principal = await authenticate(sessionmaker, headers["Authorization"])
        scope = service.scope_for(principal, signatory_org_id=None, state=None)
        win = service.window(TODAY, 3660, GRACE_DAYS)
        for lang in ("es", "en"):
            cursor: str | None = None
            while True:
                params: dict[str, str | int] = {"limit": 3, "within_days": 3660}
                if cursor is not None:
                    params["cursor"] = cursor
                response = await client.get(DEADLINES, params=params, headers={**headers, "Accept-Language": lang})
                assert response.status_code == 200, response.text
                items, expected_cursor = await service.list_deadlines(
                    session, win, scope, PageParams(3, cursor), base_url=BASE + "/", lang=lang
                )
                expected = Page[Deadline](items=items, next_cursor=expected_cursor)
                assert response.content == expected.model_dump_json().encode()
                seen_nasty = seen_nasty or any(d.title == nasty for d in items)
                cursor = expected_cursor
                if cursor is None:
                    break
    assert seen_nasty
