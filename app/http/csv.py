"""Lists as files: `Accept: text/csv` or the XLSX media type gives the same rows as the JSON pages,
streamed across all pages, with nested values flattened into readable columns.

A column is a field name, or one of two flattenings (the same in CSV and XLSX):
- `Fields("checks", keys)`: an object as `checks_<key>` columns;
- `Nested("counterparts", "counterpart", keys, describe)`: a list of objects as one readable text
  column (`counterparts`: every item, `describe(item)` joined by "; ") plus `counterpart_<n>_<key>`
  columns for the first `max_items` items (empty where an item is missing; the text column still
  names every item when there are more).
Lists of plain values (`subject_areas`) are joined by ";".
"""

import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.errors import NotAcceptable, field_error
from app.i18n import Text

CSV_MEDIA_TYPE = "text/csv"
JSON_MEDIA_TYPE = "application/json"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_PAGE_SIZE = 500
BOM = "\ufeff"


class ListFormat(StrEnum):
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


_MEDIA = {ListFormat.json: JSON_MEDIA_TYPE, ListFormat.csv: CSV_MEDIA_TYPE, ListFormat.xlsx: XLSX_MEDIA_TYPE}


@dataclass(frozen=True, slots=True)
class Fields:
    """An object flattened into `<name>_<key>` columns."""

    name: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Nested:
    """A list of objects: a readable text column plus `<singular>_<n>_<key>` for the first items."""

    name: str
    singular: str
    keys: tuple[str, ...]
    describe: Callable[[Mapping[str, Any]], str]
    max_items: int = 3


Column = str | Fields | Nested


def header(columns: Sequence[Column]) -> list[str]:
    """The column names a file carries, in order."""
    names: list[str] = []
    for column in columns:
        if isinstance(column, str):
            names.append(column)
        elif isinstance(column, Fields):
            names += [f"{column.name}_{key}" for key in column.keys]
        else:
            names.append(column.name)
            for n in range(1, column.max_items + 1):
                names += [f"{column.singular}_{n}_{key}" for key in column.keys]
    return names


def flatten(data: Mapping[str, Any], columns: Sequence[Column]) -> list[Any]:
    """One item's values in `header(columns)` order; nested values spread out, others as they are."""
    values: list[Any] = []
    for column in columns:
        if isinstance(column, str):
            values.append(data.get(column))
        elif isinstance(column, Fields):
            inner = data.get(column.name) or {}
            values += [inner.get(key) for key in column.keys]
        else:
            items: list[Mapping[str, Any]] = data.get(column.name) or []
            values.append("; ".join(column.describe(item) for item in items) if items else None)
            for n in range(column.max_items):
                item = items[n] if n < len(items) else {}
                values += [item.get(key) for key in column.keys]
    return values


def _ranges(accept: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        pieces = [p.strip() for p in part.split(";")]
        if not pieces[0]:
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges.append((pieces[0].lower(), quality))
    return ranges


def list_format(request: Request) -> ListFormat:
    """Content negotiation between JSON (the default, and the winner of a tie), CSV and XLSX; 406
    when none is acceptable. A bad `?bom=` is refused whatever the format (the list declares it)."""
    wants_bom(request)
    accept = request.headers.get("accept")
    if not accept:
        return ListFormat.json
    ranges = _ranges(accept)

    def quality(media: str) -> float:
        top = media.split("/")[0] + "/*"
        exact = [q for m, q in ranges if m == media]
        best = [q for m, q in ranges if m in (top, "*/*")]
        return exact[0] if exact else (max(best) if best else 0.0)

    qualities = {fmt: quality(media) for fmt, media in _MEDIA.items()}
    chosen = max(qualities, key=lambda fmt: qualities[fmt])  # the first of equals: JSON, then CSV
    if qualities[chosen] <= 0:
        raise NotAcceptable(Text("http.list_media_types"))
    return chosen


def wants_table(request: Request) -> bool:
    """The caller asked for the whole list as a file (CSV or XLSX) rather than a JSON page."""
    return list_format(request) is not ListFormat.json


def wants_csv(request: Request) -> bool:
    """The caller negotiated CSV (a list that only ever offered CSV and JSON)."""
    return list_format(request) is ListFormat.csv


_TRUE, _FALSE = frozenset({"true", "1", "yes", "on"}), frozenset({"false", "0", "no", "off"})


def wants_bom(request: Request) -> bool:
    """`?bom=true`: the CSV starts with a UTF-8 byte-order mark (Excel on Windows reads UTF-8 then)."""
    values = [raw.strip().lower() for raw in request.query_params.getlist("bom")]
    if any(value not in _TRUE | _FALSE for value in values):
        raise field_error(["query", "bom"], Text("http.bad_bom"), "bool_parsing")
    return bool(values) and values[-1] in _TRUE  # repeated: the last one, as for every parameter


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        value = value.value
    text = str(value)
    # Spreadsheet formula injection (OWASP CSV Injection): a cell that starts like a formula, or
    # with the tab or carriage return some spreadsheets skip before reading one, is quoted as text.
    # Signed numbers stay numbers; a tab or CR is never part of one, whatever float() accepts.
    first = text[:1]
    if first in ("\t", "\r") or (first in ("=", "+", "-", "@") and not _is_number(text)):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


PageFetcher = Callable[[str | None, int], Awaitable[tuple[Sequence[BaseModel], str | None]]]


def attachment(filename: str) -> dict[str, str]:
    """The header that makes a download of a generated file (an ASCII name of ours)."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


async def pages(fetch: PageFetcher, size: int) -> AsyncIterator[Sequence[BaseModel]]:
    """Every page `fetch(cursor, limit)` yields, the next fetched only when the last is used."""
    cursor: str | None = None
    while True:
        items, cursor = await fetch(cursor, size)
        yield items
        if cursor is None:
            return


def csv_response(
    columns: Sequence[Column], fetch: PageFetcher, *, filename: str, bom: bool = False
) -> StreamingResponse:
    """Stream every page that `fetch(cursor, limit)` yields as one CSV document."""

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        if bom:
            buffer.write(BOM)
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header(columns))
        async for items in pages(fetch, CSV_PAGE_SIZE):
            for item in items:
                writer.writerow([_cell(v) for v in flatten(item.model_dump(mode="json"), columns)])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()

    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers=attachment(filename))
