"""A spreadsheet's bytes as a grid of cells: CSV (UTF-8 with or without BOM, else Windows-1252)
or an XLSX workbook read by python-calamine (a zip that is not an XLSX, such as ODS, and the old
binary XLS are refused); the type is judged from the bytes, never from the file's name.

Bounds: the file is at most PACTA_MAX_UPLOAD_BYTES (the upload limit, enforced as it arrives),
a workbook's parts may not unpack to more than MAX_UNPACKED_BYTES in all, nor each past its own
bound (MAX_SHEET_BYTES, MAX_STRINGS_BYTES, MAX_PART_BYTES) or MAX_RATIO times its packed size,
and a sheet has at most MAX_ROWS data rows and MAX_COLUMNS columns. An XLSX's sheets are
streamed through expat and checked against these bounds before calamine opens the file:
calamine sizes its grid from the cells' references, and its failure to allocate one kills the
process instead of raising.
Parsing is CPU work: callers run `read_sheet` in a thread, off the event loop.
"""

import csv
import io
import posixpath
import re
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from xml.parsers import expat

import python_calamine

from app.errors import AppError, PayloadTooLarge, UnsupportedMediaType
from app.i18n import Text

MAX_ROWS = 50_000
MAX_COLUMNS = 100
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
# Each part of a workbook: a sheet's XML, the shared strings, anything else (styles, themes...).
MAX_SHEET_BYTES = 64 * 1024 * 1024
MAX_STRINGS_BYTES = 32 * 1024 * 1024
MAX_PART_BYTES = 32 * 1024 * 1024
# A part bigger than this may not unpack to more than MAX_RATIO times its packed size.
RATIO_FLOOR = 1024 * 1024
MAX_RATIO = 100
SCAN_CHUNK = 64 * 1024
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
    if head.startswith(OLE2_MAGIC):
        # The old binary .xls: its grid cannot be bounded before calamine sizes it (up to
        # 65,536 x 256 cells), and the contract takes CSV or XLSX; it is refused with the way out.
        raise UnreadableFile(Text("imports.old_xls"))
    if head.startswith(ZIP_MAGIC):
        return _workbook(file)
    return _csv(file.read())


class _Refused(Exception):
    """Raised inside the XML scan (expat's callbacks) to stop it; carries the AppError."""

    def __init__(self, error: AppError) -> None:
        self.error = error


_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})?\$?([0-9]{1,7})?")
_WORKBOOK = "xl/workbook.xml"
_WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"


def _too_many_rows() -> AppError:
    return TooManyRows(Text("imports.too_many_rows", limit=MAX_ROWS))


def _too_many_columns() -> AppError:
    return UnreadableFile(Text("imports.too_many_columns", limit=MAX_COLUMNS))


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _ref(ref: str) -> tuple[int | None, int | None]:
    """("XFD50001") → (16384, 50001); a part that is absent is None; a reference past any sheet
    (more than 3 letters or 7 digits) counts as too far."""
    match = _CELL_REF.fullmatch(ref.strip())
    if match is None:
        raise _Refused(_too_many_rows() if any(c.isdigit() for c in ref) else _too_many_columns())
    letters, digits = match.groups()
    return (_column_number(letters) if letters else None, int(digits) if digits else None)


def _letters(column: int) -> str:
    letters = ""
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# "A" → 1 ... up to the last column allowed: a cell's column is one lookup (a sheet has a million).
_COLUMNS = {_letters(n): n for n in range(1, MAX_COLUMNS + 1)}
_DIGITS = "0123456789"
_SKIPPED = frozenset({"v", "is", "t", "f", "r", "rPr"})


def _sheet_scan() -> Callable[[str, dict[str, str]], None]:
    """expat's start-element handler for a sheet: every cell's place, read as a stream (memory
    flat whatever the file), refused as soon as a `<row>`, `<c>` or `<dimension>` reaches past
    MAX_ROWS + 1 rows or MAX_COLUMNS columns, before calamine sizes its grid by them. Elements
    are matched by local name, whatever the prefix, as calamine matches them."""
    last_row = MAX_ROWS + 1
    place = [0, 0]  # the current row, and the last cell's column in it

    def check(column: int | None, row: int | None) -> None:
        if row is not None and row > last_row:
            raise _Refused(_too_many_rows())
        if column is not None and column > MAX_COLUMNS:
            raise _Refused(_too_many_columns())

    def start(name: str, attributes: dict[str, str]) -> None:
        if name in _SKIPPED:
            return
        local = name[name.rfind(":") + 1 :]
        if local == "c":
            given = attributes.get("r")
            if given is None:
                place[1] += 1
                check(place[1], None)
                return
            letters = given.rstrip(_DIGITS)
            column = _COLUMNS.get(letters)
            digits = given[len(letters) :]
            if column is None or not 0 < len(digits) < 8 or not digits.isascii():
                found_column, found_row = _ref(given)
                place[1] = found_column if found_column is not None else place[1] + 1
                check(place[1], found_row if found_row is not None else place[0])
                return
            place[1] = column
            check(column, int(digits))
        elif local == "row":
            given = attributes.get("r")
            numbered = _ref(given)[1] if given else None
            place[0] = numbered if numbered is not None else place[0] + 1
            place[1] = 0
            check(None, place[0])
        elif local == "dimension":
            for corner in attributes.get("ref", "").split(":"):
                if corner:
                    check(*_ref(corner))

    return start


def _no_doctype(*_: Any) -> None:
    # A workbook's XML never declares a DTD: one is refused (no entity tricks reach calamine).
    raise _Refused(UnreadableFile(Text("imports.unreadable_workbook")))


def _scan_xml(stream: IO[bytes], limit: int, start: Any) -> None:
    """Feed a part's XML to expat in chunks, counting the bytes actually unpacked (a part whose
    directory entry lies about its size is refused all the same)."""
    parser = expat.ParserCreate()
    parser.StartElementHandler = start
    parser.StartDoctypeDeclHandler = _no_doctype
    parser.EntityDeclHandler = _no_doctype
    unpacked = 0
    try:
        while chunk := stream.read(SCAN_CHUNK):
            unpacked += len(chunk)
            if unpacked > limit:
                raise _Refused(PayloadTooLarge(Text("imports.unpacks_too_large", limit=limit)))
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _Refused(UnreadableFile(Text("imports.unreadable_workbook"))) from exc


def _part_limit(name: str, sheets: set[str]) -> int:
    if name in sheets:
        return MAX_SHEET_BYTES
    if name.lower().endswith("sharedstrings.xml"):
        return MAX_STRINGS_BYTES
    return MAX_PART_BYTES


def _sheet_parts(archive: zipfile.ZipFile, names: set[str]) -> set[str]:
    """The parts calamine may read as sheets: xl/worksheets/*.xml and whatever the workbook's
    relationships point at (a hostile file may name any part)."""
    sheets = {n for n in names if n.startswith("xl/worksheets/") and n.count("/") == 2}
    if _WORKBOOK_RELS not in names:
        return sheets
    targets: list[str] = []

    def relationship(name: str, attributes: dict[str, str]) -> None:
        if name.rpartition(":")[2] == "Relationship" and attributes.get("TargetMode") != "External":
            targets.append(attributes.get("Target", ""))

    with archive.open(_WORKBOOK_RELS) as stream:
        _scan_xml(stream, MAX_PART_BYTES, relationship)
    for target in targets:
        path = target.replace("\\", "/")
        resolved = posixpath.normpath(path.lstrip("/") if path.startswith("/") else posixpath.join("xl", path))
        if resolved.endswith(".xml") and resolved not in (_WORKBOOK, "xl/styles.xml") and resolved in names:
            sheets.add(resolved)
    return sheets


def _check_workbook(file: IO[bytes]) -> None:
    """Everything calamine would trip on, refused before it opens the file: a zip that is not an
    XLSX (ODS and others are never handed over unchecked), a part that unpacks too big or at a
    zip bomb's ratio, and a sheet whose cells reach past the row or column bounds (calamine
    allocates its grid from them: one cell at XFD50001 is gigabytes, and its failure kills the
    process rather than raising)."""
    try:
        with zipfile.ZipFile(file) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            if _WORKBOOK not in names:
                raise UnreadableFile(Text("imports.not_xlsx"))
            if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
                raise PayloadTooLarge(Text("imports.unpacks_too_large", limit=MAX_UNPACKED_BYTES))
            sheets = _sheet_parts(archive, names)
            for info in infos:
                limit = _part_limit(info.filename, sheets)
                if info.file_size > limit:
                    raise PayloadTooLarge(Text("imports.unpacks_too_large", limit=limit))
                if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                    raise PayloadTooLarge(Text("imports.packed_too_tight", ratio=MAX_RATIO))
            for name in sorted(sheets):
                with archive.open(name) as stream:
                    _scan_xml(stream, MAX_SHEET_BYTES, _sheet_scan())
    except _Refused as refused:
        raise refused.error from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, ValueError, EOFError) as exc:
        raise UnreadableFile(Text("imports.unreadable_workbook")) from exc
    finally:
        file.seek(0)


def _workbook(file: IO[bytes]) -> Sheet:
    _check_workbook(file)
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
