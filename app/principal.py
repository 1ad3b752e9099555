"""Who is calling: the authenticated caller as the rules see it.

A neutral module (no FastAPI, no database): services and access rules import it; app.auth
resolves it from the request.
"""

import uuid
from dataclasses import dataclass

from app.models import OrganizationKind, Role

# The roles that read every organization's agreements, public or not.
READS_EVERYTHING = frozenset({Role.admin, Role.auditor})


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: one API key of one organization."""

    key_id: uuid.UUID
    org_id: uuid.UUID
    org_kind: OrganizationKind
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def reads_everything(self) -> bool:
        return self.role in READS_EVERYTHING
