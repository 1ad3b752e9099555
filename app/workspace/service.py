"""The workspace's own rules: signing in with an API key into a server-side session, the session's
CSRF token, and what its pages show (my agreements, an agreement's progress, the review queue).

Every change a page makes is the API's: the routes call the same services (evidence, measurements,
activities) with the session's principal, so the rules, log entries and webhooks are the same.
"""

import base64
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.activities import repository as activity_repository
from app.activities import service as activity_service
from app.activities.schemas import ActivityRead
from app.agreements import access
from app.agreements import service as agreement_service
from app.agreements.repository import Filters
from app.agreements.schemas import AgreementRead
from app.auth.dependencies import authenticate
from app.db import unit_of_work
from app.errors import Unauthorized, field_error
from app.evidence import service as evidence_service
from app.evidence.schemas import EvidenceRead
from app.http.etag import etag_of
from app.http.pagination import PageParams
from app.i18n import Text
from app.models import EvidenceDocument, Measurement, OrganizationKind, Role, Target, WorkspaceSession
from app.models.results import EvidenceStatus
from app.principal import Principal
from app.targets import service as target_service
from app.targets.schemas import TargetRead
from app.workspace import repository

COOKIE = "pacta_session"
_CSRF_LABEL = b"pacta-workspace-csrf"
# Lists on a page: enough for one organization's agreements; more pages follow by cursor.
PAGE = PageParams(limit=50, cursor=None)
ALL = PageParams(limit=200, cursor=None)
# Ended and expired sessions are kept this long (to tell "your session ended"), then dropped.
KEEP_ENDED = timedelta(days=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_of(token: str) -> str:
    """The CSRF token of a session: an HMAC keyed by the session's own secret token, so it is
    bound to that session, needs no server secret and no storage, and cannot be derived by
    anyone who does not hold the (HttpOnly) cookie."""
    digest = hmac.new(token.encode("utf-8"), _CSRF_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live session: who it speaks for, and the token its forms must carry."""

    session_id: uuid.UUID
    principal: Principal
    organization_name: str
    csrf: str
    expires_at: datetime

    @property
    def reviews(self) -> bool:
        """Has a review queue: the signatory's editors (and admins) decide on evidence and measurements."""
        return self.principal.role in (Role.editor, Role.admin)


async def sign_in(maker: async_sessionmaker[AsyncSession], api_key: str, *, hours: float) -> str:
    """A new session for a valid, live key: its token (for the cookie). Only the token's hash is
    stored. A wrong key costs one indexed lookup (by the key's prefix) and nothing is written."""
    secret = api_key.strip()
    if not secret:
        raise field_error(["body", "api_key"], Text("workspace.api_key_required"), "missing")
    if any(c.isspace() for c in secret):
        raise Unauthorized(Text("auth.key_not_valid"))
    principal = await authenticate(maker, f"Bearer {secret}")
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with unit_of_work(maker) as session:
        await repository.forget_old(session, principal.key_id, now - KEEP_ENDED)
        await repository.add(
            session,
            WorkspaceSession(
                token_hash=token_hash(token),
                api_key_id=principal.key_id,
                created_at=now,
                expires_at=now + timedelta(hours=hours),
            ),
        )
    return token


async def resolve(maker: async_sessionmaker[AsyncSession], token: str) -> SignedIn | None:
    """The live session a cookie's token names, or None (unknown, ended, expired, key revoked)."""
    if not token or len(token) > 100:
        return None
    async with unit_of_work(maker) as session:
        found = await repository.live(session, token_hash(token), datetime.now(UTC))
    if found is None:
        return None
    row, key, org = found
    principal = Principal(key_id=key.id, org_id=org.id, org_kind=OrganizationKind(org.kind), role=Role(key.role))
    return SignedIn(
        session_id=row.id,
        principal=principal,
        organization_name=org.name,
        csrf=csrf_of(token),
        expires_at=row.expires_at,
    )


async def sign_out(maker: async_sessionmaker[AsyncSession], session_id: uuid.UUID) -> None:
    async with unit_of_work(maker) as session:
        await repository.end(session, session_id, datetime.now(UTC))


async def my_agreements(
    session: AsyncSession, principal: Principal, *, today: date, cursor: str | None
) -> tuple[list[AgreementRead], str | None]:
    """The agreements the key's organization signed or takes part in, drafts included: the
    agreements list's own query and visibility, filtered to the organization."""
    return await agreement_service.list_agreements(
        session,
        Filters(member_org_id=principal.org_id),
        principal=principal,
        today=today,
        sort="-updated_at",
        params=PageParams(limit=PAGE.limit, cursor=cursor),
    )


@dataclass(frozen=True, slots=True)
class AgreementView:
    agreement: AgreementRead
    targets: list[TargetRead]
    evidence: list[EvidenceRead]
    activities: list[ActivityRead]
    contributes: bool
    edits: bool

    @property
    def citable(self) -> list[EvidenceRead]:
        """Documents a measurement may cite: the agreement's, not rejected."""
        return [e for e in self.evidence if e.status != EvidenceStatus.rejected]


async def agreement_view(
    session: AsyncSession, agreement_id: uuid.UUID, principal: Principal, *, today: date
) -> AgreementView:
    """An agreement as the key sees it through the API: 404 alike for missing and hidden."""
    agreement = await agreement_service.get_visible(session, agreement_id, principal=principal, today=today)
    targets, _ = await target_service.list_targets(session, agreement, ALL, today=today)
    evidence, _ = await evidence_service.list_evidence(
        session, agreement, ALL, principal=principal, content_url=lambda i: f"/v1/evidence/{i}/content"
    )
    activities, _ = await activity_service.list_activities(session, agreement, ALL, principal=principal)
    return AgreementView(
        agreement=agreement,
        targets=targets,
        evidence=evidence,
        activities=activities,
        contributes=access.can_contribute(principal, agreement.signatory_org_id, agreement.participant_org_ids),
        edits=access.can_edit(principal, agreement.signatory_org_id),
    )


async def target_view(
    session: AsyncSession, target_id: uuid.UUID, principal: Principal, *, today: date
) -> tuple[Target, AgreementView]:
    """A target (404 alike for missing and hidden) and its agreement's view."""
    target, agreement = await target_service.visible_target(session, target_id, principal=principal, today=today)
    return target, await agreement_view(session, agreement.id, principal, today=today)


@dataclass(frozen=True, slots=True)
class QueuedMeasurement:
    measurement: Measurement
    target: Target
    agreement_title: str
    cited: list[EvidenceDocument]


@dataclass(frozen=True, slots=True)
class QueuedActivity:
    activity: ActivityRead
    agreement_title: str
    etag: str


@dataclass(frozen=True, slots=True)
class Queue:
    evidence: list[tuple[EvidenceDocument, str]] = field(default_factory=list)
    measurements: list[QueuedMeasurement] = field(default_factory=list)
    activities: list[QueuedActivity] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.evidence or self.measurements or self.activities)


async def review_queue(session: AsyncSession, principal: Principal) -> Queue:
    """What waits for the key's decision: submitted evidence, reported measurements and planned
    activities on the agreements its organization signed (an admin's: all). Other roles decide
    nothing, so their queue is empty."""
    if principal.role not in (Role.editor, Role.admin):
        return Queue()
    org_id = None if principal.is_admin else principal.org_id
    evidence = await repository.submitted_evidence(session, org_id)
    measured = await repository.reported_measurements(session, org_id)
    cited = await repository.cited(session, [m.id for m, _, _ in measured])
    planned = await repository.planned_activities(session, org_id)
    links = await activity_repository.links(session, [a.id for a, _ in planned])
    activities = []
    for activity, title in planned:
        read = activity_service.to_read(activity, links[activity.id])
        activities.append(QueuedActivity(activity=read, agreement_title=title, etag=etag_of(read)))
    return Queue(
        evidence=evidence,
        measurements=[QueuedMeasurement(m, t, title, cited[m.id]) for m, t, title in measured],
        activities=activities,
    )
