"""A spreadsheet's bytes as a grid of cells: CSV (UTF-8 with or without BOM, else Windows-1252)
or a workbook python-calamine reads (XLSX, and ODS and XLS alike); the type is judged from the
bytes, never from the file's name.

Bounds: the file is at most PACTA_MAX_UPLOAD_BYTES (the upload limit, enforced as it arrives),
a workbook's parts may not unpack to more than MAX_UNPACKED_BYTES (a zip bomb is refused before
calamine unpacks anything), and a sheet has at most MAX_ROWS data rows and MAX_COLUMNS columns.
Parsing is CPU work: callers run `read_sheet` in a thread, off the event loop.
"""

import csv
import io
import tempfile
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import IO, Any

import python_calamine

from app.errors import AppError, PayloadTooLarge, UnsupportedMediaType
from app.i18n import Text

MAX_ROWS = 50_000
MAX_COLUMNS = 100
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
# A cell longer than this is refused rather than kept: the longest field (summary) takes 10,000.
MAX_CELL_CHARS = 20_000

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls

Cell = str | float | int | bool | date | datetime | time | timedelta | None


class TooManyRows(PayloadTooLarge):
    slug = "too-many-rows"


class UnreadableFile(AppError):
    status, slug = 422, "unreadable-spreadsheet"


@dataclass(frozen=True, slots=True)
class Sheet:
    """The header (row 1) and the data rows, each as long as the header; `numbers[i]` is the
    spreadsheet's own number of data row i (blank rows are skipped but keep counting)."""

    header: list[str]
    rows: list[list[Cell]]
    numbers: list[int]
    format: str  # "csv" or "xlsx" (any workbook)


async def spool_file(chunks: AsyncIterator[bytes], *, max_bytes: int) -> IO[bytes]:
    """The file part, kept in memory up to 1 MiB and on disk past it; 413 past `max_bytes`."""
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - the caller closes it
    size = 0
    try:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(Text("imports.too_large", limit=max_bytes))
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


def read_sheet(file: IO[bytes]) -> Sheet:
    head = file.read(8)
    file.seek(0)
    if head.startswith(ZIP_MAGIC) or head.startswith(OLE2_MAGIC):
        return _workbook(file, zipped=head.startswith(ZIP_MAGIC))
    return _csv(file.read())


def _check_unpacked(file: IO[bytes]) -> None:
    try:
        with zipfile.ZipFile(file) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnreadableFile(Text("imports.unreadable_workbook")) from exc
    finally:
        file.seek(0)
    if unpacked > MAX_UNPACKED_BYTES:
        raise PayloadTooLarge(Text("imports.unpacks_too_large", limit=MAX_UNPACKED_BYTES))


def _workbook(file: IO[bytes], *, zipped: bool) -> Sheet:
    if zipped:
        _check_unpacked(file)
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(file)
        if not workbook.sheet_names:
            raise UnreadableFile(Text("imports.no_sheet"))
        sheet = workbook.get_sheet_by_index(0)
        if sheet.height > MAX_ROWS + 1:
            raise TooManyRows(Text("imports.too_many_rows", limit=MAX_ROWS))
        if sheet.width > MAX_COLUMNS:
            raise UnreadableFile(Text("imports.too_many_columns", limit=MAX_COLUMNS))
        # Start at A1 whatever the sheet's first used cell, so row numbers are the sheet's own.
        grid: list[list[Any]] = sheet.to_python(skip_empty_area=False)
    except AppError:
        raise
    except Exception as exc:  # calamine raises its own errors and ValueError on broken files
        raise UnreadableFile(Text("imports.unreadable_workbook")) from exc
    return _grid(grid, "xlsx")


def _decode(data: bytes) -> str:
    """UTF-8 (a BOM is dropped) when the bytes are valid UTF-8, else Windows-1252, the encoding
    Excel on Windows writes "CSV" in; bytes neither can read are refused."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(Text("imports.encoding")) from exc


def _csv(data: bytes) -> Sheet:
    text = _decode(data)
    if "\x00" in text:
        raise UnsupportedMediaType(Text("imports.media_type"))
    first_line = text.split("\n", 1)[0]
    # Excel writes ";" where the decimal mark is a comma; Mexico's Excel writes ",". The header
    # holds names, never numbers, so whichever it uses more is the file's delimiter.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    csv.field_size_limit(MAX_CELL_CHARS + 1)
    grid: list[list[Any]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            if len(grid) > MAX_ROWS + 1:
                raise TooManyRows(Text("imports.too_many_rows", limit=MAX_ROWS))
            if len(row) > MAX_COLUMNS:
                raise UnreadableFile(Text("imports.too_many_columns", limit=MAX_COLUMNS))
            grid.append(row)
    except csv.Error as exc:
        raise UnreadableFile(Text("imports.csv_broken", line=len(grid) + 1)) from exc
    return _grid(grid, "csv")


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _grid(grid: list[list[Any]], format_: str) -> Sheet:
    while grid and all(_blank(c) for c in grid[-1]):
        grid.pop()
    if not grid:
        raise UnreadableFile(Text("imports.empty"))
    if len(grid) > MAX_ROWS + 1:
        raise TooManyRows(Text("imports.too_many_rows", limit=MAX_ROWS))
    header_cells = list(grid[0])
    while header_cells and _blank(header_cells[-1]):
        header_cells.pop()
    header = ["" if c is None else str(c).strip() for c in header_cells]
    width = len(header)
    rows: list[list[Cell]] = []
    numbers: list[int] = []
    for index, raw in enumerate(grid[1:], start=2):
        if all(_blank(c) for c in raw):
            continue
        cells: list[Cell] = [(c if c != "" else None) for c in raw[:width]]
        cells += [None] * (width - len(cells))
        extra = [c for c in raw[width:] if not _blank(c)]
        if extra:
            # Values beyond the header's last named column: keep them visible as an error.
            cells.append(extra[0])
        for cell in cells:
            if isinstance(cell, str) and len(cell) > MAX_CELL_CHARS:
                raise UnreadableFile(Text("imports.cell_too_long", row=index, limit=MAX_CELL_CHARS))
        rows.append(cells)
        numbers.append(index)
    return Sheet(header=header, rows=rows, numbers=numbers, format=format_)
