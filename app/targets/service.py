"""Rules for targets, and their progress read."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app import catalogs
from app.agreements import repository as agreement_repository
from app.agreements import service as agreement_service
from app.agreements.schemas import AgreementRead
from app.db import Reader
from app.errors import Issues, NotFound, changes_of
from app.http.etag import check_if_match
from app.http.pagination import PageParams, encode_cursor, make_page
from app.i18n import Text
from app.log import registry as log_registry
from app.log import service as log_service
from app.models import Target
from app.models.results import Measure
from app.principal import Principal
from app.targets import repository
from app.targets.errors import TargetInUse, TargetNotFound
from app.targets.progress import Verified, evaluate
from app.targets.schemas import Baseline, TargetCreate, TargetRead, TargetUpdate

RESOURCE = "target"
log_registry.register_table(RESOURCE, Target)
DEFAULT_MONTHS = (6, 12, 24)
REFUSAL = Text("targets.change_forbidden")


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


async def _check(session: AsyncSession, facts: dict[str, Any]) -> list[dict[str, Any]]:
    """Validate a complete set of fields; returns the milestones as stored."""
    issues = Issues()
    measure = Measure(facts["measure"])
    unit = facts.get("unit")
    if measure is Measure.currency and (unit is None or not catalogs.is_currency(unit)):
        issues.add(["unit"], Text("targets.currency_unit"))
    milestones = facts.get("milestones")
    if milestones is None:
        milestones = [{"months": m, "target_value": None} for m in DEFAULT_MONTHS]
    months = [m["months"] for m in milestones]
    if len(set(months)) != len(months):
        issues.add(["milestones"], Text("targets.distinct_months"))
    for i, milestone in enumerate(milestones):
        if measure is Measure.qualitative and milestone.get("target_value") is not None:
            issues.add(["milestones", i, "target_value"], Text("targets.qualitative_values"))
        if measure is not Measure.qualitative and milestone.get("target_value") is None:
            issues.add(["milestones", i, "target_value"], Text("targets.needs_values", measure=measure.value))
    baseline = facts.get("baseline") or {}
    if measure is not Measure.qualitative and not facts.get("ascending", True) and baseline.get("value") is None:
        issues.add(["baseline", "value"], Text("targets.descending_baseline"))
    if measure is Measure.qualitative and baseline.get("value") is not None:
        issues.add(["baseline", "value"], Text("targets.qualitative_baseline"))
    responsible = facts.get("responsible_org_id")
    if responsible is not None and not await agreement_repository.organizations(session, [responsible]):
        issues.add(["responsible_org_id"], Text("common.no_organization"))
    issues.raise_if_any()
    return [
        {
            "months": m["months"],
            "target_value": None if m.get("target_value") is None else str(_decimal(m["target_value"])),
        }
        for m in sorted(milestones, key=lambda m: m["months"])
    ]


def _apply(target: Target, facts: dict[str, Any], milestones: list[dict[str, Any]]) -> None:
    baseline = facts.get("baseline") or {}
    target.indicator = str(facts["indicator"])
    target.title = facts["title"]
    target.description = facts.get("description")
    target.measure = str(facts["measure"])
    target.unit = facts.get("unit")
    target.ascending = facts["ascending"]
    target.baseline_value = _decimal(baseline.get("value"))
    target.baseline_on = baseline.get("on")
    target.baseline_comment = baseline.get("comment")
    target.milestones = milestones
    target.responsible_org_id = facts.get("responsible_org_id")


def to_read(target: Target, verified: Sequence[Verified], agreement: AgreementRead, today: date) -> TargetRead:
    in_force_on = agreement.entry_into_force_on if agreement.signed_on is not None else None
    milestones, latest = evaluate(
        measure=target.measure,
        ascending=target.ascending,
        baseline=target.baseline_value,
        milestones=target.milestones,
        verified=verified,
        in_force_on=in_force_on,
        today=today,
    )
    has_baseline = any(v is not None for v in (target.baseline_value, target.baseline_on, target.baseline_comment))
    return TargetRead(
        id=target.id,
        agreement_id=target.agreement_id,
        indicator=target.indicator,
        title=target.title,
        description=target.description,
        measure=target.measure,
        unit=target.unit,
        ascending=target.ascending,
        baseline=Baseline(
            value=None if target.baseline_value is None else float(target.baseline_value),
            on=target.baseline_on,
            comment=target.baseline_comment,
        )
        if has_baseline
        else None,
        milestones=milestones,
        responsible_org_id=target.responsible_org_id,
        latest=latest,
        created_at=target.created_at,
        updated_at=target.updated_at,
    )


async def _write(
    session: AsyncSession,
    target: Target,
    locked: agreement_service.Locked,
    principal: Principal,
    action: log_service.Action,
    today: date,
) -> AgreementRead:
    return await agreement_service.write_child(
        session,
        locked,
        resource_type=RESOURCE,
        resource_id=target.id,
        resource=None if action is log_service.Action.delete else target,
        action=action,
        principal=principal,
        today=today,
    )


async def create_target(
    session: AsyncSession, agreement_id: uuid.UUID, data: TargetCreate, *, principal: Principal, today: date
) -> TargetRead:
    locked = await agreement_service.lock_for_change(
        session, agreement_id, principal=principal, today=today, refusal=REFUSAL
    )
    facts = data.model_dump(mode="python")
    milestones = await _check(session, facts)
    target = Target(
        agreement_id=locked.row.id, indicator=data.indicator.value, title=data.title, measure=data.measure.value
    )
    _apply(target, facts, milestones)
    await repository.add(session, target)
    agreement = await _write(session, target, locked, principal, log_service.Action.create, today)
    return to_read(target, [], agreement, today)


async def visible_target(
    session: AsyncSession, target_id: uuid.UUID, *, principal: Principal | None, today: date
) -> tuple[Target, AgreementRead]:
    target = await repository.get(session, target_id)
    if target is None:
        raise TargetNotFound
    try:
        agreement = await agreement_service.get_visible(session, target.agreement_id, principal=principal, today=today)
    except NotFound as exc:
        raise TargetNotFound from exc
    return target, agreement


async def read_target(session: AsyncSession, target: Target, agreement: AgreementRead, *, today: date) -> TargetRead:
    verified = await repository.verified_for(session, [target.id])
    return to_read(target, verified[target.id], agreement, today)


@dataclass(frozen=True, slots=True)
class LockedTarget:
    """A target locked for change, its agreement locked too, and the target as it now reads."""

    target: Target
    agreement: agreement_service.Locked
    verified: list[Verified]
    measured: bool  # whether any measurement (verified or not) was reported against it
    current: TargetRead


async def lock_target(
    session: AsyncSession, target_id: uuid.UUID, *, principal: Principal, today: date
) -> LockedTarget:
    target, locked, _ = await agreement_service.lock_child(
        session,
        Target,
        target_id,
        principal=principal,
        today=today,
        not_found=TargetNotFound(),
        refusal=REFUSAL,
    )
    verified, measured = await repository.progress_of(session, target.id)
    return LockedTarget(target, locked, verified, measured, to_read(target, verified, locked.before, today))


async def change_target(
    session: AsyncSession,
    target_id: uuid.UUID,
    data: TargetUpdate,
    *,
    if_match: str | None,
    principal: Principal,
    today: date,
) -> TargetRead:
    """PATCH: lock the target with its agreement, check If-Match against it as it stands, change it."""
    locked = await lock_target(session, target_id, principal=principal, today=today)
    check_if_match(if_match, locked.current)
    return await update_target(session, locked, data, principal=principal, today=today)


async def remove_target(
    session: AsyncSession, target_id: uuid.UUID, *, if_match: str | None, principal: Principal, today: date
) -> None:
    """DELETE: lock the target with its agreement, check If-Match against it as it stands, delete it."""
    locked = await lock_target(session, target_id, principal=principal, today=today)
    check_if_match(if_match, locked.current)
    await delete_target(session, locked, principal=principal, today=today)


async def update_target(
    session: AsyncSession, locked: LockedTarget, data: TargetUpdate, *, principal: Principal, today: date
) -> TargetRead:
    target, current = locked.target, locked.current
    changes = changes_of(data, not_null=("indicator", "title", "measure", "ascending"))
    facts: dict[str, Any] = {
        "indicator": target.indicator,
        "title": target.title,
        "description": target.description,
        "measure": target.measure,
        "unit": target.unit,
        "ascending": target.ascending,
        "baseline": None if current.baseline is None else current.baseline.model_dump(),
        "milestones": [{"months": m.months, "target_value": m.target_value} for m in current.milestones],
        "responsible_org_id": target.responsible_org_id,
    } | changes
    milestones = await _check(session, facts)
    _apply(target, facts, milestones)
    target.updated_at = datetime.now(UTC)
    await repository.add(session, target)
    agreement = await _write(session, target, locked.agreement, principal, log_service.Action.update, today)
    # A change of the target leaves its measurements as they were.
    return to_read(target, locked.verified, agreement, today)


async def delete_target(session: AsyncSession, locked: LockedTarget, *, principal: Principal, today: date) -> None:
    target = locked.target
    if locked.measured:
        raise TargetInUse(Text("targets.has_measurements"))
    if await repository.is_referenced(session, target.id):
        raise TargetInUse(Text("targets.referenced"))
    await repository.remove(session, target)
    await _write(session, target, locked.agreement, principal, log_service.Action.delete, today)


async def list_targets_json(
    reader: Reader, agreement_id: uuid.UUID, params: PageParams, *, principal: Principal | None, today: date
) -> tuple[list[str], str | None] | None:
    """The same page as list_targets, each item already the JSON text of its TargetRead (built by
    PostgreSQL, milestones evaluated there); None when a number on the page would be spelled
    differently by PostgreSQL and pydantic (the caller then writes it with the models)."""
    await agreement_service.ensure_visible(reader, agreement_id, principal=principal)
    rows = await repository.progress_page_json(reader, agreement_id, params, today)
    items = rows[: params.limit]
    if any(r["document"] is None for r in items):
        return None
    cursor = None
    if len(rows) > params.limit and items:
        cursor = encode_cursor(repository.BY_CREATED, (items[-1]["created_at"], items[-1]["id"]))
    return [str(r["document"]) for r in items], cursor


async def list_targets(
    session: AsyncSession, agreement: AgreementRead, params: PageParams, *, today: date
) -> tuple[list[TargetRead], str | None]:
    """The agreement's progress: targets with milestones, in two queries whatever their number."""
    rows = await repository.list_page(session, agreement.id, params)
    items, cursor = make_page(rows, repository.BY_CREATED, params, lambda t: (t.created_at, t.id))
    verified = await repository.verified_for(session, [t.id for t in items])
    return [to_read(t, verified[t.id], agreement, today) for t in items], cursor
