"""Conditional requests (ETag, If-None-Match, If-Match) and content negotiation on lists (CSV)."""

import csv
import io

import httpx2
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

import app.http.csv
from app.models import Organization, OrganizationKind
from tests.conftest import MakeOrg
from tests.http.test_problems import count_rows, snapshot
from tests.problems import assert_problem

PATH = "/v1/organizations"


def org_url(org: Organization) -> str:
    return f"{PATH}/{org.id}"


async def read(client: httpx2.AsyncClient, headers: dict[str, str], org: Organization) -> httpx2.Response:
    response = await client.get(org_url(org), headers=headers)
    assert response.status_code == 200, response.text
    return response


async def name_in_db(session: AsyncSession, org: Organization) -> str:
    value = (await session.execute(text("SELECT name FROM organizations WHERE id = :id"), {"id": org.id})).scalar_one()
    assert isinstance(value, str)
    return value


def parse_csv(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


# ETag and If-None-Match -------------------------------------------------------------------------


async def test_single_resource_carries_a_strong_etag(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org()
    first = await read(client, admin_headers, org)
    second = await read(client, admin_headers, org)
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert not etag.startswith("W/")
    assert second.headers["etag"] == etag


async def test_if_none_match_with_the_current_etag_is_304_without_body(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org()
    etag = (await read(client, admin_headers, org)).headers["etag"]
    response = await client.get(org_url(org), headers={**admin_headers, "If-None-Match": etag})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert "content-type" not in response.headers


@pytest.mark.parametrize(
    "header",
    ["W/{etag}", '"0000", {etag}', '"0000",W/{etag}', "*"],
    ids=["weak", "list", "weak-in-list", "star"],
)
async def test_if_none_match_forms_that_name_the_current_etag_are_304(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, header: str
) -> None:
    org = await make_org()
    etag = (await read(client, admin_headers, org)).headers["etag"]
    response = await client.get(org_url(org), headers={**admin_headers, "If-None-Match": header.format(etag=etag)})
    assert response.status_code == 304
    assert response.content == b""


async def test_if_none_match_with_another_etag_returns_the_resource(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org()
    response = await client.get(org_url(org), headers={**admin_headers, "If-None-Match": '"not-the-etag"'})
    assert response.status_code == 200
    assert response.json()["id"] == str(org.id)


async def test_etag_changes_when_the_resource_changes(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org()
    old = (await read(client, admin_headers, org)).headers["etag"]
    patched = await client.patch(
        org_url(org), json={"website": "https://example.org"}, headers={**admin_headers, "If-Match": old}
    )
    assert patched.status_code == 200, patched.text
    new = patched.headers["etag"]
    assert new != old
    # A client holding the old representation is sent the new one, not a 304.
    refreshed = await client.get(org_url(org), headers={**admin_headers, "If-None-Match": old})
    assert refreshed.status_code == 200
    assert refreshed.headers["etag"] == new
    assert refreshed.json()["website"] == "https://example.org/"


async def test_create_returns_the_etag_a_read_returns(
    client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    created = await client.post(
        PATH, json={"name": "Cámara de Comercio X1", "kind": "business_chamber"}, headers=admin_headers
    )
    assert created.status_code == 201, created.text
    cached = await client.get(
        created.headers["location"], headers={**admin_headers, "If-None-Match": created.headers["etag"]}
    )
    assert cached.status_code == 304


# If-Match on PATCH and DELETE -------------------------------------------------------------------


async def test_patch_without_if_match_is_428_and_changes_nothing(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    org = await make_org()
    before = await snapshot(session)
    response = await client.patch(org_url(org), json={"name": "Renamed without If-Match"}, headers=admin_headers)
    body = assert_problem(response, 428, "precondition-required")
    assert "If-Match" in body["detail"]
    assert await name_in_db(session, org) == org.name
    assert await snapshot(session) == before


async def test_patch_with_a_stale_etag_is_412_and_changes_nothing(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    org = await make_org()
    stale = (await read(client, admin_headers, org)).headers["etag"]
    # Another client changes it first.
    first = await client.patch(
        org_url(org), json={"name": "First writer"}, headers={**admin_headers, "If-Match": stale}
    )
    assert first.status_code == 200, first.text
    before = await snapshot(session)

    second = await client.patch(
        org_url(org), json={"name": "Second writer"}, headers={**admin_headers, "If-Match": stale}
    )
    assert_problem(second, 412, "precondition-failed")
    assert await name_in_db(session, org) == "First writer"
    assert await snapshot(session) == before


async def test_patch_with_if_match_star_is_accepted(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    org = await make_org()
    response = await client.patch(
        org_url(org), json={"name": "Star writer"}, headers={**admin_headers, "If-Match": "*"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Star writer"
    assert await name_in_db(session, org) == "Star writer"


async def test_patch_with_the_current_etag_succeeds_and_returns_the_new_one(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    org = await make_org()
    etag = (await read(client, admin_headers, org)).headers["etag"]
    log_before = await count_rows(session, "log_entries")
    response = await client.patch(
        org_url(org), json={"name": "Current writer"}, headers={**admin_headers, "If-Match": f'"zzz", {etag}'}
    )
    assert response.status_code == 200, response.text
    assert response.headers["etag"] != etag
    assert response.headers["etag"] == (await read(client, admin_headers, org)).headers["etag"]
    assert await count_rows(session, "log_entries") == log_before + 1


async def test_delete_needs_if_match_too(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, session: AsyncSession
) -> None:
    org = await make_org()
    missing = await client.delete(org_url(org), headers=admin_headers)
    assert_problem(missing, 428, "precondition-required")
    stale = await client.delete(org_url(org), headers={**admin_headers, "If-Match": '"stale"'})
    assert_problem(stale, 412, "precondition-failed")
    assert await name_in_db(session, org) == org.name
    etag = (await read(client, admin_headers, org)).headers["etag"]
    deleted = await client.delete(org_url(org), headers={**admin_headers, "If-Match": etag})
    assert deleted.status_code == 204
    gone = await client.get(org_url(org), headers=admin_headers)
    assert_problem(gone, 404, "not-found")


# Accept: text/csv -------------------------------------------------------------------------------


async def test_csv_streams_every_row_across_internal_pages(
    client: httpx2.AsyncClient,
    admin_headers: dict[str, str],
    make_org: MakeOrg,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app.http.csv, "CSV_PAGE_SIZE", 3)
    made = [await make_org(name=f"CSV Org {i:02d}") for i in range(7)]
    total = await count_rows(session, "organizations")
    assert total >= 8

    response = await client.get(PATH, headers={**admin_headers, "Accept": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert "content-length" not in response.headers  # streamed, not buffered
    rows = parse_csv(response.text)
    assert len(rows) == total
    ids = [row["id"] for row in rows]
    assert len(set(ids)) == total
    assert {str(o.id) for o in made} <= set(ids)
    assert list(rows[0]) == [
        "id",
        "name",
        "kind",
        "country",
        "subdivision",
        "inegi_code",
        "website",
        "created_at",
        "updated_at",
    ]


async def test_csv_holds_the_same_rows_as_the_json_pages(
    client: httpx2.AsyncClient,
    admin_headers: dict[str, str],
    make_org: MakeOrg,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app.http.csv, "CSV_PAGE_SIZE", 2)
    for _ in range(5):
        await make_org()
    await make_org(OrganizationKind.municipality, name="Municipio de Zapopan", inegi_code="14120")

    json_items: list[dict[str, str | None]] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2"} if cursor is None else {"limit": "2", "cursor": cursor}
        page = await client.get(PATH, params=params, headers=admin_headers)
        assert page.status_code == 200
        json_items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break

    response = await client.get(PATH, headers={**admin_headers, "Accept": "text/csv"})
    rows = parse_csv(response.text)
    assert [row["id"] for row in rows] == [item["id"] for item in json_items]
    zapopan = next(row for row in rows if row["name"] == "Municipio de Zapopan")
    assert zapopan["inegi_code"] == "14120"
    assert zapopan["subdivision"] == "MX-JAL"
    assert zapopan["kind"] == "municipality"
    university = next(row for row in rows if row["kind"] == "university")
    assert university["inegi_code"] == ""


async def test_csv_honours_the_list_filters(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    await make_org(OrganizationKind.municipality, name="Municipio de Guadalajara", inegi_code="14039")
    await make_org()
    response = await client.get(PATH, params={"kind": "municipality"}, headers={**admin_headers, "Accept": "text/csv"})
    rows = parse_csv(response.text)
    assert rows
    assert {row["kind"] for row in rows} == {"municipality"}


@pytest.mark.parametrize("name", ['=HYPERLINK("http://evil.example","x")', "+SUM(1,2)", "-2+3", "@cmd|' /C calc'!A0"])
async def test_csv_neutralises_formula_injection(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg, name: str
) -> None:
    org = await make_org(name=name)
    response = await client.get(PATH, headers={**admin_headers, "Accept": "text/csv"})
    row = next(r for r in parse_csv(response.text) if r["id"] == str(org.id))
    assert row["name"] == "'" + name
    # The JSON representation keeps the name as it was given.
    assert (await client.get(org_url(org), headers=admin_headers)).json()["name"] == name


@pytest.mark.parametrize(
    ("stored", "shown"),
    [("\t=1+2", "'\t=1+2"), ("\r=cmd|' /C calc'!A0", "'\r=cmd|' /C calc'!A0"), ("\t5", "'\t5")],
)
async def test_csv_neutralises_cells_starting_with_tab_or_carriage_return(
    client: httpx2.AsyncClient,
    session: AsyncSession,
    admin_headers: dict[str, str],
    make_org: MakeOrg,
    stored: str,
    shown: str,
) -> None:
    # The API strips names it is given, so the cell is planted the way imported data would arrive.
    org = await make_org()
    await session.execute(text("UPDATE organizations SET name = :name WHERE id = :id"), {"name": stored, "id": org.id})
    await session.commit()
    response = await client.get(PATH, headers={**admin_headers, "Accept": "text/csv"})
    row = next(r for r in parse_csv(response.text) if r["id"] == str(org.id))
    assert row["name"] == shown


async def test_csv_leaves_ordinary_text_alone(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], make_org: MakeOrg
) -> None:
    org = await make_org(name='Universidad "Autónoma", campus Norte')
    response = await client.get(PATH, headers={**admin_headers, "Accept": "text/csv"})
    row = next(r for r in parse_csv(response.text) if r["id"] == str(org.id))
    assert row["name"] == 'Universidad "Autónoma", campus Norte'


@pytest.mark.parametrize("accept", ["application/xml", "text/html", "application/json;q=0, text/csv;q=0", "image/*"])
async def test_unacceptable_media_type_is_406(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], accept: str
) -> None:
    response = await client.get(PATH, headers={**admin_headers, "Accept": accept})
    body = assert_problem(response, 406, "not-acceptable")
    assert "text/csv" in body["detail"]


@pytest.mark.parametrize(
    "accept",
    ["*/*", "application/json", "application/*", "text/csv;q=0.5, application/json", "application/json, text/csv"],
)
async def test_json_is_served_when_preferred_or_anything_goes(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], accept: str
) -> None:
    response = await client.get(PATH, headers={**admin_headers, "Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"items", "next_cursor"}


@pytest.mark.parametrize("accept", ["text/csv", "text/*", "application/json;q=0.2, text/csv;q=0.9"])
async def test_csv_is_served_when_preferred(
    client: httpx2.AsyncClient, admin_headers: dict[str, str], accept: str
) -> None:
    response = await client.get(PATH, headers={**admin_headers, "Accept": accept})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.startswith("id,name,kind,")


async def test_csv_still_needs_an_api_key(client: httpx2.AsyncClient) -> None:
    response = await client.get(PATH, headers={"Accept": "text/csv"})
    assert_problem(response, 401, "unauthorized")
