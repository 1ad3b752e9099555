"""Lists as XLSX, in constant memory.

xlsxwriter's constant_memory mode writes each row to a temporary file as it comes, page by page,
so memory stays flat whatever the list's length. An XLSX is a zip whose directory comes last: it
cannot be sent before it is finished, so the finished file is streamed in chunks, then deleted.
The CPU-bound parts (rows, the final zip) run in a worker thread, never on the event loop, and
at most MAX_CONCURRENT workbooks are written at once in a process, with at most MAX_WAITING more
waiting for a slot; past that, 503 with Retry-After, decided before the response starts.

Cells keep their types: text is always written as a string (`write_string`, never a formula, so
`=cmd` stays the text "=cmd"), numbers as numbers, booleans as booleans, dates as dates and
timestamps as UTC date-times; nested values are flattened as in CSV (app.http.csv).
"""

import asyncio
import os
import tempfile
import weakref
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import anyio.to_thread
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send
from xlsxwriter import Workbook  # type: ignore[import-untyped]

from app.errors import ServiceUnavailable
from app.http.csv import XLSX_MEDIA_TYPE, Column, PageFetcher, attachment, flatten, header, pages
from app.i18n import Text

XLSX_PAGE_SIZE = 500
CHUNK = 256 * 1024
MAX_CELL = 32767  # Excel's limit on a cell's text


class _Sheet:
    """One worksheet written row by row (constant memory) into a file on disk."""

    def __init__(self, path: str, names: list[str]) -> None:
        self.book = Workbook(
            path,
            {"constant_memory": True, "in_memory": False, "tmpdir": tempfile.gettempdir(), "strings_to_numbers": False},
        )
        self.sheet = self.book.add_worksheet("data")
        bold = self.book.add_format({"bold": True})
        self.date = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.instant = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.sheet.set_column(0, max(len(names) - 1, 0), 18)
        self.sheet.freeze_panes(1, 0)
        for col, name in enumerate(names):
            self.sheet.write_string(0, col, name, bold)
        self.row = 1
        self.width = len(names)

    def write_rows(self, rows: list[list[Any]]) -> None:
        for values in rows:
            for col, value in enumerate(values):
                self._write(col, value)
            self.row += 1

    def _write(self, col: int, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Enum):
            value = value.value
        if isinstance(value, bool):
            self.sheet.write_boolean(self.row, col, value)
        elif isinstance(value, int | float | Decimal):
            self.sheet.write_number(self.row, col, float(value))
        elif isinstance(value, datetime):
            naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
            self.sheet.write_datetime(self.row, col, naive, self.instant)
        elif isinstance(value, date):
            self.sheet.write_datetime(self.row, col, value, self.date)
        elif isinstance(value, list):
            self.sheet.write_string(self.row, col, ";".join(str(_plain(v)) for v in value)[:MAX_CELL])
        else:
            self.sheet.write_string(self.row, col, str(value)[:MAX_CELL])

    def close(self) -> None:
        if self.row > 1:
            self.sheet.autofilter(0, 0, self.row - 1, self.width - 1)
        self.book.close()


# Writing a workbook is CPU in a worker thread: a flood of XLSX requests queues for a few slots
# (holding no database connection while it waits) instead of taking every core and thread, and
# the queue is bounded: anyone, anonymous callers too, may ask for every agreement as XLSX.
MAX_CONCURRENT = 2
MAX_WAITING = 4
RETRY_AFTER_SECONDS = 10


class _Gate:
    """One event loop's workbook slots, and how many requests hold or wait for one."""

    def __init__(self) -> None:
        self.slots = asyncio.Semaphore(MAX_CONCURRENT)
        self.admitted = 0

    def admit(self) -> None:
        if self.admitted >= MAX_CONCURRENT + MAX_WAITING:
            raise ServiceUnavailable(
                Text("http.xlsx_busy", seconds=RETRY_AFTER_SECONDS), headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
            )
        self.admitted += 1

    def leave(self) -> None:
        self.admitted -= 1


_gates: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate]" = weakref.WeakKeyDictionary()


def _gate() -> _Gate:
    return _gates.setdefault(asyncio.get_running_loop(), _Gate())


class _AdmittedResponse(StreamingResponse):
    """A workbook's response: its place in the queue is given back once it is sent (or dropped)."""

    def __init__(self, content: AsyncIterator[bytes], gate: _Gate, **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._leave = weakref.finalize(self, gate.leave)  # once, even if never sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._leave()


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def xlsx_response(columns: Sequence[Column], fetch: PageFetcher, *, filename: str) -> StreamingResponse:
    """Write every page `fetch(cursor, limit)` yields into one XLSX file, then stream it; 503 at
    once (before any header is sent) when MAX_CONCURRENT are written and MAX_WAITING wait."""
    gate = _gate()
    gate.admit()

    async def body() -> AsyncIterator[bytes]:
        handle, path = tempfile.mkstemp(prefix="pacta-", suffix=".xlsx")
        os.close(handle)
        try:
            async with gate.slots:
                sheet = await anyio.to_thread.run_sync(_Sheet, path, header(columns))
                async for items in pages(fetch, XLSX_PAGE_SIZE):
                    rows = [flatten(item.model_dump(), columns) for item in items]
                    await anyio.to_thread.run_sync(sheet.write_rows, rows)
                await anyio.to_thread.run_sync(sheet.close)
            with open(path, "rb") as file:  # noqa: ASYNC230 - each read runs in a worker thread
                while chunk := await anyio.to_thread.run_sync(file.read, CHUNK):
                    yield chunk
        finally:
            os.unlink(path)

    return _AdmittedResponse(body(), gate, media_type=XLSX_MEDIA_TYPE, headers=attachment(filename))
