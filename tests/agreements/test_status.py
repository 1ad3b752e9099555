"""Derived `status` and `registration_status`: every branch, first match wins, and the day passing."""

from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import MakeKey, MakeOrg
from tests.factories import (
    AGREEMENTS,
    TODAY,
    World,
    add_registration,
    add_review,
    agreement_body,
    assert_problem,
    create_agreement,
    day,
    get_ok,
    iso,
    make_world,
    patch_current,
    pin_today,
    read_agreement,
    snapshot,
)


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


async def status_of(client: httpx2.AsyncClient, world: World, agreement_id: str) -> tuple[str, str]:
    read = await read_agreement(client, agreement_id, world.headers("admin"))
    return read["status"], read["registration_status"]


# --- status from the agreement's own dates, first match wins ------------------------------------

REASON = {"termination_reason": "Acuerdo de cabildo que da por terminado el hermanamiento."}

DATED_FACTS = [
    pytest.param({}, "draft", id="no-facts-draft"),
    pytest.param({"signed_on": iso(-30)}, "in_force", id="signed-force-defaults-to-signature"),
    pytest.param({"signed_on": iso(0)}, "in_force", id="signed-today-in-force-today"),
    pytest.param({"signed_on": iso(-30), "entry_into_force_on": iso(30)}, "signed", id="entry-into-force-future"),
    pytest.param({"signed_on": iso(-30), "entry_into_force_on": iso(0)}, "in_force", id="entry-into-force-today"),
    pytest.param({"signed_on": iso(-400), "expires_on": iso(-1)}, "expired", id="expired-yesterday"),
    pytest.param({"signed_on": iso(-400), "expires_on": iso(0)}, "in_force", id="expires-today-last-day-in-force"),
    pytest.param({"signed_on": iso(-30), "suspended_on": iso(-1)}, "suspended", id="suspended"),
    pytest.param({"signed_on": iso(-30), "suspended_on": iso(0)}, "suspended", id="suspended-from-today"),
    pytest.param({"signed_on": iso(-30), "suspended_on": iso(5)}, "in_force", id="suspension-scheduled"),
    pytest.param({"signed_on": iso(-30), "withdrawn_on": iso(-1)}, "withdrawn", id="withdrawn"),
    pytest.param({"withdrawn_on": iso(-1)}, "withdrawn", id="withdrawn-before-signature"),
    pytest.param({"signed_on": iso(-30), "terminated_on": iso(-1), **REASON}, "terminated", id="terminated"),
    pytest.param({"signed_on": iso(-30), "terminated_on": iso(0), **REASON}, "terminated", id="terminated-today"),
    pytest.param({"signed_on": iso(-30), "terminated_on": iso(10), **REASON}, "in_force", id="termination-scheduled"),
    pytest.param(
        {
            "signed_on": iso(-400),
            "entry_into_force_on": iso(-390),
            "suspended_on": iso(-100),
            "withdrawn_on": iso(-50),
            "terminated_on": iso(-20),
            "expires_on": iso(-10),
            **REASON,
        },
        "terminated",
        id="terminated-beats-withdrawn-expired-suspended",
    ),
    pytest.param(
        {"signed_on": iso(-400), "suspended_on": iso(-100), "withdrawn_on": iso(-50), "expires_on": iso(-10)},
        "withdrawn",
        id="withdrawn-beats-expired-suspended",
    ),
    pytest.param(
        {"signed_on": iso(-400), "suspended_on": iso(-100), "expires_on": iso(-10)},
        "expired",
        id="expired-beats-suspended",
    ),
    pytest.param(
        {"signed_on": iso(-30), "entry_into_force_on": iso(30), "suspended_on": iso(-1)},
        "suspended",
        id="suspended-beats-signed",
    ),
]


@pytest.mark.parametrize(("facts", "expected"), DATED_FACTS)
async def test_status_follows_the_dates_first_match_wins(
    client: httpx2.AsyncClient, world: World, facts: dict[str, Any], expected: str
) -> None:
    created = await create_agreement(client, world.headers("editor"), world.signatory.id, **facts)
    assert created["status"] == expected
    assert (await status_of(client, world, created["id"]))[0] == expected


# --- status from the legal reviews ---------------------------------------------------------------


async def test_a_new_agreement_is_a_draft_not_applicable_for_registration(
    client: httpx2.AsyncClient, world: World
) -> None:
    created = await create_agreement(client, world.headers("editor"), world.signatory.id)
    assert (created["status"], created["registration_status"]) == ("draft", "not_applicable")


@pytest.mark.parametrize(
    "review",
    [
        pytest.param({"kind": "internal_legal"}, id="pending-internal"),
        pytest.param(
            {"kind": "council_approval", "decided_on": iso(-50), "outcome": "favorable"}, id="favorable-council"
        ),
        pytest.param(
            {"kind": "internal_legal", "decided_on": iso(-50), "outcome": "unfavorable"}, id="unfavorable-internal"
        ),
        pytest.param({"kind": "sre_dictamen"}, id="pending-sre-dictamen"),
        pytest.param(
            {"kind": "sre_dictamen", "decided_on": iso(-50), "outcome": "returned_for_changes"},
            id="sre-returned-for-changes",
        ),
    ],
)
async def test_any_review_that_is_not_a_decided_sre_dictamen_means_under_review(
    client: httpx2.AsyncClient, world: World, review: dict[str, Any]
) -> None:
    created = await create_agreement(client, world.headers("editor"), world.signatory.id)
    await add_review(client, world.headers("legal_reviewer"), created["id"], **review)
    assert await status_of(client, world, created["id"]) == ("under_review", "not_applicable")


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        ("favorable", "cleared_for_signature"),
        ("favorable_with_observations", "cleared_for_signature"),
        ("unfavorable", "not_viable"),
    ],
)
async def test_the_sre_dictamen_clears_or_stops_the_agreement(
    client: httpx2.AsyncClient, world: World, outcome: str, expected: str
) -> None:
    created = await create_agreement(client, world.headers("editor"), world.signatory.id)
    await add_review(client, world.headers("legal_reviewer"), created["id"], kind="internal_legal")
    await add_review(
        client,
        world.headers("legal_reviewer"),
        created["id"],
        kind="sre_dictamen",
        requested_on=iso(-40),
        decided_on=iso(-20),
        outcome=outcome,
    )
    assert (await status_of(client, world, created["id"]))[0] == expected


async def test_the_latest_sre_dictamen_decides(client: httpx2.AsyncClient, world: World) -> None:
    lawyer = world.headers("legal_reviewer")
    created = await create_agreement(client, world.headers("editor"), world.signatory.id)
    agreement_id = created["id"]
    await add_review(
        client,
        lawyer,
        agreement_id,
        kind="sre_dictamen",
        requested_on=iso(-100),
        decided_on=iso(-90),
        outcome="unfavorable",
    )
    assert (await status_of(client, world, agreement_id))[0] == "not_viable"

    # The text is renegotiated and sent again: a new request supersedes the old refusal.
    second = await add_review(client, lawyer, agreement_id, kind="sre_dictamen", requested_on=iso(-60))
    assert (await status_of(client, world, agreement_id))[0] == "under_review"

    response = await patch_current(
        client, f"/v1/legal-reviews/{second['id']}", lawyer, {"decided_on": iso(-30), "outcome": "favorable"}
    )
    assert response.status_code == 200, response.text
    assert (await status_of(client, world, agreement_id))[0] == "cleared_for_signature"

    # Another kind of review, even unfavorable, does not overturn the SRE's dictamen.
    await add_review(
        client,
        lawyer,
        agreement_id,
        kind="internal_legal",
        requested_on=iso(-20),
        decided_on=iso(-10),
        outcome="unfavorable",
    )
    assert (await status_of(client, world, agreement_id))[0] == "cleared_for_signature"

    # Correcting the review's kind re-derives the status from what is left.
    response = await patch_current(client, f"/v1/legal-reviews/{second['id']}", lawyer, {"kind": "council_approval"})
    assert response.status_code == 200, response.text
    assert (await status_of(client, world, agreement_id))[0] == "not_viable"


async def test_signature_outranks_the_legal_stage(client: httpx2.AsyncClient, world: World) -> None:
    created = await create_agreement(client, world.headers("editor"), world.signatory.id)
    await add_review(
        client,
        world.headers("legal_reviewer"),
        created["id"],
        kind="sre_dictamen",
        decided_on=iso(-50),
        outcome="unfavorable",
    )
    assert (await status_of(client, world, created["id"]))[0] == "not_viable"
    url = f"{AGREEMENTS}/{created['id']}"
    response = await patch_current(client, url, world.headers("editor"), {"signed_on": iso(-5)})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "in_force"
    response = await patch_current(client, url, world.headers("editor"), {"entry_into_force_on": iso(5)})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "signed"


async def test_signing_before_any_review_is_not_an_error(client: httpx2.AsyncClient, world: World) -> None:
    created = await create_agreement(client, world.headers("editor"), world.signatory.id, signed_on=iso(-3))
    assert (created["status"], created["registration_status"]) == ("in_force", "pending")
    # A review requested after the signature is recorded as well (the finding is compliance's job).
    await add_review(client, world.headers("legal_reviewer"), created["id"], kind="sre_dictamen", requested_on=iso(-1))
    assert await status_of(client, world, created["id"]) == ("in_force", "pending")


# --- registration status -------------------------------------------------------------------------


async def test_registration_status_follows_the_sre_registrations(client: httpx2.AsyncClient, world: World) -> None:
    editor = world.headers("editor")
    created = await create_agreement(client, editor, world.signatory.id)
    assert (await status_of(client, world, created["id"]))[1] == "not_applicable"

    url = f"{AGREEMENTS}/{created['id']}"
    response = await patch_current(client, url, editor, {"signed_on": iso(-100)})
    assert response.json()["registration_status"] == "pending"

    first = await add_registration(client, editor, created["id"], submitted_on=iso(-90))
    assert (await status_of(client, world, created["id"]))[1] == "submitted"

    response = await patch_current(client, f"/v1/registrations/{first['id']}", editor, {"status": "rejected"})
    assert response.status_code == 200, response.text
    assert (await status_of(client, world, created["id"]))[1] == "rejected"

    # Submitted again: the latest SRE registration decides.
    second = await add_registration(client, editor, created["id"], submitted_on=iso(-60))
    assert (await status_of(client, world, created["id"]))[1] == "submitted"

    # A state registry's inscription does not count for the SRE registry.
    await add_registration(
        client,
        editor,
        created["id"],
        registry="state",
        status="registered",
        submitted_on=iso(-50),
        registered_on=iso(-40),
        registry_number="JAL-2025-7",
    )
    assert (await status_of(client, world, created["id"]))[1] == "submitted"

    response = await patch_current(
        client,
        f"/v1/registrations/{second['id']}",
        editor,
        {"status": "registered", "registered_on": iso(-30), "registry_number": "SRE-AI-2025-0042"},
    )
    assert response.status_code == 200, response.text
    assert await status_of(client, world, created["id"]) == ("in_force", "registered")


@pytest.mark.parametrize(
    ("registrations", "expected"),
    [
        pytest.param([], "pending", id="none-pending"),
        pytest.param([{"registry": "sre"}], "submitted", id="sre-submitted"),
        pytest.param(
            [{"registry": "sre", "status": "registered", "registered_on": iso(-2), "registry_number": "SRE-1"}],
            "registered",
            id="sre-registered",
        ),
        pytest.param([{"registry": "sre", "status": "rejected"}], "rejected", id="sre-rejected"),
        pytest.param(
            [{"registry": "state", "status": "registered", "registered_on": iso(-2), "registry_number": "E-1"}],
            "pending",
            id="only-state-registry-pending",
        ),
        pytest.param([{"registry": "other", "status": "rejected"}], "pending", id="only-other-registry-pending"),
        pytest.param(
            [
                {"registry": "sre", "status": "rejected", "submitted_on": iso(-20)},
                {"registry": "sre", "submitted_on": iso(-5)},
            ],
            "submitted",
            id="resubmitted-after-rejection",
        ),
        pytest.param(
            [
                {"registry": "sre", "submitted_on": iso(-20)},
                {"registry": "state", "status": "rejected", "submitted_on": iso(-5)},
            ],
            "submitted",
            id="later-state-rejection-ignored",
        ),
    ],
)
async def test_registration_status_table(
    client: httpx2.AsyncClient, world: World, registrations: list[dict[str, Any]], expected: str
) -> None:
    editor = world.headers("editor")
    created = await create_agreement(client, editor, world.signatory.id, signed_on=iso(-30))
    for fields in registrations:
        await add_registration(client, editor, created["id"], **fields)
    assert (await status_of(client, world, created["id"]))[1] == expected


async def test_moving_a_registration_out_of_the_sre_registry_makes_it_pending_again(
    client: httpx2.AsyncClient, world: World
) -> None:
    editor = world.headers("editor")
    created = await create_agreement(client, editor, world.signatory.id, signed_on=iso(-30))
    registration = await add_registration(client, editor, created["id"])
    assert (await status_of(client, world, created["id"]))[1] == "submitted"
    response = await patch_current(client, f"/v1/registrations/{registration['id']}", editor, {"registry": "state"})
    assert response.status_code == 200, response.text
    assert (await status_of(client, world, created["id"]))[1] == "pending"


# --- the day passing, with no write in between ----------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "day_before", "on_the_day"),
    [
        pytest.param({"signed_on": iso(-400), "expires_on": iso(-1)}, "in_force", "expired", id="expiry"),
        pytest.param(
            {"signed_on": iso(-30), "entry_into_force_on": iso(0)}, "signed", "in_force", id="entry-into-force"
        ),
        pytest.param({"signed_on": iso(-30), "suspended_on": iso(0)}, "in_force", "suspended", id="suspension"),
        pytest.param({"signed_on": iso(-30), "withdrawn_on": iso(0)}, "in_force", "withdrawn", id="withdrawal"),
        pytest.param(
            {"signed_on": iso(-30), "terminated_on": iso(0), **REASON}, "in_force", "terminated", id="termination"
        ),
    ],
)
async def test_status_changes_by_itself_when_a_date_passes(
    app: FastAPI,
    client: httpx2.AsyncClient,
    session: AsyncSession,
    world: World,
    facts: dict[str, Any],
    day_before: str,
    on_the_day: str,
) -> None:
    pin_today(app, day(-1))
    created = await create_agreement(client, world.headers("editor"), world.signatory.id, **facts)
    url = f"{AGREEMENTS}/{created['id']}"
    writes = await snapshot(session)

    pin_today(app, day(-1))
    before = (await get_ok(client, url, world.headers("editor"))).json()
    pin_today(app, TODAY)
    after = (await get_ok(client, url, world.headers("editor"))).json()

    assert before["status"] == day_before
    assert after["status"] == on_the_day
    assert after["updated_at"] == before["updated_at"] == created["updated_at"]
    assert await snapshot(session) == writes  # nothing ran: the status is read, not stored


async def test_expired_today_in_force_yesterday_also_in_lists_and_etags(
    app: FastAPI, client: httpx2.AsyncClient, world: World
) -> None:
    editor = world.headers("editor")
    created = await create_agreement(client, editor, world.signatory.id, signed_on=iso(-400), expires_on=iso(-1))
    url = f"{AGREEMENTS}/{created['id']}"

    pin_today(app, day(-1))
    yesterday = await get_ok(client, url, editor)
    assert yesterday.json()["status"] == "in_force"
    listed = await client.get(AGREEMENTS, params={"status": "expired"}, headers=editor)
    assert listed.json()["items"] == []
    listed = await client.get(AGREEMENTS, params={"status": "in_force"}, headers=editor)
    assert [i["id"] for i in listed.json()["items"]] == [created["id"]]

    pin_today(app, TODAY)
    # A cached copy from yesterday is not "still valid": its status is out of date.
    response = await client.get(url, headers={**editor, "If-None-Match": yesterday.headers["etag"]})
    assert response.status_code == 200
    assert response.json()["status"] == "expired"
    assert response.headers["etag"] != yesterday.headers["etag"]
    listed = await client.get(AGREEMENTS, params={"status": "expired"}, headers=editor)
    assert [i["id"] for i in listed.json()["items"]] == [created["id"]]
    listed = await client.get(AGREEMENTS, params={"status": "in_force"}, headers=editor)
    assert listed.json()["items"] == []


# --- no endpoint sets status -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("status", "in_force"),
        ("status", "draft"),
        ("registration_status", "registered"),
        ("id", "00000000-0000-0000-0000-000000000001"),
        ("updated_at", "2025-01-01T00:00:00Z"),
    ],
)
async def test_status_cannot_be_sent_on_create(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, field: str, value: str
) -> None:
    before = await snapshot(session)
    body = agreement_body(world.signatory.id, signed_on=iso(-3), **{field: value})
    response = await client.post(AGREEMENTS, json=body, headers=world.headers("editor"))
    problem = assert_problem(response, 422, loc=["body", field])
    assert any(e["type"] == "extra_forbidden" for e in problem["errors"])
    assert await snapshot(session) == before


@pytest.mark.parametrize(
    ("field", "value"), [("status", "terminated"), ("status", "in_force"), ("registration_status", "registered")]
)
async def test_status_cannot_be_sent_on_update(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, field: str, value: str
) -> None:
    editor = world.headers("editor")
    created = await create_agreement(client, editor, world.signatory.id)
    before = await snapshot(session)
    response = await patch_current(client, f"{AGREEMENTS}/{created['id']}", editor, {field: value})
    assert_problem(response, 422, loc=["body", field])
    assert await snapshot(session) == before
    assert await status_of(client, world, created["id"]) == ("draft", "not_applicable")
