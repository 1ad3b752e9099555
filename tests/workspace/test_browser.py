"""The workspace in a real browser: Debian's chromium driven by Playwright, with JavaScript off,
against the real service (uvicorn, the app factory) on its own migrated database.

A university's contributor (a participant organization) signs in, uploads a PDF and reports the
measurement it proves; the town's editor accepts the evidence and verifies the measurement; the
public agreement page then shows the progress. On a desktop and on a phone, in Spanish and English.
Screenshots of the pages (the Spanish runs) go to a temporary folder; to refresh the committed ones
in docs/screenshots/, run this file with SCREENSHOTS_DIR=docs/screenshots.
"""

import asyncio
import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    FilePayload,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from app.dashboard.i18n import Locale
from tests.browser import served
from tests.dashboard.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    USER_LOCALE,
    _admin_key,
    _require_chromium,
)
from tests.targets.factories import pdf

pytestmark = pytest.mark.slow

# A test run leaves the committed pictures alone unless asked to refresh them.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "pacta-screenshots")
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


def _today() -> date:
    """Today as the service sees it (PACTA_TIMEZONE's default)."""
    return datetime.now(ZoneInfo("America/Mexico_City")).date()


@dataclass(frozen=True, slots=True)
class Cast:
    base: str
    town: str  # Guadalajara's id
    university: str
    editor: str  # secrets
    contributor: str


def _post(client: httpx2.Client, path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    response = client.post(path, json=body, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _cast(base: str, database_url: str) -> Cast:
    admin = await _admin_key(database_url)
    with httpx2.Client(base_url=base, timeout=30) as client:
        town = _post(
            client,
            "/v1/organizations",
            {"name": "Municipio de Guadalajara", "kind": "municipality", "inegi_code": "14039"},
            admin,
        )
        university = _post(
            client, "/v1/organizations", {"name": "Universidad de Guadalajara", "kind": "university"}, admin
        )
        editor = _post(client, f"/v1/organizations/{town['id']}/api-keys", {"role": "editor"}, admin)
        contributor = _post(client, f"/v1/organizations/{university['id']}/api-keys", {"role": "contributor"}, admin)
    return Cast(base, town["id"], university["id"], editor["secret"], contributor["secret"])


@pytest.fixture(scope="module")
def cast() -> Iterator[Cast]:
    """The real service on a free port, with a town, a university and a key for each."""
    _require_chromium()
    with served("pacta_workspace_browser") as running, ThreadPoolExecutor(1) as pool:
        yield pool.submit(asyncio.run, _cast(running.base, running.database_url)).result()


@pytest.fixture(scope="module")
def playwright(cast: Cast) -> Iterator[Playwright]:
    assert cast.base
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


def _context(browser: Browser, device: str) -> BrowserContext:
    """A browser with JavaScript off (the workspace needs none), desktop or phone."""
    if device == "phone":
        return browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale=USER_LOCALE,
            java_script_enabled=False,
        )
    return browser.new_context(viewport=DESKTOP, locale=USER_LOCALE, java_script_enabled=False)


def _agreement(cast: Cast, title: str) -> tuple[str, str]:
    """A signed agreement of the town listing the university, with one target: 10, 25 and 60
    companies served at 6, 12 and 24 months, signed 200 days ago (the 6-month milestone is due)."""
    signed = _today() - timedelta(days=200)
    with httpx2.Client(base_url=cast.base, timeout=30) as client:
        agreement = _post(
            client,
            "/v1/agreements",
            {
                "title": title,
                "instrument": "sister_city",
                "signatory_org_id": cast.town,
                "counterparts": [{"name": "Kraków", "kind": "foreign_government_body", "country": "PL"}],
                "subject_areas": ["education", "academic_exchange"],
                "participant_org_ids": [cast.university],
                "signed_on": signed.isoformat(),
            },
            cast.editor,
        )
        target = _post(
            client,
            f"/v1/agreements/{agreement['id']}/targets",
            {
                "indicator": "technical_exchanges",
                "title": "Estudiantes en intercambio",
                "measure": "count",
                "baseline": {"value": 0},
                "milestones": [
                    {"months": 6, "target_value": 10},
                    {"months": 12, "target_value": 25},
                    {"months": 24, "target_value": 60},
                ],
            },
            cast.editor,
        )
    return agreement["id"], target["id"]


def _open(page: Page, url: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None
    assert response.status == status, f"{url}: {response.status}"


def _shot(page: Page, name: str | None) -> None:
    if name is None:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    # CSS pixels (a phone's 2x rendering halved) keep each file small enough to commit.
    page.screenshot(path=str(path), full_page=True, scale="css")
    assert 0 < path.stat().st_size < 250_000, f"{path} is {path.stat().st_size} bytes"


def _fits(page: Page, device: str) -> None:
    if device != "phone":
        return
    width = page.locator("html").evaluate("e => e.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways on a phone: {width}px"


def _arrived(page: Page, path: str) -> None:
    """The page is at this path (a regular expression), else say where it is and what it shows."""
    try:
        page.wait_for_url(re.compile(rf"^http://[^/]+{path}"), timeout=10_000)
    except Exception as exc:
        raise AssertionError(f"at {page.url}, not {path}:\n{page.locator('main').inner_text()}") from exc


def _sign_in(page: Page, cast: Cast, secret: str, query: str) -> None:
    _open(page, f"{cast.base}/workspace/login{query}")
    page.fill("#api_key", secret)
    page.click("#sign-in")
    _arrived(page, r"/workspace\?(.*&)?done=signed_in")


@pytest.mark.parametrize(
    ("device", "lang"),
    [("desktop", "es"), ("phone", "es"), ("desktop", "en"), ("phone", "en")],
)
def test_contributor_uploads_and_reports_editor_accepts_and_verifies(
    browser: Browser, cast: Cast, device: str, lang: str
) -> None:
    t = Locale(lang)
    query = "?lang=en" if lang == "en" else ""
    shots = None if lang == "en" else ("" if device == "desktop" else "-phone")
    title = "Intercambio académico Guadalajara - Kraków"
    if (device, lang) != ("desktop", "es"):
        title += f" ({device}, {lang})"
    agreement_id, target_id = _agreement(cast, title)
    document = pdf(f"browser-{device}-{lang}")  # each run has its own database: no duplicate

    uni = _context(browser, device)
    try:
        page = uni.new_page()
        _open(page, f"{cast.base}/workspace{query}")  # signed out: to the sign-in page
        assert page.url.startswith(f"{cast.base}/workspace/login")
        _fits(page, device)
        _shot(page, (shots is not None and f"workspace-login{shots}") or None)
        page.fill("#api_key", "pacta_000000000000_wrong")
        page.click("#sign-in")
        assert page.locator("#api_key-error").is_visible()
        page.fill("#api_key", cast.contributor)
        page.click("#sign-in")
        _arrived(page, r"/workspace\?(.*&)?done=signed_in")
        assert page.locator("html").get_attribute("lang") == lang
        assert page.locator("#notice").is_visible()
        page.click(f"#agreements a:text-is('{title}')")
        page.wait_for_url(f"**/workspace/agreements/{agreement_id}**")
        _fits(page, device)
        _shot(page, (shots is not None and f"workspace-agreement{shots}") or None)
        page.click("#upload-evidence")
        page.wait_for_url(f"**/workspace/agreements/{agreement_id}/evidence**")
        upload: FilePayload = {"name": "lista-asistencia.pdf", "mimeType": "application/pdf", "buffer": document}
        page.set_input_files("#file", files=[upload])
        page.fill("#title", "Lista de asistencia del intercambio")
        page.select_option("#document_type", "attendance_list")
        page.select_option("#target_id", target_id)
        _fits(page, device)
        _shot(page, (shots is not None and f"workspace-upload{shots}") or None)
        page.click("#upload")
        _arrived(page, rf"/workspace/agreements/{agreement_id}\?(.*&)?done=evidence_uploaded")
        evidence = page.locator("li.evidence")
        assert evidence.count() == 1
        assert evidence.first.get_attribute("data-status") == "submitted"
        evidence_id = evidence.first.get_attribute("data-evidence-id")
        page.click(f"#target-{target_id} a.report")
        page.wait_for_url(f"**/workspace/targets/{target_id}/measurements**")
        page.fill("#as_of", (_today() - timedelta(days=60)).isoformat())  # before the 6-month due date
        page.fill("#value", "12")
        page.fill("#comment", "Primer grupo de estudiantes")
        page.check(f'input[name=evidence_ids][value="{evidence_id}"]')
        _fits(page, device)
        page.click("#report")
        _arrived(page, rf"/workspace/agreements/{agreement_id}\?(.*&)?done=measurement_reported")
        if device == "desktop" and lang == "es":
            _open(page, f"{cast.base}/workspace")
            _shot(page, "workspace-agreements")
    finally:
        uni.close()

    town = _context(browser, device)
    try:
        page = town.new_page()
        _sign_in(page, cast, cast.editor, query)
        page.click("#nav-review")
        page.wait_for_url(f"{cast.base}/workspace/review**")
        _fits(page, device)
        _shot(page, (shots is not None and f"workspace-review-queue{shots}") or None)
        item = page.locator(f'li.evidence[data-evidence-id="{evidence_id}"]')
        item.locator("button.accept").click()
        _arrived(page, r"/workspace/review\?(.*&)?done=evidence_accepted")
        measurement = page.locator("li.measurement").filter(has_text="Primer grupo de estudiantes")
        assert measurement.count() == 1
        measurement.locator("button.accept").click()
        _arrived(page, r"/workspace/review\?(.*&)?done=measurement_verified")
        assert page.locator("#notice").is_visible()
        assert page.locator(f'li.evidence[data-evidence-id="{evidence_id}"]').count() == 0
    finally:
        town.close()

    public = _context(browser, device)
    try:
        page = public.new_page()
        _open(page, f"{cast.base}/dashboard/agreements/{agreement_id}{query}")
        section = page.locator(f"#target-{target_id}")
        six = section.locator('tr[data-months="6"]')
        assert six.get_attribute("data-status") == "met"
        assert six.locator("td.actual").inner_text() == t.amount(12, None)
        assert section.locator("li.evidence code.sha256").inner_text() == hashlib.sha256(document).hexdigest()
        _fits(page, device)
    finally:
        public.close()


def test_a_form_opened_before_sign_out_stores_nothing(browser: Browser, cast: Cast) -> None:
    """The CSRF token and the session go together: after signing out, the old form is refused."""
    agreement_id, target_id = _agreement(cast, f"Acuerdo para cerrar sesión {uuid.uuid4().hex[:6]}")
    ctx = _context(browser, "desktop")
    try:
        form = ctx.new_page()
        _sign_in(form, cast, cast.contributor, "")
        _open(form, f"{cast.base}/workspace/targets/{target_id}/measurements")
        other = ctx.new_page()
        _open(other, f"{cast.base}/workspace")
        other.click("#logout")
        _arrived(other, r"/workspace/login\?done=signed_out")
        form.fill("#value", "5")
        form.click("#report")
        _arrived(form, r"/workspace/login$")
    finally:
        ctx.close()
    with httpx2.Client(base_url=cast.base, timeout=10) as client:
        listed = client.get(
            f"/v1/targets/{target_id}/measurements", headers={"Authorization": f"Bearer {cast.editor}"}
        ).json()
    assert listed["items"] == []
    assert agreement_id
