"""Real spreadsheets for import tests: CSVs in the encodings offices save them in, and XLSX
workbooks written by openpyxl (another writer than the service's own templates)."""

import csv
import io
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import Any

import httpx2
from openpyxl import Workbook  # type: ignore[import-untyped]

IMPORTS = "/v1/imports"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

AGREEMENT_HEADER = (
    "external_ref",
    "title",
    "instrument",
    "subject_areas",
    "counterpart_name",
    "counterpart_kind",
    "counterpart_country",
    "counterpart_region",
    "languages",
    "signed_on",
    "signed_place",
    "terminated_on",
    "termination_reason",
)
TARGET_HEADER = (
    "agreement_external_ref",
    "title",
    "indicator",
    "measure",
    "unit",
    "baseline_value",
    "baseline_on",
    "milestone_6m",
    "milestone_12m",
    "milestone_24m",
)


def agreement_row(ref: str | int, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "external_ref": ref,
        "title": f"Hermanamiento Guadalajara - Querétaro {ref}",
        "instrument": "sister_city",
        "subject_areas": "culture; trade",
        "counterpart_name": "Ciudad de Laredo",
        "counterpart_kind": "foreign_government_body",
        "counterpart_country": "US",
        "counterpart_region": "Texas",
        "languages": "es; en",
        "signed_on": "2019-03-14",
        "signed_place": "Ciudad de México",
        "terminated_on": None,
        "termination_reason": None,
    }
    row.update(fields)
    return row


def target_row(ref: str, title: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "agreement_external_ref": ref,
        "title": title,
        "indicator": "companies_served",
        "measure": "count",
        "unit": None,
        "baseline_value": 0,
        "baseline_on": "2019-01-01",
        "milestone_6m": 10,
        "milestone_12m": 25,
        "milestone_24m": 60,
    }
    row.update(fields)
    return row


def csv_bytes(
    rows: Sequence[dict[str, Any]],
    *,
    header: Sequence[str] = AGREEMENT_HEADER,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> bytes:
    """`encoding` "utf-8-sig" writes the BOM Excel's "CSV UTF-8" has; "cp1252" is Excel's "CSV"
    on a Spanish Windows."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else row[c] for c in header])
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[dict[str, Any]], *, header: Sequence[str] = AGREEMENT_HEADER) -> bytes:
    """A workbook as Excel would hold it: dates as date cells, numbers as numbers."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Acuerdos"
    sheet.append(list(header))
    for row in rows:
        cells: list[Any] = []
        for column in header:
            value = row.get(column)
            if isinstance(value, str) and column.endswith("_on"):
                value = date.fromisoformat(value)
            cells.append(value)
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


async def post_import(
    client: httpx2.AsyncClient,
    content: bytes,
    headers: dict[str, str],
    *,
    kind: str = "agreements",
    filename: str = "acuerdos.csv",
    **params: Any,
) -> httpx2.Response:
    query: dict[str, Any] = {"kind": kind}
    query.update({k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()})
    return await client.post(IMPORTS, params=query, files={"file": (filename, content)}, headers=headers)


def multipart(content: bytes, boundary: str = "pacta-import") -> tuple[bytes, bytes, str]:
    """The form's head, and its tail, around the file's bytes; and its Content-Type."""
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="acuerdos.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    return head + content, f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class CountingBody:
    """A streamed request body that counts how much of it the server pulled."""

    def __init__(self, first: bytes, *, filler: int, tail: bytes) -> None:
        self.first = first
        self.filler = filler
        self.tail = tail
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        while self.sent < self.filler:
            self.sent += 64 * 1024
            yield b"#" * (64 * 1024)
        yield self.tail


def an_id() -> str:
    return str(uuid.uuid4())
