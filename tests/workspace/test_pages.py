"""The workspace's pages and forms, driven over HTTP like a browser without JavaScript: each action
goes through the API's own service (same rules, log entries), refusals are the API's messages next
to the field in the page's language, a form without its CSRF token stores nothing, and a session
never opens another organization's drafts."""

import html
import re
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from tests.conftest import test_settings as settings_with
from tests.factories import World, count, create_agreement, scalar
from tests.targets.factories import SIGNED_ON, create_target, make_agreement, measurements_of, pdf
from tests.workspace.conftest import Browser, OpenBrowser, csrf_in, secret_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


async def _agreement_with_target(client: httpx2.AsyncClient, world: World) -> tuple[str, str]:
    agreement = await make_agreement(client, world, "public")
    target = await create_target(client, world.headers("editor"), agreement["id"])
    return agreement["id"], target["id"]


async def _upload(
    browser: Browser, agreement_id: str, csrf: str | None, content: bytes = b"", **fields: str
) -> httpx2.Response:
    query = f"?csrf={csrf}" if csrf is not None else ""
    data = {"title": "Lista de asistencia", "document_type": "attendance_list", **fields}
    return await browser.post(
        f"/workspace/agreements/{agreement_id}/evidence{query}",
        files={"file": ("lista.pdf", content or pdf(), "application/pdf")},
        data=data,
    )


def _field_error(page: str, name: str) -> str | None:
    found = re.search(rf'<p class="field-error" id="{re.escape(name)}-error">(.*?)</p>', page, re.S)
    return None if found is None else html.unescape(found.group(1))


async def _snapshot(session: AsyncSession) -> tuple[int, ...]:
    return tuple(
        [
            await count(session, t)
            for t in ("evidence_documents", "measurements", "activities", "log_entries", "webhook_events")
        ]
    )


async def test_my_agreements_are_those_signed_or_joined_and_never_another_orgs_drafts(
    client: httpx2.AsyncClient, open_browser: OpenBrowser, world: World
) -> None:
    editor = world.headers("editor")
    joined_public = await make_agreement(client, world, "public")
    joined_draft = await make_agreement(client, world, "private")
    own_draft = await create_agreement(client, editor, world.signatory.id, title="Borrador sin participantes")
    other = await create_agreement(
        client, world.headers("other_editor"), world.other.id, title="Borrador de Monterrey", signed_on=None
    )
    others_public = await create_agreement(
        client,
        world.headers("other_editor"),
        world.other.id,
        title="Acuerdo público de Monterrey",
        signed_on=SIGNED_ON.isoformat(),
    )
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, "participant"))
        home = await browser.get("/workspace")
        listed = set(re.findall(r'data-agreement-id="([0-9a-f-]+)"', home.text))
        assert listed == {joined_public["id"], joined_draft["id"]}
        assert (await browser.get(f"/workspace/agreements/{joined_draft['id']}")).status_code == 200
        for hidden in (own_draft["id"], other["id"]):
            page = await browser.get(f"/workspace/agreements/{hidden}")
            assert page.status_code == 404
            assert "No existe o su organización no puede verlo." in page.text
            assert (await browser.get(f"/workspace/agreements/{hidden}/evidence")).status_code == 404
        # Public elsewhere, but not the participant's: readable, not listed, no forms to change it.
        public = await browser.get(f"/workspace/agreements/{others_public['id']}")
        assert public.status_code == 200
        assert 'id="upload-evidence"' not in public.text
        refused = await browser.get(f"/workspace/agreements/{others_public['id']}/evidence")
        assert refused.status_code == 403
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, "other_editor"))
        home = await browser.get("/workspace")
        assert set(re.findall(r'data-agreement-id="([0-9a-f-]+)"', home.text)) == {other["id"], others_public["id"]}
        for hidden in (joined_draft["id"], own_draft["id"]):
            assert (await browser.get(f"/workspace/agreements/{hidden}")).status_code == 404


async def test_forms_without_the_csrf_token_are_refused_and_store_nothing(
    client: httpx2.AsyncClient, open_browser: OpenBrowser, session: AsyncSession, world: World
) -> None:
    agreement_id, target_id = await _agreement_with_target(client, world)
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, "participant"))
        good = await browser.csrf()
        before = await _snapshot(session)
        for token in (None, "", "forged", good[:-1] + ("A" if good[-1] != "A" else "B")):
            upload = await _upload(browser, agreement_id, token)
            assert upload.status_code == 403, upload.text
            assert "código de seguridad" in upload.text
            query = "" if token is None else f"?csrf={token}"
            measured = await browser.post(
                f"/workspace/targets/{target_id}/measurements{query}", data={"as_of": "2025-07-01", "value": "3"}
            )
            assert measured.status_code == 403
            proposed = await browser.post(
                f"/workspace/agreements/{agreement_id}/activities{query}",
                data={"kind": "visit", "title": "Visita", "starts_at": "2025-08-01T10:00"},
            )
            assert proposed.status_code == 403
            out = await browser.post(f"/workspace/logout{query}")
            assert out.status_code == 403
        # A token in a hidden field is not enough: it must be in the action, checked before the body.
        hidden = await browser.post(
            f"/workspace/targets/{target_id}/measurements",
            data={"as_of": "2025-07-01", "value": "3", "csrf": good},
        )
        assert hidden.status_code == 403
        assert await _snapshot(session) == before
        # Another session's token is refused too: tokens are bound to their session.
        async with open_browser() as other:
            await other.sign_in(secret_of(world, "participant"))
            theirs = await other.csrf()
        assert theirs != good
        assert (await _upload(browser, agreement_id, theirs)).status_code == 403
        assert await _snapshot(session) == before
        assert await scalar(session, "SELECT count(*) FROM workspace_sessions WHERE ended_at IS NULL") == 2


async def test_a_contributor_uploads_and_reports_an_editor_accepts_and_verifies(
    client: httpx2.AsyncClient, open_browser: OpenBrowser, session: AsyncSession, world: World
) -> None:
    agreement_id, target_id = await _agreement_with_target(client, world)
    entries = await count(session, "log_entries")
    async with open_browser() as uni:
        await uni.sign_in(secret_of(world, "participant"))
        page = await uni.get(f"/workspace/agreements/{agreement_id}/evidence")
        assert page.status_code == 200
        assert 'enctype="multipart/form-data"' in page.text
        uploaded = await _upload(uni, agreement_id, csrf_in(page.text), pdf("workspace-flow"))
        assert uploaded.status_code == 303, uploaded.text
        assert uploaded.headers["location"] == f"/workspace/agreements/{agreement_id}?done=evidence_uploaded"
        shown = await uni.get(uploaded.headers["location"])
        assert "Evidencia subida." in shown.text
        participant = world.headers("participant")
        listed = (await client.get(f"/v1/agreements/{agreement_id}/evidence", headers=participant)).json()
        (document,) = listed["items"]
        assert (document["status"], document["uploaded_by_org_id"], document["media_type"]) == (
            "submitted",
            str(world.participant.id),
            "application/pdf",
        )
        form = await uni.get(f"/workspace/targets/{target_id}/measurements")
        assert document["id"] in form.text
        reported = await uni.post(
            f"/workspace/targets/{target_id}/measurements?csrf={csrf_in(form.text)}",
            data={"as_of": "2025-07-01", "value": "12", "comment": "Primer grupo", "evidence_ids": document["id"]},
        )
        assert reported.status_code == 303, reported.text
        assert reported.headers["location"] == f"/workspace/agreements/{agreement_id}?done=measurement_reported"
        # A contributor has no queue.
        queue = await uni.get("/workspace/review")
        assert 'id="queue-not-yours"' in queue.text
    measurements = await client.get(measurements_of(target_id), headers=world.headers("participant"))
    (measurement,) = measurements.json()["items"]
    assert (measurement["status"], measurement["value"]) == ("reported", 12)
    assert measurement["evidence_ids"] == [document["id"]]
    # The same log entries as the API's writes: one per upload, one per report.
    rows = (
        await session.execute(
            text("SELECT resource_type, action, actor_org_id FROM log_entries ORDER BY index DESC LIMIT 2")
        )
    ).all()
    assert [(r[0], r[1], str(r[2])) for r in rows] == [
        ("measurement", "create", str(world.participant.id)),
        ("evidence", "create", str(world.participant.id)),
    ]
    assert await count(session, "log_entries") == entries + 2

    async with open_browser() as town:
        await town.sign_in(secret_of(world, "editor"), lang="en")
        queue = await town.get("/workspace/review?lang=en")
        assert queue.status_code == 200
        assert f'data-evidence-id="{document["id"]}"' in queue.text
        assert f'data-measurement-id="{measurement["id"]}"' in queue.text
        token = csrf_in(queue.text)
        download = await town.get(f"/workspace/evidence/{document['id']}/content")
        assert download.status_code == 200
        assert download.content == pdf("workspace-flow")
        accepted = await town.post(
            f"/workspace/evidence/{document['id']}/review?csrf={token}&lang=en",
            data={"decision": "accepted", "note": ""},
        )
        assert accepted.status_code == 303
        assert (
            accepted.headers["location"] == "/workspace/review?lang=en&done=evidence_accepted"
            or accepted.headers["location"] == "/workspace/review?done=evidence_accepted&lang=en"
        )
        verified = await town.post(
            f"/workspace/measurements/{measurement['id']}/verification?csrf={token}&lang=en",
            data={"decision": "verified"},
        )
        assert verified.status_code == 303
        after = await town.get(verified.headers["location"])
        assert "Measurement verified" in after.text
        assert 'id="queue-empty"' in after.text
    target = (await client.get(f"/v1/targets/{target_id}")).json()
    assert target["latest"]["value"] == 12
    public = await client.get(f"/dashboard/agreements/{agreement_id}")
    assert document["sha256"] in public.text


async def test_refusals_are_the_apis_messages_next_to_the_field_in_both_languages(
    client: httpx2.AsyncClient, open_browser: OpenBrowser, session: AsyncSession, world: World
) -> None:
    _, target_id = await _agreement_with_target(client, world)
    nowhere = "00000000-0000-4000-8000-000000000000"
    body: dict[str, Any] = {"as_of": "2999-01-01", "value": None, "evidence_ids": [nowhere]}
    before = await _snapshot(session)
    for lang, accept in (("es", "es-MX"), ("en", "en-US")):
        api = await client.post(
            measurements_of(target_id), json=body, headers={**world.headers("participant"), "Accept-Language": accept}
        )
        assert api.status_code == 422
        messages = {e["loc"][1]: e["msg"] for e in api.json()["errors"]}
        async with open_browser() as browser:
            await browser.sign_in(secret_of(world, "participant"))
            token = await browser.csrf()
            page = await browser.post(
                f"/workspace/targets/{target_id}/measurements?csrf={token}&lang={lang}",
                data={"as_of": "2999-01-01", "value": "", "evidence_ids": "00000000-0000-4000-8000-000000000000"},
            )
        assert page.status_code == 422
        assert f'<html lang="{lang}">' in page.text
        assert _field_error(page.text, "as_of") == messages["as_of"]
        assert _field_error(page.text, "value") == messages["value"]
        assert _field_error(page.text, "evidence_ids") == messages["evidence_ids"]
        # What was typed is kept.
        assert 'value="2999-01-01"' in page.text
    assert await _snapshot(session) == before


async def test_schema_errors_name_their_fields(
    client: httpx2.AsyncClient, open_browser: OpenBrowser, world: World
) -> None:
    agreement_id, target_id = await _agreement_with_target(client, world)
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, "participant"))
        token = await browser.csrf()
        page = await browser.post(
            f"/workspace/targets/{target_id}/measurements?csrf={token}&lang=en",
            data={"as_of": "yesterday", "value": "many"},
        )
        assert page.status_code == 422
        api = await client.post(
            measurements_of(target_id),
            json={"as_of": "yesterday", "value": "many"},
            headers={**world.headers("participant"), "Accept-Language": "en"},
        )
        messages = {e["loc"][1]: e["msg"] for e in api.json()["errors"]}
        assert _field_error(page.text, "as_of") == messages["as_of"]
        assert _field_error(page.text, "value") == messages["value"]
        activity = await browser.post(
            f"/workspace/agreements/{agreement_id}/activities?csrf={token}",
            data={"kind": "", "title": "", "starts_at": ""},
        )
        assert activity.status_code == 422
        for name in ("kind", "title", "starts_at"):
            assert _field_error(activity.text, name), name


async def test_upload_type_and_size_refusals_are_shown_on_the_file_field(
    client: httpx2.AsyncClient,
    open_browser: OpenBrowser,
    session: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    world: World,
) -> None:
    agreement_id, _ = await _agreement_with_target(client, world)
    before = await _snapshot(session)
    api = await client.post(
        f"/v1/agreements/{agreement_id}/evidence",
        files={"file": ("programa.pdf", b"MZ\x90\x00" + b"\0" * 200, "application/pdf")},
        data={"title": "x", "document_type": "other"},
        headers={**world.headers("participant"), "Accept-Language": "en"},
    )
    assert api.status_code == 415
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, "participant"))
        token = await browser.csrf()
        page = await _upload(browser, agreement_id, f"{token}&lang=en", b"MZ\x90\x00" + b"\0" * 200, title="Programa")
        assert page.status_code == 415
        assert _field_error(page.text, "file") == api.json()["detail"]
        assert 'value="Programa"' in page.text  # the form's fields are kept
        missing = await browser.post(
            f"/workspace/agreements/{agreement_id}/evidence?csrf={token}",
            files={"file": ("foto.png", PNG, "image/png")},
            data={"document_type": "photo"},
        )
        assert missing.status_code == 422
        assert _field_error(missing.text, "title")
    small: FastAPI = create_app(settings_with(max_upload_bytes=2048))
    small.state.sessionmaker = sessionmaker
    async with open_browser(small) as browser:
        await browser.sign_in(secret_of(world, "participant"))
        token = await browser.csrf()
        big = await _upload(browser, agreement_id, token, pdf("big") + b"%" * 4096)
        assert big.status_code == 413
        error = _field_error(big.text, "file")
        assert error is not None
        assert "2048" in error.replace(",", "")
        # Beyond what the body guard admits at all, refused before anything is read: still a page.
        huge = await _upload(browser, agreement_id, f"{token}&lang=en", pdf("huge") + b"%" * (200 * 1024))
        assert huge.status_code == 413
        assert huge.headers["content-type"].startswith("text/html")
        assert '<p id="refused">The request body may hold at most' in huge.text
    assert await _snapshot(session) == before


async def test_proposing_and_confirming_an_activity(
    client: httpx2.AsyncClient, open_browser: OpenBrowser, world: World
) -> None:
    agreement_id, _ = await _agreement_with_target(client, world)
    async with open_browser() as uni:
        await uni.sign_in(secret_of(world, "participant"))
        form = await uni.get(f"/workspace/agreements/{agreement_id}/activities")
        proposed = await uni.post(
            f"/workspace/agreements/{agreement_id}/activities?csrf={csrf_in(form.text)}",
            data={
                "kind": "technical_exchange",
                "title": "Intercambio de estudiantes",
                "starts_at": "2027-08-01T10:00",
                "place": "Guadalajara",
            },
        )
        assert proposed.status_code == 303, proposed.text
    listed = await client.get(f"/v1/agreements/{agreement_id}/activities", headers=world.headers("editor"))
    (activity,) = listed.json()["items"]
    assert activity["status"] == "planned"
    assert activity["starts_at"] == "2027-08-01T10:00:00-06:00"
    async with open_browser() as town:
        await town.sign_in(secret_of(world, "editor"))
        queue = await town.get("/workspace/review")
        token = csrf_in(queue.text)
        # A stale form (the activity changed since the page was read) is refused like a stale If-Match.
        confirm = f"/workspace/activities/{activity['id']}/confirmation?csrf={token}"
        stale = await town.post(confirm, data={"etag": '"stale"'})
        assert stale.status_code == 412
        assert f'id="error-{activity["id"]}"' in stale.text
        confirmed = await town.post(
            f"/workspace/activities/{activity['id']}/confirmation?csrf={token}",
            data={"etag": re.search(r'name="etag" value="([^"]+)"', queue.text).group(1).replace("&#34;", '"')},  # type: ignore[union-attr]
        )
        assert confirmed.status_code == 303, confirmed.text
    read = (await client.get(f"/v1/activities/{activity['id']}", headers=world.headers("editor"))).json()
    assert read["status"] == "confirmed"


async def test_a_refused_decision_is_shown_on_its_item(
    client: httpx2.AsyncClient, open_browser: OpenBrowser, session: AsyncSession, world: World
) -> None:
    _, target_id = await _agreement_with_target(client, world)
    measurement = await client.post(
        measurements_of(target_id), json={"as_of": "2025-07-01", "value": 3}, headers=world.headers("participant")
    )
    assert measurement.status_code == 201
    async with open_browser() as town:
        await town.sign_in(secret_of(world, "editor"))
        token = await town.csrf("/workspace/review")
        page = await town.post(
            f"/workspace/measurements/{measurement.json()['id']}/verification?csrf={token}",
            data={"decision": "verified"},
        )
    api = await client.post(
        f"/v1/measurements/{measurement.json()['id']}/verification",
        json={"decision": "verified"},
        headers={**world.headers("editor"), "Accept-Language": "es"},
    )
    assert page.status_code == api.status_code == 409
    assert api.json()["detail"] in page.text
    assert f'id="error-{measurement.json()["id"]}"' in page.text


@pytest.mark.parametrize("actor", ["participant", "editor"])
async def test_pages_work_in_english_and_carry_no_script(
    client: httpx2.AsyncClient, open_browser: OpenBrowser, world: World, actor: str
) -> None:
    agreement_id, target_id = await _agreement_with_target(client, world)
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, actor), lang="en")
        for path in (
            "/workspace?lang=en",
            f"/workspace/agreements/{agreement_id}?lang=en",
            f"/workspace/agreements/{agreement_id}/evidence?lang=en",
            f"/workspace/targets/{target_id}/measurements?lang=en",
            f"/workspace/agreements/{agreement_id}/activities?lang=en",
            "/workspace/review?lang=en",
        ):
            page = await browser.get(path)
            assert page.status_code == 200, path
            assert '<html lang="en">' in page.text
            assert page.headers["content-language"] == "en-US"
            assert page.headers["cache-control"] == "no-store"
            assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
            assert "<script" not in page.text
            # Every input has a label.
            for name in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page.text):
                assert f'for="{name}"' in page.text, (path, name)


async def test_problems_below_the_workspace_reach_people_as_pages(open_browser: OpenBrowser, world: World) -> None:
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, "participant"))
        unknown = await browser.get("/workspace/nothing-here?lang=en")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("text/html")
        assert '<html lang="en">' in unknown.text
        wrong_method = await browser.client.put("/workspace/review")
        assert wrong_method.status_code == 405
        assert "allow" in wrong_method.headers
        assert "<h1>No se pudo completar</h1>" in wrong_method.text


async def test_a_decision_on_an_item_decided_meanwhile_is_said_on_top(
    client: httpx2.AsyncClient, open_browser: OpenBrowser, world: World
) -> None:
    agreement_id, _ = await _agreement_with_target(client, world)
    uploaded = await client.post(
        f"/v1/agreements/{agreement_id}/evidence",
        files={"file": ("lista.pdf", pdf(), "application/pdf")},
        data={"title": "Lista", "document_type": "attendance_list"},
        headers=world.headers("participant"),
    )
    evidence_id = uploaded.json()["id"]
    async with open_browser() as town:
        await town.sign_in(secret_of(world, "editor"))
        token = await town.csrf("/workspace/review")
        first = await town.post(f"/workspace/evidence/{evidence_id}/review?csrf={token}", data={"decision": "accepted"})
        assert first.status_code == 303
        again = await town.post(f"/workspace/evidence/{evidence_id}/review?csrf={token}", data={"decision": "rejected"})
        no_decision = await town.post(f"/workspace/evidence/{evidence_id}/review?csrf={token}&lang=en", data={})
    api = await client.post(
        f"/v1/evidence/{evidence_id}/review", json={"decision": "rejected"}, headers=world.headers("editor")
    )
    assert again.status_code == api.status_code == 409
    detail = html.escape(api.json()["detail"], quote=False)
    assert f'<p class="form-error" role="alert" id="form-error">{detail}</p>' in again.text
    assert no_decision.status_code == 422
    assert re.search(r'id="form-error">Input should be [^<]*accepted[^<]*</p>', no_decision.text)
