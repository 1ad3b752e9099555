"""Table models only (table=True), one module per table family. Importing this registers them all."""

from app.models.agreements import Agreement, AgreementParticipant, LegalReview, Registration
from app.models.idempotency import IdempotencyRecord
from app.models.log import LogDetail, LogEntry, LogHead
from app.models.organizations import ApiKey, Organization, OrganizationKind, Role

__all__ = [
    "Agreement",
    "AgreementParticipant",
    "ApiKey",
    "IdempotencyRecord",
    "LegalReview",
    "LogDetail",
    "LogEntry",
    "LogHead",
    "Organization",
    "OrganizationKind",
    "Registration",
    "Role",
]
