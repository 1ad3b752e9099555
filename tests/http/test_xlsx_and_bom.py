"""Lists as spreadsheets: XLSX read back with openpyxl (headers, rows across pages, accents, real
dates, flattened nested values, no formulas), and CSV with `?bom=true` as Excel on Windows needs."""

import csv
import io
import weakref
from datetime import date, datetime
from typing import Any

import httpx2
import openpyxl  # type: ignore[import-untyped]
import pytest
from fastapi import FastAPI

import app.http.xlsx
from app.agreements.router import CSV_COLUMNS as AGREEMENT_COLUMNS
from app.http.csv import XLSX_MEDIA_TYPE, header
from app.legal_reviews.router import CSV_COLUMNS as REVIEW_COLUMNS
from app.targets.router import CSV_COLUMNS as TARGET_COLUMNS
from tests.conftest import MakeKey, MakeOrg
from tests.factories import (
    AGREEMENTS,
    TODAY,
    World,
    add_review,
    assert_problem,
    counterpart,
    create_agreement,
    make_world,
    pin_today,
    walk,
)
from tests.targets.factories import target_body, targets_of

XLSX = {"Accept": XLSX_MEDIA_TYPE}
FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture
async def world(app: FastAPI, make_org: MakeOrg, make_key: MakeKey) -> World:
    pin_today(app, TODAY)
    return await make_world(make_org, make_key)


def read_sheet(response: httpx2.Response) -> tuple[list[str], list[dict[str, Any]], Any]:
    """(header, rows as dicts, the worksheet) of an XLSX response."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    names = [str(v) for v in values[0]]
    return names, [dict(zip(names, row, strict=True)) for row in values[1:]], sheet


async def signed_agreement(client: httpx2.AsyncClient, world: World, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Hermanamiento Querétaro - Kyōto: cooperación técnica",
        "signed_on": "2024-03-01",
        "counterparts": [
            counterpart("Kyōto", "JP", region="Kansai"),
            counterpart("Ciudad de Guatemala", "GT"),
        ],
        "summary": FORMULA,
    }
    body.update(fields)
    return await create_agreement(client, world.headers("editor"), world.signatory.id, **body)


async def test_agreements_as_xlsx_read_back_with_openpyxl(client: httpx2.AsyncClient, world: World) -> None:
    created = await signed_agreement(client, world)
    response = await client.get(AGREEMENTS, headers=XLSX)  # anonymous: public agreements
    assert response.headers["content-disposition"] == 'attachment; filename="agreements.xlsx"'
    names, rows, sheet = read_sheet(response)
    assert names == header(AGREEMENT_COLUMNS)
    assert [r["id"] for r in rows] == [created["id"]]
    row = rows[0]
    assert row["title"] == "Hermanamiento Querétaro - Kyōto: cooperación técnica"
    # Dates are dates (Excel sorts and filters them), not text.
    assert row["signed_on"].date() == date(2024, 3, 1)
    assert sheet.cell(row=2, column=names.index("signed_on") + 1).is_date
    assert isinstance(row["created_at"], datetime)
    # counterparts: readable text with every one, and columns of their own for the first ones.
    assert row["counterparts"] == "Kyōto, Kansai (JP); Ciudad de Guatemala (GT)"
    assert (row["counterpart_1_name"], row["counterpart_1_country"], row["counterpart_1_region"]) == (
        "Kyōto",
        "JP",
        "Kansai",
    )
    assert (row["counterpart_2_name"], row["counterpart_2_kind"]) == ("Ciudad de Guatemala", "foreign_government_body")
    assert row["counterpart_3_name"] is None
    assert row["subject_areas"] == "culture;trade"
    # Text that looks like a formula is text: stored as a string, never evaluated.
    summary = sheet.cell(row=2, column=names.index("summary") + 1)
    assert summary.value == FORMULA
    assert summary.data_type == "s"
    assert not any(c.data_type == "f" for r in sheet.iter_rows() for c in r)


async def test_xlsx_walks_every_page_in_the_json_order(
    client: httpx2.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.http.xlsx, "XLSX_PAGE_SIZE", 2)
    for n in range(5):
        await signed_agreement(client, world, title=f"Acuerdo {n} de Querétaro", summary=None)
    await create_agreement(client, world.headers("editor"), world.signatory.id, title="Borrador")  # a draft
    _, rows, _ = read_sheet(await client.get(AGREEMENTS, headers=XLSX))
    listed = await walk(client, AGREEMENTS, {})
    assert [r["id"] for r in rows] == [i["id"] for i in listed]
    assert len(rows) == 5
    assert "Borrador" not in {r["title"] for r in rows}
    # The list's filters hold as in JSON.
    _, none, _ = read_sheet(await client.get(AGREEMENTS, params={"status": "draft"}, headers=XLSX))
    assert none == []


async def test_child_lists_as_xlsx_flatten_objects_and_milestones(client: httpx2.AsyncClient, world: World) -> None:
    agreement = await signed_agreement(client, world)
    editor = world.headers("editor")
    await add_review(
        client,
        editor,
        agreement["id"],
        requested_on="2024-01-10",
        decided_on="2024-02-01",
        outcome="favorable",
        checks={"within_competence": True, "is_not_a_treaty": False},
    )
    response = await client.post(targets_of(agreement["id"]), json=target_body(), headers=editor)
    assert response.status_code == 201, response.text

    response = await client.get(f"{AGREEMENTS}/{agreement['id']}/legal-reviews", headers={**editor, **XLSX})
    assert response.headers["content-disposition"] == 'attachment; filename="legal-reviews.xlsx"'
    names, rows, _ = read_sheet(response)
    assert names == header(REVIEW_COLUMNS)
    assert "checks" not in names
    (review,) = rows
    assert (review["checks_within_competence"], review["checks_is_not_a_treaty"]) == (True, False)
    assert review["checks_dispute_clause_compliant"] is None
    assert review["decided_on"].date() == date(2024, 2, 1)

    names, rows, _ = read_sheet(await client.get(targets_of(agreement["id"]), headers=XLSX))
    assert names == header(TARGET_COLUMNS)
    (target,) = rows
    assert target["title"] == "Empresas atendidas"
    assert target["baseline_comment"] == "Sin atención previa"
    assert target["baseline_value"] == 0
    assert [target[f"milestone_{n}_months"] for n in (1, 2, 3)] == [6, 12, 24]
    assert [target[f"milestone_{n}_target_value"] for n in (1, 2, 3)] == [10, 25, 60]
    assert target["milestone_1_due_on"].date() == date(2024, 9, 1)  # six months after entry into force
    assert target["milestones"] == "6: 10 (not_met); 12: 25 (not_met); 24: 60 (scheduled)"


async def test_organizations_as_xlsx_for_an_admin(client: httpx2.AsyncClient, world: World) -> None:
    names, rows, _ = read_sheet(await client.get("/v1/organizations", headers={**world.headers("admin"), **XLSX}))
    assert names[:3] == ["id", "name", "kind"]
    assert "Cámara de Comercio de Monterrey" in {r["name"] for r in rows}


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (f"text/csv;q=0.5, {XLSX_MEDIA_TYPE};q=0.9", XLSX_MEDIA_TYPE),
        (f"{XLSX_MEDIA_TYPE};q=0.5, text/csv", "text/csv; charset=utf-8"),
        (f"{XLSX_MEDIA_TYPE};q=0.5, application/json", "application/json"),
        ("application/*", "application/json"),  # a tie goes to JSON
    ],
)
async def test_accept_picks_the_preferred_format(
    client: httpx2.AsyncClient, world: World, accept: str, expected: str
) -> None:
    response = await client.get(AGREEMENTS, headers={**world.headers("auditor"), "Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == expected


async def test_unsupported_accept_is_406(client: httpx2.AsyncClient) -> None:
    assert_problem(await client.get(AGREEMENTS, headers={"Accept": "application/pdf"}), 406, "not-acceptable")


async def test_csv_with_bom_opens_like_excel_reads_it(client: httpx2.AsyncClient, world: World) -> None:
    created = await signed_agreement(client, world)
    response = await client.get(AGREEMENTS, params={"bom": "true"}, headers={"Accept": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")
    # Excel decodes a UTF-8 file with a BOM as UTF-8 ("utf-8-sig"): accents survive, and the
    # first header is "id", not "\ufeffid".
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0]["id"] == created["id"]
    assert rows[0]["title"] == "Hermanamiento Querétaro - Kyōto: cooperación técnica"
    assert rows[0]["counterpart_1_name"] == "Kyōto"
    assert rows[0]["summary"] == "'" + FORMULA  # the CSV guard against formulas still applies
    assert rows[0]["signed_on"] == date(2024, 3, 1).isoformat()

    plain = await client.get(AGREEMENTS, params={"bom": "false"}, headers={"Accept": "text/csv"})
    assert plain.content.startswith(b"id,")


async def test_a_bad_bom_value_is_422(client: httpx2.AsyncClient) -> None:
    response = await client.get(AGREEMENTS, params={"bom": "maybe"}, headers={"Accept": "text/csv"})
    assert_problem(response, 422, loc=["query", "bom"])


@pytest.mark.parametrize("accept", ["application/json", "text/csv", XLSX_MEDIA_TYPE])
async def test_a_bad_bom_value_is_422_whatever_the_format(
    client: httpx2.AsyncClient, world: World, accept: str
) -> None:
    """Schemathesis found `?bom=null&bom=null` accepted on JSON pages: the list declares `bom`, so a
    value that is not a boolean is refused before anything is read, in every format, every list."""
    for path in (AGREEMENTS, "/v1/organizations", "/v1/compliance/findings"):
        headers = {**world.headers("admin"), "Accept": accept}
        response = await client.get(f"{path}?bom=true&bom=null", headers=headers)
        assert_problem(response, 422, loc=["query", "bom"])


async def test_xlsx_past_the_writers_and_the_bounded_queue_is_503_before_the_response_starts(
    client: httpx2.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await signed_agreement(client, world, title="Acuerdo de Querétaro", summary=None)
    monkeypatch.setattr(app.http.xlsx, "_gates", weakref.WeakKeyDictionary())
    gate = app.http.xlsx._gate()
    full = app.http.xlsx.MAX_CONCURRENT + app.http.xlsx.MAX_WAITING
    assert full == 6  # 2 writing and 4 waiting per process
    gate.admitted = full  # as if 2 workbooks were being written and 4 requests waited for a slot
    refused = await client.get(AGREEMENTS, headers={**XLSX, "Accept-Language": "en"})
    body = assert_problem(refused, 503)
    assert refused.headers["retry-after"] == str(app.http.xlsx.RETRY_AFTER_SECONDS)
    assert "content-disposition" not in refused.headers
    assert "CSV" in body["detail"]
    assert gate.admitted == full
    # The CSV of the same list streams at once: it is no workbook to write.
    assert (await client.get(AGREEMENTS, headers={"Accept": "text/csv"})).status_code == 200
    gate.admitted = full - 1  # one place left in the queue
    served = await client.get(AGREEMENTS, headers=XLSX)
    assert served.status_code == 200
    _, rows, _ = read_sheet(served)
    assert [r["title"] for r in rows] == ["Acuerdo de Querétaro"]
    assert gate.admitted == full - 1  # its place given back once sent
