"""/v1/agreements/{id}/activities and /v1/activities/{id}: the shared agenda. The signatory's
editor adds and confirms, a listed participant proposes (planned only), everyone else sees the
confirmed and held activities of public agreements; the organizer's offset is kept, links are
checked against the agreement, If-Match, deletion, CSV, keyset pages, Idempotency-Key and one log
entry per write, filed under the agreement."""

import csv
import io
import uuid
from datetime import datetime
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import OrganizationKind, Role
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.factories import (
    AGREEMENTS,
    TODAY,
    World,
    assert_problem,
    count,
    get_ok,
    make_world,
    patch_current,
    pin_today,
    post_created,
    walk,
)
from tests.targets.factories import create_target, log_tail, make_agreement, upload_evidence

ACTIVITIES = "/v1/activities"
# Ahead of and behind the pinned TODAY (2025-06-15), in Guadalajara's offset.
AHEAD = "2025-07-01T10:00:00-06:00"
AHEAD_END = "2025-07-01T14:00:00-06:00"
BEHIND = "2025-06-01T09:00:00-06:00"
CSV_HEADER = (
    "id,agreement_id,kind,title,status,starts_at,ends_at,place,organizer_org_id,participant_org_ids,"
    "target_ids,evidence_ids,proposed_by_org_id,description,updated_at"
)


@pytest.fixture(autouse=True)
def pinned_today(app: FastAPI) -> None:
    pin_today(app, TODAY)


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@pytest.fixture
async def agreement(client: httpx2.AsyncClient, world: World) -> dict[str, Any]:
    """Public (signed), Guadalajara's, listing the university as participant."""
    return await make_agreement(client, world, "public")


def activities_of(agreement_id: str) -> str:
    return f"{AGREEMENTS}/{agreement_id}/activities"


def url_of(activity: dict[str, Any]) -> str:
    return f"{ACTIVITIES}/{activity['id']}"


def activity_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "technical_exchange",
        "title": "Intercambio técnico sobre agua potable",
        "starts_at": AHEAD,
        "ends_at": AHEAD_END,
        "place": "Guadalajara, Jalisco",
    }
    body.update(fields)
    return body


async def add_activity(
    client: httpx2.AsyncClient, headers: dict[str, str], agreement_id: str, **fields: Any
) -> dict[str, Any]:
    response = await client.post(activities_of(agreement_id), json=activity_body(**fields), headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def snapshot(session: AsyncSession) -> tuple[int, int, int]:
    """Rows any activity write adds to: proves a refusal wrote nothing."""
    return (
        await count(session, "activities"),
        await count(session, "activity_links"),
        await count(session, "log_entries"),
    )


async def ids_listed(client: httpx2.AsyncClient, agreement_id: str, headers: dict[str, str]) -> list[str]:
    return [a["id"] for a in await walk(client, activities_of(agreement_id), headers, limit=200)]


# --- create and read ----------------------------------------------------------------------------------


async def test_the_signatorys_editor_adds_activities_in_any_status_with_their_links(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]
) -> None:
    editor = world.headers("editor")
    target = await create_target(client, editor, agreement["id"])
    evidence = await upload_evidence(client, world.headers("participant"), agreement["id"])
    participants = sorted([str(world.participant.id), str(world.outsider.id)])
    response = await client.post(
        activities_of(agreement["id"]),
        json=activity_body(
            kind="business_mission",
            status="confirmed",
            description="Misión de empresas tapatías a Cracovia",
            organizer_org_id=str(world.signatory.id),
            participant_org_ids=participants,
            target_ids=[target["id"]],
            evidence_ids=[evidence["id"]],
        ),
        headers=editor,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"].endswith(url_of(created))
    assert response.headers["etag"]
    assert created["agreement_id"] == agreement["id"]
    assert created["kind"] == "business_mission"
    assert created["status"] == "confirmed"
    assert created["proposed_by_org_id"] == str(world.signatory.id)
    assert created["organizer_org_id"] == str(world.signatory.id)
    assert sorted(created["participant_org_ids"]) == participants
    assert created["target_ids"] == [target["id"]]
    assert created["evidence_ids"] == [evidence["id"]]
    read = await get_ok(client, url_of(created), editor)
    assert read.json() == created
    assert read.headers["etag"] == response.headers["etag"]

    for status, starts_at in (("planned", AHEAD), ("held", BEHIND), ("cancelled", AHEAD)):
        added = await add_activity(client, editor, agreement["id"], status=status, starts_at=starts_at, ends_at=None)
        assert added["status"] == status
        assert added["ends_at"] is None
    # Held is a fact about the past.
    future_held = await client.post(activities_of(agreement["id"]), json=activity_body(status="held"), headers=editor)
    assert_problem(future_held, 422, loc=["body", "status"])
    assert len(await ids_listed(client, agreement["id"], editor)) == 4


async def test_a_listed_participants_contributor_proposes_planned_activities_only(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    participant = world.headers("participant")
    proposal = await add_activity(client, participant, agreement["id"])
    assert proposal["status"] == "planned"
    assert proposal["proposed_by_org_id"] == str(world.participant.id)
    # Without a status, a proposal is planned; asking for any other status is refused.
    before = await snapshot(session)
    for status in ("confirmed", "held", "cancelled"):
        response = await client.post(
            activities_of(agreement["id"]), json=activity_body(status=status, starts_at=BEHIND), headers=participant
        )
        assert_problem(response, 403)
    assert await snapshot(session) == before
    assert await ids_listed(client, agreement["id"], participant) == [proposal["id"]]


@pytest.mark.parametrize("scenario", ["public", "private"])
async def test_nobody_else_adds_activities(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, scenario: str
) -> None:
    agreement = await make_agreement(client, world, scenario)
    hidden = 404 if scenario == "private" else 403
    expected = {
        "outsider": hidden,  # a contributor whose organization is not listed
        "other_editor": hidden,
        "legal_reviewer": 403,
        "auditor": 403,
        "anonymous": 401,
    }
    before = await snapshot(session)
    for actor, status in expected.items():
        response = await client.post(activities_of(agreement["id"]), json=activity_body(), headers=world.headers(actor))
        assert_problem(response, status)
    assert await snapshot(session) == before
    assert (await add_activity(client, world.headers("admin"), agreement["id"], status="confirmed"))["status"] == (
        "confirmed"
    )


# --- proposals and confirmation -------------------------------------------------------------------------


async def test_the_signatorys_editor_confirms_a_proposal_and_the_proposer_cannot(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]
) -> None:
    participant, editor = world.headers("participant"), world.headers("editor")
    proposal = await add_activity(client, participant, agreement["id"])
    assert_problem(await client.get(url_of(proposal)), 404)  # not public while planned
    for status in ("confirmed", "held"):
        assert_problem(await patch_current(client, url_of(proposal), participant, {"status": status}), 403)
    assert (await get_ok(client, url_of(proposal), editor)).json()["status"] == "planned"

    confirmed = await patch_current(client, url_of(proposal), editor, {"status": "confirmed"})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["proposed_by_org_id"] == str(world.participant.id)
    public = await get_ok(client, url_of(proposal), {})
    assert public.json() == confirmed.json()
    assert public.headers["etag"] == confirmed.headers["etag"]


async def test_the_proposer_edits_and_cancels_its_own_planned_proposal_and_no_other_participant_may(
    client: httpx2.AsyncClient, world: World, make_org: MakeOrg, make_key: MakeKey
) -> None:
    second = await make_org(OrganizationKind.university, name="Universidad Autónoma de Guadalajara")
    second_key = bearer(await make_key(Role.contributor, second.id))
    agreement = await make_agreement(client, world, "public")
    etag = (await get_ok(client, f"{AGREEMENTS}/{agreement['id']}", world.headers("editor"))).headers["etag"]
    listed = await client.patch(
        f"{AGREEMENTS}/{agreement['id']}",
        json={"participant_org_ids": [str(world.participant.id), str(second.id)]},
        headers={**world.headers("editor"), "If-Match": etag},
    )
    assert listed.status_code == 200, listed.text

    participant = world.headers("participant")
    proposal = await add_activity(client, participant, agreement["id"])
    edited = await patch_current(
        client, url_of(proposal), participant, {"title": "Taller de potabilización", "place": "Zapopan, Jalisco"}
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["title"], edited.json()["place"]) == ("Taller de potabilización", "Zapopan, Jalisco")

    # Another listed participant sees the proposal but may not change or withdraw it.
    assert_problem(await patch_current(client, url_of(proposal), second_key, {"title": "Otro"}), 403)
    etag = (await get_ok(client, url_of(proposal), second_key)).headers["etag"]
    assert_problem(await client.delete(url_of(proposal), headers={**second_key, "If-Match": etag}), 403)

    cancelled = await patch_current(client, url_of(proposal), participant, {"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert (await get_ok(client, url_of(proposal), world.headers("editor"))).json()["title"] == (
        "Taller de potabilización"
    )


# --- who sees what -------------------------------------------------------------------------------------


async def test_outsiders_see_only_confirmed_and_held_activities_of_public_agreements(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]
) -> None:
    editor = world.headers("editor")
    planned = await add_activity(client, editor, agreement["id"], starts_at="2025-07-03T10:00:00-06:00", ends_at=None)
    confirmed = await add_activity(client, editor, agreement["id"], status="confirmed")
    held = await add_activity(client, editor, agreement["id"], status="held", starts_at=BEHIND, ends_at=None)
    cancelled = await add_activity(client, editor, agreement["id"], status="cancelled", starts_at=BEHIND, ends_at=None)
    # By start; equal starts are ordered by id.
    everything = [*sorted([held, cancelled], key=lambda a: a["id"]), confirmed, planned]
    for actor in ("editor", "participant", "auditor", "admin", "legal_reviewer"):
        assert await ids_listed(client, agreement["id"], world.headers(actor)) == [a["id"] for a in everything], actor
    for actor in ("anonymous", "other_editor", "outsider"):
        headers = world.headers(actor)
        assert await ids_listed(client, agreement["id"], headers) == [held["id"], confirmed["id"]], actor
        assert (await get_ok(client, url_of(confirmed), headers)).json() == confirmed
        for hidden in (planned, cancelled):
            body = assert_problem(await client.get(url_of(hidden), headers=headers), 404)
            missing = assert_problem(await client.get(f"{ACTIVITIES}/{uuid.uuid4()}", headers=headers), 404)
            assert body["detail"] == missing["detail"]

    private = await make_agreement(client, world, "private")
    secret = await add_activity(client, editor, private["id"], status="confirmed")
    for actor in ("anonymous", "other_editor", "outsider"):
        assert_problem(await client.get(activities_of(private["id"]), headers=world.headers(actor)), 404)
        assert_problem(await client.get(url_of(secret), headers=world.headers(actor)), 404)
    for actor in ("participant", "auditor"):
        assert await ids_listed(client, private["id"], world.headers(actor)) == [secret["id"]]


# --- times and links -----------------------------------------------------------------------------------


async def test_times_keep_the_offset_the_organizer_gave(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]
) -> None:
    editor = world.headers("editor")
    created = await add_activity(
        client,
        editor,
        agreement["id"],
        status="confirmed",
        starts_at="2025-07-01T10:00:00-06:00",
        ends_at="2025-07-01T20:30:00Z",
    )
    assert created["starts_at"] == "2025-07-01T10:00:00-06:00"
    # The same instant as given, shown in the organizer's offset.
    assert created["ends_at"] == "2025-07-01T14:30:00-06:00"
    assert datetime.fromisoformat(created["ends_at"]) == datetime.fromisoformat("2025-07-01T20:30:00+00:00")
    assert (await get_ok(client, url_of(created), {})).json()["starts_at"] == "2025-07-01T10:00:00-06:00"

    moved = await patch_current(
        client,
        url_of(created),
        editor,
        {"starts_at": "2025-07-02T09:00:00+02:00", "ends_at": "2025-07-02T11:15:00+02:00"},
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["starts_at"], moved.json()["ends_at"]) == (
        "2025-07-02T09:00:00+02:00",
        "2025-07-02T11:15:00+02:00",
    )
    assert (await get_ok(client, url_of(created), editor)).json()["starts_at"] == "2025-07-02T09:00:00+02:00"

    naive = await client.post(
        activities_of(agreement["id"]),
        json=activity_body(starts_at="2025-07-01T10:00:00", ends_at=None),
        headers=editor,
    )
    assert_problem(naive, 422, loc=["body", "starts_at"])


async def test_an_activity_cannot_end_before_it_starts(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    editor = world.headers("editor")
    before = await snapshot(session)
    response = await client.post(
        activities_of(agreement["id"]),
        json=activity_body(starts_at="2025-07-01T10:00:00-06:00", ends_at="2025-07-01T09:59:00-06:00"),
        headers=editor,
    )
    assert_problem(response, 422, loc=["body", "ends_at"])
    assert await snapshot(session) == before

    activity = await add_activity(client, editor, agreement["id"])
    before = await snapshot(session)
    for change in ({"ends_at": "2025-07-01T09:00:00-06:00"}, {"starts_at": "2025-07-01T15:00:00-06:00"}):
        assert_problem(await patch_current(client, url_of(activity), editor, change), 422, loc=["body", "ends_at"])
    assert await snapshot(session) == before
    assert (await get_ok(client, url_of(activity), editor)).json() == activity


async def test_targets_evidence_and_organizations_must_exist_and_belong_to_the_agreement(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    editor = world.headers("editor")
    other = await make_agreement(client, world, "public")
    foreign_target = await create_target(client, editor, other["id"])
    foreign_evidence = await upload_evidence(client, world.headers("participant"), other["id"])
    own_target = await create_target(client, editor, agreement["id"])
    before = await snapshot(session)
    response = await client.post(
        activities_of(agreement["id"]),
        json=activity_body(
            target_ids=[own_target["id"], foreign_target["id"]],
            evidence_ids=[foreign_evidence["id"]],
            participant_org_ids=[str(uuid.uuid4())],
            organizer_org_id=str(uuid.uuid4()),
        ),
        headers=editor,
    )
    body = assert_problem(response, 422)
    locs = [e["loc"] for e in body["errors"]]
    for loc in (
        ["body", "target_ids", 1],
        ["body", "evidence_ids", 0],
        ["body", "participant_org_ids", 0],
        ["body", "organizer_org_id"],
    ):
        assert loc in locs, body
    assert ["body", "target_ids", 0] not in locs
    assert await snapshot(session) == before

    activity = await add_activity(client, editor, agreement["id"], target_ids=[own_target["id"]])
    changed = await patch_current(client, url_of(activity), editor, {"target_ids": [foreign_target["id"]]})
    assert_problem(changed, 422, loc=["body", "target_ids", 0])
    assert (await get_ok(client, url_of(activity), editor)).json()["target_ids"] == [own_target["id"]]


# --- concurrency and deletion -------------------------------------------------------------------------------


async def test_changes_and_deletions_need_a_current_if_match(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    editor = world.headers("editor")
    activity = await add_activity(client, editor, agreement["id"])
    before = await snapshot(session)
    assert_problem(await client.patch(url_of(activity), json={"title": "X"}, headers=editor), 428)
    assert_problem(
        await client.patch(url_of(activity), json={"title": "X"}, headers={**editor, "If-Match": '"stale"'}), 412
    )
    assert_problem(await client.delete(url_of(activity), headers=editor), 428)
    assert_problem(await client.delete(url_of(activity), headers={**editor, "If-Match": '"stale"'}), 412)
    assert await snapshot(session) == before

    etag = (await get_ok(client, url_of(activity), editor)).headers["etag"]
    first = await client.patch(url_of(activity), json={"title": "Primera"}, headers={**editor, "If-Match": etag})
    assert first.status_code == 200, first.text
    assert first.headers["etag"] != etag
    # A second client still holding the old ETag cannot overwrite the first one's change.
    second = await client.patch(url_of(activity), json={"title": "Segunda"}, headers={**editor, "If-Match": etag})
    assert_problem(second, 412)
    assert (await get_ok(client, url_of(activity), editor)).json()["title"] == "Primera"
    not_modified = await client.get(url_of(activity), headers={**editor, "If-None-Match": first.headers["etag"]})
    assert not_modified.status_code == 304


async def test_who_may_delete_an_activity(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    editor, participant = world.headers("editor"), world.headers("participant")

    async def delete(activity: dict[str, Any], headers: dict[str, str]) -> httpx2.Response:
        etag = (await get_ok(client, url_of(activity), editor)).headers["etag"]
        return await client.delete(url_of(activity), headers={**headers, "If-Match": etag})

    # The proposer withdraws its planned proposal.
    withdrawn = await add_activity(client, participant, agreement["id"])
    response = await delete(withdrawn, participant)
    assert response.status_code == 204, response.text
    assert_problem(await client.get(url_of(withdrawn), headers=editor), 404)

    # Once confirmed, the proposer may no longer delete it (it cancels instead); outsiders never.
    confirmed = await add_activity(client, participant, agreement["id"])
    assert (await patch_current(client, url_of(confirmed), editor, {"status": "confirmed"})).status_code == 200
    before = await snapshot(session)
    assert_problem(await delete(confirmed, participant), 409)
    assert_problem(await delete(confirmed, world.headers("outsider")), 403)
    assert_problem(await delete(confirmed, world.headers("other_editor")), 403)
    assert_problem(await delete(confirmed, world.headers("auditor")), 403)
    assert_problem(await delete(confirmed, {}), 401)
    assert await snapshot(session) == before
    planned = await add_activity(client, participant, agreement["id"])
    before = await snapshot(session)
    assert_problem(await delete(planned, world.headers("outsider")), 404)  # a proposal it may not see
    assert await snapshot(session) == before
    # As the refusal says, the proposer cancels instead.
    cancelled = await patch_current(client, url_of(confirmed), participant, {"status": "cancelled"})
    assert cancelled.status_code == 200, cancelled.text
    confirmed = cancelled.json()

    # The signatory's editor deletes in any status.
    for activity in (confirmed, planned):
        response = await delete(activity, editor)
        assert response.status_code == 204, response.text
        assert_problem(await client.get(url_of(activity), headers=editor), 404)
    assert await ids_listed(client, agreement["id"], editor) == []


# --- lists, CSV, idempotency, log ---------------------------------------------------------------------------


async def test_lists_page_by_start_with_a_keyset_cursor(
    client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]
) -> None:
    editor = world.headers("editor")
    starts = ["2025-07-05T10:00:00-06:00", "2025-07-01T10:00:00-06:00", "2025-07-03T10:00:00-06:00"]
    made = [await add_activity(client, editor, agreement["id"], starts_at=s, ends_at=None) for s in starts]
    twins = [await add_activity(client, editor, agreement["id"], starts_at=starts[1], ends_at=None) for _ in range(2)]
    expected = [*sorted([made[1]["id"], *(t["id"] for t in twins)]), made[2]["id"], made[0]["id"]]
    paged = await walk(client, activities_of(agreement["id"]), editor, limit=2)
    assert [a["id"] for a in paged] == expected
    assert_problem(await client.get(activities_of(agreement["id"]), params={"cursor": "nonsense"}, headers=editor), 422)


async def test_the_agenda_as_csv(client: httpx2.AsyncClient, world: World, agreement: dict[str, Any]) -> None:
    editor = world.headers("editor")
    later = await add_activity(
        client,
        editor,
        agreement["id"],
        status="confirmed",
        starts_at="2025-08-01T10:00:00-06:00",
        ends_at=None,
        participant_org_ids=[str(world.participant.id), str(world.outsider.id)],
    )
    sooner = await add_activity(client, editor, agreement["id"], status="confirmed", title="=HYPERLINK(1)")
    planned = await add_activity(client, editor, agreement["id"], starts_at="2025-07-15T10:00:00-06:00", ends_at=None)

    response = await client.get(activities_of(agreement["id"]), headers={**editor, "Accept": "text/csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0] == CSV_HEADER
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["id"] for r in rows] == [sooner["id"], planned["id"], later["id"]]
    by_id = {r["id"]: r for r in rows}
    assert by_id[later["id"]]["starts_at"] == "2025-08-01T10:00:00-06:00"
    assert sorted(by_id[later["id"]]["participant_org_ids"].split(";")) == sorted(later["participant_org_ids"])
    assert by_id[planned["id"]]["status"] == "planned"
    assert by_id[sooner["id"]]["title"] == "'=HYPERLINK(1)"  # not a formula in a spreadsheet

    public = await client.get(activities_of(agreement["id"]), headers={"Accept": "text/csv"})
    assert public.status_code == 200
    assert [r["id"] for r in csv.DictReader(io.StringIO(public.text))] == [sooner["id"], later["id"]]


async def test_a_retried_create_with_the_same_idempotency_key_adds_one_activity(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    headers = {**world.headers("participant"), "Idempotency-Key": "propuesta-taller-01"}
    first = await client.post(activities_of(agreement["id"]), json=activity_body(), headers=headers)
    again = await client.post(activities_of(agreement["id"]), json=activity_body(), headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert first.json() == again.json()
    assert await count(session, "activities") == 1
    different = await client.post(activities_of(agreement["id"]), json=activity_body(title="Otro"), headers=headers)
    assert_problem(different, 422)
    assert await count(session, "activities") == 1


async def test_each_write_is_one_log_entry_filed_under_the_agreement(
    client: httpx2.AsyncClient, session: AsyncSession, world: World, agreement: dict[str, Any]
) -> None:
    editor, participant = world.headers("editor"), world.headers("participant")
    target = await create_target(client, editor, agreement["id"])
    before = await count(session, "log_entries")
    proposal = await add_activity(client, participant, agreement["id"], target_ids=[target["id"]])
    confirmed = await patch_current(client, url_of(proposal), editor, {"status": "confirmed"})
    assert confirmed.status_code == 200
    etag = confirmed.headers["etag"]
    assert (await client.delete(url_of(proposal), headers={**editor, "If-Match": etag})).status_code == 204
    assert await count(session, "log_entries") == before + 3

    entries = await log_tail(session, 3)
    assert [(e["action"], e["resource_type"], e["resource_id"]) for e in entries] == [
        ("create", "activity", proposal["id"]),
        ("update", "activity", proposal["id"]),
        ("delete", "activity", proposal["id"]),
    ]
    assert {e["agreement_id"] for e in entries} == {uuid.UUID(agreement["id"])}
    assert [e["actor_org_id"] for e in entries] == [world.participant.id, world.signatory.id, world.signatory.id]
    assert entries[0]["document"]["status"] == "planned"
    assert entries[0]["document"]["target_ids"] == [target["id"]]
    assert entries[1]["document"]["status"] == "confirmed"
    assert entries[2]["document"] is None

    history = await walk(client, f"{AGREEMENTS}/{agreement['id']}/history", world.headers("auditor"), limit=200)
    assert [(h["action"], h["resource_type"]) for h in history[-3:]] == [
        ("create", "activity"),
        ("update", "activity"),
        ("delete", "activity"),
    ]


# --- planned activities in the history (a regression a review found) ------------------------------


async def test_history_hides_a_planned_activity_from_anonymous_until_confirmed(
    client: httpx2.AsyncClient, world: World
) -> None:
    agreement = await make_agreement(client, world, "public")
    secret = {"title": "Reunión reservada con inversionistas", "place": "Sala 3", "description": "Agenda privada"}
    proposed = await post_created(
        client, activities_of(agreement["id"]), activity_body(**secret), world.headers("participant")
    )
    assert proposed["status"] == "planned"

    def about_activity(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in entries if e["resource_id"] == proposed["id"]]

    anonymous = about_activity(await walk(client, history_of(agreement["id"]), {}, limit=200))
    assert len(anonymous) == 1
    for value in secret.values():
        assert value not in str(anonymous), anonymous
    # Its own people still see what was proposed.
    insider = about_activity(await walk(client, history_of(agreement["id"]), world.headers("editor"), limit=200))
    assert insider[0]["changes"]["title"]["to"] == secret["title"]

    confirmed = await patch_current(
        client, f"/v1/activities/{proposed['id']}", world.headers("editor"), {"status": "confirmed"}
    )
    assert confirmed.status_code == 200, confirmed.text
    anonymous = about_activity(await walk(client, history_of(agreement["id"]), {}, limit=200))
    assert len(anonymous) == 2
    shown = anonymous[-1]["changes"]
    assert {field: shown[field]["to"] for field in secret} == secret
    assert shown["status"]["to"] == "confirmed"


# --- an activity that ends past the calendar in the organizer's offset (a regression a review found) ---


async def test_an_activity_ending_past_year_9999_in_its_offset_is_a_422(
    client: httpx2.AsyncClient, session: AsyncSession, world: World
) -> None:
    agreement = await make_agreement(client, world, "public")
    before = await count(session, "activities")
    response = await client.post(
        activities_of(agreement["id"]),
        json=activity_body(starts_at="9999-12-31T22:00:00+01:00", ends_at="9999-12-31T23:30:00Z"),
        headers=world.headers("editor"),
    )
    assert_problem(response, 422)
    assert await count(session, "activities") == before


def history_of(agreement_id: str) -> str:
    return f"{AGREEMENTS}/{agreement_id}/history"
