"""Each of the twelve compliance rules: a case that raises the finding and a close case that does
not, evaluated through the API on the day each test chooses (today pinned, as "today" is an input
of every rule). Every finding names its rule, agreement, legal basis and the date or value behind it.
"""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.main import create_app
from app.models import OrganizationKind, Role
from tests.compliance.factories import LEGAL_BASIS, LONG_AGO, RULE_CODES, SIGNED, Registry, finding_rules, only
from tests.conftest import MakeKey, MakeOrg, bearer
from tests.conftest import test_settings as settings_with
from tests.factories import TODAY, World, counterpart, make_world, pin_today


@pytest.fixture
async def world(make_org: MakeOrg, make_key: MakeKey) -> World:
    return await make_world(make_org, make_key)


@pytest.fixture
def registry(client: httpx2.AsyncClient, app: FastAPI, world: World) -> Registry:
    pin_today(app, TODAY)
    return Registry(client, app, world)


@pytest.fixture
def registry_with(sessionmaker: async_sessionmaker[AsyncSession], world: World) -> Callable[..., Any]:
    """A registry on an app built with other settings, on the same test transaction."""

    @asynccontextmanager
    async def make(**settings: Any) -> AsyncIterator[Registry]:
        other = create_app(settings_with(**settings))
        other.state.sessionmaker = sessionmaker
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=other), base_url="http://testserver") as c:
            yield Registry(c, other, world)

    return make


def days(n: int) -> timedelta:
    return timedelta(days=n)


def assert_names(finding: dict[str, Any], rule: str, agreement_id: str, *mentions: str) -> None:
    """A finding a person can act on: which rule, which agreement, why (with the date or value),
    and on what legal basis."""
    assert finding["rule"] == rule
    assert finding["agreement_id"] == agreement_id
    assert finding["agreement_title"].startswith("Hermanamiento")
    assert finding["severity"] in ("high", "medium", "low")
    assert finding["title"]
    assert finding["legal_basis"]
    if rule in LEGAL_BASIS:
        assert LEGAL_BASIS[rule] in finding["legal_basis"], finding
    for mention in mentions:
        assert mention in finding["detail"], (mention, finding["detail"])


# --- sre_not_informed_before_signature (LSCT art. 7) ----------------------------------------------


@pytest.mark.parametrize(
    ("kind", "requested", "expected"),
    [
        pytest.param("sre_dictamen", SIGNED - days(1), False, id="dictamen-requested-the-day-before"),
        pytest.param("sre_dictamen", SIGNED, False, id="dictamen-requested-on-the-signing-day"),
        pytest.param("sre_dictamen", SIGNED + days(1), True, id="dictamen-requested-the-day-after"),
        pytest.param("internal_legal", SIGNED - days(30), True, id="only-an-internal-review"),
        pytest.param(None, None, True, id="no-review-at-all"),
    ],
)
async def test_sre_not_informed_before_signature(
    registry: Registry, kind: str | None, requested: date | None, expected: bool
) -> None:
    agreement = await registry.agreement()
    if kind is not None and requested is not None:
        await registry.review(agreement, kind, requested)
    findings = await registry.findings()
    rule = "sre_not_informed_before_signature"
    assert (rule in finding_rules(findings, agreement)) is expected
    if expected:
        assert_names(only(findings, rule, agreement), rule, agreement, "2025-03-01")


async def test_an_unsigned_agreement_owes_the_sre_nothing_yet(registry: Registry) -> None:
    agreement = await registry.agreement(signed_on=None)
    assert finding_rules(await registry.findings(), agreement) == set()


# --- no_favorable_dictamen_before_signature (LSCT art. 7) ------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "decided", "expected"),
    [
        pytest.param("favorable", SIGNED, False, id="favorable-on-the-signing-day"),
        pytest.param("favorable_with_observations", SIGNED - days(1), False, id="favorable-with-observations"),
        pytest.param("favorable", SIGNED + days(1), True, id="favorable-the-day-after"),
        pytest.param("unfavorable", SIGNED - days(5), True, id="unfavorable"),
        pytest.param("returned_for_changes", SIGNED - days(5), True, id="returned-for-changes"),
        pytest.param("pending", None, True, id="still-pending"),
    ],
)
async def test_no_favorable_dictamen_before_signature(
    registry: Registry, outcome: str, decided: date | None, expected: bool
) -> None:
    agreement = await registry.agreement()
    await registry.review(agreement, "sre_dictamen", SIGNED - days(40), decided_on=decided, outcome=outcome)
    findings = await registry.findings()
    rule = "no_favorable_dictamen_before_signature"
    assert (rule in finding_rules(findings, agreement)) is expected
    # The dictamen was requested in time either way.
    assert "sre_not_informed_before_signature" not in finding_rules(findings, agreement)
    if expected:
        assert_names(only(findings, rule, agreement), rule, agreement, "2025-03-01")


async def test_a_favorable_council_vote_is_not_an_sre_dictamen(registry: Registry) -> None:
    agreement = await registry.agreement()
    await registry.review(
        agreement, "council_approval", SIGNED - days(10), decided_on=SIGNED - days(9), outcome="favorable"
    )
    rules = await registry.rules_on(agreement)
    assert {"no_favorable_dictamen_before_signature", "sre_not_informed_before_signature"} <= rules
    assert "no_council_approval" not in rules


# --- not_registered (art. 7; grace period from settings) -------------------------------------------


async def test_not_registered_after_the_grace_period(registry: Registry) -> None:
    agreement = await registry.agreement()  # 2025-03-01; default grace 90 days
    rule = "not_registered"
    assert rule not in await registry.rules_on(agreement, on=SIGNED + days(90))  # the last day of grace
    findings = await registry.findings(on=SIGNED + days(91))
    assert_names(only(findings, rule, agreement), rule, agreement, "2025-03-01", "hace 91 días", "90 días")
    assert "hace 106 días" in only(await registry.findings(), rule, agreement)["detail"]


async def test_registered_agreements_are_not_flagged(registry: Registry) -> None:
    registered = await registry.agreement()
    await registry.registration(registered, submitted_on=SIGNED + days(5), registered_on=SIGNED + days(40))
    submitted = await registry.agreement()
    await registry.registration(submitted, submitted_on=SIGNED + days(5))
    findings = await registry.findings()
    assert "not_registered" not in finding_rules(findings, registered)
    # Submitted is not registered: still a finding.
    assert "not_registered" in finding_rules(findings, submitted)


async def test_signed_within_a_configured_grace_period(registry: Registry, registry_with: Callable[..., Any]) -> None:
    agreement = await registry.agreement(signed_on=TODAY - days(20))
    assert "not_registered" not in await registry.rules_on(agreement)  # 20 days of 90
    async with registry_with(registration_grace_days=20) as strict:
        assert "not_registered" not in await strict.rules_on(agreement)
    async with registry_with(registration_grace_days=19) as stricter:
        findings = await stricter.findings()
        assert_names(
            only(findings, "not_registered", agreement), "not_registered", agreement, "hace 20 días", "19 días"
        )


# --- no_council_approval (municipal agreements) -----------------------------------------------------


@pytest.fixture
async def state_government(make_org: MakeOrg, make_key: MakeKey) -> tuple[str, dict[str, str]]:
    state = await make_org(OrganizationKind.state, name="Gobierno del Estado de Jalisco", subdivision="MX-JAL")
    return str(state.id), bearer(await make_key(Role.editor, state.id))


async def test_municipal_agreement_without_council_approval(
    registry: Registry, state_government: tuple[str, dict[str, str]]
) -> None:
    municipal = await registry.agreement()
    approved = await registry.agreement()
    await registry.review(
        approved, "council_approval", SIGNED - days(20), decided_on=SIGNED - days(2), outcome="favorable"
    )
    late = await registry.agreement()
    await registry.review(late, "council_approval", SIGNED - days(20), decided_on=SIGNED + days(2), outcome="favorable")
    rejected = await registry.agreement()
    await registry.review(
        rejected, "council_approval", SIGNED - days(20), decided_on=SIGNED - days(2), outcome="unfavorable"
    )
    state_id, _ = state_government
    by_state = await registry.agreement(actor="admin", signatory=uuid.UUID(state_id))

    findings = await registry.findings()
    rule = "no_council_approval"
    assert_names(only(findings, rule, municipal), rule, municipal, "2025-03-01")
    assert rule not in finding_rules(findings, approved)
    assert rule in finding_rules(findings, late)
    assert rule in finding_rules(findings, rejected)
    # A state government does not go to a cabildo; it still owes the SRE its dictamen.
    assert rule not in finding_rules(findings, by_state)
    assert "sre_not_informed_before_signature" in finding_rules(findings, by_state)


# --- private_counterpart (art. 2 fr. II) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        pytest.param("private_entity", True, id="private-company"),
        pytest.param("foreign_government_body", False, id="foreign-city"),
        pytest.param("international_organization", False, id="international-organization"),
    ],
)
async def test_private_counterpart(registry: Registry, kind: str, expected: bool) -> None:
    parties = [counterpart(), counterpart(name="Siemens Mobility GmbH", country="DE", kind=kind)]
    signed = await registry.agreement(counterparts=parties)
    draft = await registry.agreement(signed_on=None, counterparts=parties)
    findings = await registry.findings()
    for agreement in (signed, draft):  # a private contract is no interinstitutional agreement, signed or not
        assert ("private_counterpart" in finding_rules(findings, agreement)) is expected
    if expected:
        finding = only(findings, "private_counterpart", draft)
        assert_names(finding, "private_counterpart", draft, "Siemens Mobility GmbH")
        assert finding["severity"] == "high"


# --- no_signed_text (art. 2 fr. II, "por escrito") -----------------------------------------------------


@pytest.mark.parametrize(
    ("document_type", "decision", "expected"),
    [
        pytest.param("agreement_text", "accepted", False, id="accepted-text"),
        pytest.param("agreement_text", None, True, id="text-submitted-only"),
        pytest.param("agreement_text", "rejected", True, id="text-rejected"),
        pytest.param("council_minutes", "accepted", True, id="accepted-but-not-the-text"),
        pytest.param(None, None, True, id="nothing-on-file"),
    ],
)
async def test_no_signed_text(
    registry: Registry, document_type: str | None, decision: str | None, expected: bool
) -> None:
    agreement = await registry.agreement()
    if document_type is not None:
        await registry.evidence(agreement, document_type, decision)
    findings = await registry.findings()
    assert ("no_signed_text" in finding_rules(findings, agreement)) is expected
    if expected:
        assert_names(only(findings, "no_signed_text", agreement), "no_signed_text", agreement, "2025-03-01")


async def test_an_unsigned_draft_needs_no_signed_text(registry: Registry) -> None:
    draft = await registry.agreement(signed_on=None)
    assert "no_signed_text" not in await registry.rules_on(draft)


# --- dispute_clause_not_reviewed (art. 8) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("clause", "checks", "expected"),
    [
        pytest.param(True, None, True, id="clause-no-review"),
        pytest.param(True, {"dispute_clause_compliant": True}, False, id="reviewed-compliant"),
        pytest.param(True, {"dispute_clause_compliant": False}, False, id="reviewed-not-compliant"),
        pytest.param(True, {"within_competence": True, "dispute_clause_compliant": None}, True, id="review-silent"),
        pytest.param(False, None, False, id="no-clause"),
        pytest.param(None, None, False, id="clause-unknown"),
    ],
)
async def test_dispute_clause_not_reviewed(
    registry: Registry, clause: bool | None, checks: dict[str, bool | None] | None, expected: bool
) -> None:
    agreement = await registry.agreement(has_dispute_settlement_clause=clause)
    if checks is not None:
        await registry.review(agreement, "internal_legal", SIGNED - days(30), checks=checks)
    findings = await registry.findings()
    rule = "dispute_clause_not_reviewed"
    assert (rule in finding_rules(findings, agreement)) is expected
    if expected:
        assert_names(only(findings, rule, agreement), rule, agreement, "cláusula de solución de controversias")


# --- in_force_without_targets -------------------------------------------------------------------------


async def test_in_force_without_targets(registry: Registry) -> None:
    bare = await registry.agreement()
    with_target = await registry.agreement()
    await registry.target(with_target)
    not_yet = await registry.agreement(entry_into_force_on=TODAY + days(10))
    findings = await registry.findings()
    rule = "in_force_without_targets"
    assert_names(only(findings, rule, bare), rule, bare, "2025-03-01")
    assert rule not in finding_rules(findings, with_target)
    # Signed, not yet in force: not yet a finding ... until the day it enters into force.
    assert rule not in finding_rules(findings, not_yet)
    later = await registry.findings(on=TODAY + days(10))
    assert_names(only(later, rule, not_yet), rule, not_yet, (TODAY + days(10)).isoformat())


async def test_an_ended_agreement_needs_no_targets(registry: Registry) -> None:
    terminated = await registry.agreement(terminated_on=TODAY - days(1), termination_reason="Acuerdo de cabildo.")
    assert "in_force_without_targets" not in await registry.rules_on(terminated)


# --- target_without_baseline -----------------------------------------------------------------------


async def test_target_without_baseline(registry: Registry) -> None:
    agreement = await registry.agreement()
    missing = await registry.target(agreement, title="Inversión estimada", baseline=None)
    undated = await registry.target(agreement, title="Capacitaciones certificadas", baseline={"on": "2025-01-01"})
    zero = await registry.target(agreement, title="Empresas atendidas", baseline={"value": 0})
    qualitative = await registry.target(
        agreement, title="Protocolo adoptado", measure="qualitative", milestones=[{"months": 6}], baseline=None
    )
    findings = [f for f in await registry.findings() if f["rule"] == "target_without_baseline"]
    by_subject = {f["subject_id"]: f for f in findings if f["agreement_id"] == agreement}
    assert set(by_subject) == {missing, undated}  # a baseline of 0 is a baseline; qualitative needs none
    assert zero not in by_subject
    assert qualitative not in by_subject
    finding = by_subject[missing]
    assert finding["subject_type"] == "target"
    assert_names(finding, "target_without_baseline", agreement, "Inversión estimada")
    assert finding["severity"] == "low"


# --- milestone_not_met ------------------------------------------------------------------------------

DUE_6 = date(2024, 7, 15)  # LONG_AGO + 6 months


@pytest.fixture
async def in_force(registry: Registry) -> str:
    """In force since LONG_AGO: its 6-month milestones fell due on DUE_6."""
    return await registry.agreement(signed_on=LONG_AGO)


async def milestone_findings(registry: Registry, agreement: str, on: date = TODAY) -> dict[str, dict[str, Any]]:
    """milestone_not_met findings of the agreement, by target."""
    findings = await registry.findings(on, rule="milestone_not_met")
    return {f["subject_id"]: f for f in findings if f["agreement_id"] == agreement}


ASCENDING: dict[str, Any] = {"baseline": {"value": 0}, "milestones": [{"months": 6, "target_value": 10}]}
DESCENDING: dict[str, Any] = {
    "title": "Horas de respuesta a reportes",
    "ascending": False,
    "baseline": {"value": 72},
    "milestones": [{"months": 6, "target_value": 48}],
}


@pytest.mark.parametrize(
    ("body", "measured", "expected", "level"),
    [
        pytest.param(ASCENDING, None, True, "—", id="ascending-nothing-verified"),
        pytest.param(ASCENDING, 0, True, "0", id="ascending-did-not-move"),
        pytest.param(ASCENDING, 4, False, None, id="ascending-partially-met"),
        pytest.param(ASCENDING, 10, False, None, id="ascending-met"),
        pytest.param(ASCENDING, 15, False, None, id="ascending-exceeded"),
        pytest.param(DESCENDING, 72, True, "72", id="descending-did-not-move"),
        pytest.param(DESCENDING, 80, True, "80", id="descending-got-worse"),
        pytest.param(DESCENDING, 60, False, None, id="descending-partially-met"),
        pytest.param(DESCENDING, 40, False, None, id="descending-met"),
    ],
)
async def test_milestone_not_met(
    registry: Registry, in_force: str, body: dict[str, Any], measured: float | None, expected: bool, level: str | None
) -> None:
    target = await registry.target(in_force, **body)
    if measured is not None:
        await registry.progress(in_force, target, DUE_6 - days(10), measured)
    found = await milestone_findings(registry, in_force)
    assert (target in found) is expected
    # The finding agrees with the milestone status the targets API shows.
    read = await registry.client.get(f"/v1/targets/{target}", headers=registry.headers("auditor"))
    assert read.status_code == 200, read.text
    assert (read.json()["milestones"][0]["status"] == "not_met") is expected
    if expected:
        finding = found[target]
        assert finding["subject_type"] == "target"
        target_value = str(body["milestones"][0]["target_value"])
        assert_names(
            finding,
            "milestone_not_met",
            in_force,
            "hito de 6 meses",
            "vence el 2024-07-15",
            f"meta {target_value}",
            f"nivel verificado entonces: {level}",
        )


async def test_milestone_judged_on_the_level_verified_by_its_due_date(registry: Registry, in_force: str) -> None:
    late = await registry.target(in_force, **ASCENDING)
    await registry.progress(in_force, late, DUE_6 + days(1), 10)  # met, but a day late
    unverified = await registry.target(in_force, title="Empresas instaladas", **ASCENDING)
    await registry.measurement(unverified, DUE_6 - days(1), 10, evidence_ids=[await registry.evidence(in_force)])
    found = await milestone_findings(registry, in_force)
    assert "nivel verificado entonces: —" in found[late]["detail"]
    assert unverified in found  # reported, never verified: it does not count


async def test_milestone_is_not_judged_before_it_falls_due(registry: Registry, in_force: str) -> None:
    target = await registry.target(in_force, **ASCENDING)
    assert target not in await milestone_findings(registry, in_force, on=DUE_6)  # due today: still open
    assert target in await milestone_findings(registry, in_force, on=DUE_6 + days(1))
    scheduled = await registry.target(in_force, title="Pilotos", milestones=[{"months": 24, "target_value": 3}])
    assert scheduled not in await milestone_findings(registry, in_force)  # due 2026-01-15


async def test_qualitative_milestone_met_by_a_verified_measurement(registry: Registry, in_force: str) -> None:
    qualitative: dict[str, Any] = {"measure": "qualitative", "milestones": [{"months": 6}], "baseline": None}
    done = await registry.target(in_force, title="Protocolo adoptado", **qualitative)
    await registry.progress(in_force, done, DUE_6 - days(30), None)
    pending = await registry.target(in_force, title="Reglamento publicado", **qualitative)
    found = await milestone_findings(registry, in_force)
    assert done not in found
    assert_names(found[pending], "milestone_not_met", in_force, "Reglamento publicado", "vence el 2024-07-15")


# --- measurement_without_evidence --------------------------------------------------------------------


async def test_measurement_without_evidence(registry: Registry) -> None:
    agreement = await registry.agreement()
    target = await registry.target(agreement)
    rejected_doc = await registry.evidence(agreement, decision="rejected")
    submitted_doc = await registry.evidence(agreement)
    accepted_doc = await registry.evidence(agreement, decision="accepted")

    bare = await registry.measurement(target, date(2025, 4, 1), 1)
    only_rejected = await registry.measurement(target, date(2025, 4, 2), 2, evidence_ids=[rejected_doc])
    submitted = await registry.measurement(target, date(2025, 4, 3), 3, evidence_ids=[submitted_doc])
    mixed = await registry.measurement(target, date(2025, 4, 4), 4, evidence_ids=[rejected_doc, accepted_doc])
    turned_down = await registry.measurement(target, date(2025, 4, 5), 5, decision="rejected")

    findings = await registry.findings(rule="measurement_without_evidence")
    by_subject = {f["subject_id"]: f for f in findings if f["agreement_id"] == agreement}
    assert set(by_subject) == {bare, only_rejected}
    assert {submitted, mixed, turned_down}.isdisjoint(by_subject)
    finding = by_subject[only_rejected]
    assert finding["subject_type"] == "measurement"
    assert_names(finding, "measurement_without_evidence", agreement, "reported", "2025-04-02")


async def test_verified_measurement_whose_evidence_is_rejected_later(registry: Registry) -> None:
    agreement = await registry.agreement()
    target = await registry.target(agreement)
    document = await registry.evidence(agreement)
    measurement = await registry.measurement(target, date(2025, 5, 1), 3, evidence_ids=[document], decision="verified")
    assert measurement not in {f["subject_id"] for f in await registry.findings(rule="measurement_without_evidence")}
    await registry.post(f"/v1/evidence/{document}/review", {"decision": "rejected", "note": "Documento alterado."})
    finding = only(
        await registry.findings(rule="measurement_without_evidence"), "measurement_without_evidence", agreement
    )
    assert finding["subject_id"] == measurement
    assert_names(finding, "measurement_without_evidence", agreement, "verified", "2025-05-01")


# --- dormant (PACTA_DORMANCY_MONTHS, default 12) ------------------------------------------------------


async def test_dormant_without_verified_progress_in_the_period(registry: Registry, in_force: str) -> None:
    target = await registry.target(in_force)
    findings = await registry.findings()
    assert_names(only(findings, "dormant", in_force), "dormant", in_force, "2024-01-15", "12 meses")
    # Verified progress inside the last 12 months (since 2024-06-15) wakes it up.
    await registry.progress(in_force, target, date(2024, 6, 15), 3)
    assert "dormant" not in await registry.rules_on(in_force)
    # A year later that same progress is old news.
    assert "dormant" in await registry.rules_on(in_force, on=date(2025, 6, 16))


async def test_progress_that_is_old_or_unverified_does_not_count(registry: Registry, in_force: str) -> None:
    target = await registry.target(in_force)
    await registry.progress(in_force, target, date(2024, 6, 14), 3)  # a day before the period
    await registry.measurement(target, date(2025, 6, 1), 5, evidence_ids=[await registry.evidence(in_force)])
    assert "dormant" in await registry.rules_on(in_force)


async def test_too_young_to_be_dormant(registry: Registry) -> None:
    young = await registry.agreement(signed_on=TODAY - timedelta(days=365))  # 2024-06-15: 12 months exactly
    older = await registry.agreement(signed_on=TODAY - timedelta(days=366))
    findings = await registry.findings()
    assert "dormant" not in finding_rules(findings, young)
    assert "dormant" in finding_rules(findings, older)


async def test_dormancy_months_from_settings(registry: Registry, registry_with: Callable[..., Any]) -> None:
    agreement = await registry.agreement(signed_on=date(2024, 12, 1))
    assert "dormant" not in await registry.rules_on(agreement)  # 6 months in force, 12 allowed
    async with registry_with(dormancy_months=6) as impatient:
        finding = only(await impatient.findings(), "dormant", agreement)
        assert_names(finding, "dormant", agreement, "2024-12-01", "6 meses")


async def test_a_suspended_agreement_is_not_dormant(registry: Registry) -> None:
    suspended = await registry.agreement(signed_on=LONG_AGO, suspended_on=date(2024, 3, 1))
    assert {"dormant", "in_force_without_targets"}.isdisjoint(await registry.rules_on(suspended))


# --- all together ---------------------------------------------------------------------------------


async def test_a_compliant_agreement_has_no_finding(registry: Registry) -> None:
    """Informed and cleared by the SRE, approved in cabildo, registered, text on file, dispute
    clause reviewed, a baselined target with progress verified recently."""
    signed = date(2025, 1, 15)
    agreement = await registry.agreement(signed_on=signed, has_dispute_settlement_clause=True)
    await registry.review(
        agreement, "sre_dictamen", signed - days(60), decided_on=signed - days(10), outcome="favorable"
    )
    await registry.review(
        agreement,
        "council_approval",
        signed - days(30),
        decided_on=signed - days(20),
        outcome="favorable",
        checks={"dispute_clause_compliant": True},
    )
    await registry.registration(agreement, submitted_on=signed + days(3), registered_on=signed + days(30))
    await registry.evidence(agreement, "agreement_text", "accepted")
    target = await registry.target(agreement, milestones=[{"months": 6, "target_value": 10}])
    await registry.progress(agreement, target, date(2025, 5, 1), 6)
    assert await registry.rules_on(agreement) == set()
    # Neglected for a year it becomes dormant; its 6-month milestone stays partially met, no finding.
    assert await registry.rules_on(agreement, on=date(2026, 6, 1)) == {"dormant"}


async def test_every_rule_fires_and_names_its_legal_basis(registry: Registry, in_force: str) -> None:
    await registry.agreement(counterparts=[counterpart(name="Acme Corp.", country="US", kind="private_entity")])
    await registry.agreement(has_dispute_settlement_clause=True)
    target = await registry.target(in_force, baseline=None)
    await registry.measurement(target, date(2025, 1, 1), 1)
    findings = await registry.findings()
    assert {f["rule"] for f in findings} == set(RULE_CODES)
    for finding in findings:
        assert finding["legal_basis"]
        assert finding["detail"].endswith(".")
        if finding["rule"] in LEGAL_BASIS:
            assert LEGAL_BASIS[finding["rule"]] in finding["legal_basis"]
