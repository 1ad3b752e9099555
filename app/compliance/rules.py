"""The rules, each with a stable code and a severity (API.md, DOMAIN.md). Their title, legal basis
and description are catalogue texts (`compliance.rule.<code>.*`): the legal basis is quoted in
Spanish as the law is written, and translated for English readers."""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.i18n import Text


class Severity(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: Severity

    def title(self, lang: str) -> str:
        return Text(f"compliance.rule.{self.code}.title").render(lang)

    def legal_basis(self, lang: str) -> str:
        return Text(f"compliance.rule.{self.code}.legal_basis").render(lang)

    def description(self, lang: str) -> str:
        return Text(f"compliance.rule.{self.code}.description").render(lang)

    def detail(self, lang: str, facts: Mapping[str, Any] | None) -> str:
        """One finding's detail from the facts the query found (dates, names, numbers)."""
        values = {k: "—" if v is None else v for k, v in (facts or {}).items()}
        return Text(f"compliance.finding.{self.code}", **values).render(lang)


RULES: tuple[Rule, ...] = (
    Rule("sre_not_informed_before_signature", Severity.high),
    Rule("no_favorable_dictamen_before_signature", Severity.high),
    Rule("not_registered", Severity.medium),
    Rule("no_council_approval", Severity.high),
    Rule("private_counterpart", Severity.high),
    Rule("no_signed_text", Severity.medium),
    Rule("dispute_clause_not_reviewed", Severity.medium),
    Rule("in_force_without_targets", Severity.medium),
    Rule("target_without_baseline", Severity.low),
    Rule("milestone_not_met", Severity.medium),
    Rule("measurement_without_evidence", Severity.medium),
    Rule("dormant", Severity.medium),
)

BY_CODE = {r.code: r for r in RULES}
RuleCode = StrEnum("RuleCode", {r.code: r.code for r in RULES})  # type: ignore[misc]
