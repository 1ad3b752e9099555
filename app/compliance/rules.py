"""The rules, each with a stable code, a severity and its legal basis (API.md, DOMAIN.md)."""

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    title: str
    severity: Severity
    legal_basis: str
    description: str


RULES: tuple[Rule, ...] = (
    Rule(
        "sre_not_informed_before_signature",
        "SRE not informed before signature",
        Severity.high,
        "LSCT art. 7",
        "The signatory must keep the SRE informed of any agreement it intends to sign: no SRE dictamen was "
        "requested on or before the signature date.",
    ),
    Rule(
        "no_favorable_dictamen_before_signature",
        "No favorable SRE dictamen before signature",
        Severity.high,
        "LSCT art. 7",
        "The SRE issues a dictamen de procedencia on signing the agreement: none was favorable by the signature date.",
    ),
    Rule(
        "not_registered",
        "Not registered with the SRE",
        Severity.medium,
        "LSCT art. 7 (no statutory deadline; grace period PACTA_REGISTRATION_GRACE_DAYS)",
        "The agreement was signed more than the grace period ago and is not inscribed in the SRE registry.",
    ),
    Rule(
        "no_council_approval",
        "Municipal agreement without council approval",
        Severity.high,
        "Ley Orgánica Municipal / Reglamento de Ciudades Hermanas; LSCT art. 2 fr. II (competence)",
        "A municipal agreement was signed without a favorable cabildo approval decided by then.",
    ),
    Rule(
        "private_counterpart",
        "Private counterpart",
        Severity.high,
        "LSCT art. 2 fr. II",
        "A counterpart is a private entity: with a private foreign party this is a private contract, not an "
        "interinstitutional agreement.",
    ),
    Rule(
        "no_signed_text",
        "No signed text on file",
        Severity.medium,
        'LSCT art. 2 fr. II ("por escrito")',
        "The agreement is signed but no accepted agreement_text document holds its written text.",
    ),
    Rule(
        "dispute_clause_not_reviewed",
        "Dispute clause not reviewed",
        Severity.medium,
        "LSCT art. 8",
        "The agreement has a dispute-settlement clause and no legal review assessed whether it gives equal "
        "treatment, a hearing and impartial bodies.",
    ),
    Rule(
        "in_force_without_targets",
        "In force without targets",
        Severity.medium,
        "Registry policy: verifiable results",
        "The agreement is in force and has no verifiable target.",
    ),
    Rule(
        "target_without_baseline",
        "Target without baseline",
        Severity.low,
        "Registry policy: IATI results (baseline)",
        "A numeric target has no baseline value, so progress cannot be measured from it.",
    ),
    Rule(
        "milestone_not_met",
        "Milestone not met",
        Severity.medium,
        "Registry policy: 6/12/24-month milestones",
        "A milestone's due date passed and the verified progress did not move from the baseline toward its target.",
    ),
    Rule(
        "measurement_without_evidence",
        "Measurement without evidence",
        Severity.medium,
        "Registry policy: evidence-backed progress",
        "A reported or verified measurement cites no evidence document that was not rejected.",
    ),
    Rule(
        "dormant",
        "Dormant agreement",
        Severity.medium,
        "Registry policy (PACTA_DORMANCY_MONTHS)",
        "The agreement is in force and has shown no verified progress for the dormancy period.",
    ),
)

BY_CODE = {r.code: r for r in RULES}
RuleCode = StrEnum("RuleCode", {r.code: r.code for r in RULES})  # type: ignore[misc]
