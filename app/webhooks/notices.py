"""Events no write causes: deadlines approaching (at PACTA_WEBHOOKS_DEADLINE_OFFSETS_DAYS) and
compliance findings opened. The worker runs these scans; each notice is emitted once, whichever
worker finds it first (emitted_notices)."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.agreements import repository as agreement_repository
from app.clock import today_in
from app.compliance import repository as compliance_repository
from app.compliance import service as compliance_service
from app.compliance.rules import BY_CODE
from app.config import Settings
from app.deadlines import repository as deadline_repository
from app.deadlines import service as deadline_service
from app.webhooks import events, repository
from app.webhooks.events import Audience
from app.webhooks.worker import NoticeScan

BATCH = 1000


async def scan_deadlines(session: AsyncSession, settings: Settings) -> int:
    today = today_in(settings)
    offsets = sorted(settings.webhooks_deadline_offsets_days)
    if not offsets or not await repository.any_subscriber(session, "deadline.approaching"):
        return 0
    window = deadline_service.window(today, max(offsets), settings.registration_grace_days)
    scope = deadline_repository.Scope(all_=True, org_id=None)
    emitted, after = 0, None
    while True:
        rows = await deadline_repository.deadlines(session, window, scope, after=after, limit=BATCH)
        for row in rows:
            days = (row["date"] - today).days
            offset = next((o for o in offsets if days <= o), None)
            if offset is None or days < 0:
                continue
            key = f"deadline:{row['kind']}:{row['subject_id']}:{row['date']}:{offset}"
            if await repository.remember_notice(session, key, row["date"]):
                data = {
                    "kind": row["kind"],
                    "date": row["date"],
                    "days_left": days,
                    "offset_days": offset,
                    "agreement_id": row["agreement_id"],
                    "subject_id": row["subject_id"],
                    "title": deadline_service.title_of(row, settings.default_language),
                }
                await events.emit(
                    session, "deadline.approaching", data, agreement_id=row["agreement_id"], audience=Audience.insiders
                )
                emitted += 1
        if len(rows) < BATCH:
            return emitted
        last = rows[-1]
        after = (last["date"], last["kind"], last["subject_id"])


async def scan_findings(session: AsyncSession, settings: Settings) -> int:
    if not await repository.any_subscriber(session, "compliance.finding_opened"):
        return 0
    params = compliance_service.params_for(settings, today_in(settings))
    fresh = await compliance_repository.new_findings(session, params)
    for row in fresh:
        rule = BY_CODE[row["rule"]]
        # A webhook has no Accept-Language: its texts are in the registry's default language.
        lang = settings.default_language
        data = {
            **row,
            "severity": rule.severity.value,
            "legal_basis": rule.legal_basis(lang),
            "title": rule.title(lang),
            "detail": rule.detail(lang, row["detail"]),
        }
        await events.emit(
            session, "compliance.finding_opened", data, agreement_id=row["agreement_id"], audience=Audience.reviewers
        )
    return len(fresh)


async def scan_status_changes(session: AsyncSession, settings: Settings) -> int:
    """agreement.status_changed for the changes no write causes: a date arriving (entry into
    force, expiry, suspension, termination, withdrawal)."""
    if not await repository.any_subscriber(session, "agreement.status_changed"):
        return 0
    today = today_in(settings)
    emitted = 0
    for agreement_id, before, after in await agreement_repository.status_boundaries(session, today):
        if await repository.remember_notice(session, f"status:{agreement_id}:{today}:{after}", today):
            data = {"id": agreement_id, "agreement_id": agreement_id, "from": before, "to": after, "cause": "date"}
            await events.emit(session, "agreement.status_changed", data, agreement_id=agreement_id)
            emitted += 1
    return emitted


SCANS: list[NoticeScan] = [scan_deadlines, scan_findings, scan_status_changes]
