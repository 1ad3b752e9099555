"""`Accept: text/csv` on lists: the same rows as the JSON pages, streamed across all pages."""

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.errors import NotAcceptable
from app.i18n import Text

CSV_MEDIA_TYPE = "text/csv"
JSON_MEDIA_TYPE = "application/json"
CSV_PAGE_SIZE = 500


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


def wants_csv(request: Request) -> bool:
    """Content negotiation between JSON (the default) and CSV; 406 when neither is acceptable."""
    accept = request.headers.get("accept")
    if not accept:
        return False

    def quality(media: str) -> float:
        top = media.split("/")[0] + "/*"
        best = [q for m, q in _ranges(accept) if m in (media, top, "*/*")]
        exact = [q for m, q in _ranges(accept) if m == media]
        return exact[0] if exact else (max(best) if best else 0.0)

    as_json, as_csv = quality(JSON_MEDIA_TYPE), quality(CSV_MEDIA_TYPE)
    if as_json <= 0 and as_csv <= 0:
        raise NotAcceptable(Text("http.list_media_types"))
    return as_csv > as_json


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(_cell(v) for v in value)
    if isinstance(value, dict):
        import json

        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
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


def csv_response(columns: Sequence[str], fetch: PageFetcher, *, filename: str) -> StreamingResponse:
    """Stream every page that `fetch(cursor, limit)` yields as one CSV document."""

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(columns)
        cursor: str | None = None
        while True:
            items, cursor = await fetch(cursor, CSV_PAGE_SIZE)
            for item in items:
                data = item.model_dump(mode="json")
                writer.writerow([_cell(data.get(c)) for c in columns])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            if cursor is None:
                break

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
