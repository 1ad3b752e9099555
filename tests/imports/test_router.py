"""POST /v1/imports: spreadsheets in, all rows or none, every bad row named in the caller's language."""

import asyncio
import io
import uuid
from typing import IO, Any

import httpx2
import pytest
from fastapi import FastAPI
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.agreements import service as agreement_service
from app.db import _RELEASABLE as RELEASABLE
from app.imports import reading
from app.imports import service as import_service
from app.imports.schemas import ImportKind
from app.models import OrganizationKind, Role
from app.principal import Principal
from tests.conftest import MakeKey, MakeOrg
from tests.factories import (
    AGREEMENTS,
    TODAY,
    World,
    assert_problem,
    count,
    create_agreement,
    make_world,
    pin_today,
    scalar,
)
from tests.imports.sheets import (
    AGREEMENT_HEADER,
    IMPORTS,
    TARGET_HEADER,
    XLSX,
    CountingBody,
    agreement_row,
    csv_bytes,
    multipart,
    post_import,
    target_row,
    xlsx_bytes,
)

EN = {"Accept-Language": "en"}
ES = {"Accept-Language": "es-MX"}


@pytest.fixture
async def world(app: FastAPI, make_org: MakeOrg, make_key: MakeKey) -> World:
    pin_today(app, TODAY)
    return await make_world(make_org, make_key)


async def titles(client: httpx2.AsyncClient, world: World) -> dict[str, dict[str, Any]]:
    """The signatory's agreements as the API reads them, by folio."""
    response = await client.get(
        AGREEMENTS, params={"signatory_org_id": str(world.signatory.id), "limit": 200}, headers=world.headers("editor")
    )
    assert response.status_code == 200, response.text
    return {a["external_ref"]: a for a in response.json()["items"]}


async def written(session: AsyncSession) -> tuple[int, int, int, int]:
    """What any write adds to: agreements, targets, log entries, webhook events."""
    return (
        await count(session, "agreements"),
        await count(session, "targets"),
        await count(session, "log_entries"),
        await count(session, "webhook_events"),
    )


# --- encodings and formats ---------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
async def test_a_csv_in_each_encoding_keeps_its_accents(
    client: httpx2.AsyncClient, world: World, encoding: str
) -> None:
    rows = [
        agreement_row("QRO-1", title="Hermanamiento Querétaro - Laredo"),
        agreement_row(
            "CDMX-1",
            title="Cooperación Ciudad de México - Kraków",
            counterpart_country="PL",
            counterpart_name="Miasto Kraków" if encoding != "cp1252" else "Ciudad de Cracovia",
            counterpart_region="Małopolska" if encoding != "cp1252" else "Pequeña Polonia",
        ),
    ]
    response = await post_import(client, csv_bytes(rows, encoding=encoding), world.headers("editor"))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "kind": "agreements",
        "dry_run": False,
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    stored = await titles(client, world)
    assert stored["QRO-1"]["title"] == "Hermanamiento Querétaro - Laredo"
    assert stored["CDMX-1"]["title"] == "Cooperación Ciudad de México - Kraków"
    assert stored["QRO-1"]["signed_place"] == "Ciudad de México"
    assert stored["QRO-1"]["counterparts"] == [
        {"name": "Ciudad de Laredo", "kind": "foreign_government_body", "country": "US", "region": "Texas"}
    ]
    assert stored["QRO-1"]["subject_areas"] == ["culture", "trade"]
    assert stored["QRO-1"]["languages"] == ["es", "en"]
    assert stored["QRO-1"]["signatory_org_id"] == str(world.signatory.id)
    assert stored["QRO-1"]["status"] == "in_force"


async def test_a_semicolon_csv_as_excel_writes_it_where_the_decimal_mark_is_a_comma(
    client: httpx2.AsyncClient, world: World
) -> None:
    rows = [agreement_row("SC-1", signed_on="14/03/2019")]
    response = await post_import(client, csv_bytes(rows, delimiter=";", encoding="cp1252"), world.headers("editor"))
    assert response.status_code == 200, response.text
    assert (await titles(client, world))["SC-1"]["signed_on"] == "2019-03-14"


async def test_an_xlsx_written_by_openpyxl_with_date_and_number_cells(client: httpx2.AsyncClient, world: World) -> None:
    rows = [
        agreement_row("GDL-2019-7", signed_on="2019-03-14", title="Hermanamiento Guadalajara - Querétaro"),
        agreement_row(1001, title="Folio numérico"),  # Excel keeps a folio typed as a number as one
    ]
    response = await post_import(client, xlsx_bytes(rows), world.headers("editor"), filename="acuerdos.xlsx")
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    stored = await titles(client, world)
    assert stored["GDL-2019-7"]["signed_on"] == "2019-03-14"
    assert stored["GDL-2019-7"]["title"] == "Hermanamiento Guadalajara - Querétaro"
    assert stored["1001"]["title"] == "Folio numérico"


async def test_the_type_is_judged_by_the_bytes_not_the_name(client: httpx2.AsyncClient, world: World) -> None:
    # A workbook named .csv is read as a workbook.
    response = await post_import(
        client, xlsx_bytes([agreement_row("X-1")]), world.headers("editor"), filename="acuerdos.csv"
    )
    assert response.status_code == 200, response.text
    # Bytes that are neither text nor a workbook.
    response = await post_import(client, b"\x89PNG\r\n\x1a\n\x00\x00\x00", world.headers("editor"))
    assert_problem(response, 415)
    # A broken zip that claims to be a workbook.
    response = await post_import(client, b"PK\x03\x04broken", world.headers("editor"))
    assert_problem(response, 422, "unreadable-spreadsheet")


# --- all or nothing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "fragment"),
    [(ES, "no es una fecha"), (EN, "is not a date")],
)
async def test_every_bad_row_is_reported_with_its_row_and_column_and_nothing_is_written(
    client: httpx2.AsyncClient, world: World, session: AsyncSession, lang: dict[str, str], fragment: str
) -> None:
    rows = [
        agreement_row("OK-1"),  # row 2
        agreement_row("BAD-1", signed_on="2019-02-30"),  # row 3: no such day
        agreement_row("BAD-2", instrument="tratado", counterpart_country="usa"),  # row 4: two bad cells
        agreement_row("OK-2"),  # row 5
        # row 6: a domain rule the service applies (terminated before it was signed)
        agreement_row("BAD-3", terminated_on="2018-01-01", termination_reason="Cancelado"),
        agreement_row("OK-1"),  # row 7: the folio of row 2 again
        agreement_row("BAD-4", title=""),  # row 8: a required field left blank
    ]
    before = await written(session)
    response = await post_import(client, csv_bytes(rows), {**world.headers("editor"), **lang})
    body = assert_problem(response, 422, "import-rejected")
    found = {(e["row"], e["column"]) for e in body["errors"]}
    assert found == {
        (3, "signed_on"),
        (4, "instrument"),
        (4, "counterpart_country"),
        (6, "terminated_on"),
        (7, "external_ref"),
        (8, "title"),
    }
    assert all(e["loc"] == [e["row"], e["column"]] for e in body["errors"])
    by_cell = {(e["row"], e["column"]): e["msg"] for e in body["errors"]}
    assert fragment in by_cell[(3, "signed_on")]
    assert response.headers["content-language"] == ("es-MX" if lang is ES else "en-US")
    assert await written(session) == before
    assert "OK-1" not in await titles(client, world)


async def test_a_missing_required_column_is_one_clear_error_and_unknown_columns_are_refused(
    client: httpx2.AsyncClient, world: World, session: AsyncSession
) -> None:
    header = ("external_ref", "titulo", "instrument", "counterpart_name", "counterpart_kind", "counterpart_country")
    content = "\r\n".join(
        [",".join(header)] + [f"R-{i},Uno,sister_city,X,foreign_government_body,US" for i in range(40)]
    )
    before = await written(session)
    response = await post_import(client, content.encode(), {**world.headers("editor"), **EN})
    body = assert_problem(response, 422, "import-rejected")
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(1, "titulo"), (1, "title")]
    assert "Unknown column" in body["errors"][0]["msg"]
    assert "required column" in body["errors"][1]["msg"]
    assert await written(session) == before


async def test_dry_run_checks_everything_and_writes_nothing(
    client: httpx2.AsyncClient, world: World, session: AsyncSession
) -> None:
    rows = [agreement_row(f"DRY-{i}") for i in range(3)]
    before = await written(session)
    response = await post_import(client, csv_bytes(rows), world.headers("editor"), dry_run=True)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "kind": "agreements",
        "dry_run": True,
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
    }
    assert await written(session) == before
    # A dry run of a bad file reports the same errors as the real import would.
    bad = await post_import(
        client, csv_bytes([agreement_row("DRY-9", signed_on="mañana")]), world.headers("editor"), dry_run=True
    )
    assert_problem(bad, 422, "import-rejected", loc=[2, "signed_on"])
    assert await written(session) == before


async def test_reimport_counts_created_updated_and_unchanged_and_writes_only_the_changes(
    client: httpx2.AsyncClient, world: World, session: AsyncSession
) -> None:
    rows = [agreement_row(f"UP-{i}") for i in range(3)]
    first = await post_import(client, csv_bytes(rows), world.headers("editor"))
    assert first.json()["created"] == 3
    entries = await count(session, "log_entries")
    again = await post_import(client, xlsx_bytes(rows), world.headers("editor"), filename="a.xlsx")
    assert again.json() | {"kind": None} == {
        "kind": None,
        "dry_run": False,
        "rows": 3,
        "created": 0,
        "updated": 0,
        "unchanged": 3,
    }
    assert await count(session, "log_entries") == entries  # unchanged rows write nothing
    rows[1]["title"] = "Hermanamiento renovado"
    rows[2]["subject_areas"] = "culture; trade; tourism"
    rows.append(agreement_row("UP-3"))
    third = await post_import(client, csv_bytes(rows), world.headers("editor"))
    assert third.json() | {"kind": None} == {
        "kind": None,
        "dry_run": False,
        "rows": 4,
        "created": 1,
        "updated": 2,
        "unchanged": 1,
    }
    assert await count(session, "log_entries") == entries + 3
    stored = await titles(client, world)
    assert stored["UP-1"]["title"] == "Hermanamiento renovado"
    assert stored["UP-2"]["subject_areas"] == ["culture", "trade", "tourism"]


async def test_an_update_runs_the_same_rules_as_a_patch(
    client: httpx2.AsyncClient, world: World, session: AsyncSession
) -> None:
    """A row that changes an agreement another way the API refuses (its signature after a
    registration was submitted) is refused alike; a blank cell clears a field."""
    await post_import(client, csv_bytes([agreement_row("R-1", signed_place="Laredo")]), world.headers("editor"))
    response = await post_import(
        client, csv_bytes([agreement_row("R-1", signed_place=None, signed_on="2030-01-01")]), world.headers("editor")
    )
    assert_problem(response, 422, "import-rejected", loc=[2, "signed_on"])
    cleared = await post_import(client, csv_bytes([agreement_row("R-1", signed_place=None)]), world.headers("editor"))
    assert cleared.json()["updated"] == 1
    assert (await titles(client, world))["R-1"]["signed_place"] is None


async def test_imported_rows_are_logged_and_announced_like_api_writes(
    client: httpx2.AsyncClient, world: World, session: AsyncSession
) -> None:
    before = await written(session)
    await create_agreement(client, world.headers("editor"), world.signatory.id, external_ref="API-1")
    after_api = await written(session)
    per_api_write = tuple(b - a for a, b in zip(before, after_api, strict=True))
    response = await post_import(client, csv_bytes([agreement_row("IMP-1")]), world.headers("editor"))
    assert response.status_code == 200, response.text
    per_import_row = tuple(b - a for a, b in zip(after_api, await written(session), strict=True))
    assert per_import_row == per_api_write
    created = (await titles(client, world))["IMP-1"]
    history = await client.get(f"{AGREEMENTS}/{created['id']}/history", headers=world.headers("editor"))
    [entry] = history.json()["items"]
    assert (entry["action"], entry["actor_org_id"]) == ("create", str(world.signatory.id))
    types = await scalar(
        session,
        "SELECT string_agg(type, ',' ORDER BY type) FROM webhook_events WHERE agreement_id = :id",
        id=created["id"],
    )
    assert "agreement.created" in types


# --- who ---------------------------------------------------------------------------------------------


async def test_an_editor_cannot_import_for_another_organization_and_its_file_is_not_read(
    client: httpx2.AsyncClient, world: World, session: AsyncSession
) -> None:
    first, tail, content_type = multipart(csv_bytes([agreement_row("X-1")]))
    body = CountingBody(first, filler=8 * 1024 * 1024, tail=tail)
    before = await written(session)
    response = await client.post(
        IMPORTS,
        params={"kind": "agreements", "org": str(world.other.id)},
        content=body,
        headers={**world.headers("editor"), "Content-Type": content_type},
    )
    assert_problem(response, 403)
    assert body.sent <= 64 * 1024  # refused before the file was read
    assert await written(session) == before


@pytest.mark.parametrize("actor", ["legal_reviewer", "participant", "auditor"])
async def test_only_editors_and_admins_import(client: httpx2.AsyncClient, world: World, actor: str) -> None:
    response = await post_import(client, csv_bytes([agreement_row("X-1")]), world.headers(actor))
    assert_problem(response, 403)


async def test_a_bogus_key_is_refused_before_the_body(client: httpx2.AsyncClient, world: World) -> None:
    first, tail, content_type = multipart(csv_bytes([agreement_row("X-1")]))
    body = CountingBody(first, filler=8 * 1024 * 1024, tail=tail)
    response = await client.post(
        IMPORTS,
        params={"kind": "agreements"},
        content=body,
        headers={"Authorization": "Bearer pacta_000000000000_bogus", "Content-Type": content_type},
    )
    assert_problem(response, 401)
    assert body.sent == 0


async def test_an_admin_names_the_organization(client: httpx2.AsyncClient, world: World) -> None:
    content = csv_bytes([agreement_row("ADM-1")])
    missing = await post_import(client, content, world.headers("admin"))
    assert_problem(missing, 422, loc=["query", "org"])
    not_signatory = await post_import(client, content, world.headers("admin"), org=world.participant.id)
    assert_problem(not_signatory, 422, loc=["query", "org"])
    done = await post_import(client, content, world.headers("admin"), org=world.other.id)
    assert done.status_code == 200, done.text
    listed = await client.get(
        AGREEMENTS, params={"signatory_org_id": str(world.other.id)}, headers=world.headers("admin")
    )
    assert [a["external_ref"] for a in listed.json()["items"]] == ["ADM-1"]


# --- idempotency, limits -----------------------------------------------------------------------------


async def test_an_idempotency_key_replays_the_import_without_writing_twice(
    client: httpx2.AsyncClient, world: World, session: AsyncSession
) -> None:
    content = csv_bytes([agreement_row("IDEM-1"), agreement_row("IDEM-2")])
    headers = {**world.headers("editor"), "Idempotency-Key": "import-2025-06-15"}
    first = await post_import(client, content, headers)
    assert first.json()["created"] == 2
    entries = await count(session, "log_entries")
    again = await post_import(client, content, headers)
    assert again.status_code == 200
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert await count(session, "log_entries") == entries
    other = await post_import(client, csv_bytes([agreement_row("IDEM-3")]), headers)
    assert_problem(other, 422, "idempotency-key-reused")


async def test_too_many_rows_is_refused_whole(
    client: httpx2.AsyncClient, world: World, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "MAX_ROWS", 5)
    before = await written(session)
    response = await post_import(
        client, csv_bytes([agreement_row(f"M-{i}") for i in range(6)]), world.headers("editor")
    )
    assert_problem(response, 413, "too-many-rows")
    response = await post_import(
        client, xlsx_bytes([agreement_row(f"M-{i}") for i in range(6)]), world.headers("editor")
    )
    assert_problem(response, 413, "too-many-rows")
    assert await written(session) == before


async def test_text_in_no_known_encoding_is_refused(client: httpx2.AsyncClient, world: World) -> None:
    content = csv_bytes([agreement_row("E-1")]) + b"\x81\x8d\x8f"  # bytes neither UTF-8 nor cp1252
    response = await post_import(client, content, {**world.headers("editor"), **EN})
    body = assert_problem(response, 422, "unreadable-spreadsheet")
    assert "UTF-8" in body["detail"]


async def test_a_form_without_a_file_is_refused(client: httpx2.AsyncClient, world: World) -> None:
    response = await client.post(
        IMPORTS, params={"kind": "agreements"}, data={"x": "1"}, headers=world.headers("editor")
    )
    assert_problem(response, 422, loc=["body", "file"])


# --- targets -----------------------------------------------------------------------------------------


async def test_targets_with_their_milestones_upsert_by_agreement_and_title(
    client: httpx2.AsyncClient, world: World, session: AsyncSession
) -> None:
    await post_import(client, csv_bytes([agreement_row("T-1")]), world.headers("editor"))
    rows = [
        target_row("T-1", "Empresas atendidas"),
        target_row(
            "T-1",
            "Informe anual",
            indicator="custom",
            measure="qualitative",
            baseline_value=None,
            milestone_6m=None,
            milestone_12m="x",
            milestone_24m="sí",
        ),
    ]
    response = await post_import(client, csv_bytes(rows, header=TARGET_HEADER), world.headers("editor"), kind="targets")
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2
    agreement = (await titles(client, world))["T-1"]
    listed = await client.get(f"{AGREEMENTS}/{agreement['id']}/targets", headers=world.headers("editor"))
    by_title = {t["title"]: t for t in listed.json()["items"]}
    served = by_title["Empresas atendidas"]
    assert [(m["months"], m["target_value"]) for m in served["milestones"]] == [(6, 10.0), (12, 25.0), (24, 60.0)]
    assert served["baseline"] == {"value": 0.0, "on": "2019-01-01", "comment": None}
    assert [(m["months"], m["target_value"]) for m in by_title["Informe anual"]["milestones"]] == [
        (12, None),
        (24, None),
    ]

    rows[0]["milestone_24m"] = 75
    again = await post_import(
        client, xlsx_bytes(rows, header=TARGET_HEADER), world.headers("editor"), kind="targets", filename="m.xlsx"
    )
    assert again.status_code == 200, again.text
    assert (again.json()["updated"], again.json()["unchanged"]) == (1, 1)


async def test_target_rows_are_checked_like_the_api(
    client: httpx2.AsyncClient, world: World, session: AsyncSession
) -> None:
    await post_import(client, csv_bytes([agreement_row("T-2")]), world.headers("editor"))
    rows = [
        target_row("NO-SUCH", "Meta"),  # row 2: no agreement with that folio
        target_row("T-2", "Inversión", measure="currency", unit="pesos"),  # row 3: unit must be ISO 4217
        target_row("T-2", "Meta rara", milestone_12m="muchas"),  # row 4: not a number
        target_row("T-2", "Meta buena"),  # row 5
    ]
    before = await written(session)
    response = await post_import(
        client, csv_bytes(rows, header=TARGET_HEADER), {**world.headers("editor"), **ES}, kind="targets"
    )
    body = assert_problem(response, 422, "import-rejected")
    assert {(e["row"], e["column"]) for e in body["errors"]} == {
        (2, "agreement_external_ref"),
        (3, "unit"),
        (4, "milestone_12m"),
    }
    assert await written(session) == before


async def test_an_agreement_of_another_organization_is_not_found_by_its_folio(
    client: httpx2.AsyncClient, world: World
) -> None:
    await create_agreement(client, world.headers("other_editor"), world.other.id, external_ref="MTY-1")
    response = await post_import(
        client, csv_bytes([target_row("MTY-1", "Meta")], header=TARGET_HEADER), world.headers("editor"), kind="targets"
    )
    assert_problem(response, 422, "import-rejected", loc=[2, "agreement_external_ref"])


# --- templates ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_the_templates_download_and_import_as_they_are(
    client: httpx2.AsyncClient, world: World, fmt: str
) -> None:
    agreements = await client.get(f"{IMPORTS}/templates/agreements.{fmt}")
    targets = await client.get(f"{IMPORTS}/templates/targets.{fmt}")
    assert agreements.status_code == targets.status_code == 200
    if fmt == "csv":
        assert agreements.headers["content-type"].startswith("text/csv")
        assert agreements.content.startswith(b"\xef\xbb\xbfexternal_ref,title,instrument")
        assert "Guadalajara" in agreements.content.decode("utf-8-sig")
    else:
        assert agreements.headers["content-type"] == XLSX
        sheet = load_workbook(io.BytesIO(agreements.content)).active
        assert sheet is not None
        header = [c.value for c in sheet[1]]
        assert header[:3] == ["external_ref", "title", "instrument"]
        assert sheet["B2"].value.startswith("Acuerdo de hermanamiento entre Guadalajara")
    first = await post_import(client, agreements.content, world.headers("editor"), filename=f"a.{fmt}")
    assert first.json()["created"] == 1, first.text
    second = await post_import(client, targets.content, world.headers("editor"), kind="targets", filename=f"t.{fmt}")
    assert second.json()["created"] == 1, second.text
    assert (await post_import(client, agreements.content, world.headers("editor"))).json()["unchanged"] == 1
    created = (await titles(client, world))["GDL-DOWNEY-1960"]
    assert created["counterparts"][0]["name"] == "City of Downey"
    assert created["signed_on"] == "1960-08-26"


async def test_the_csv_template_without_its_byte_order_mark(client: httpx2.AsyncClient) -> None:
    plain = await client.get(f"{IMPORTS}/templates/targets.csv", params={"bom": "false"})
    assert plain.content.startswith(b"agreement_external_ref,title,")
    assert_problem(await client.get(f"{IMPORTS}/templates/targets.csv", params={"bom": "null"}), 422)


async def test_an_unknown_template_is_refused(client: httpx2.AsyncClient) -> None:
    assert_problem(await client.get(f"{IMPORTS}/templates/treaties.csv"), 422)
    assert_problem(await client.get(f"{IMPORTS}/templates/agreements.ods"), 404)


async def test_a_row_the_database_refuses_is_reported_and_the_rows_after_it_still_checked(
    client: httpx2.AsyncClient, world: World, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failed statement aborts the transaction: the import starts over with a savepoint per row."""
    create = agreement_service.add_agreement

    async def failing(db: AsyncSession, data: Any, **options: Any) -> Any:
        if data.title == "BOOM":
            await db.execute(text("SELECT 1 / 0"))
        return await create(db, data, **options)

    monkeypatch.setattr(agreement_service, "add_agreement", failing)
    rows = [agreement_row("DB-1"), agreement_row("DB-2", title="BOOM"), agreement_row("DB-3", signed_on="ayer")]
    before = await written(session)
    response = await post_import(client, csv_bytes(rows), {**world.headers("editor"), **EN})
    body = assert_problem(response, 422, "import-rejected")
    assert [(e["row"], e["column"]) for e in body["errors"]] == [(3, None), (4, "signed_on")]
    assert body["errors"][0]["msg"] == "The database refused this row."
    assert await written(session) == before


async def test_imports_past_the_process_slots_are_refused_before_their_file_is_read(
    client: httpx2.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_service, "_slots", asyncio.Semaphore(0))  # every slot taken
    first, tail, content_type = multipart(csv_bytes([agreement_row("X-1")]))
    body = CountingBody(first, filler=8 * 1024 * 1024, tail=tail)
    response = await client.post(
        IMPORTS,
        params={"kind": "agreements"},
        content=body,
        headers={**world.headers("editor"), "Content-Type": content_type},
    )
    assert_problem(response, 503)
    assert response.headers["retry-after"] == "30"
    assert body.sent <= 64 * 1024


async def test_no_transaction_is_held_while_the_file_arrives(
    sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    """Who may import is settled first; then the unit of work gives its connection back until the
    whole file is in (a slow client holds its socket, nothing in the database)."""
    content = csv_bytes([agreement_row("SLOW-1")])
    seen: list[bool] = []

    async with sessionmaker() as session:
        session.info[RELEASABLE] = True  # as app.db.get_session marks a request's unit of work

        class SlowForm:
            """Stands in for the streamed form: notes whether a transaction is open as each part arrives."""

            def __init__(self) -> None:
                self.parts = [content[:10], content[10:]]

            async def until_file_or_end(self) -> bool:
                seen.append(session.in_transaction())
                return True

            async def file_chunk(self) -> bytes | None:
                seen.append(session.in_transaction())
                return self.parts.pop(0) if self.parts else None

            async def finish(self) -> dict[str, str]:
                return {}

        editor = Principal(
            key_id=uuid.uuid4(), org_id=world.signatory.id, org_kind=OrganizationKind.municipality, role=Role.editor
        )

        async def parse(file: IO[bytes]) -> import_service.Prepared:
            return import_service.prepare_file(ImportKind.agreements, file)

        result = await import_service.import_upload(
            session,
            SlowForm(),  # type: ignore[arg-type]
            org=None,
            dry_run=True,
            principal=editor,
            today=TODAY,
            max_bytes=1024 * 1024,
            max_rows=10_000,
            parse=parse,
        )
    assert result.created == 1
    assert seen == [False, False, False, False]


# --- checks before the body, whatever the headers -----------------------------------------------


async def _post_counting(
    client: httpx2.AsyncClient, headers: dict[str, str], params: dict[str, str]
) -> tuple[httpx2.Response, CountingBody]:
    first, tail, content_type = multipart(csv_bytes([agreement_row("X-1")]))
    body = CountingBody(first, filler=8 * 1024 * 1024, tail=tail)
    response = await client.post(
        IMPORTS,
        params={"kind": "agreements", **params},
        content=body,
        headers={**headers, "Content-Type": content_type, "Idempotency-Key": str(uuid.uuid4())},
    )
    return response, body


@pytest.mark.parametrize(
    ("actor", "whose"),
    [("participant", "own"), ("legal_reviewer", "own"), ("editor", "other"), ("participant", "other")],
)
async def test_with_an_idempotency_key_who_may_import_is_still_settled_before_the_body(
    client: httpx2.AsyncClient, world: World, session: AsyncSession, actor: str, whose: str
) -> None:
    before = await written(session)
    params = {"org": str(world.other.id)} if whose == "other" else {}
    response, body = await _post_counting(client, world.headers(actor), params)
    assert_problem(response, 403)
    assert body.sent <= 64 * 1024  # the idempotency middleware did not spool the 8 MiB
    assert await written(session) == before


async def test_with_an_idempotency_key_a_busy_server_is_still_refused_before_the_body(
    client: httpx2.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_service, "_slots", asyncio.Semaphore(0))  # every slot taken
    response, body = await _post_counting(client, world.headers("editor"), {})
    assert_problem(response, 503)
    assert response.headers["retry-after"] == "30"
    assert body.sent <= 64 * 1024


async def test_the_slot_taken_before_the_body_is_given_back_whatever_the_outcome(
    client: httpx2.AsyncClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    slots = asyncio.Semaphore(1)
    monkeypatch.setattr(import_service, "_slots", slots)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    done = await post_import(client, csv_bytes([agreement_row("SLOT-1")]), {**world.headers("editor"), **key})
    assert done.status_code == 200, done.text
    assert not slots.locked()
    bad = await post_import(client, b"\x81\x8d\x8f", world.headers("editor"))
    assert_problem(bad, 422)
    assert not slots.locked()
    again = await post_import(client, csv_bytes([agreement_row("SLOT-1")]), {**world.headers("editor"), **key})
    assert again.status_code == 200, again.text
    assert not slots.locked()


# --- a real import's size -------------------------------------------------------------------------


async def test_a_real_import_past_the_write_cap_is_refused_but_a_dry_run_checks_it_whole(
    app: FastAPI, client: httpx2.AsyncClient, world: World, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.settings, "import_max_rows", 3)
    content = csv_bytes([agreement_row(f"CAP-{i}") for i in range(4)])
    before = await written(session)
    response = await post_import(client, content, {**world.headers("editor"), **EN})
    body = assert_problem(response, 413, "too-many-rows")
    assert "at most 3 rows" in body["detail"]
    assert "split" in body["detail"]
    assert await written(session) == before
    dry = await post_import(client, content, world.headers("editor"), dry_run=True)
    assert dry.status_code == 200, dry.text
    assert dry.json()["rows"] == 4
    three = await post_import(client, csv_bytes([agreement_row(f"CAP-{i}") for i in range(3)]), world.headers("editor"))
    assert three.status_code == 200, three.text
    assert three.json()["created"] == 3


# --- hostile workbooks ----------------------------------------------------------------------------


@pytest.mark.parametrize(("far", "status"), [("XFD50001", 422), ("XFD1048576", 413), ("GR1", 422)])
async def test_a_sparse_workbook_reaching_past_the_bounds_is_a_clear_problem_and_the_server_lives_on(
    client: httpx2.AsyncClient, world: World, session: AsyncSession, far: str, status: int
) -> None:
    workbook = Workbook()
    workbook.active.append(list(AGREEMENT_HEADER))
    workbook.active[far] = "x"  # one cell: a few KB on disk, a grid of up to 26 GB for calamine
    out = io.BytesIO()
    workbook.save(out)
    before = await written(session)
    response = await post_import(client, out.getvalue(), {**world.headers("editor"), **EN}, filename="a.xlsx")
    body = assert_problem(response, status)
    assert "at most" in body["detail"]
    assert await written(session) == before
    done = await post_import(client, csv_bytes([agreement_row("ALIVE-1")]), world.headers("editor"))
    assert done.status_code == 200, done.text
