"""Who may see and change an agreement (API.md, roles table)."""

import uuid
from datetime import date

from app.agreements.repository import Viewer
from app.models import Role
from app.models.agenda import ActivityStatus
from app.models.results import EvidenceStatus, MeasurementStatus
from app.principal import Principal

# The one table of which statuses make a child public. Before one of them, a child is read only
# by its agreement's own people (`sees_unreviewed`); from it on, by whoever may read the
# agreement: reads, lists, history, feeds and pages all follow this table.
PUBLIC_STATUSES: dict[str, frozenset[str]] = {
    "measurement": frozenset({MeasurementStatus.verified.value}),
    "evidence": frozenset({EvidenceStatus.accepted.value}),
    "activity": frozenset({ActivityStatus.confirmed.value, ActivityStatus.held.value}),
}


# Besides admins, who reviews an agreement (legal reviews, compliance findings): its signatory's
# editors and legal reviewers.
REVIEWER_ROLES = frozenset({Role.editor, Role.legal_reviewer})


def agreement_is_public(signed_on: date | None) -> bool:
    """An agreement is public from its signature on (in SQL: app.agreements.repository.is_public)."""
    return signed_on is not None


def is_public(resource_type: str, status: object) -> bool:
    """Whether a child of this kind in this status is read by all its agreement's readers."""
    public = PUBLIC_STATUSES.get(resource_type)
    return public is None or status in public


def viewer_for(principal: Principal | None) -> Viewer:
    if principal is None:
        return Viewer(all_=False, org_id=None)
    return Viewer(all_=principal.reads_everything, org_id=principal.org_id)


def takes_part(org_id: uuid.UUID, *, signatory_org_id: uuid.UUID, participant_org_ids: list[uuid.UUID]) -> bool:
    """The organization signed the agreement or takes part in it: it sees it, public or not."""
    return org_id == signatory_org_id or org_id in participant_org_ids


def can_see(
    principal: Principal | None, *, signatory_org_id: uuid.UUID, public: bool, participant_org_ids: list[uuid.UUID]
) -> bool:
    if public:
        return True
    if principal is None:
        return False
    return principal.reads_everything or takes_part(
        principal.org_id, signatory_org_id=signatory_org_id, participant_org_ids=participant_org_ids
    )


def is_owner(principal: Principal | None, signatory_org_id: uuid.UUID) -> bool:
    """Sees the agreement's non-public fields: its signatory's keys, auditors and admins."""
    return principal is not None and (principal.reads_everything or principal.org_id == signatory_org_id)


def can_edit(principal: Principal, signatory_org_id: uuid.UUID) -> bool:
    return principal.is_admin or (principal.role is Role.editor and principal.org_id == signatory_org_id)


def can_review(principal: Principal, signatory_org_id: uuid.UUID) -> bool:
    return principal.is_admin or (principal.role in REVIEWER_ROLES and principal.org_id == signatory_org_id)


def is_participant(principal: Principal | None, participant_org_ids: list[uuid.UUID]) -> bool:
    return principal is not None and principal.org_id in participant_org_ids


def can_contribute(principal: Principal, signatory_org_id: uuid.UUID, participant_org_ids: list[uuid.UUID]) -> bool:
    """Upload evidence and report measurements: the signatory's editor, a listed participant's
    contributor, or an admin."""
    if can_edit(principal, signatory_org_id):
        return True
    return principal.role is Role.contributor and principal.org_id in participant_org_ids


def sees_unreviewed(
    principal: Principal | None, signatory_org_id: uuid.UUID, participant_org_ids: list[uuid.UUID]
) -> bool:
    """Reads evidence not yet accepted and measurements not yet verified: the agreement's own
    people (signatory, participants), auditors and admins."""
    return is_owner(principal, signatory_org_id) or is_participant(principal, participant_org_ids)
