"""Table models only (table=True), one module per table family. Importing this registers them all."""

from app.models.idempotency import IdempotencyRecord
from app.models.log import LogEntry, LogHead
from app.models.organizations import ApiKey, Organization, OrganizationKind, Role

__all__ = [
    "ApiKey",
    "IdempotencyRecord",
    "LogEntry",
    "LogHead",
    "Organization",
    "OrganizationKind",
    "Role",
]
