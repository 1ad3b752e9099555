"""Reading a spreadsheet's bytes: encodings, row numbers as the sheet shows them, and the bounds."""

import io
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
