"""A municipal portal in a real browser: a page on another origin frames the embed, shows the badge
and reads /v1/agreements with fetch(), anonymously. Debian's chromium driven by Playwright against
the real service started by tests.dashboard.test_browser; the portal is a tiny static server on
another loopback port. Screenshots (the portal framing the embed, the badges) go to a temporary
folder; to refresh the committed ones in docs/screenshots/, run this file with
SCREENSHOTS_DIR=docs/screenshots."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import pytest
from playwright.sync_api import Browser

from tests.browser import free_port
from tests.dashboard import test_browser as real

pytestmark = pytest.mark.slow

# The same module-scoped fixtures (service on its own port and database, Playwright, chromium).
service = real.service
playwright = real.playwright
browser = real.browser
SCREENSHOTS = real.SCREENSHOTS


def _portal_page(base: str, agreement_id: str) -> bytes:
    return f"""<!DOCTYPE html>
<html lang="es"><head><meta charset="utf-8"><title>Portal municipal</title></head>
<body>
<h1>Portal del Municipio</h1>
<p><img id="badge" src="{base}/badges/agreements/{agreement_id}.svg" alt="Pacta"></p>
<iframe id="embed" title="Pacta" src="{base}/embed/agreements/{agreement_id}" width="900" height="700"></iframe>
<iframe id="dashboard" title="Tablero" src="{base}/dashboard" width="300" height="100"></iframe>
<p id="open-data">…</p>
<p id="with-key">…</p>
<script>
fetch("{base}/v1/agreements").then(r => r.json())
  .then(j => {{ document.getElementById("open-data").textContent = "ok " + j.items.length; }})
  .catch(() => {{ document.getElementById("open-data").textContent = "blocked"; }});
fetch("{base}/v1/agreements", {{headers: {{"Authorization": "Bearer pacta_not_a_key"}}}})
  .then(r => {{ document.getElementById("with-key").textContent = "status " + r.status; }})
  .catch(() => {{ document.getElementById("with-key").textContent = "blocked"; }});
</script>
</body></html>""".encode()


@pytest.fixture(scope="module")
def portal(service: real.Service) -> Iterator[str]:
    body = _portal_page(service.base, service.data.agreements["A1"])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass  # the test's output is the assertions

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_a_portal_frames_the_embed_shows_the_badge_and_reads_open_data(
    browser: Browser, service: real.Service, portal: str
) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000}, locale="es-MX")
    try:
        page = ctx.new_page()
        page.goto(portal)
        page.wait_for_function("document.getElementById('open-data').textContent !== '…'")
        page.wait_for_function("document.getElementById('with-key').textContent !== '…'")
        # Open data from any origin; a key only from PACTA_CORS_ORIGINS (empty here).
        assert page.text_content("#open-data") == "ok 3"
        assert page.text_content("#with-key") == "blocked"
        # The badge is drawn.
        page.wait_for_function("document.getElementById('badge').complete")
        assert page.evaluate("document.getElementById('badge').naturalWidth") > 100
        # The embed renders inside the portal's frame; the dashboard refuses to.
        embed = page.frame_locator("#embed")
        embed.locator("h1").wait_for()
        assert embed.locator("h1").text_content() == "Hermanamiento Guadalajara - Kraków"
        assert embed.locator("#latest-evidence code.hash").count() == 1
        # The browser's language decides, as on the dashboard (a portal may also pass ?lang=).
        assert embed.locator("#agreement-status").text_content() == "En vigor"
        framed = {frame.name or frame.url: frame.url for frame in page.frames}
        dashboard_frames = [url for url in framed.values() if url.endswith("/dashboard")]
        assert dashboard_frames == [], framed
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / "portal-embed-framed.png", full_page=True, scale="css")
    finally:
        ctx.close()
    # The badges alone, drawn at twice the size so their text reads in a note.
    ctx = browser.new_context(viewport={"width": 800, "height": 200}, locale="es-MX", device_scale_factor=2)
    try:
        for name, url in (
            ("portal-badge-agreement", f"{service.base}/badges/agreements/{service.data.agreements['A1']}.svg"),
            ("portal-badge-organization", f"{service.base}/badges/organizations/{_signatory(service)}.svg?lang=en"),
        ):
            badge = ctx.new_page()
            badge.goto(url)
            drawn = badge.locator("svg")
            assert drawn.get_attribute("role") == "img" or drawn.locator("title").count() == 1
            path = SCREENSHOTS / f"{name}.png"
            drawn.screenshot(path=path)
            assert path.stat().st_size > 0
    finally:
        ctx.close()


def _signatory(service: real.Service) -> str:
    found = httpx2.get(f"{service.base}/v1/agreements/{service.data.agreements['A1']}", timeout=10).json()
    return str(found["signatory_org_id"])
