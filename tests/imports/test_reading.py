"""Reading a spreadsheet's bytes: encodings, row numbers as the sheet shows them, and the bounds."""

import io
import re
import zipfile
from datetime import date

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]

from app.errors import AppError
from app.imports import reading
from app.imports.reading import read_sheet


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _read(data: bytes) -> reading.Sheet:
    return read_sheet(io.BytesIO(data))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_each_encoding_reads_the_same_text(encoding: str) -> None:
    sheet = _read("título,lugar\r\nQuerétaro,Ciudad de México\r\n".encode(encoding))
    assert sheet.header == ["título", "lugar"]
    assert sheet.rows == [["Querétaro", "Ciudad de México"]]
    assert sheet.format == "csv"


def test_blank_rows_are_skipped_but_keep_the_sheets_numbering() -> None:
    csv_sheet = _read(b"a,b\r\n1,2\r\n,\r\n\r\n3,4\r\n\r\n")
    assert csv_sheet.numbers == [2, 5]
    xlsx_sheet = _read(_xlsx([["a", "b"], [1, 2], [None, None], ["x", date(2020, 1, 2)]]))
    assert xlsx_sheet.numbers == [2, 4]
    assert xlsx_sheet.rows[1] == ["x", date(2020, 1, 2)]
    assert xlsx_sheet.format == "xlsx"


def test_a_value_past_the_last_named_column_is_kept_to_be_reported() -> None:
    sheet = _read(b"a,b\r\n1,2,sobra\r\n")
    assert sheet.rows == [["1", "2", "sobra"]]


def test_a_workbook_that_would_unpack_past_the_bound_is_refused_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reading, "MAX_UNPACKED_BYTES", 1000)
    with pytest.raises(AppError) as refused:
        _read(_xlsx([["a"], [1]]))
    assert refused.value.status == 413


def test_too_many_columns_is_refused() -> None:
    header = ",".join(f"c{i}" for i in range(reading.MAX_COLUMNS + 1)).encode()
    with pytest.raises(reading.UnreadableFile):
        _read(header + b"\r\n")


def test_an_unclosed_quote_names_its_line() -> None:
    with pytest.raises(reading.UnreadableFile) as refused:
        _read(b'a,b\r\n1,"dos\r\n')
    assert refused.value.detail is not None
    assert refused.value.detail.key == "imports.csv_broken"


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(reading.UnreadableFile):
        _read(b"\r\n\r\n")


def _sparse(*cells: str) -> bytes:
    """A workbook (openpyxl) holding "a" in A1 and "x" in each of `cells`: a few KB on disk."""
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"] = "a"
    for ref in cells:
        sheet[ref] = "x"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("far", "status", "key"),
    [
        ("XFD50001", 422, "imports.too_many_columns"),
        ("XFD1048576", 413, "imports.too_many_rows"),
        ("GR1", 422, "imports.too_many_columns"),
        ("A50003", 413, "imports.too_many_rows"),
    ],
)
def test_a_sparse_workbook_reaching_past_the_bounds_is_refused_before_calamine_sizes_its_grid(
    far: str, status: int, key: str
) -> None:
    # Handed to calamine, A1 + XFD50001 is a 26 GB grid: the process aborts, no exception.
    data = _sparse(far)
    assert len(data) < 6000
    with pytest.raises(AppError) as refused:
        _read(data)
    assert refused.value.status == status
    assert refused.value.detail is not None
    assert refused.value.detail.key == key


def test_the_last_row_allowed_still_reads() -> None:
    sheet = _read(_sparse(f"A{reading.MAX_ROWS + 1}"))
    assert sheet.numbers == [reading.MAX_ROWS + 1]


def _zip(parts: dict[str, bytes], *, level: int = 6) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


MAIN = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def test_cells_and_rows_without_references_are_counted_in_order() -> None:
    parts = _parts(_xlsx([["a"], [1]]))
    cells = b"<c><v>1</v></c>" * (reading.MAX_COLUMNS + 1)
    sheet = b"<worksheet " + MAIN + b"><sheetData><row>" + cells + b"</row></sheetData></worksheet>"
    parts["xl/worksheets/sheet1.xml"] = sheet
    with pytest.raises(reading.UnreadableFile) as wide:
        _read(_zip(parts))
    assert wide.value.detail is not None
    assert wide.value.detail.key == "imports.too_many_columns"
    rows = b"<row/>" * (reading.MAX_ROWS + 1) + b'<row><c t="n"><v>1</v></c></row>'
    parts["xl/worksheets/sheet1.xml"] = b"<worksheet " + MAIN + b"><sheetData>" + rows + b"</sheetData></worksheet>"
    with pytest.raises(reading.TooManyRows):
        _read(_zip(parts))


def test_a_dimension_past_the_bounds_is_refused() -> None:
    parts = _parts(_xlsx([["a"], [1]]))
    sheet = parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:A2000000"', sheet)
    with pytest.raises(reading.TooManyRows):
        _read(_zip(parts))


def test_a_sheet_the_relationships_point_elsewhere_is_checked_too() -> None:
    parts = _parts(_xlsx([["a"], [1]]))
    hidden = b"<worksheet " + MAIN + b'><sheetData><row r="1"><c r="XFD1"><v>1</v></c></row></sheetData></worksheet>'
    parts["xl/hidden.xml"] = hidden
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"worksheets/sheet1.xml", b"/xl/hidden.xml"
    )
    with pytest.raises(reading.UnreadableFile):
        _read(_zip(parts))


def test_a_zip_that_is_not_an_xlsx_is_refused() -> None:
    ods = _zip({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"})
    with pytest.raises(reading.UnreadableFile) as refused:
        _read(ods)
    assert refused.value.detail is not None
    assert refused.value.detail.key == "imports.not_xlsx"


def test_an_old_binary_xls_is_refused_with_the_way_out() -> None:
    # The OLE2 signature of a .xls (its grid cannot be bounded before calamine sizes it).
    xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    with pytest.raises(reading.UnreadableFile) as refused:
        _read(xls)
    assert refused.value.detail is not None
    assert refused.value.detail.key == "imports.old_xls"


def test_a_doctype_in_a_sheet_is_refused() -> None:
    parts = _parts(_xlsx([["a"], [1]]))
    parts["xl/worksheets/sheet1.xml"] = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        + parts["xl/worksheets/sheet1.xml"].split(b"?>", 1)[-1]
    )
    with pytest.raises(reading.UnreadableFile):
        _read(_zip(parts))


def test_one_huge_cell_is_refused_by_the_parts_bound_before_calamine_unpacks_it() -> None:
    # An honest writer's workbook with one 70 MiB cell: a few hundred KB packed.
    parts = _parts(_xlsx([["a"], [1]]))
    big = b"x" * (70 * 1024 * 1024)
    parts["xl/worksheets/sheet1.xml"] = (
        b"<worksheet "
        + MAIN
        + b'><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
        + big
        + b"</t></is></c></row></sheetData></worksheet>"
    )
    data = _zip(parts, level=9)
    assert len(data) < 1024 * 1024
    with pytest.raises(AppError) as refused:
        _read(data)
    assert refused.value.status == 413


def test_a_part_packed_past_the_ratio_is_refused() -> None:
    parts = _parts(_xlsx([["a"], [1]]))
    parts["xl/sharedStrings.xml"] = b"<sst " + MAIN + b"><si><t>" + b"y" * (5 * 1024 * 1024) + b"</t></si></sst>"
    with pytest.raises(AppError) as refused:
        _read(_zip(parts, level=9))
    assert refused.value.status == 413
    assert refused.value.detail is not None
    assert refused.value.detail.key == "imports.packed_too_tight"


def test_cells_are_found_by_local_name_whatever_their_prefix() -> None:
    # calamine matches elements by local name: a prefix bound to any namespace still makes a cell.
    parts = _parts(_xlsx([["a"], [1]]))
    parts["xl/worksheets/sheet1.xml"] = (
        b'<x:worksheet xmlns:x="urn:anything"><x:sheetData><x:row r="1">'
        b'<x:c t=">" r="XFD1"><x:v>1</x:v></x:c></x:row></x:sheetData></x:worksheet>'
    )
    with pytest.raises(reading.UnreadableFile) as refused:
        _read(_zip(parts))
    assert refused.value.detail is not None
    assert refused.value.detail.key == "imports.too_many_columns"
