"""API schemas for compliance."""

import uuid
from enum import StrEnum

from pydantic import BaseModel, Field

from app.compliance.rules import Severity


class RuleRead(BaseModel):
    code: str
    title: str
    severity: Severity
    legal_basis: str
    description: str


class Finding(BaseModel):
    rule: str
    title: str
    severity: Severity
    legal_basis: str
    agreement_id: uuid.UUID
    agreement_title: str
    signatory_org_id: uuid.UUID
    state: str | None = Field(description="The signatory's ISO 3166-2 subdivision.")
    subject_type: str = Field(description="agreement, target or measurement: what the finding is about.")
    subject_id: uuid.UUID
    detail: str


class GroupBy(StrEnum):
    state = "state"
    organization = "organization"


class SummaryGroup(BaseModel):
    key: str | None = Field(description="The ISO 3166-2 code, or the organization's id.")
    label: str | None
    agreements: int
    agreements_without_findings: int
    share_without_findings: float = Field(description="0 to 1.")
    findings_by_rule: dict[str, int]


class Summary(BaseModel):
    group_by: GroupBy
    groups: list[SummaryGroup]
