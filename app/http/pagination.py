"""Keyset pagination with an opaque cursor, `next_cursor` and a `Link: rel="next"` header."""

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Select, tuple_
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import Function

from app.canonical import jsonable
from app.errors import field_error
from app.i18n import Text

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    """One page of a list. Pass `next_cursor` back as `cursor` for the next one; null at the end."""

    items: list[T]
    next_cursor: str | None = Field(description="Opaque; null on the last page.")


@dataclass(frozen=True, slots=True)
class PageParams:
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page, 1-200.")] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=2000, description="`next_cursor` of the previous page.")] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


@dataclass(frozen=True, slots=True)
class SortKey:
    """An ordering by one or more columns, all in the same direction, the last one unique."""

    name: str
    columns: tuple[ColumnElement[Any] | Mapped[Any] | Function[Any], ...]
    types: tuple[type, ...]
    descending: bool = False


def encode_cursor(sort: SortKey, values: Sequence[Any]) -> str:
    raw = json.dumps({"s": sort.name, "v": jsonable(list(values))}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _bad_cursor() -> Exception:
    return field_error(
        ["query", "cursor"],
        Text("http.bad_cursor"),
        "cursor_invalid",
    )


def _parse(value: Any, kind: type) -> Any:
    if value is None:
        return None
    if kind is datetime:
        parsed = datetime.fromisoformat(str(value))
        if parsed.tzinfo is None:
            raise ValueError("naive")
        parsed.astimezone(UTC)  # OverflowError (a ValueError's cousin) for instants past the calendar
        return parsed
    if kind is date:
        return date.fromisoformat(str(value))
    if kind is uuid.UUID:
        return uuid.UUID(str(value))
    if kind is int:
        if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) <= value < 2**63:
            raise ValueError("not a 64-bit int")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ValueError("not a str")
        return value
    raise ValueError(f"unsupported cursor type {kind}")


def decode_cursor(sort: SortKey, cursor: str) -> tuple[Any, ...]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("s") != sort.name:
            raise ValueError("other sort")
        values = data.get("v")
        if not isinstance(values, list) or len(values) != len(sort.columns):
            raise ValueError("shape")
        return tuple(_parse(v, t) for v, t in zip(values, sort.types, strict=True))
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError) as exc:
        raise _bad_cursor() from exc


def apply_keyset(stmt: Select[Any], sort: SortKey, params: PageParams) -> Select[Any]:
    """Order by the sort key and start after the cursor; fetches one extra row to know if more follow."""
    if params.cursor is not None:
        after = decode_cursor(sort, params.cursor)
        left = tuple_(*sort.columns)
        right = tuple_(*after)
        stmt = stmt.where(left < right if sort.descending else left > right)
    order = [c.desc() if sort.descending else c.asc() for c in sort.columns]
    return stmt.order_by(*order).limit(params.limit + 1)


def make_page(rows: Sequence[T], sort: SortKey, params: PageParams, key_of: Any) -> tuple[list[T], str | None]:
    """Trim the extra row and build the cursor from the last item kept."""
    items = list(rows[: params.limit])
    more = len(rows) > params.limit
    return items, (encode_cursor(sort, key_of(items[-1])) if more and items else None)


def set_link_header(request: Request, response: Response, next_cursor: str | None) -> None:
    if next_cursor is not None:
        url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'


def page_response(request: Request, page: "Page[Any]") -> Response:
    """The page as JSON, serialized once (pydantic's Rust encoder), with its Link header."""
    response = Response(content=page.model_dump_json(), media_type="application/json")
    set_link_header(request, response, page.next_cursor)
    return response


def json_page_response(request: Request, documents: Sequence[str], next_cursor: str | None) -> Response:
    """A page whose items are JSON text already: the same bytes page_response would send."""
    body = '{"items":[' + ",".join(documents) + '],"next_cursor":' + json.dumps(next_cursor) + "}"
    response = Response(content=body.encode(), media_type="application/json")
    set_link_header(request, response, next_cursor)
    return response
