"""The review queue's decisions from the browser: a decision (or a sign-out) without the session's
own CSRF token changes nothing, and a decision or a document never crosses organizations: another
town's editor and an unlisted chamber find nothing there (404), the participant who submitted the
item may not decide it (403), and the item stays as it was."""

from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import World, count, scalar
from tests.targets.factories import SIGNED_ON, create_target, make_agreement, pdf, report
from tests.workspace.conftest import OpenBrowser, csrf_in, secret_of

CSRF_REFUSED = "código de seguridad"
NOT_FOUND = "No existe o su organización no puede verlo."


@dataclass(frozen=True, slots=True)
class Pending:
    """What waits in the signatory editor's queue: a submitted document, a reported measurement
    citing it and a planned activity, all from the participant."""

    agreement_id: str
    evidence_id: str
    measurement_id: str
    activity_id: str
    activity_etag: str
    content: bytes


async def _pending(client: httpx2.AsyncClient, world: World, scenario: str = "public") -> Pending:
    participant = world.headers("participant")
    agreement = await make_agreement(client, world, scenario)
    target = await create_target(client, world.headers("editor"), agreement["id"])
    content = pdf("decisions")
    uploaded = await client.post(
        f"/v1/agreements/{agreement['id']}/evidence",
        files={"file": ("lista.pdf", content, "application/pdf")},
        data={"title": "Lista de asistencia", "document_type": "attendance_list"},
        headers=participant,
    )
    assert uploaded.status_code == 201, uploaded.text
    evidence_id = uploaded.json()["id"]
    measurement = await report(
        client, participant, target["id"], as_of=SIGNED_ON.replace(month=7), value=4, evidence_ids=[evidence_id]
    )
    proposed = await client.post(
        f"/v1/agreements/{agreement['id']}/activities",
        json={"kind": "visit", "title": "Visita de seguimiento", "starts_at": "2027-08-01T10:00:00-06:00"},
        headers=participant,
    )
    assert proposed.status_code == 201, proposed.text
    return Pending(
        agreement_id=agreement["id"],
        evidence_id=evidence_id,
        measurement_id=measurement["id"],
        activity_id=proposed.json()["id"],
        activity_etag=proposed.headers["etag"],
        content=content,
    )


def _decisions(pending: Pending) -> list[tuple[str, dict[str, str]]]:
    """Every decision form of the review queue, each with a body the editor could send."""
    return [
        (f"/workspace/evidence/{pending.evidence_id}/review", {"decision": "accepted", "note": ""}),
        (f"/workspace/evidence/{pending.evidence_id}/review", {"decision": "rejected", "note": "Ilegible"}),
        (f"/workspace/measurements/{pending.measurement_id}/verification", {"decision": "verified"}),
        (f"/workspace/measurements/{pending.measurement_id}/verification", {"decision": "rejected", "note": "No"}),
        (f"/workspace/activities/{pending.activity_id}/confirmation", {"etag": pending.activity_etag}),
    ]


async def _state(session: AsyncSession, pending: Pending) -> tuple[Any, ...]:
    """The items' statuses and the size of what every write appends to."""
    return (
        await scalar(session, "SELECT status FROM evidence_documents WHERE id = :id", id=pending.evidence_id),
        await scalar(session, "SELECT status FROM measurements WHERE id = :id", id=pending.measurement_id),
        await scalar(session, "SELECT status FROM activities WHERE id = :id", id=pending.activity_id),
        await count(session, "log_entries"),
        await count(session, "webhook_events"),
    )


UNTOUCHED = ("submitted", "reported", "planned")


def _with(path: str, token: str | None) -> str:
    return path if token is None else f"{path}?csrf={token}"


async def test_decisions_and_sign_out_without_the_sessions_own_token_change_nothing(
    client: httpx2.AsyncClient, open_browser: OpenBrowser, session: AsyncSession, world: World
) -> None:
    pending = await _pending(client, world)
    before = await _state(session, pending)
    assert before[:3] == UNTOUCHED
    async with open_browser() as other:
        await other.sign_in(secret_of(world, "editor"))
        theirs = await other.csrf("/workspace/review")
    async with open_browser() as town:
        await town.sign_in(secret_of(world, "editor"))
        queue = await town.get("/workspace/review")
        good = csrf_in(queue.text)
        assert theirs != good
        for listed in (pending.evidence_id, pending.measurement_id, pending.activity_id):
            assert listed in queue.text
        tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
        for token in (None, "", "forged", tampered, theirs):
            for path, data in _decisions(pending):
                refused = await town.post(_with(path, token), data=data)
                assert refused.status_code == 403, (path, token, refused.text)
                assert CSRF_REFUSED in refused.text
            # The token in the body instead of the action is not enough either.
            for path, data in _decisions(pending):
                assert (await town.post(path, data={**data, "csrf": good})).status_code == 403
            out = await town.post(_with("/workspace/logout", token))
            assert out.status_code == 403
            assert CSRF_REFUSED in out.text
        assert await _state(session, pending) == before
        # Still signed in: a refused sign-out ended nothing.
        assert (await town.get("/workspace/review")).status_code == 200
        assert await scalar(session, "SELECT count(*) FROM workspace_sessions WHERE ended_at IS NULL") == 2
        # The same forms with the right token do decide: the refusals above were the token's.
        accepted = await town.post(_with(_decisions(pending)[0][0], good), data=_decisions(pending)[0][1])
        assert accepted.status_code == 303, accepted.text
    after = await _state(session, pending)
    assert after[0] == "accepted"
    assert after[3] == before[3] + 1


@pytest.mark.parametrize("scenario", ["public", "private"])
@pytest.mark.parametrize("actor", ["other_editor", "outsider"])
async def test_another_organization_finds_nothing_to_decide_or_download(
    client: httpx2.AsyncClient,
    open_browser: OpenBrowser,
    session: AsyncSession,
    world: World,
    actor: str,
    scenario: str,
) -> None:
    pending = await _pending(client, world, scenario)
    before = await _state(session, pending)
    async with open_browser() as browser:
        await browser.sign_in(secret_of(world, actor))
        queue = await browser.get("/workspace/review")
        assert queue.status_code == 200
        for item in (pending.evidence_id, pending.measurement_id, pending.activity_id):
            assert item not in queue.text
        token = csrf_in(queue.text)
        download = await browser.get(f"/workspace/evidence/{pending.evidence_id}/content")
        assert download.status_code == 404
        assert download.headers["content-type"].startswith("text/html")
        assert NOT_FOUND in download.text
        assert pending.content not in download.content
        for path, data in _decisions(pending):
            refused = await browser.post(_with(path, token), data=data)
            assert refused.status_code == 404, (path, refused.text)
            assert refused.headers["content-type"].startswith("text/html")
            # Refused like an item that does not exist: nothing tells it is there.
            assert "Lista de asistencia" not in refused.text
            assert "Visita de seguimiento" not in refused.text
    # The API agrees: the same key finds nothing either.
    api = await client.get(f"/v1/evidence/{pending.evidence_id}", headers=world.headers(actor))
    assert api.status_code == 404
    assert await _state(session, pending) == before
    assert before[:3] == UNTOUCHED


async def test_the_participant_reads_its_document_but_may_not_decide_its_own_items(
    client: httpx2.AsyncClient, open_browser: OpenBrowser, session: AsyncSession, world: World
) -> None:
    pending = await _pending(client, world)
    before = await _state(session, pending)
    async with open_browser() as uni:
        await uni.sign_in(secret_of(world, "participant"))
        queue = await uni.get("/workspace/review")
        assert 'id="queue-not-yours"' in queue.text
        token = csrf_in(queue.text)
        download = await uni.get(f"/workspace/evidence/{pending.evidence_id}/content")
        assert download.status_code == 200
        assert download.content == pending.content
        for path, data in _decisions(pending):
            refused = await uni.post(_with(path, token), data=data)
            assert refused.status_code == 403, (path, refused.text)
            assert refused.headers["content-type"].startswith("text/html")
            assert CSRF_REFUSED not in refused.text
    api = await client.post(
        f"/v1/evidence/{pending.evidence_id}/review",
        json={"decision": "accepted"},
        headers={**world.headers("participant"), "Accept-Language": "es"},
    )
    assert api.status_code == 403
    assert await _state(session, pending) == before
    assert before[:3] == UNTOUCHED


async def test_a_decision_on_an_unknown_item_is_a_not_found_page(
    open_browser: OpenBrowser, session: AsyncSession, world: World
) -> None:
    entries = await count(session, "log_entries")
    nowhere = "00000000-0000-4000-8000-000000000000"
    async with open_browser() as town:
        await town.sign_in(secret_of(world, "editor"))
        token = await town.csrf("/workspace/review")
        for item in (nowhere, "not-a-uuid"):
            for path, data in (
                (f"/workspace/evidence/{item}/review", {"decision": "accepted"}),
                (f"/workspace/measurements/{item}/verification", {"decision": "verified"}),
                (f"/workspace/activities/{item}/confirmation", {"etag": '"x"'}),
            ):
                page = await town.post(_with(path, token), data=data)
                assert page.status_code == 404, (path, page.text)
            download = await town.get(f"/workspace/evidence/{item}/content")
            assert download.status_code == 404
    assert await count(session, "log_entries") == entries
