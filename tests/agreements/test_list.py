"""GET /v1/agreements: every filter alone and combined, keyset pagination for every sort, Spanish
full-text search, visibility, CSV export, and refusals of bad filter values."""

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI

import app.http.csv
from app.agreements.router import CSV_COLUMNS
from app.http.csv import header
from app.models import Organization, OrganizationKind
from tests.conftest import MakeKey, MakeOrg
from tests.factories import (
    AGREEMENTS,
    TODAY,
    World,
    add_registration,
    add_review,
    assert_problem,
    counterpart,
    create_agreement,
    make_world,
    pin_today,
    walk,
)

SORTS = ("-updated_at", "updated_at", "signed_on", "-signed_on", "title")


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@dataclass(frozen=True, slots=True)
class Catalogue:
    world: World
    zapopan: Organization
    ids: dict[str, str]  # letter -> agreement id
    updated_at: dict[str, str]  # letter -> updated_at once everything is written

    def letters(self, items: list[dict[str, Any]]) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[i["id"]] for i in items]


@pytest.fixture
async def catalogue(client: httpx2.AsyncClient, make_org: MakeOrg, make_key: MakeKey) -> Catalogue:
    """Eight agreements of three signatories in two states, one per situation a portal meets.

    A  in_force    registered      Guadalajara  sister_city       PL           signed 2020-03-01
    B  in_force    submitted       Guadalajara  cooperation       US, CA       signed 2022-07-10
    C  expired     pending         Monterrey    sister_city       US           signed 2019-01-01
    D  draft       not_applicable  Monterrey    memorandum        ES
    E  signed      rejected        Zapopan      letter_of_intent  JP           signed 2025-06-01
    F  under_review not_applicable Guadalajara  cooperation       IT
    G  in_force    pending         Guadalajara  other             CL           signed 2021-05-05
    H  terminated  pending         Guadalajara  other             PE           signed 2021-05-05
    """
    world = await make_world(make_org, make_key)
    zapopan = await make_org(OrganizationKind.municipality, inegi_code="14120", name="Municipio de Zapopan")
    admin = world.headers("admin")
    gdl, mty = world.signatory.id, world.other.id
    specs: dict[str, tuple[uuid.UUID, dict[str, Any]]] = {
        "A": (
            gdl,
            {
                "title": "Alfa: Hermanamiento Guadalajara - Kraków: Cooperación Económica",
                "instrument": "sister_city",
                "subject_areas": ["trade", "culture"],
                "counterparts": [counterpart("Kraków", "PL")],
                "signed_on": "2020-03-01",
            },
        ),
        "B": (
            gdl,
            {
                "title": "Bravo: Acuerdo de intercambio académico",
                "instrument": "cooperation",
                "summary": "Intercambio de estudiantes universitarios y profesores.",
                "subject_areas": ["education", "academic_exchange"],
                "counterparts": [counterpart("City of San Antonio", "US"), counterpart("Ville de Québec", "CA")],
                "signed_on": "2022-07-10",
            },
        ),
        "C": (
            mty,
            {
                "title": "Charlie: Hermanamiento Monterrey - Houston",
                "instrument": "sister_city",
                "subject_areas": ["trade"],
                "counterparts": [counterpart("City of Houston", "US")],
                "signed_on": "2019-01-01",
                "expires_on": "2024-01-01",
            },
        ),
        "D": (
            mty,
            {
                "title": "Delta: Memorándum de salud pública",
                "instrument": "memorandum",
                "subject_areas": ["health"],
                "counterparts": [counterpart("Ayuntamiento de Madrid", "ES")],
                "participant_org_ids": [str(world.participant.id)],
            },
        ),
        "E": (
            zapopan.id,
            {
                "title": "Echo: Carta de intención sobre agua",
                "instrument": "letter_of_intent",
                "subject_areas": ["water"],
                "counterparts": [counterpart("Ciudad de Osaka", "JP")],
                "signed_on": "2025-06-01",
                "entry_into_force_on": "2025-09-01",
            },
        ),
        "F": (
            gdl,
            {
                "title": "Foxtrot: Cooperación técnica en movilidad",
                "instrument": "cooperation",
                "subject_areas": ["mobility"],
                "counterparts": [counterpart("Comune di Torino", "IT")],
            },
        ),
        "G": (
            gdl,
            {
                "title": "Hotel: Acuerdo marco",
                "instrument": "other",
                "subject_areas": ["other"],
                "counterparts": [counterpart("Municipalidad de Santiago", "CL")],
                "signed_on": "2021-05-05",
            },
        ),
        "H": (
            gdl,
            {
                "title": "Hotel: Acuerdo marco",
                "instrument": "other",
                "subject_areas": ["other"],
                "counterparts": [counterpart("Municipalidad de Lima", "PE")],
                "signed_on": "2021-05-05",
                "terminated_on": "2024-12-31",
                "termination_reason": "Sin actividad desde 2022.",
            },
        ),
    }
    ids = {}
    for letter, (signatory, fields) in specs.items():
        ids[letter] = (await create_agreement(client, admin, signatory, **fields))["id"]
    await add_registration(
        client,
        admin,
        ids["A"],
        submitted_on="2020-04-01",
        status="registered",
        registered_on="2020-06-01",
        registry_number="SRE-1",
    )
    await add_registration(client, admin, ids["B"], submitted_on="2022-08-01")
    await add_registration(client, admin, ids["E"], submitted_on="2025-06-05", status="rejected")
    await add_review(client, admin, ids["F"])
    items = await walk(client, AGREEMENTS, admin, limit=200)
    updated = {i["id"]: i["updated_at"] for i in items}
    return Catalogue(world, zapopan, ids, {k: updated[v] for k, v in ids.items()})


def sort_key(sort: str, item: dict[str, Any]) -> tuple[Any, ...]:
    """The order API.md promises, with the id breaking ties."""
    tie = uuid.UUID(item["id"])
    field = sort.lstrip("-")
    if field == "updated_at":
        return (datetime.fromisoformat(item["updated_at"]), tie)
    if field == "signed_on":
        return (date.fromisoformat(item["signed_on"] or "0001-01-01"), tie)
    return (item["title"], tie)


def assert_sorted(sort: str, items: list[dict[str, Any]]) -> None:
    keys = [sort_key(sort, i) for i in items]
    assert keys == sorted(keys, reverse=sort.startswith("-")), sort


ALL = set("ABCDEFGH")

FILTERS = [
    pytest.param({}, ALL, id="no-filter"),
    pytest.param({"status": "in_force"}, {"A", "B", "G"}, id="status"),
    pytest.param({"status": ["in_force", "expired"]}, {"A", "B", "C", "G"}, id="status-repeated"),
    pytest.param({"status": "draft"}, {"D"}, id="status-draft"),
    pytest.param({"status": "under_review"}, {"F"}, id="status-under-review"),
    pytest.param({"status": "signed"}, {"E"}, id="status-signed"),
    pytest.param({"status": ["terminated", "withdrawn"]}, {"H"}, id="status-terminated"),
    pytest.param({"status": "not_viable"}, set(), id="status-none-match"),
    pytest.param({"registration_status": "registered"}, {"A"}, id="registration-registered"),
    pytest.param({"registration_status": "submitted"}, {"B"}, id="registration-submitted"),
    pytest.param({"registration_status": "pending"}, {"C", "G", "H"}, id="registration-pending"),
    pytest.param({"registration_status": "rejected"}, {"E"}, id="registration-rejected"),
    pytest.param({"registration_status": "not_applicable"}, {"D", "F"}, id="registration-not-applicable"),
    pytest.param({"instrument": "sister_city"}, {"A", "C"}, id="instrument"),
    pytest.param({"instrument": "cooperation"}, {"B", "F"}, id="instrument-cooperation"),
    pytest.param({"subject_area": "trade"}, {"A", "C"}, id="subject-area"),
    pytest.param({"subject_area": "academic_exchange"}, {"B"}, id="subject-area-second-listed"),
    pytest.param({"signatory_org_id": "gdl"}, {"A", "B", "F", "G", "H"}, id="signatory"),
    pytest.param({"signatory_org_id": "mty"}, {"C", "D"}, id="signatory-other"),
    pytest.param({"state": "MX-JAL"}, {"A", "B", "E", "F", "G", "H"}, id="state"),
    pytest.param({"state": "MX-NLE"}, {"C", "D"}, id="state-other"),
    pytest.param({"state": "MX-YUC"}, set(), id="state-without-agreements"),
    pytest.param({"counterpart_country": "US"}, {"B", "C"}, id="counterpart-country"),
    pytest.param({"counterpart_country": "CA"}, {"B"}, id="counterpart-country-second-counterpart"),
    pytest.param({"signed_from": "2021-05-05"}, {"B", "E", "G", "H"}, id="signed-from-inclusive"),
    pytest.param({"signed_to": "2021-05-05"}, {"A", "C", "G", "H"}, id="signed-to-inclusive"),
    pytest.param({"signed_from": "2020-01-01", "signed_to": "2022-12-31"}, {"A", "B", "G", "H"}, id="signed-range"),
    pytest.param({"q": "cooperacion"}, {"A", "F"}, id="q-accent-insensitive"),
    pytest.param({"q": "COOPERACIÓN"}, {"A", "F"}, id="q-case-insensitive"),
    pytest.param({"q": "economicas"}, {"A"}, id="q-stemmed-plural"),
    pytest.param({"q": "krakow"}, {"A"}, id="q-krakow"),
    pytest.param({"q": "universitario"}, {"B"}, id="q-summary"),
    pytest.param({"q": "quebec"}, {"B"}, id="q-counterpart-name"),
    pytest.param({"q": "osaka"}, {"E"}, id="q-counterpart-only"),
    pytest.param({"q": "hermanamientos"}, {"A", "C"}, id="q-hermanamientos"),
    pytest.param({"q": "cooperación técnica"}, {"F"}, id="q-all-words"),
    pytest.param({"q": "tratado"}, set(), id="q-no-match"),
    pytest.param({"q": "cooperacion -tecnica"}, {"A"}, id="q-web-search-negation"),
    pytest.param({"q": '"intercambio academico"'}, {"B"}, id="q-web-search-phrase"),
    pytest.param({"q": "coop & (:*"}, set(), id="q-operators-are-plain-text"),
    pytest.param(
        {"status": "in_force", "state": "MX-JAL", "counterpart_country": "US"}, {"B"}, id="status+state+country"
    ),
    pytest.param({"instrument": "sister_city", "signed_to": "2019-12-31"}, {"C"}, id="instrument+signed-to"),
    pytest.param({"q": "hermanamiento", "state": "MX-JAL"}, {"A"}, id="q+state"),
    pytest.param({"q": "cooperacion", "status": "under_review"}, {"F"}, id="q+status"),
    pytest.param({"subject_area": "trade", "registration_status": "pending"}, {"C"}, id="subject+registration"),
    pytest.param(
        {"signatory_org_id": "gdl", "signed_from": "2021-01-01", "status": ["in_force", "terminated"]},
        {"B", "G", "H"},
        id="signatory+signed-from+statuses",
    ),
    pytest.param(
        {"registration_status": ["pending", "rejected"], "instrument": "other", "subject_area": "other"},
        {"G", "H"},
        id="registrations+instrument+subject",
    ),
    pytest.param({"state": "MX-NLE", "status": "draft", "q": "salud"}, {"D"}, id="state+status+q"),
]


def resolve(params: dict[str, Any], catalogue: Catalogue) -> dict[str, Any]:
    orgs = {"gdl": str(catalogue.world.signatory.id), "mty": str(catalogue.world.other.id)}
    return {k: orgs.get(v, v) if k == "signatory_org_id" else v for k, v in params.items()}


@pytest.mark.parametrize(("params", "expected"), FILTERS)
async def test_filters_alone_and_combined_for_every_sort_and_page(
    client: httpx2.AsyncClient, catalogue: Catalogue, params: dict[str, Any], expected: set[str]
) -> None:
    headers = catalogue.world.headers("auditor")
    query = resolve(params, catalogue)
    whole = await client.get(AGREEMENTS, params={**query, "limit": 200}, headers=headers)
    assert whole.status_code == 200, whole.text
    assert set(catalogue.letters(whole.json()["items"])) == expected
    for sort in SORTS:
        walked = await walk(client, AGREEMENTS, headers, {**query, "sort": sort}, limit=2)
        letters = catalogue.letters(walked)
        assert len(letters) == len(set(letters)), f"duplicates with sort {sort}"
        assert set(letters) == expected, sort
        assert_sorted(sort, walked)


async def test_default_sort_is_most_recently_updated_first(client: httpx2.AsyncClient, catalogue: Catalogue) -> None:
    items = (await client.get(AGREEMENTS, headers=catalogue.world.headers("auditor"))).json()["items"]
    assert len(items) == 8
    assert_sorted("-updated_at", items)
    # The writes to registrations and reviews moved their agreements to the top.
    assert set(catalogue.letters(items[:4])) == {"A", "B", "E", "F"}


async def test_title_sort_breaks_ties_by_id_and_orders_by_title(
    client: httpx2.AsyncClient, catalogue: Catalogue
) -> None:
    items = await walk(client, AGREEMENTS, catalogue.world.headers("auditor"), {"sort": "title"}, limit=1)
    letters = catalogue.letters(items)
    assert letters[:6] == ["A", "B", "C", "D", "E", "F"]
    assert set(letters[6:]) == {"G", "H"}


async def test_signed_on_sort_puts_unsigned_first_ascending_and_last_descending(
    client: httpx2.AsyncClient, catalogue: Catalogue
) -> None:
    headers = catalogue.world.headers("auditor")
    ascending = catalogue.letters(await walk(client, AGREEMENTS, headers, {"sort": "signed_on"}, limit=3))
    descending = catalogue.letters(await walk(client, AGREEMENTS, headers, {"sort": "-signed_on"}, limit=3))
    assert set(ascending[:2]) == {"D", "F"}
    assert ascending[2:4] == ["C", "A"]
    assert ascending[-1] == "E"
    assert descending == list(reversed(ascending))


async def test_updated_since_is_strictly_after(client: httpx2.AsyncClient, catalogue: Catalogue) -> None:
    headers = catalogue.world.headers("auditor")
    by_time = sorted(catalogue.updated_at.items(), key=lambda kv: datetime.fromisoformat(kv[1]))
    for position, (letter, moment) in enumerate(by_time):
        later = {other for other, _ in by_time[position + 1 :]}
        for sort in ("updated_at", "-signed_on"):
            walked = await walk(client, AGREEMENTS, headers, {"updated_since": moment, "sort": sort}, limit=2)
            assert set(catalogue.letters(walked)) == later, (letter, sort)
    # Combined with another filter.
    first_moment = by_time[0][1]
    walked = await walk(client, AGREEMENTS, headers, {"updated_since": first_moment, "state": "MX-NLE"})
    assert set(catalogue.letters(walked)) == {"C", "D"} - {by_time[0][0]}


async def test_updated_since_accepts_any_utc_offset(client: httpx2.AsyncClient, catalogue: Catalogue) -> None:
    headers = catalogue.world.headers("auditor")
    oldest_letter, oldest = min(catalogue.updated_at.items(), key=lambda kv: datetime.fromisoformat(kv[1]))
    in_mexico_city = datetime.fromisoformat(oldest).astimezone(timezone(timedelta(hours=-6))).isoformat()
    walked = await walk(client, AGREEMENTS, headers, {"updated_since": in_mexico_city})
    assert set(catalogue.letters(walked)) == ALL - {oldest_letter}


async def test_updated_since_sees_writes_to_reviews_and_registrations(
    client: httpx2.AsyncClient, catalogue: Catalogue
) -> None:
    headers = catalogue.world.headers("admin")
    newest = max(catalogue.updated_at.values(), key=datetime.fromisoformat)
    assert (await client.get(AGREEMENTS, params={"updated_since": newest}, headers=headers)).json()["items"] == []
    await add_review(client, headers, catalogue.ids["C"], kind="sre_dictamen", requested_on="2018-10-01")
    await add_registration(client, headers, catalogue.ids["G"])
    synced = (await client.get(AGREEMENTS, params={"updated_since": newest}, headers=headers)).json()["items"]
    assert set(catalogue.letters(synced)) == {"C", "G"}


async def test_keyset_pages_neither_repeat_nor_skip_when_rows_arrive_meanwhile(
    client: httpx2.AsyncClient, catalogue: Catalogue
) -> None:
    headers = catalogue.world.headers("admin")
    first = (await client.get(AGREEMENTS, params={"limit": 3}, headers=headers)).json()
    # A new agreement is created between the pages: it sorts before the cursor, so it is not in
    # this walk, and nothing already seen comes back.
    await create_agreement(client, headers, catalogue.world.signatory.id, title="India: nuevo")
    rest = await walk(client, AGREEMENTS, headers, {"cursor": first["next_cursor"]}, limit=3)
    seen = catalogue.letters(first["items"]) + catalogue.letters(rest)
    assert sorted(seen) == sorted(ALL)


async def test_link_header_points_at_the_next_page(client: httpx2.AsyncClient, catalogue: Catalogue) -> None:
    headers = catalogue.world.headers("admin")
    response = await client.get(AGREEMENTS, params={"limit": 5, "status": "in_force"}, headers=headers)
    page = response.json()
    assert len(page["items"]) == 3
    assert page["next_cursor"] is None
    response = await client.get(AGREEMENTS, params={"limit": 2, "status": "in_force"}, headers=headers)
    page = response.json()
    link = response.headers["link"]
    assert link.endswith('>; rel="next"')
    following = await client.get(link[1 : link.index(">")], headers=headers)
    assert following.status_code == 200
    assert set(catalogue.letters(page["items"] + following.json()["items"])) == {"A", "B", "G"}


# --- q, more closely -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "query"),
    [
        ("Cooperación Económica con Kraków", "cooperacion"),
        ("Cooperación Económica con Kraków", "economicas"),
        ("Cooperación Económica con Kraków", "Krakow"),
        ("Promoción de inversiones", "inversion"),
        ("Programa de capacitación técnica", "CAPACITACION"),
        ("Festival por la niñez", "ninez"),
    ],
)
async def test_q_is_spanish_aware_and_accent_insensitive(
    client: httpx2.AsyncClient, make_org: MakeOrg, make_key: MakeKey, title: str, query: str
) -> None:
    world = await make_world(make_org, make_key)
    found = await create_agreement(
        client, world.headers("editor"), world.signatory.id, title=title, signed_on="2024-01-01"
    )
    await create_agreement(
        client,
        world.headers("editor"),
        world.signatory.id,
        title="Intercambio deportivo",
        counterparts=[counterpart("Ciudad de Lyon", "FR")],
        signed_on="2024-01-01",
    )
    items = (await client.get(AGREEMENTS, params={"q": query})).json()["items"]
    assert [i["id"] for i in items] == [found["id"]]


# --- visibility ------------------------------------------------------------------------------------

PUBLIC = {"A", "B", "C", "E", "G", "H"}


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("anonymous", PUBLIC),
        ("admin", ALL),
        ("auditor", ALL),
        ("editor", PUBLIC | {"F"}),
        ("legal_reviewer", PUBLIC | {"F"}),
        ("other_editor", PUBLIC | {"D"}),
        ("participant", PUBLIC | {"D"}),
        ("outsider", PUBLIC),
    ],
)
async def test_each_caller_lists_what_it_may_see(
    client: httpx2.AsyncClient, catalogue: Catalogue, actor: str, expected: set[str]
) -> None:
    headers = catalogue.world.headers(actor)
    for sort in SORTS:
        walked = await walk(client, AGREEMENTS, headers, {"sort": sort}, limit=2)
        assert sorted(catalogue.letters(walked)) == sorted(expected), sort
    drafts = await walk(client, AGREEMENTS, headers, {"status": ["draft", "under_review"]})
    assert set(catalogue.letters(drafts)) == expected - PUBLIC


# --- CSV -------------------------------------------------------------------------------------------


def parse_csv(body: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body)))


async def test_csv_streams_every_matching_row_across_pages(
    client: httpx2.AsyncClient, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.http.csv, "CSV_PAGE_SIZE", 2)
    headers = {**catalogue.world.headers("auditor"), "Accept": "text/csv"}
    response = await client.get(AGREEMENTS, params={"limit": 1}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.splitlines()[0] == ",".join(header(CSV_COLUMNS))
    rows = parse_csv(response.text)
    assert sorted(catalogue.letters([{"id": r["id"]} for r in rows])) == sorted(ALL)
    json_items = await walk(client, AGREEMENTS, catalogue.world.headers("auditor"), limit=200)
    assert [r["id"] for r in rows] == [i["id"] for i in json_items]  # same rows, same order
    a = next(r for r in rows if r["id"] == catalogue.ids["A"])
    assert (a["status"], a["registration_status"], a["signed_on"]) == ("in_force", "registered", "2020-03-01")
    assert a["subject_areas"] == "trade;culture"
    assert "Kraków" in a["counterparts"]  # readable text, and the first ones in columns of their own
    assert (a["counterpart_1_name"], a["counterpart_1_country"], a["counterpart_2_name"]) == ("Kraków", "PL", "")


async def test_csv_honours_filters_sort_and_visibility(
    client: httpx2.AsyncClient, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.http.csv, "CSV_PAGE_SIZE", 2)
    response = await client.get(
        AGREEMENTS,
        params={"state": "MX-JAL", "sort": "signed_on"},
        headers={"Accept": "text/csv"},  # anonymous: no drafts
    )
    assert response.status_code == 200, response.text
    rows = parse_csv(response.text)
    assert catalogue.letters([{"id": r["id"]} for r in rows])[0] == "A"
    assert set(catalogue.letters([{"id": r["id"]} for r in rows])) == {"A", "B", "E", "G", "H"}
    response = await client.get(AGREEMENTS, params={"status": "draft"}, headers={"Accept": "text/csv"})
    assert parse_csv(response.text) == []
    assert response.text.splitlines() == [",".join(header(CSV_COLUMNS))]


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "active"}, "status"),
        ({"status": ["in_force", "bogus"]}, "status"),
        ({"registration_status": "done"}, "registration_status"),
        ({"instrument": "treaty"}, "instrument"),
        ({"subject_area": "space"}, "subject_area"),
        ({"signatory_org_id": "guadalajara"}, "signatory_org_id"),
        ({"state": "Jalisco"}, "state"),
        ({"state": "mx-jal"}, "state"),
        ({"counterpart_country": "POL"}, "counterpart_country"),
        ({"counterpart_country": "pl"}, "counterpart_country"),
        ({"signed_from": "2024-13-01"}, "signed_from"),
        ({"signed_to": "yesterday"}, "signed_to"),
        ({"updated_since": "2025-01-01T00:00:00"}, "updated_since"),  # no offset: ambiguous
        ({"updated_since": "last week"}, "updated_since"),
        ({"q": ""}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"sort": "created_at"}, "sort"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
async def test_invalid_filter_values_are_422_naming_the_parameter(
    client: httpx2.AsyncClient, catalogue: Catalogue, params: dict[str, Any], field: str
) -> None:
    response = await client.get(AGREEMENTS, params=params, headers=catalogue.world.headers("admin"))
    problem = assert_problem(response, 422)
    assert any(e["loc"][:2] == ["query", field] for e in problem["errors"]), problem


async def test_a_cursor_of_another_sort_is_422(client: httpx2.AsyncClient, catalogue: Catalogue) -> None:
    headers = catalogue.world.headers("admin")
    cursor = (await client.get(AGREEMENTS, params={"limit": 1, "sort": "title"}, headers=headers)).json()["next_cursor"]
    assert cursor
    response = await client.get(AGREEMENTS, params={"cursor": cursor, "sort": "signed_on"}, headers=headers)
    assert_problem(response, 422, loc=["query", "cursor"])
