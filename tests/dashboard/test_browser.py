"""The public dashboard in a real headless browser: Debian's chromium driven by Playwright, against
the real service (uvicorn, the app factory) on its own migrated database.

The pages must load in Spanish and English, show the figures /v1/dashboard/summary gives, link
correctly (agreement, evidence download, provenance, inclusion proof), need no JavaScript, load
nothing from elsewhere and fit a phone. Screenshots go to a temporary folder, or to the folder
SCREENSHOTS_DIR names (docs/screenshots to refresh the committed ones).

Without /usr/bin/chromium the tests skip, saying why; in CI (CI=true) that is a failure instead.
"""

import asyncio
import hashlib
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, sync_playwright

from app.api_keys import service as key_service
from app.dashboard.i18n import Locale
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.models import Role
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from tests.browser import served
from tests.dashboard.dataset import Dataset, build

pytestmark = pytest.mark.slow

# A test run leaves the committed pictures alone unless asked to refresh them.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "pacta-screenshots")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: ViewportSize = {"width": 390, "height": 844}


def _require_chromium() -> None:
    if CHROMIUM.is_file():
        return
    reason = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser tests"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run them.")
    pytest.skip(reason)


async def _admin_key(database_url: str) -> str:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            platform = await org_service.get_organization(session, PLATFORM_ORG_ID)
            _, secret = await key_service.issue_key(
                session, platform, role=Role.admin, name="browser tests", expires_at=None, actor_org_id=PLATFORM_ORG_ID
            )
    finally:
        await engine.dispose()
    return secret


async def _load(base: str, database_url: str) -> Dataset:
    headers = {"Authorization": f"Bearer {await _admin_key(database_url)}"}
    async with httpx2.AsyncClient(base_url=base, timeout=30) as client:
        ids = []
        for name, inegi_code in (("Municipio de Guadalajara", "14039"), ("Municipio de Monterrey", "19039")):
            response = await client.post(
                "/v1/organizations",
                json={"name": name, "kind": "municipality", "inegi_code": inegi_code},
                headers=headers,
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        return await build(client, headers, jalisco=ids[0], nuevo_leon=ids[1])


@dataclass(frozen=True, slots=True)
class Service:
    base: str
    data: Dataset


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    """The real service on a free port, its database loaded with the known data set through its API."""
    _require_chromium()
    with served("pacta_browser") as running:
        # The loader runs its own event loop, off the thread of the test session's loop.
        with ThreadPoolExecutor(1) as pool:
            data = pool.submit(asyncio.run, _load(running.base, running.database_url)).result()
        yield Service(base=running.base, data=data)


@pytest.fixture(scope="module")
def playwright(service: Service) -> Iterator[Playwright]:
    """Started after the service (and so stopped before it): Playwright's sync driver keeps an event
    loop marked as running on this thread, where the database set-up and teardown run their own."""
    assert service.base
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


# The people who use the dashboard browse in Mexican Spanish: their browser says so (Accept-Language),
# and pages without ?lang= follow it.
USER_LOCALE = "es-MX"


@pytest.fixture
def context(browser: Browser, service: Service) -> Iterator[BrowserContext]:
    """A desktop browser that may only reach the service: any other request fails the test."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True, locale=USER_LOCALE)
    yield from _guarded(ctx, service)


@pytest.fixture
def phone(browser: Browser, service: Service) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale=USER_LOCALE)
    yield from _guarded(ctx, service)


def _guarded(ctx: BrowserContext, service: Service) -> Iterator[BrowserContext]:
    elsewhere: list[str] = []
    ctx.on("request", lambda request: None if request.url.startswith(service.base) else elsewhere.append(request.url))
    try:
        yield ctx
    finally:
        ctx.close()
    assert elsewhere == [], f"the pages requested other origins: {elsewhere}"


def _summary(service: Service, **params: str) -> dict[str, Any]:
    response = httpx2.get(f"{service.base}/v1/dashboard/summary", params=params, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0
    return path


def _chart(page: Page, chart_id: str) -> dict[str, int]:
    rows = page.locator(f"#{chart_id} li")
    found: dict[str, int] = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        label = row.locator(".bar-label").inner_text().strip()
        found[label] = int(float(row.locator(".bar-value").get_attribute("data-value") or "nan"))
    return found


def _open(page: Page, url: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None
    assert response.status == status, f"{url}: {response.status}"


@pytest.mark.parametrize("lang", ["es", "en"])
def test_overview_shows_the_figures_the_api_gives(context: BrowserContext, service: Service, lang: str) -> None:
    figures = _summary(service)
    t = Locale(lang)
    page = context.new_page()
    _open(page, f"{service.base}/dashboard" + ("?lang=en" if lang == "en" else ""))
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("h1").inner_text() == t["overview_title"]
    assert page.locator("#kpi-agreements .value").inner_text() == t.num(figures["agreements"])
    assert figures["agreements"] == 3
    met = figures["milestones"]["by_status"]["met"]
    assert page.locator("#kpi-milestones-met .value").inner_text() == (
        f"{t.num(met)} {t['of']} {t.num(figures['milestones']['milestones'])}"
    )
    assert page.locator("#kpi-mean-attainment .value").inner_text() == t.pct(figures["milestones"]["mean_attainment"])
    assert _chart(page, "chart-state") == {s["name"]: s["agreements"] for s in figures["by_state"]}
    assert _chart(page, "chart-status") == {t.label("status", k): v for k, v in figures["by_status"].items()}
    assert _chart(page, "chart-registration") == {
        t.label("registration_status", k): v for k, v in figures["by_registration_status"].items()
    }
    assert _chart(page, "chart-subject") == {
        t.label("subject_area", k): v for k, v in figures["by_subject_area"].items() if v
    }
    assert _chart(page, "chart-country") == {t.country(k): v for k, v in figures["by_counterpart_country"].items()}
    indicator_rows = page.locator("#key-indicators tbody tr")
    assert indicator_rows.count() == len(figures["key_indicators"])
    for i, row in enumerate(figures["key_indicators"]):
        cells = indicator_rows.nth(i).locator("td")
        assert cells.nth(0).inner_text() == t.label("indicator", row["indicator"])
        assert cells.nth(1).inner_text() == t.amount(row["total"], row["unit"])
    for status, count in figures["milestones"]["by_status"].items():
        legend = page.locator(f'#milestones li[data-status="{status}"]').inner_text()
        assert legend.endswith(f"{t.label('milestone', status)}: {t.num(count)}")
    # The bars are drawn server-side: inline SVG, one per row.
    assert page.locator("#chart-state svg rect.fill").count() == len(figures["by_state"])
    _shot(page, f"dashboard-overview-{lang}")


def test_pages_work_without_javascript(browser: Browser, service: Service) -> None:
    ctx = browser.new_context(java_script_enabled=False, locale=USER_LOCALE)
    try:
        page = ctx.new_page()
        _open(page, f"{service.base}/dashboard")
        # The state filter is a plain form.
        page.select_option("#state", "MX-NLE")
        page.click("form.filter button[type=submit]")
        page.wait_for_url(re.compile(r".*/dashboard\?state=MX-NLE$"))
        assert page.locator("h1").inner_text() == "Tablero público: Nuevo León"
        filtered = _summary(service, state="MX-NLE")
        assert page.locator("#kpi-agreements .value").inner_text() == str(filtered["agreements"])
        page.click("#switch-language")
        page.wait_for_url(re.compile(r".*/dashboard\?state=MX-NLE&lang=en$"))
        assert page.locator("h1").inner_text() == "Public dashboard: Nuevo León"
    finally:
        ctx.close()


def test_agreement_link_evidence_download_and_provenance(context: BrowserContext, service: Service) -> None:
    data = service.data
    page = context.new_page()
    _open(page, f"{service.base}/dashboard")
    page.click("#agreements a:text('Hermanamiento Guadalajara - Kraków')")
    page.wait_for_url(f"{service.base}/dashboard/agreements/{data.agreements['A1']}")
    assert page.locator("h1").inner_text() == "Hermanamiento Guadalajara - Kraków"
    targets = httpx2.get(f"{service.base}/v1/agreements/{data.agreements['A1']}/targets", timeout=10).json()["items"]
    t = Locale("es")
    for target in targets:
        section = page.locator(f"#target-{target['id']}")
        for milestone in target["milestones"]:
            row = section.locator(f'tr[data-months="{milestone["months"]}"]')
            assert row.get_attribute("data-status") == milestone["status"]
            # Written the Mexican way ("15 de julio de 2025"), the ISO day kept in the <time> element.
            assert row.locator("td").nth(1).inner_text() == t.date(date.fromisoformat(milestone["due_on"]))
            assert row.locator("td.actual").inner_text() == t.amount(milestone["actual_value"], target["unit"])
            assert row.locator("svg.progress").count() == 1
    _shot(page, "dashboard-agreement-es")

    evidence = page.locator(f"#target-{data.targets['T1']} li.evidence").first
    shown = evidence.locator("code.sha256").inner_text()
    assert shown == data.evidence["E1"]["sha256"]
    with page.expect_download() as download_info:
        evidence.locator("a.download").click()
    downloaded = Path(download_info.value.path())
    assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == shown

    provenance_href = evidence.locator("a.provenance").get_attribute("href")
    assert provenance_href is not None
    response = page.goto(service.base + provenance_href)
    assert response is not None
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/json")
    provenance = response.json()
    assert provenance["sha256"] == shown
    page.go_back()
    proof_href = page.locator(f"#target-{data.targets['T1']} li.evidence a.inclusion-proof").first.get_attribute("href")
    assert proof_href is not None
    assert f"index={provenance['log_index']}&" in proof_href
    response = page.goto(service.base + proof_href)
    assert response is not None
    assert response.status == 200
    assert response.json()["leaf_hash"] == provenance["entry"]["leaf_hash"]


def test_agreement_page_in_english(context: BrowserContext, service: Service) -> None:
    page = context.new_page()
    _open(page, f"{service.base}/dashboard?lang=en")
    page.click("#agreements a:text('Hermanamiento Monterrey - Austin')")
    page.wait_for_url(re.compile(r".*/dashboard/agreements/[0-9a-f-]+\?lang=en$"))
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h2").first.inner_text() == "Agreement facts"
    assert page.locator(f"#target-{service.data.targets['T5']} tr.milestone").count() == 3
    _shot(page, "dashboard-agreement-en")


def test_unknown_and_private_agreements_are_404_pages(context: BrowserContext, service: Service) -> None:
    page = context.new_page()
    _open(page, f"{service.base}/dashboard/agreements/{service.data.agreements['A3']}", 404)
    assert page.locator("h1").inner_text() == "No encontrado"
    _open(page, f"{service.base}/dashboard/agreements/00000000-0000-4000-8000-000000000000?lang=en", 404)
    assert page.locator("h1").inner_text() == "Not found"
    _shot(page, "dashboard-not-found-en")


def test_layout_fits_a_phone(phone: BrowserContext, service: Service) -> None:
    page = phone.new_page()
    for name, path in (
        ("overview-es", "/dashboard"),
        ("overview-en", "/dashboard?lang=en"),
        ("agreement-es", f"/dashboard/agreements/{service.data.agreements['A1']}"),
        ("agreement-en", f"/dashboard/agreements/{service.data.agreements['A2']}?lang=en"),
    ):
        _open(page, service.base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} scrolls sideways on a phone: {width}px"
        assert page.evaluate("window.innerWidth") == PHONE["width"]
        _shot(page, f"dashboard-phone-{name}")


@pytest.mark.parametrize(
    ("ci", "outcome"),
    [pytest.param("true", pytest.fail.Exception, id="ci-fails"), pytest.param("", pytest.skip.Exception, id="skips")],
)
def test_a_missing_browser_skips_except_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "chromium")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="chromium is missing"):
        _require_chromium()
