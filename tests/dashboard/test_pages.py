"""The public pages at /dashboard: the API's figures, in Spanish and English, escaped, self-contained."""

import base64
import hashlib
import html
import re
import uuid
from datetime import date
from typing import Any

import httpx2
import pytest

from app.dashboard.i18n import Locale
from tests.dashboard.dataset import TODAY, Dataset, counterpart
from tests.factories import World

NBSP = "\u00a0"
LONG_DATE_ES = "1 de marzo de 2026"  # TODAY, as es_MX writes it


async def page(client: httpx2.AsyncClient, url: str, status: int = 200, **params: str) -> str:
    response = await client.get(url, params=params)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return response.text


async def summary(client: httpx2.AsyncClient, **params: str) -> dict[str, Any]:
    response = await client.get("/v1/dashboard/summary", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def chart(document: str, chart_id: str) -> dict[str, int]:
    """A bar chart's rows: label -> the value its bar is drawn for."""
    found = re.search(rf'<ul class="bars" id="{chart_id}">(.*?)</ul>', document, re.S)
    assert found, f"no chart {chart_id}"
    rows = re.findall(
        r'<span class="bar-label">(.*?)</span>\s*<span class="bar-value" data-value="([0-9.]+)">', found.group(1), re.S
    )
    return {text_of(label): int(float(value)) for label, value in rows}


def kpi(document: str, kpi_id: str) -> str:
    found = re.search(rf'<div class="kpi" id="{kpi_id}"><span class="value">(.*?)</span>', document, re.S)
    assert found, f"no figure {kpi_id}"
    return text_of(found.group(1))


def section(document: str, element_id: str) -> str:
    found = re.search(rf'<section [^>]*id="{element_id}".*?</section>', document, re.S)
    assert found, f"no section {element_id}"
    return found.group(0)


def milestone_row(document: str, target_id: str, months: int) -> dict[str, str]:
    target = section(document, f"target-{target_id}")
    found = re.search(rf'<tr class="milestone" data-months="{months}" data-status="(\w+)">(.*?)</tr>', target, re.S)
    assert found, f"no {months}-month milestone"
    cells = dict(re.findall(r'<td[^>]*data-label="([^"]+)">(.*?)</td>', found.group(2), re.S))
    return {"status_code": found.group(1)} | {k: text_of(v) for k, v in cells.items()}


# --- overview ------------------------------------------------------------------------------------


async def test_overview_shows_the_api_figures_in_spanish(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    figures = await summary(client)
    document = await page(client, "/dashboard")
    assert '<html lang="es">' in document
    assert "Tablero público" in document
    assert kpi(document, "kpi-agreements") == str(figures["agreements"]) == "3"
    assert kpi(document, "kpi-milestones-met") == f"{figures['milestones']['by_status']['met']} de 18"
    assert figures["milestones"]["mean_attainment"] == 0.9831
    assert kpi(document, "kpi-mean-attainment") == "98.3%"
    assert chart(document, "chart-state") == {s["name"]: s["agreements"] for s in figures["by_state"]}
    assert chart(document, "chart-state") == {"Jalisco": 2, "Nuevo León": 1}
    assert chart(document, "chart-status") == {
        "Firmado": 0,
        "En vigor": 2,
        "Suspendido": 0,
        "Vencido": 0,
        "Retirado": 0,
        "Terminado": 1,
    }
    assert chart(document, "chart-registration") == {"Pendiente": 1, "En trámite": 1, "Registrado": 1, "Rechazado": 0}
    assert chart(document, "chart-subject") == {"Comercio": 2, "Turismo": 1, "Educación": 1, "Cultura": 1}
    assert chart(document, "chart-country") == {"Estados Unidos": 2, "Alemania": 1, "Polonia": 1}
    indicators = section(document, "key-indicators")
    for row in (
        ("Empresas atendidas", "29", "2"),
        # Babel es_MX: the peso keeps its "$" and its code; the dollar has no symbol of its own there.
        ("Cartera de inversión", f"$1,234,567.50{NBSP}MXN", "1"),
        ("Cartera de inversión", f"250.00{NBSP}USD", "1"),
        ("Mejoras de servicios públicos", "60 hours", "1"),
    ):
        assert '<tr><td>{}</td><td class="num">{}</td><td class="num">{}</td></tr>'.format(*row) in indicators
    milestones = section(document, "milestones")
    for status, label in (("met", "Cumplido"), ("partially_met", "Cumplido en parte"), ("not_met", "No cumplido")):
        count = figures["milestones"]["by_status"][status]
        assert f'<li data-status="{status}">' in milestones
        assert f"{label}: <strong>{count}</strong>" in milestones
    assert "Programado: <strong>9</strong>" in milestones
    assert "Cifras al" in document
    assert "Cifras al <time" in document
    assert f'<time datetime="{TODAY.isoformat()}">{LONG_DATE_ES}</time>' in document


async def test_overview_in_english(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    document = await page(client, "/dashboard", lang="en")
    assert '<html lang="en">' in document
    assert "Public dashboard" in document
    assert "Tablero público" not in document
    assert kpi(document, "kpi-mean-attainment") == "98.3%"
    assert kpi(document, "kpi-milestones-met") == "4 of 18"
    assert chart(document, "chart-status")["In force"] == 2
    assert chart(document, "chart-country") == {"United States": 2, "Germany": 1, "Poland": 1}
    assert chart(document, "chart-state") == {"Jalisco": 2, "Nuevo León": 1}
    assert f'<td class="num">MX$1,234,567.50{NBSP}MXN</td>' in section(document, "key-indicators")
    assert f'<td class="num">$250.00{NBSP}USD</td>' in section(document, "key-indicators")
    # Links keep the language; the switch goes back to Spanish.
    assert f'href="/dashboard/agreements/{dataset.agreements["A1"]}?lang=en"' in document
    assert 'href="/dashboard?state=MX-JAL&amp;lang=en"' in document
    assert '<a href="/dashboard?lang=es" hreflang="es"' in document


async def test_overview_lists_public_agreements_only(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    document = await page(client, "/dashboard")
    listed = re.findall(r'href="/dashboard/agreements/([0-9a-f-]+)"', document)
    assert listed == [dataset.agreements[a] for a in ("A2", "A1", "A4")], "latest signed first"
    assert "Borrador privado" not in document


async def test_overview_filtered_by_state(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    figures = await summary(client, state="MX-NLE")
    document = await page(client, "/dashboard", state="MX-NLE")
    assert "<h1>Tablero público: Nuevo León</h1>" in document
    assert kpi(document, "kpi-agreements") == str(figures["agreements"]) == "1"
    assert chart(document, "chart-state") == {"Nuevo León": 1}
    assert '<option value="MX-NLE" selected>' in document
    assert set(re.findall(r'href="/dashboard/agreements/([0-9a-f-]+)"', document)) == {dataset.agreements["A2"]}
    assert 'href="/v1/dashboard/summary?state=MX-NLE"' in document


async def test_unknown_language_falls_back_to_spanish(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    assert '<html lang="es">' in await page(client, "/dashboard", lang="fr")
    assert '<html lang="en">' in await page(client, "/dashboard", lang="EN")


async def test_empty_registry(client: httpx2.AsyncClient) -> None:
    document = await page(client, "/dashboard")
    assert kpi(document, "kpi-agreements") == "0"
    assert kpi(document, "kpi-mean-attainment") == "—"
    assert "Sin datos todavía." in document


# --- agreement page --------------------------------------------------------------------------------


async def test_agreement_page_shows_progress_and_evidence(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    a1 = dataset.agreements["A1"]
    targets = (await client.get(f"/v1/agreements/{a1}/targets")).json()["items"]
    document = await page(client, f"/dashboard/agreements/{a1}")
    assert "<h1>Hermanamiento Guadalajara - Kraków</h1>" in document
    assert "Kraków (Polonia); Łódź (Polonia); San Antonio (Estados Unidos)" in document
    assert "<dd>Registrado</dd>" in document
    assert "<dd>Jalisco</dd>" in document
    t1, t2 = dataset.targets["T1"], dataset.targets["T2"]
    # Each milestone as the targets API evaluates it.
    for target in targets:
        for milestone in target["milestones"]:
            row = milestone_row(document, target["id"], milestone["months"])
            assert row["status_code"] == milestone["status"]
            assert row["Vence"] == Locale("es").date(date.fromisoformat(milestone["due_on"]))
    assert milestone_row(document, t1, 12) == {
        "status_code": "partially_met",
        "Meses": "12",
        "Vence": "15 de enero de 2026",
        "Meta": "25",
        "Real": "20",
        "Situación": "Cumplido en parte",
        "Logro": "80%",
    }
    assert milestone_row(document, t2, 6)["Real"] == f"$1,234,567.50{NBSP}MXN"
    assert milestone_row(document, t2, 6)["Logro"] == "123.5%"
    # The reported, unverified 40 is nowhere.
    assert '<dd class="latest">20 (1 de diciembre de 2025)</dd>' in section(document, f"target-{t1}")
    assert ">40<" not in document
    # The evidence behind T1: its own document and the one its verified measurement cites.
    behind_t1 = section(document, f"target-{t1}")
    for name in ("E1", "E1B"):
        evidence = dataset.evidence[name]
        assert evidence["sha256"] in behind_t1
        assert f'href="/v1/evidence/{evidence["id"]}/content"' in behind_t1
        assert f'href="/v1/evidence/{evidence["id"]}/provenance"' in behind_t1
    # Submitted (not accepted) evidence is not public, even behind a verified measurement.
    assert dataset.evidence["E3"]["sha256"] not in document
    # The signed text backs no target: listed apart, once.
    e2 = dataset.evidence["E2"]["sha256"]
    assert e2 in section(document, "other-documents")
    assert document.count(e2) == 1


async def test_agreement_page_links_work(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    document = await page(client, f"/dashboard/agreements/{dataset.agreements['A1']}")
    evidence = dataset.evidence["E1"]
    download = await client.get(f"/v1/evidence/{evidence['id']}/content")
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == evidence["sha256"]
    assert download.content == dataset.contents["E1"]
    provenance = await client.get(f"/v1/evidence/{evidence['id']}/provenance")
    assert provenance.status_code == 200
    log_index = provenance.json()["log_index"]
    proof_link = re.search(
        rf'href="(/v1/log/proofs/inclusion\?index={log_index}&amp;tree_size=\d+)"',
        section(document, "target-" + dataset.targets["T1"]),
    )
    assert proof_link, "the inclusion proof of the upload's log entry"
    proof = await client.get(html.unescape(proof_link.group(1)))
    assert proof.status_code == 200, proof.text
    assert proof.json()["leaf_hash"] == provenance.json()["entry"]["leaf_hash"]


async def test_agreement_page_in_english(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    a2 = dataset.agreements["A2"]
    document = await page(client, f"/dashboard/agreements/{a2}", lang="en")
    assert '<html lang="en">' in document
    assert "Targets and progress" in document
    t3, t4, t5, t6 = (dataset.targets[t] for t in ("T3", "T4", "T5", "T6"))
    assert milestone_row(document, t3, 6) == {
        "status_code": "partially_met",
        "Months": "6",
        "Due": "September 1, 2025",
        "Target": "15",
        "Actual": "9",
        "Status": "Partially met",
        "Attainment": "40%",
    }
    assert milestone_row(document, t3, 12)["Status"] == "Scheduled", "due today: not yet late"
    assert milestone_row(document, t4, 12)["Status"] == "Met", "met early"
    assert milestone_row(document, t5, 6)["Status"] == "Not met"
    assert milestone_row(document, t6, 6)["Actual"] == "60 hours"
    # Rejected evidence is not public; accepted evidence behind two targets shows under both.
    assert dataset.evidence["E5"]["sha256"] not in document
    e6 = dataset.evidence["E6"]["sha256"]
    assert e6 in section(document, f"target-{t4}")
    assert e6 in section(document, f"target-{t6}")


@pytest.mark.parametrize("lang", ["es", "en"])
async def test_non_public_or_unknown_agreements_are_404_pages(
    client: httpx2.AsyncClient, dataset: Dataset, lang: str
) -> None:
    expected = Locale(lang)
    for agreement_id in (dataset.agreements["A3"], str(uuid.uuid4()), "not-a-uuid"):
        document = await page(client, f"/dashboard/agreements/{agreement_id}", 404, lang=lang)
        assert f"<h1>{expected['not_found_title']}</h1>" in document
        assert expected["not_found"] in document
        assert "Borrador privado" not in document
    state = await page(client, "/dashboard", 404, state="MX-XYZ", lang=lang)
    assert expected["not_found_state"] in state


async def test_a_bad_key_is_refused_on_the_pages_too(client: httpx2.AsyncClient) -> None:
    response = await client.get("/dashboard", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


# --- escaping, self-containment --------------------------------------------------------------------


HOSTILE = '<script>alert("pwned")</script> & <img src=x onerror=alert(1)>'


async def test_hostile_text_is_escaped(client: httpx2.AsyncClient, world: World) -> None:
    admin = world.headers("admin")
    created = await client.post(
        "/v1/agreements",
        json={
            "title": f"Acuerdo {HOSTILE}",
            "instrument": "sister_city",
            "signatory_org_id": str(world.signatory.id),
            "counterparts": [counterpart(f"Ciudad {HOSTILE}", "FR") | {"region": HOSTILE}],
            "summary": HOSTILE,
            "signed_on": "2025-01-15",
            "signed_place": HOSTILE,
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    agreement_id = created.json()["id"]
    target = await client.post(
        f"/v1/agreements/{agreement_id}/targets",
        json={
            "indicator": "custom",
            "title": f"Meta {HOSTILE}",
            "measure": "count",
            "unit": '"><script>',
            "milestones": [{"months": 6, "target_value": 1}],
        },
        headers=admin,
    )
    assert target.status_code == 201, target.text
    uploaded = await client.post(
        f"/v1/agreements/{agreement_id}/evidence",
        files={"file": (f"{HOSTILE}.txt", b"contenido", "text/plain")},
        data={"title": f"Evidencia {HOSTILE}", "document_type": "other"},
        headers=admin,
    )
    assert uploaded.status_code == 201, uploaded.text
    reviewed = await client.post(
        f"/v1/evidence/{uploaded.json()['id']}/review", json={"decision": "accepted"}, headers=admin
    )
    assert reviewed.status_code == 200, reviewed.text
    for document in (
        await page(client, "/dashboard"),
        await page(client, f"/dashboard/agreements/{agreement_id}"),
        await page(client, f"/dashboard/agreements/{agreement_id}", lang="en"),
    ):
        assert "<script" not in document.lower()
        assert "<img" not in document.lower()
        assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in document
    agreement_page = await page(client, f"/dashboard/agreements/{agreement_id}")
    assert (
        f"<h1>Acuerdo {html.escape(HOSTILE, quote=True).replace('&quot;', '&#34;').replace('&#x27;', '&#39;')}</h1>"
        in (agreement_page)
    )


async def test_pages_are_self_contained(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    for url, params in (
        ("/dashboard", {}),
        ("/dashboard", {"lang": "en"}),
        (f"/dashboard/agreements/{dataset.agreements['A1']}", {}),
    ):
        response = await client.get(url, params=params)
        document = response.text
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in document
        assert "<script" not in document
        # Nothing loaded from elsewhere: every link and source is same-site.
        for attribute in re.findall(r'(?:href|src|action)="([^"]*)"', document):
            assert attribute.startswith("/"), attribute
        assert "<link" not in document
        assert "@import" not in document
        assert "url(" not in document
        # The one inline stylesheet is allowed by its hash, and nothing else is.
        style = re.search(r"<style>(.*?)</style>", document, re.S)
        assert style
        digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
        policy = response.headers["content-security-policy"]
        assert f"style-src 'sha256-{digest}'" in policy
        assert "default-src 'none'" in policy
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_pages_are_not_in_the_openapi_document(client: httpx2.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/v1/dashboard/summary" in paths
    assert not [p for p in paths if p.startswith("/dashboard")]


@pytest.mark.parametrize(
    ("value", "es", "en"),
    [
        # Mexico writes numbers as the United States does (Babel es_MX), not as Spain does.
        (1234.5, "1,234.5", "1,234.5"),
        (1234567.5, "1,234,567.5", "1,234,567.5"),
        (29, "29", "29"),
        (0.126, "0.13", "0.13"),
        (-1500, "-1,500", "-1,500"),
        (0, "0", "0"),
        (None, "—", "—"),
    ],
)
def test_numbers_are_written_for_the_language(value: float | None, es: str, en: str) -> None:
    assert Locale("es").num(value) == es
    assert Locale("en").num(value) == en


# --- languages -------------------------------------------------------------------------------------


async def test_pages_follow_accept_language_unless_lang_names_one(client: httpx2.AsyncClient, dataset: Dataset) -> None:
    english = await client.get("/dashboard", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in english.text
    assert english.headers["content-language"] == "en-US"
    assert "Accept-Language" in english.headers["vary"]
    spanish = await client.get("/dashboard", headers={"Accept-Language": "es-419,en;q=0.5"})
    assert '<html lang="es">' in spanish.text
    assert spanish.headers["content-language"] == "es-MX"
    # ?lang= (the switch's links) wins over the browser's preference.
    chosen = await client.get("/dashboard", params={"lang": "es"}, headers={"Accept-Language": "en"})
    assert '<html lang="es">' in chosen.text
    assert "Tablero público" in chosen.text
    # Nothing we speak: the default, Spanish.
    other = await client.get("/dashboard", headers={"Accept-Language": "fr-FR, de;q=0.8"})
    assert '<html lang="es">' in other.text


async def test_dates_and_money_written_by_babel_on_the_agreement_page(
    client: httpx2.AsyncClient, dataset: Dataset
) -> None:
    a1 = dataset.agreements["A1"]
    spanish = await page(client, f"/dashboard/agreements/{a1}")
    english = await page(client, f"/dashboard/agreements/{a1}", lang="en")
    agreement = (await client.get(f"/v1/agreements/{a1}")).json()
    signed = date.fromisoformat(agreement["signed_on"])
    assert f"<dd>{Locale('es').date(signed)}</dd>" in spanish
    assert f"<dd>{Locale('en').date(signed)}</dd>" in english
    assert " de " in Locale("es").date(signed)
    assert agreement["signed_on"] not in re.sub(r'datetime="[^"]*"', "", spanish)


@pytest.mark.parametrize(
    ("value", "unit", "es", "en"),
    [
        (1234.5, "MXN", f"$1,234.50{NBSP}MXN", f"MX$1,234.50{NBSP}MXN"),
        (1234.5, "USD", f"1,234.50{NBSP}USD", f"$1,234.50{NBSP}USD"),
        (1234.5, "companies", "1,234.5 companies", "1,234.5 companies"),
        (None, "MXN", "—", "—"),
    ],
)
def test_money_is_written_by_babel(value: float | None, unit: str, es: str, en: str) -> None:
    assert Locale("es").amount(value, unit) == es
    assert Locale("en").amount(value, unit) == en


def test_dates_are_written_by_babel() -> None:
    assert Locale("es").date(date(2023, 1, 1)) == "1 de enero de 2023"
    assert Locale("en").date(date(2023, 1, 1)) == "January 1, 2023"
