"""Two concurrent changes of one child of an agreement cannot both win, whatever its kind.

Every kind goes through the one child-write path (agreement locked, then the child, in one
statement): two PATCHes sent at once with the same If-Match give one 200 and one 412, and two
decisions sent at once give one 200 and one 409. Runs on a database of its own whose
transactions really commit (the shared one rolls back, so it cannot show a race).
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest

from app.api_keys import service as key_service
from app.db import make_engine, make_sessionmaker, unit_of_work
from app.main import create_app
from app.models import Role
from app.models.organizations import PLATFORM_ORG_ID
from app.organizations import service as org_service
from tests import conftest
from tests.conftest import bearer
from tests.db import drop_database
from tests.factories import (
    AGREEMENTS,
    TODAY,
    assert_problem,
    create_agreement,
    get_ok,
    iso,
    patch_current,
    pin_today,
    post_created,
    read_agreement,
    walk,
)
from tests.targets.factories import SIGNED_ON, pdf, target_body

pytestmark = pytest.mark.slow

ORGS = "/v1/organizations"


@pytest.fixture(scope="module")
def committed_url() -> Iterator[str]:
    url = conftest.migrated_database("pacta_races")
    try:
        yield url
    finally:
        drop_database(url)


@pytest.fixture
async def committed_client(committed_url: str) -> AsyncIterator[tuple[httpx2.AsyncClient, dict[str, str]]]:
    """A client on the committed database, with an admin key there."""
    engine = make_engine(committed_url, pool_size=10)
    try:
        maker = make_sessionmaker(engine)
        app = create_app(conftest.test_settings())
        app.state.sessionmaker = maker
        pin_today(app, TODAY)
        async with unit_of_work(maker) as session:
            platform = await org_service.get_organization(session, PLATFORM_ORG_ID)
            _, secret = await key_service.issue_key(
                session, platform, role=Role.admin, name="races", expires_at=None, actor_org_id=PLATFORM_ORG_ID
            )
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, bearer(secret)
    finally:
        await engine.dispose()


@pytest.fixture
async def cast(
    committed_client: tuple[httpx2.AsyncClient, dict[str, str]],
) -> tuple[httpx2.AsyncClient, dict[str, dict[str, str]], str]:
    """A client on the committed database, keys for a signatory's editor and a participant's
    contributor, and a signed agreement of that signatory listing the participant."""
    client, admin = committed_client
    tag = uuid.uuid4().hex[:6]
    city = await post_created(client, ORGS, {"kind": "federal_body", "name": f"Secretaría {tag}"}, admin)
    school = await post_created(client, ORGS, {"kind": "university", "name": f"Universidad {tag}"}, admin)
    keys = {
        "editor": bearer(
            (await post_created(client, f"{ORGS}/{city['id']}/api-keys", {"role": "editor"}, admin))["secret"]
        ),
        "participant": bearer(
            (await post_created(client, f"{ORGS}/{school['id']}/api-keys", {"role": "contributor"}, admin))["secret"]
        ),
    }
    agreement = await create_agreement(
        client,
        keys["editor"],
        uuid.UUID(city["id"]),
        signed_on=SIGNED_ON.isoformat(),
        participant_org_ids=[school["id"]],
    )
    return client, keys, agreement["id"]


async def _race_patches(
    client: httpx2.AsyncClient, url: str, headers: dict[str, str], first: dict[str, Any], second: dict[str, Any]
) -> None:
    """Two PATCHes with the same If-Match at once: one wins, the other is a 412, and what is
    stored is what the winner answered."""
    etag = (await get_ok(client, url, headers)).headers["etag"]
    responses = await asyncio.gather(
        client.patch(url, json=first, headers={**headers, "If-Match": etag}),
        client.patch(url, json=second, headers={**headers, "If-Match": etag}),
    )
    assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
    assert_problem(next(r for r in responses if r.status_code == 412), 412)
    winner = next(r for r in responses if r.status_code == 200)
    stored = await get_ok(client, url, headers)
    assert stored.json() == winner.json()
    assert stored.headers["etag"] == winner.headers["etag"]


async def _race_posts(
    client: httpx2.AsyncClient, url: str, headers: dict[str, str], bodies: list[dict[str, Any]]
) -> None:
    """Two decisions at once: one is taken, the other finds it taken (409)."""
    responses = await asyncio.gather(*(client.post(url, json=b, headers=headers) for b in bodies))
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    assert_problem(next(r for r in responses if r.status_code == 409), 409)


Cast = tuple[httpx2.AsyncClient, dict[str, dict[str, str]], str]


async def test_agreement(cast: Cast) -> None:
    client, keys, agreement_id = cast
    await _race_patches(
        client, f"{AGREEMENTS}/{agreement_id}", keys["editor"], {"summary": "Primera"}, {"summary": "Segunda"}
    )


async def test_legal_review(cast: Cast) -> None:
    client, keys, agreement_id = cast
    review = await post_created(
        client,
        f"{AGREEMENTS}/{agreement_id}/legal-reviews",
        {"kind": "sre_dictamen", "requested_on": iso(-300)},
        keys["editor"],
    )
    await _race_patches(
        client, f"/v1/legal-reviews/{review['id']}", keys["editor"], {"reference": "SRE/1"}, {"reference": "SRE/2"}
    )


async def test_registration(cast: Cast) -> None:
    client, keys, agreement_id = cast
    registration = await post_created(
        client,
        f"{AGREEMENTS}/{agreement_id}/registrations",
        {"registry": "sre", "submitted_on": iso(-10)},
        keys["editor"],
    )
    await _race_patches(
        client,
        f"/v1/registrations/{registration['id']}",
        keys["editor"],
        {"observations": "Primera"},
        {"observations": "Segunda"},
    )


async def test_target(cast: Cast) -> None:
    client, keys, agreement_id = cast
    target = await post_created(client, f"{AGREEMENTS}/{agreement_id}/targets", target_body(), keys["editor"])
    await _race_patches(client, f"/v1/targets/{target['id']}", keys["editor"], {"title": "Una"}, {"title": "Otra"})


async def test_activity(cast: Cast) -> None:
    client, keys, agreement_id = cast
    body = {"kind": "training", "title": "Taller", "starts_at": "2025-07-01T10:00:00-06:00", "status": "confirmed"}
    activity = await post_created(client, f"{AGREEMENTS}/{agreement_id}/activities", body, keys["editor"])
    await _race_patches(client, f"/v1/activities/{activity['id']}", keys["editor"], {"title": "Uno"}, {"title": "Dos"})


async def _evidence(client: httpx2.AsyncClient, headers: dict[str, str], agreement_id: str) -> dict[str, Any]:
    response = await client.post(
        f"{AGREEMENTS}/{agreement_id}/evidence",
        files={"file": ("lista.pdf", pdf(), "application/pdf")},
        data={"title": "Lista de asistencia", "document_type": "attendance_list"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_evidence_review(cast: Cast) -> None:
    client, keys, agreement_id = cast
    evidence = await _evidence(client, keys["participant"], agreement_id)
    await _race_posts(
        client,
        f"/v1/evidence/{evidence['id']}/review",
        keys["editor"],
        [{"decision": "accepted"}, {"decision": "rejected"}],
    )


async def test_measurement_decision(cast: Cast) -> None:
    client, keys, agreement_id = cast
    target = await post_created(client, f"{AGREEMENTS}/{agreement_id}/targets", target_body(), keys["editor"])
    evidence = await _evidence(client, keys["participant"], agreement_id)
    measurement = await post_created(
        client,
        f"/v1/targets/{target['id']}/measurements",
        {"as_of": iso(-1), "value": 3, "evidence_ids": [evidence["id"]]},
        keys["participant"],
    )
    await _race_posts(
        client,
        f"/v1/measurements/{measurement['id']}/verification",
        keys["editor"],
        [{"decision": "verified"}, {"decision": "rejected"}],
    )


# --- concurrent PATCHes of one legal review (a regression a review found) -------------------------


@pytest.mark.slow
async def test_concurrent_patches_with_one_if_match_let_only_one_through(
    committed_client: tuple[httpx2.AsyncClient, dict[str, str]],
) -> None:
    client, admin = committed_client
    gdl = await post_created(
        client, ORGS, {"kind": "municipality", "name": "Municipio de Guadalajara", "inegi_code": "14039"}, admin
    )
    editor = bearer((await post_created(client, f"{ORGS}/{gdl['id']}/api-keys", {"role": "editor"}, admin))["secret"])
    lawyer = bearer(
        (await post_created(client, f"{ORGS}/{gdl['id']}/api-keys", {"role": "legal_reviewer"}, admin))["secret"]
    )
    agreement = await create_agreement(client, editor, uuid.UUID(gdl["id"]))
    favorable = {"outcome": "favorable", "decided_on": iso(-5)}
    for round_ in range(3):
        review = await post_created(
            client,
            f"{AGREEMENTS}/{agreement['id']}/legal-reviews",
            {"kind": "sre_dictamen", "requested_on": iso(-60)},
            editor,
        )
        url = f"/v1/legal-reviews/{review['id']}"
        etag = (await get_ok(client, url, editor)).headers["etag"]
        # The editor records the decision while the legal reviewer corrects the oficio number.
        responses = await asyncio.gather(
            client.patch(url, json=favorable, headers={**editor, "If-Match": etag}),
            client.patch(url, json={"reference": f"SRE/{round_}"}, headers={**lawyer, "If-Match": etag}),
        )
        assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
        assert_problem(next(r for r in responses if r.status_code == 412), 412)
        winner = next(r for r in responses if r.status_code == 200).json()
        stored = (await get_ok(client, url, editor)).json()
        assert (stored["outcome"], stored["reference"]) == (winner["outcome"], winner["reference"])
        if stored["outcome"] != "favorable":  # the correction won: the decision is recorded after it
            patched = await patch_current(client, url, editor, favorable)
            assert patched.status_code == 200, patched.text
        # The SRE dictamen is favorable: so is what the agreement says, and what the log recorded.
        assert (await read_agreement(client, agreement["id"], editor))["status"] == "cleared_for_signature"
        history = await walk(client, f"{AGREEMENTS}/{agreement['id']}/history", editor, limit=200)
        logged = [e for e in history if e["resource_id"] == review["id"]]
        assert [e["changes"].get("outcome", {}).get("to") for e in logged][-1] == "favorable"
