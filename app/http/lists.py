"""One list endpoint shape: a keyset page as JSON, or every page as a file (CSV or XLSX, by `Accept`)."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import sessionmaker_of
from app.http.csv import XLSX_MEDIA_TYPE, Column, ListFormat, PageFetcher, csv_response, list_format, wants_bom
from app.http.pagination import Page, PageParams, json_page_response, page_response
from app.http.xlsx import xlsx_response

Fetch = Callable[[AsyncSession, PageParams], Awaitable[tuple[Sequence[Any], str | None]]]
# One page whose items are already JSON text (built by PostgreSQL, see app.sql_json).
FetchJson = Callable[[AsyncSession, PageParams], Awaitable[tuple[Sequence[str], str | None]]]

# The OpenAPI of a list that also answers as a file (app.openapi adds the `bom` parameter).
CSV_CONTENT: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}}}}


def table_response(
    request: Request, columns: Sequence[Column], fetch: PageFetcher, *, filename: str
) -> StreamingResponse:
    """The whole list as the file the caller negotiated: CSV (`?bom=true` honoured) or XLSX.
    `filename` is the CSV's; the XLSX takes the same stem."""
    bom = wants_bom(request)
    if list_format(request) is ListFormat.xlsx:
        stem = filename.rsplit(".", 1)[0]
        return xlsx_response(columns, fetch, filename=f"{stem}.xlsx")
    return csv_response(columns, fetch, filename=filename, bom=bom)


async def list_response(
    request: Request,
    session: AsyncSession,
    page: PageParams,
    fetch: Fetch,
    *,
    item: type[BaseModel],
    csv_columns: Sequence[Column],
    filename: str,
    fetch_json: FetchJson | None = None,
) -> Response:
    """`fetch(session, page)` gives one page; a file (CSV, XLSX) walks every page, each in a session
    of its own (the response streams after the request's session has closed)."""
    if list_format(request) is not ListFormat.json:
        maker = sessionmaker_of(request)

        async def fetch_page(cursor: str | None, limit: int) -> tuple[Sequence[BaseModel], str | None]:
            async with maker() as csv_session:
                return await fetch(csv_session, PageParams(limit, cursor))

        return table_response(request, csv_columns, fetch_page, filename=filename)
    if fetch_json is not None:
        documents, cursor = await fetch_json(session, page)
        return json_page_response(request, documents, cursor)
    items, next_cursor = await fetch(session, page)
    return page_response(request, Page[item](items=list(items), next_cursor=next_cursor))  # type: ignore[valid-type]
