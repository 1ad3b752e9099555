"""Signing in to the workspace: server-side sessions (only their hash stored), the cookie's flags,
expiry, signing out, and a revoked key ending its sessions at once."""

import hashlib
from datetime import timedelta

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from tests.conftest import test_settings as settings_with
from tests.factories import World, count, scalar
from tests.targets.factories import make_agreement
from tests.workspace.conftest import OpenBrowser, csrf_in, secret_of


async def test_the_sign_in_page_is_spanish_by_default_and_english_on_request(open_browser: OpenBrowser) -> None:
    async with open_browser() as browser:
        es = await browser.get("/workspace/login")
        en = await browser.get("/workspace/login?lang=en")
        by_header = await browser.get("/workspace/login", headers={"Accept-Language": "en-US"})
    assert es.status_code == 200
    assert '<html lang="es">' in es.text
    assert "Iniciar sesión" in es.text
    assert 'name="api_key"' in es.text
    assert '<label for="api_key">Clave de API</label>' in es.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in es.text
    assert '<html lang="en">' in en.text
    assert '<label for="api_key">API key</label>' in en.text
    assert '<html lang="en">' in by_header.text
    for response in (es, en):
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert "<script" not in response.text


async def test_a_wrong_key_is_refused_next_to_the_field_and_stores_nothing(
    open_browser: OpenBrowser, client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    wrong = "pacta_000000000000_nope"
    for lang, accept in (("es", "es-MX"), ("en", "en-US")):
        headers = {"Authorization": f"Bearer {wrong}", "Accept-Language": accept}
        api = await client.get("/v1/organizations", headers=headers)
        assert api.status_code == 401
        async with open_browser() as browser:
            page = await browser.post(f"/workspace/login?lang={lang}", data={"api_key": wrong})
        assert page.status_code == 401
        assert f'<p class="field-error" id="api_key-error">{api.json()["detail"]}</p>' in page.text
        assert 'aria-invalid="true"' in page.text
        assert "set-cookie" not in page.headers
    async with open_browser() as browser:
        empty = await browser.post("/workspace/login", data={"api_key": "  "})
    assert empty.status_code == 422
    assert '<p class="field-error" id="api_key-error">Escriba su clave de API.</p>' in empty.text
    assert await count(session, "workspace_sessions") == 0


async def test_signing_in_sets_one_hardened_cookie_and_stores_only_its_hash(
    open_browser: OpenBrowser, session: AsyncSession, world: World
) -> None:
    async with open_browser() as browser:
        response = await browser.sign_in(secret_of(world, "participant"))
        assert response.headers["location"] == "/workspace?done=signed_in"
        cookies = response.headers.get_list("set-cookie")
        assert len(cookies) == 1
        cookie = cookies[0]
        flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
        assert {"httponly", "path", "samesite", "max-age"} <= flags
        assert "secure" not in flags  # no https public URL here
        assert "Path=/workspace" in cookie
        assert "SameSite=strict" in cookie
        assert "Max-Age=43200" in cookie  # PACTA_SESSION_HOURS, 12 by default
        token = cookie.split(";")[0].split("=", 1)[1]
        home = await browser.get("/workspace?done=signed_in")
    assert home.status_code == 200
    assert "Sesión iniciada." in home.text
    assert world.participant.name in home.text
    stored = hashlib.sha256(token.encode()).hexdigest()
    assert await scalar(session, "SELECT count(*) FROM workspace_sessions WHERE token_hash = :h", h=stored) == 1
    assert await scalar(session, "SELECT count(*) FROM workspace_sessions WHERE token_hash = :t", t=token) == 0
    lasts = await scalar(
        session, "SELECT expires_at - created_at FROM workspace_sessions WHERE token_hash = :h", h=stored
    )
    assert lasts == timedelta(hours=12)


async def test_the_cookie_is_secure_under_an_https_public_url(
    sessionmaker: async_sessionmaker[AsyncSession], open_browser: OpenBrowser, world: World
) -> None:
    https_app: FastAPI = create_app(settings_with(public_url="https://pacta.example.org", session_hours=2))
    https_app.state.sessionmaker = sessionmaker
    async with open_browser(https_app, base_url="https://pacta.example.org") as browser:
        response = await browser.sign_in(secret_of(world, "participant"))
        cookie = response.headers["set-cookie"]
        assert "; secure" in cookie.lower()
        assert "Max-Age=7200" in cookie
        assert (await browser.get("/workspace")).status_code == 200


async def test_without_a_session_pages_go_to_sign_in(open_browser: OpenBrowser) -> None:
    async with open_browser() as browser:
        for path in ("/workspace", "/workspace/review", "/workspace/agreements/00000000-0000-4000-8000-000000000000"):
            response = await browser.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"] == "/workspace/login"
        english = await browser.get("/workspace?lang=en")
        assert english.headers["location"] == "/workspace/login?lang=en"


async def test_an_expired_session_goes_back_to_sign_in(
    open_browser: OpenBrowser, session: AsyncSession, world: World
) -> None:
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, "participant"))
        assert (await browser.get("/workspace")).status_code == 200
        await session.execute(text("UPDATE workspace_sessions SET expires_at = now() - interval '1 second'"))
        await session.commit()
        response = await browser.get("/workspace")
        assert response.status_code == 303
        assert response.headers["location"] == "/workspace/login?done=session_ended"
        assert 'pacta_session=""' in response.headers["set-cookie"]
        login = await browser.get(response.headers["location"])
        assert "Su sesión terminó" in login.text


async def test_revoking_the_key_ends_its_sessions_at_once(
    open_browser: OpenBrowser, client: httpx2.AsyncClient, world: World
) -> None:
    listed = await client.get(f"/v1/organizations/{world.participant.id}/api-keys", headers=world.headers("admin"))
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, "participant"))
        csrf = await browser.csrf()
        (key,) = listed.json()["items"]
        revoked = await client.delete(
            f"/v1/organizations/{world.participant.id}/api-keys/{key['id']}", headers=world.headers("admin")
        )
        assert revoked.status_code == 204
        page = await browser.get("/workspace")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/workspace/login")
        # A form posted by a page opened before the revocation does nothing either.
        post = await browser.post(f"/workspace/logout?csrf={csrf}")
        assert post.status_code == 303
        assert post.headers["location"] == "/workspace/login"


async def test_signing_out_ends_the_session(open_browser: OpenBrowser, session: AsyncSession, world: World) -> None:
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, "editor"))
        home = await browser.get("/workspace")
        token = csrf_in(home.text)
        stolen = dict(browser.client.cookies)
        out = await browser.post(f"/workspace/logout?csrf={token}")
        assert out.status_code == 303
        assert out.headers["location"] == "/workspace/login?done=signed_out"
        assert await scalar(session, "SELECT count(*) FROM workspace_sessions WHERE ended_at IS NOT NULL") == 1
    # The old cookie, replayed, opens nothing.
    async with open_browser() as replay:
        replay.client.cookies.update(stolen)
        again = await replay.get("/workspace")
        assert again.status_code == 303


@pytest.mark.parametrize(
    "path", ["/workspace/logout", "/workspace/agreements/00000000-0000-4000-8000-000000000000/activities"]
)
async def test_a_post_without_a_session_reads_nothing_and_goes_to_sign_in(open_browser: OpenBrowser, path: str) -> None:
    async with open_browser() as browser:
        response = await browser.post(path, data={"title": "x"})
    assert response.status_code == 303
    assert response.headers["location"] == "/workspace/login"


async def test_forms_posted_from_another_site_are_refused(
    open_browser: OpenBrowser, session: AsyncSession, world: World
) -> None:
    async with open_browser() as browser:
        foreign = await browser.post(
            "/workspace/login",
            data={"api_key": secret_of(world, "participant")},
            headers={"Origin": "https://evil.example"},
        )
        assert foreign.status_code == 403
        assert "set-cookie" not in foreign.headers
        assert await count(session, "workspace_sessions") == 0
        same = await browser.post(
            "/workspace/login",
            data={"api_key": secret_of(world, "participant")},
            headers={"Origin": "http://testserver"},
        )
        assert same.status_code == 303
        token = await browser.csrf()
        out = await browser.post(f"/workspace/logout?csrf={token}", headers={"Origin": "null"})
        assert out.status_code == 403
        assert await scalar(session, "SELECT count(*) FROM workspace_sessions WHERE ended_at IS NULL") == 1


async def _raw_upload(app: FastAPI, path: str, query: str, cookie: str | None) -> tuple[int, int]:
    """POST a 20 MB multipart body straight to the ASGI app; (status, body chunks the app asked for)."""
    asked = 0

    async def receive() -> dict[str, object]:
        nonlocal asked
        asked += 1
        return {"type": "http.request", "body": b"-" * 65536, "more_body": True}

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    headers = [
        (b"host", b"testserver"),
        (b"content-type", b"multipart/form-data; boundary=----x"),
        (b"content-length", b"20000000"),
    ]
    if cookie is not None:
        headers.append((b"cookie", f"pacta_session={cookie}".encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    assert isinstance(status, int)
    return status, asked


async def test_a_signed_out_or_forged_upload_is_refused_before_its_body_is_read(
    app: FastAPI, client: httpx2.AsyncClient, open_browser: OpenBrowser, world: World
) -> None:
    path = "/workspace/agreements/00000000-0000-4000-8000-000000000000/evidence"
    assert await _raw_upload(app, path, "", None) == (303, 0)
    assert await _raw_upload(app, path, "csrf=x", "not-a-session") == (303, 0)
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, "participant"))
        cookie = browser.client.cookies["pacta_session"]
        token = await browser.csrf()
    assert await _raw_upload(app, path, "", cookie) == (403, 0)
    assert await _raw_upload(app, path, "csrf=forged", cookie) == (403, 0)
    # The real token lets the route run: no such agreement is a 404 at once, still unread ...
    assert await _raw_upload(app, path, f"csrf={token}", cookie) == (404, 0)
    # ... and on the participant's agreement the body is taken in (this one is no form at all: 400).
    agreement = await make_agreement(client, world, "public")
    status, asked = await _raw_upload(app, f"/workspace/agreements/{agreement['id']}/evidence", f"csrf={token}", cookie)
    assert (status, asked > 0) == (400, True)


async def test_old_sessions_of_a_key_are_dropped_at_its_next_sign_in(
    open_browser: OpenBrowser, session: AsyncSession, world: World
) -> None:
    for _ in range(3):
        async with open_browser() as browser:
            await browser.sign_in(secret_of(world, "participant"))
    await browser_sign_in_elsewhere(open_browser, world)
    await session.execute(text("UPDATE workspace_sessions SET expires_at = now() - interval '2 days'"))
    await session.commit()
    assert await count(session, "workspace_sessions") == 4
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, "participant"))
    # The participant's three old ones are gone; the editor's stays until the editor signs in.
    assert await count(session, "workspace_sessions") == 2


async def browser_sign_in_elsewhere(open_browser: OpenBrowser, world: World) -> None:
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, "editor"))
