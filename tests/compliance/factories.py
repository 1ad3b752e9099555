"""Helpers for the compliance tests: facts written through the API on pinned days, findings read
back through the API as an auditor (or whoever asks) on the day a test chooses.

The rule codes, severities and legal bases are written out here from API.md and DOMAIN.md, not
imported from the app, so a rule that drifts from the contract fails a test.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx2
from fastapi import FastAPI

from tests.factories import AGREEMENTS, TODAY, World, counterpart, pin_today

COMPLIANCE = "/v1/compliance"
FINDINGS = f"{COMPLIANCE}/findings"

# The day most agreements are signed on: 106 days before TODAY (2025-06-15).
SIGNED = date(2025, 3, 1)
# In force long enough for milestones to fall due and for dormancy: 6 months due 2024-07-15,
# 12 months 2025-01-15, 24 months 2026-01-15.
LONG_AGO = date(2024, 1, 15)

RULE_CODES = (
    "sre_not_informed_before_signature",
    "no_favorable_dictamen_before_signature",
    "not_registered",
    "no_council_approval",
    "private_counterpart",
    "no_signed_text",
    "dispute_clause_not_reviewed",
    "in_force_without_targets",
    "target_without_baseline",
    "milestone_not_met",
    "measurement_without_evidence",
    "dormant",
)
# What the law says each rule rests on (DOMAIN.md), quoted in Spanish as the law is written: a
# fragment the legal basis must contain.
LSCT = "Ley sobre la Celebración de Tratados"
LEGAL_BASIS = {
    "sre_not_informed_before_signature": f"{LSCT}, artículo 7",
    "no_favorable_dictamen_before_signature": f"{LSCT}, artículo 7",
    "not_registered": f"{LSCT}, artículo 7",
    "private_counterpart": f"{LSCT}, artículo 2, fracción II",
    "no_signed_text": f"{LSCT}, artículo 2, fracción II",
    "dispute_clause_not_reviewed": f"{LSCT}, artículo 8",
}


def finding_rules(findings: Sequence[dict[str, Any]], agreement_id: str) -> set[str]:
    return {f["rule"] for f in findings if f["agreement_id"] == agreement_id}


def only(findings: Sequence[dict[str, Any]], rule: str, agreement_id: str) -> dict[str, Any]:
    """The one finding of `rule` about `agreement_id`."""
    matching = [f for f in findings if f["rule"] == rule and f["agreement_id"] == agreement_id]
    assert len(matching) == 1, (rule, agreement_id, findings)
    return matching[0]


@dataclass
class Registry:
    """Writes facts as the world's signatory editor (or the given caller) on TODAY."""

    client: httpx2.AsyncClient
    app: FastAPI
    world: World
    _content: int = field(default=0)

    def headers(self, actor: str = "editor") -> dict[str, str]:
        return self.world.headers(actor)

    async def post(self, url: str, body: dict[str, Any], actor: str = "editor") -> dict[str, Any]:
        pin_today(self.app, TODAY)
        response = await self.client.post(url, json=body, headers=self.headers(actor))
        assert response.status_code in (200, 201), response.text
        created: dict[str, Any] = response.json()
        return created

    async def agreement(
        self,
        *,
        signed_on: date | None = SIGNED,
        actor: str = "editor",
        signatory: uuid.UUID | None = None,
        **fields: Any,
    ) -> str:
        """An agreement with a foreign governmental counterpart, signed on `signed_on`."""
        body: dict[str, Any] = {
            "title": f"Hermanamiento {uuid.uuid4().hex[:6]}",
            "instrument": "sister_city",
            "signatory_org_id": str(signatory or self.world.org_of(actor) or self.world.signatory.id),
            "counterparts": [counterpart()],
            "participant_org_ids": [str(self.world.participant.id)],
            "subject_areas": ["culture"],
            "languages": ["es"],
        }
        if signed_on is not None:
            body["signed_on"] = signed_on.isoformat()
        body.update({k: v.isoformat() if isinstance(v, date) else v for k, v in fields.items()})
        created = await self.post(AGREEMENTS, body, actor)
        identifier: str = created["id"]
        return identifier

    async def review(
        self,
        agreement_id: str,
        kind: str,
        requested_on: date,
        *,
        decided_on: date | None = None,
        outcome: str = "pending",
        checks: dict[str, bool | None] | None = None,
        actor: str = "editor",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": kind, "requested_on": requested_on.isoformat(), "outcome": outcome}
        if decided_on is not None:
            body["decided_on"] = decided_on.isoformat()
        if checks is not None:
            body["checks"] = checks
        return await self.post(f"{AGREEMENTS}/{agreement_id}/legal-reviews", body, actor)

    async def registration(
        self, agreement_id: str, *, submitted_on: date, registered_on: date | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"registry": "sre", "submitted_on": submitted_on.isoformat()}
        if registered_on is not None:
            body |= {"status": "registered", "registered_on": registered_on.isoformat(), "registry_number": "SRE-123"}
        return await self.post(f"{AGREEMENTS}/{agreement_id}/registrations", body)

    async def evidence(
        self, agreement_id: str, document_type: str = "progress_report", decision: str | None = None
    ) -> str:
        """A small text document, unique to this call, left submitted or reviewed."""
        self._content += 1
        pin_today(self.app, TODAY)
        response = await self.client.post(
            f"{AGREEMENTS}/{agreement_id}/evidence",
            files={"file": ("doc.txt", f"Documento {self._content} {uuid.uuid4()}\n".encode(), "text/plain")},
            data={"title": f"Documento {self._content}", "document_type": document_type},
            headers=self.headers(),
        )
        assert response.status_code == 201, response.text
        identifier: str = response.json()["id"]
        if decision is not None:
            await self.post(f"/v1/evidence/{identifier}/review", {"decision": decision})
        return identifier

    async def target(self, agreement_id: str, **fields: Any) -> str:
        """Companies served, baseline 0, 10 by 6 months (overridable)."""
        body: dict[str, Any] = {
            "indicator": "companies_served",
            "title": "Empresas atendidas",
            "measure": "count",
            "baseline": {"value": 0},
            "milestones": [{"months": 6, "target_value": 10}],
        }
        body.update(fields)
        created = await self.post(f"{AGREEMENTS}/{agreement_id}/targets", body)
        identifier: str = created["id"]
        return identifier

    async def measurement(
        self,
        target_id: str,
        as_of: date,
        value: float | None,
        *,
        evidence_ids: Sequence[str] = (),
        decision: str | None = None,
    ) -> str:
        body = {"as_of": as_of.isoformat(), "value": value, "evidence_ids": list(evidence_ids)}
        created = await self.post(f"/v1/targets/{target_id}/measurements", body)
        identifier: str = created["id"]
        if decision is not None:
            await self.post(f"/v1/measurements/{identifier}/verification", {"decision": decision})
        return identifier

    async def progress(self, agreement_id: str, target_id: str, as_of: date, value: float | None) -> str:
        """A measurement backed by accepted evidence, verified by the signatory's editor."""
        evidence = await self.evidence(agreement_id, decision="accepted")
        return await self.measurement(target_id, as_of, value, evidence_ids=[evidence], decision="verified")

    async def findings(self, on: date = TODAY, actor: str = "auditor", **params: Any) -> list[dict[str, Any]]:
        """Every finding as `actor` sees it with today pinned to `on` (one page of up to 200)."""
        pin_today(self.app, on)
        try:
            response = await self.client.get(FINDINGS, params={"limit": 200, **params}, headers=self.headers(actor))
        finally:
            pin_today(self.app, TODAY)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["next_cursor"] is None, "more findings than one page: use walk()"
        items: list[dict[str, Any]] = page["items"]
        return items

    async def rules_on(self, agreement_id: str, on: date = TODAY) -> set[str]:
        return finding_rules(await self.findings(on), agreement_id)
