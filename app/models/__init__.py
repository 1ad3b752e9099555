"""Table models only (table=True), one module per table family. Importing this registers them all."""

from app.models.agenda import Activity, ActivityLink, CalendarToken
from app.models.agreements import Agreement, AgreementParticipant, LegalReview, Registration
from app.models.idempotency import IdempotencyRecord
from app.models.log import LogDetail, LogEntry, LogHead, LogNode
from app.models.organizations import ApiKey, Organization, OrganizationKind, Role
from app.models.results import EvidenceDocument, Measurement, MeasurementEvidence, Target
from app.models.webhooks import (
    EmittedNotice,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from app.models.workspace import WorkspaceSession

__all__ = [
    "Activity",
    "ActivityLink",
    "Agreement",
    "AgreementParticipant",
    "ApiKey",
    "CalendarToken",
    "EmittedNotice",
    "EvidenceDocument",
    "IdempotencyRecord",
    "LegalReview",
    "LogDetail",
    "LogEntry",
    "LogHead",
    "LogNode",
    "Measurement",
    "MeasurementEvidence",
    "Organization",
    "OrganizationKind",
    "Registration",
    "Role",
    "Target",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
    "WorkspaceSession",
]
