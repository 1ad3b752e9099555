"""The demo data set, loaded through the services and read back through the API."""

import re
from collections import Counter
from typing import Any

import httpx2
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.clock import today_in
from app.demo import story
from app.demo.loader import LoadReport, load_demo, municipality_name, sister_city_pairs
from app.demo.pdf import DEMO_NOTICE, demo_pdf
from app.log.verify import verify_log
from app.models import OrganizationKind
from app.storage import EvidenceStorage
from tests.conftest import EVIDENCE_DIR, MakeOrg
from tests.conftest import test_settings as settings_with

LABEL = "(demo, datos sintéticos)"
STORY_REFS = {f"demo-sister-cities-{plan.number:03d}" for plan in story.STORY}


async def _load(
    sessionmaker: async_sessionmaker[AsyncSession], progress: list[tuple[int, int]] | None = None
) -> LoadReport:
    async with sessionmaker() as session:
        report = await load_demo(
            session,
            EvidenceStorage(EVIDENCE_DIR.as_uri()),
            today=today_in(settings_with()),
            progress=None if progress is None else lambda done, total: progress.append((done, total)),
        )
        await session.commit()
    return report


async def _all(client: httpx2.AsyncClient, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "200", **({"cursor": cursor} if cursor else {})}
        response = await client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


async def _demo_agreements(client: httpx2.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    everything = await _all(client, "/v1/agreements", headers)
    return [a for a in everything if (a["external_ref"] or "").startswith("demo-sister-cities-")]


async def _log_size(client: httpx2.AsyncClient) -> int:
    response = await client.get("/v1/log/checkpoint")
    assert response.status_code == 200, response.text
    size: int = response.json()["tree_size"]
    return size


async def test_the_demo_tells_the_6_12_24_month_story(
    sessionmaker: async_sessionmaker[AsyncSession], client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await _load(sessionmaker)

    # Milestones, from the public dashboard: only story agreements have targets (26 of them,
    # 3 milestones each), and each status appears, as the plan's notes in app/demo/story.py add up.
    summary = (await client.get("/v1/dashboard/summary")).json()
    assert summary["milestones"]["by_status"] == {"met": 31, "partially_met": 15, "not_met": 8, "scheduled": 24}
    assert summary["milestones"]["due"] == 54
    assert summary["milestones"]["mean_attainment"] > 0
    totals = {(t["indicator"], t["unit"]) for t in summary["key_indicators"]}
    assert {("investment_pipeline", "MXN"), ("investment_pipeline", "USD"), ("jobs_created", None)} <= totals

    agreements = await _demo_agreements(client, admin_headers)
    assert len(agreements) == sum(1 for p in sister_city_pairs() if p.inegi_code)
    stories = [a for a in agreements if a["external_ref"] in STORY_REFS]
    assert len(stories) == len(story.STORY) == 12
    assert len({a["signatory_org_id"] for a in stories}) == 12

    # Summaries in Spanish, labelled; the story agreements say what the demo invented.
    for agreement in agreements:
        assert agreement["summary"].startswith(LABEL), agreement["summary"]
        assert "Hermanamiento real entre" in agreement["summary"]
        assert "source" not in agreement["summary"]
    assert all("datos sintéticos de la demostración" in a["summary"] for a in stories)

    # Registrations in several states; every story agreement is in force. registration_status is
    # the SRE's: the two agreements registered only in their state's registry read pending there.
    assert Counter(a["registration_status"] for a in stories) == {"registered": 4, "submitted": 4, "pending": 4}
    assert {a["status"] for a in stories} == {"in_force"}
    registries: Counter[tuple[str, str]] = Counter()
    for agreement in stories:
        for registration in await _all(client, f"/v1/agreements/{agreement['id']}/registrations", admin_headers):
            registries[registration["registry"], registration["status"]] += 1
    assert registries == {("sre", "registered"): 4, ("state", "registered"): 2, ("sre", "submitted"): 4}

    # Evidence and measurements, with who did what.
    evidence: Counter[str] = Counter()
    measurements: Counter[str] = Counter()
    pdf_id = None
    for agreement in stories:
        participants = set(agreement["participant_org_ids"])
        assert participants, agreement["title"]
        for document in await _all(client, f"/v1/agreements/{agreement['id']}/evidence", admin_headers):
            evidence[document["status"]] += 1
            assert document["media_type"] == "application/pdf"
            assert LABEL in document["title"]
            if document["document_type"] == "progress_report":
                assert document["uploaded_by_org_id"] in participants  # a contributor's key
                pdf_id = document["id"]
        for target in await _all(client, f"/v1/agreements/{agreement['id']}/targets", admin_headers):
            assert LABEL in target["title"]
            for measurement in await _all(client, f"/v1/targets/{target['id']}/measurements", admin_headers):
                measurements[measurement["status"]] += 1
                assert measurement["reported_by_org_id"] in participants
                if measurement["status"] != "reported":
                    assert measurement["decided_by_org_id"] == agreement["signatory_org_id"]  # the editor
    assert evidence == {"accepted": 75, "rejected": 1, "submitted": 1}
    assert measurements == {"verified": 42, "rejected": 1, "reported": 1}

    # The generated evidence is a PDF saying in Spanish that it is a demo document.
    assert pdf_id is not None
    content = await client.get(f"/v1/evidence/{pdf_id}/content", headers=admin_headers)
    assert content.status_code == 200
    assert content.content.startswith(b"%PDF-1.4")
    assert "Documento de demostración".encode("cp1252") in content.content

    # Activities: one held with the partners, one proposed by a partner and still planned.
    for agreement in stories:
        activities = await _all(client, f"/v1/agreements/{agreement['id']}/activities", admin_headers)
        assert sorted(a["status"] for a in activities) == ["held", "planned"]

    # And therefore findings: missing council approval or dictamen, a target without baseline.
    findings = await _all(client, "/v1/compliance/findings", admin_headers)
    story_ids = {a["id"] for a in stories}
    rules = Counter(f["rule"] for f in findings if f["agreement_id"] in story_ids)
    assert rules["no_council_approval"] == 2
    assert rules["no_favorable_dictamen_before_signature"] == 5
    assert rules["target_without_baseline"] == 1
    assert rules["milestone_not_met"] >= 1
    assert rules["not_registered"] == 8  # all but the four the SRE registered

    async with sessionmaker() as session:
        verified = await verify_log(session)
    assert verified.ok, verified.problems


async def test_loading_twice_changes_nothing(
    sessionmaker: async_sessionmaker[AsyncSession], client: httpx2.AsyncClient, admin_headers: dict[str, str]
) -> None:
    progress: list[tuple[int, int]] = []
    first = await _load(sessionmaker, progress)
    total = progress[-1][1]
    assert progress[0] == (0, total)
    assert progress[-1] == (total, total)
    assert [done for done, _ in progress] == list(range(total + 1))
    assert first.stories_created == 12
    size = await _log_size(client)
    before = await _demo_agreements(client, admin_headers)

    second = await _load(sessionmaker)
    assert await _log_size(client) == size
    assert (second.created, second.agreements_created, second.stories_created) == (0, 0, 0)
    assert second.stories_existing == 12
    assert await _demo_agreements(client, admin_headers) == before


def test_demo_pdf_is_a_well_formed_pdf() -> None:
    document = demo_pdf("Informe (avance)", ["Línea con acentos: año, niño, ¿qué?", "x" * 300])
    assert document.startswith(b"%PDF-1.4\n")
    assert document.rstrip().endswith(b"%%EOF")
    # The cross-reference table points at every object, and startxref at the table.
    start = int(re.search(rb"startxref\n(\d+)\n", document).group(1))  # type: ignore[union-attr]
    assert document[start:].startswith(b"xref\n0 7\n")
    offsets = [int(line[:10]) for line in document[start:].split(b"\n")[3:9]]
    for number, offset in enumerate(offsets, start=1):
        assert document[offset:].startswith(b"%d 0 obj" % number)
    length = int(re.search(rb"/Length (\d+)", document).group(1))  # type: ignore[union-attr]
    stream_start = document.index(b"stream\n") + len(b"stream\n")
    assert document[stream_start + length :].startswith(b"\nendstream")
    assert DEMO_NOTICE.encode("cp1252").replace(b"(", b"\\(").replace(b")", b"\\)") in document
    assert b"(Informe \\(avance\\))" in document
    assert demo_pdf("Informe (avance)", ["Línea con acentos: año, niño, ¿qué?", "x" * 300]) == document


async def test_an_older_demo_is_brought_up_to_date(
    sessionmaker: async_sessionmaker[AsyncSession],
    client: httpx2.AsyncClient,
    admin_headers: dict[str, str],
    make_org: MakeOrg,
) -> None:
    """What the previous demo left (English summaries, actors labelled only "(demo)") is updated
    in place on the next load: same ids, nothing duplicated."""
    university = await make_org(OrganizationKind.university, name="Universidad de Ejemplo (demo)")
    acambaro = await make_org(OrganizationKind.municipality, name=municipality_name("11002"), inegi_code="11002")
    created = await client.post(
        "/v1/agreements",
        headers=admin_headers,
        json={
            "title": "Hermanamiento Acámbaro - Laredo",
            "instrument": "sister_city",
            "signatory_org_id": str(acambaro.id),
            "summary": "(demo) Real sister-city pair, source: http://example.org.",
            "counterparts": [{"name": "Laredo", "kind": "foreign_government_body", "country": "US"}],
            "signed_on": "2004-01-01",
            "external_ref": "demo-sister-cities-001",
        },
    )
    assert created.status_code == 201, created.text

    await _load(sessionmaker)

    renamed = await client.get(f"/v1/organizations/{university.id}", headers=admin_headers)
    assert renamed.json()["name"] == "Universidad de Ejemplo (demo, datos sintéticos)"
    agreement = (await client.get(f"/v1/agreements/{created.json()['id']}", headers=admin_headers)).json()
    assert agreement["summary"].startswith(f"{LABEL} Hermanamiento real entre Acámbaro (Guanajuato) y Laredo")
    assert agreement["participant_org_ids"]  # its story was told on the agreement that was there
    demo = await _demo_agreements(client, admin_headers)
    assert len(demo) == sum(1 for p in sister_city_pairs() if p.inegi_code)
