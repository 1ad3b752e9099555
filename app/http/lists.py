"""One list endpoint shape: a keyset page as JSON, or every page as CSV with `Accept: text/csv`."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import sessionmaker_of
from app.http.csv import csv_response, wants_csv
from app.http.pagination import Page, PageParams, json_page_response, page_response

Fetch = Callable[[AsyncSession, PageParams], Awaitable[tuple[Sequence[Any], str | None]]]
# One page whose items are already JSON text (built by PostgreSQL, see app.sql_json).
FetchJson = Callable[[AsyncSession, PageParams], Awaitable[tuple[Sequence[str], str | None]]]

CSV_CONTENT: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


async def list_response(
    request: Request,
    session: AsyncSession,
    page: PageParams,
    fetch: Fetch,
    *,
    item: type[BaseModel],
    csv_columns: Sequence[str],
    filename: str,
    fetch_json: FetchJson | None = None,
) -> Response:
    """`fetch(session, page)` gives one page; CSV walks every page, each in a session of its own
    (the response streams after the request's session has closed)."""
    if wants_csv(request):
        maker = sessionmaker_of(request)

        async def fetch_page(cursor: str | None, limit: int) -> tuple[Sequence[BaseModel], str | None]:
            async with maker() as csv_session:
                return await fetch(csv_session, PageParams(limit, cursor))

        return csv_response(csv_columns, fetch_page, filename=filename)
    if fetch_json is not None:
        documents, cursor = await fetch_json(session, page)
        return json_page_response(request, documents, cursor)
    items, next_cursor = await fetch(session, page)
    return page_response(request, Page[item](items=list(items), next_cursor=next_cursor))  # type: ignore[valid-type]
