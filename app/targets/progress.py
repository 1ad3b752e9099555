"""Milestone evaluation (API.md, Targets): pure functions of a target, its verified measurements
and the agreement's entry into force, evaluated today."""

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from app.models.results import Measure
from app.targets.schemas import Latest, MilestoneRead, MilestoneStatus


@dataclass(frozen=True, slots=True)
class Verified:
    as_of: date
    value: Decimal | None


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _latest_until(verified: Sequence[Verified], cutoff: date) -> Verified | None:
    found = None
    for measurement in verified:  # ordered by as_of, then creation
        if measurement.as_of > cutoff:
            break
        found = measurement
    return found


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _judge(
    qualitative: bool,
    ascending: bool,
    base: float,
    target: float | None,
    actual: float | None,
    *,
    verified: bool,
    overdue: bool,
) -> tuple[MilestoneStatus, float | None]:
    """A milestone's status and attainment from the measurement that counts for it (`verified`:
    there is one; `actual`: its value, which a qualitative result does not have)."""
    if qualitative:
        if verified:
            return MilestoneStatus.met, None
        return (MilestoneStatus.not_met if overdue else MilestoneStatus.scheduled), None
    reached = actual is not None and target is not None and (actual >= target if ascending else actual <= target)
    if reached:
        status = MilestoneStatus.met
    elif not overdue:
        status = MilestoneStatus.scheduled
    else:
        moved = actual is not None and (actual > base if ascending else actual < base)
        status = MilestoneStatus.partially_met if moved else MilestoneStatus.not_met
    attainment = None
    if actual is not None and target is not None and target != base:
        attainment = round((actual - base) / (target - base), 4)
    return status, attainment


def evaluate(
    *,
    measure: str,
    ascending: bool,
    baseline: Decimal | None,
    milestones: Sequence[dict[str, Any]],
    verified: Sequence[Verified],
    in_force_on: date | None,
    today: date,
) -> tuple[list[MilestoneRead], Latest | None]:
    qualitative = measure == Measure.qualitative
    base = float(baseline) if baseline is not None else 0.0
    result: list[MilestoneRead] = []
    for milestone in milestones:
        months = int(milestone["months"])
        target = _number(milestone.get("target_value"))
        due_on = None if in_force_on is None else add_months(in_force_on, months)
        overdue = due_on is not None and today > due_on
        actual_m = _latest_until(verified, due_on if overdue and due_on is not None else today)
        actual = None if actual_m is None else _number(actual_m.value)
        status, attainment = _judge(
            qualitative, ascending, base, target, actual, verified=actual_m is not None, overdue=overdue
        )
        result.append(
            MilestoneRead(
                months=months,
                target_value=target,
                due_on=due_on,
                status=status,
                actual_value=actual,
                attainment=attainment,
            )
        )
    last = verified[-1] if verified else None
    latest = None if last is None else Latest(value=_number(last.value), as_of=last.as_of)
    return result, latest
