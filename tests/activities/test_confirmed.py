"""Once the signatory's editor confirms an activity, its proposer may only cancel it."""

import httpx2

from app.models import OrganizationKind, Role
from tests.conftest import MakeKey, MakeOrg, bearer


async def test_a_confirmed_activity_is_changed_by_the_editor_and_only_cancelled_by_its_proposer(
    client: httpx2.AsyncClient, make_org: MakeOrg, make_key: MakeKey
) -> None:
    city = await make_org(OrganizationKind.municipality, inegi_code="14039")
    university = await make_org(OrganizationKind.university)
    editor = bearer(await make_key(Role.editor, city.id))
    contributor = bearer(await make_key(Role.contributor, university.id))
    agreement = await client.post(
        "/v1/agreements",
        json={
            "title": "Hermanamiento",
            "instrument": "sister_city",
            "signatory_org_id": str(city.id),
            "counterparts": [{"name": "Kraków", "kind": "foreign_government_body", "country": "PL"}],
            "participant_org_ids": [str(university.id)],
            "signed_on": "2024-01-10",
        },
        headers=editor,
    )
    proposal = await client.post(
        f"/v1/agreements/{agreement.json()['id']}/activities",
        json={"kind": "training", "title": "Taller", "starts_at": "2030-05-01T10:00:00-06:00"},
        headers=contributor,
    )
    url = f"/v1/activities/{proposal.json()['id']}"
    confirmed = await client.patch(
        url, json={"status": "confirmed"}, headers={**editor, "If-Match": proposal.headers["etag"]}
    )
    assert confirmed.status_code == 200

    retitled = await client.patch(
        url, json={"title": "Otro"}, headers={**contributor, "If-Match": confirmed.headers["etag"]}
    )
    replanned = await client.patch(
        url, json={"status": "planned"}, headers={**contributor, "If-Match": confirmed.headers["etag"]}
    )
    assert (retitled.status_code, replanned.status_code) == (403, 403)
    assert (await client.get(url)).json()["title"] == "Taller"

    cancelled = await client.patch(
        url, json={"status": "cancelled"}, headers={**contributor, "If-Match": confirmed.headers["etag"]}
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
