"""app.targets.progress: due dates (month arithmetic) and milestone evaluation, as pure functions.

The agreement is in force from 2025-01-15, so the milestones fall due on 2025-07-15 (6 months),
2026-01-15 (12) and 2027-01-15 (24). Milestones are given as the service stores them: months and
decimal strings, ordered by months; verified measurements oldest first.
"""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from app.targets.progress import Verified, add_months, evaluate
from app.targets.schemas import Latest, MilestoneStatus

IN_FORCE = date(2025, 1, 15)
DUE_6, DUE_12, DUE_24 = date(2025, 7, 15), date(2026, 1, 15), date(2027, 1, 15)
ONE_DAY = timedelta(days=1)

Row = tuple[int, str, float | None, float | None]


# --- add_months ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param(date(2025, 1, 15), 6, date(2025, 7, 15), id="mid-month"),
        pytest.param(date(2025, 1, 31), 1, date(2025, 2, 28), id="jan-31-plus-1-common-year"),
        pytest.param(date(2024, 1, 31), 1, date(2024, 2, 29), id="jan-31-plus-1-leap-year"),
        pytest.param(date(2023, 8, 31), 6, date(2024, 2, 29), id="aug-31-plus-6-into-leap-february"),
        pytest.param(date(2025, 8, 31), 6, date(2026, 2, 28), id="aug-31-plus-6-into-common-february"),
        pytest.param(date(2025, 3, 31), 1, date(2025, 4, 30), id="31st-into-30-day-month"),
        pytest.param(date(2025, 1, 30), 1, date(2025, 2, 28), id="30th-into-february"),
        pytest.param(date(2024, 2, 29), 12, date(2025, 2, 28), id="leap-day-plus-a-year"),
        pytest.param(date(2024, 2, 29), 48, date(2028, 2, 29), id="leap-day-plus-four-years"),
        pytest.param(date(2024, 2, 29), 1, date(2024, 3, 29), id="leap-day-plus-a-month-keeps-the-29th"),
        pytest.param(date(2025, 12, 15), 1, date(2026, 1, 15), id="december-rolls-the-year"),
        pytest.param(date(2025, 11, 30), 3, date(2026, 2, 28), id="across-the-year-end-clamped"),
        pytest.param(date(2025, 12, 31), 12, date(2026, 12, 31), id="a-whole-year"),
        pytest.param(date(2025, 1, 31), 24, date(2027, 1, 31), id="two-years"),
        pytest.param(date(2099, 12, 31), 2, date(2100, 2, 28), id="2100-is-not-a-leap-year"),
        pytest.param(date(1999, 12, 31), 2, date(2000, 2, 29), id="2000-is-a-leap-year"),
        pytest.param(date(2025, 7, 31), 600, date(2075, 7, 31), id="fifty-years"),
    ],
)
def test_add_months(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_add_months_lands_in_the_right_month_for_every_offset() -> None:
    start = date(2024, 1, 31)
    for months in range(1, 121):
        result = add_months(start, months)
        assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
        # Either the same day, or the last day of a shorter month.
        assert result.day == 31 or (result + ONE_DAY).day == 1


# --- evaluate --------------------------------------------------------------------------------------

STANDARD = [(6, "10"), (12, "25"), (24, "60")]


def run(
    verified: Sequence[tuple[date, Any]] = (),
    *,
    today: date,
    measure: str = "count",
    ascending: bool = True,
    baseline: str | None = "0",
    milestones: Sequence[tuple[int, str | None]] = STANDARD,
    in_force_on: date | None = IN_FORCE,
) -> tuple[list[Row], Latest | None, list[date | None]]:
    read, latest = evaluate(
        measure=measure,
        ascending=ascending,
        baseline=None if baseline is None else Decimal(baseline),
        milestones=[{"months": m, "target_value": v} for m, v in milestones],
        verified=[Verified(as_of=d, value=None if v is None else Decimal(str(v))) for d, v in verified],
        in_force_on=in_force_on,
        today=today,
    )
    rows = [(m.months, m.status.value, m.actual_value, m.attainment) for m in read]
    return rows, latest, [m.due_on for m in read]


def test_due_dates_follow_entry_into_force() -> None:
    _, _, due = run(today=date(2025, 2, 1))
    assert due == [DUE_6, DUE_12, DUE_24]


def test_due_dates_clamp_to_the_end_of_shorter_months() -> None:
    _, _, due = run(today=date(2023, 9, 1), in_force_on=date(2023, 8, 31), milestones=[(6, "1"), (12, "2"), (18, "3")])
    assert due == [date(2024, 2, 29), date(2024, 8, 31), date(2025, 2, 28)]


def test_not_in_force_has_no_due_dates_and_everything_is_scheduled() -> None:
    rows, latest, due = run(today=date(2030, 1, 1), in_force_on=None)
    assert due == [None, None, None]
    assert rows == [(6, "scheduled", None, None), (12, "scheduled", None, None), (24, "scheduled", None, None)]
    assert latest is None


def test_nothing_verified_is_scheduled_before_and_not_met_after_each_due_date() -> None:
    before, latest, _ = run(today=DUE_6)
    assert before == [(6, "scheduled", None, None), (12, "scheduled", None, None), (24, "scheduled", None, None)]
    assert latest is None
    after_6, _, _ = run(today=DUE_6 + ONE_DAY)
    assert [r[1] for r in after_6] == ["not_met", "scheduled", "scheduled"]
    after_all, _, _ = run(today=DUE_24 + ONE_DAY)
    assert after_all == [(6, "not_met", None, None), (12, "not_met", None, None), (24, "not_met", None, None)]


def test_met_even_early() -> None:
    rows, latest, _ = run([(date(2025, 3, 1), 12)], today=date(2025, 3, 2))
    assert rows == [(6, "met", 12.0, 1.2), (12, "scheduled", 12.0, 0.48), (24, "scheduled", 12.0, 0.2)]
    assert latest == Latest(value=12.0, as_of=date(2025, 3, 1))


def test_met_stays_met_after_the_due_date() -> None:
    rows, _, _ = run([(date(2025, 3, 1), 12)], today=DUE_12 + ONE_DAY)
    assert rows[:2] == [(6, "met", 12.0, 1.2), (12, "partially_met", 12.0, 0.48)]


def test_reaching_exactly_the_target_is_met() -> None:
    rows, _, _ = run([(date(2025, 3, 1), 10)], today=date(2025, 3, 1))
    assert rows[0] == (6, "met", 10.0, 1.0)


def test_partially_met_after_the_due_date_when_the_actual_moved_toward_the_target() -> None:
    verified = [(date(2025, 5, 1), 5)]
    before, _, _ = run(verified, today=DUE_6)
    assert before[0] == (6, "scheduled", 5.0, 0.5)
    after, _, _ = run(verified, today=DUE_6 + ONE_DAY)
    assert after[0] == (6, "partially_met", 5.0, 0.5)


def test_not_met_when_the_actual_did_not_move_from_the_baseline() -> None:
    rows, _, _ = run([(date(2025, 5, 1), 4)], today=DUE_6 + ONE_DAY, baseline="4")
    assert rows[0] == (6, "not_met", 4.0, 0.0)


def test_not_met_when_the_actual_moved_away_from_the_target() -> None:
    rows, _, _ = run([(date(2025, 5, 1), 3)], today=DUE_6 + ONE_DAY, baseline="5")
    assert rows[0] == (6, "not_met", 3.0, -0.4)


def test_the_actual_is_the_latest_measurement_on_or_before_the_due_date() -> None:
    verified = [(date(2025, 2, 1), 2), (DUE_6, 7), (DUE_6 + ONE_DAY, 30)]
    rows, latest, _ = run(verified, today=date(2025, 9, 1))
    # The 6-month milestone judges the level on its due date; a later, higher one does not count.
    assert rows[0] == (6, "partially_met", 7.0, 0.7)
    # The 12-month milestone is not due yet: the latest so far.
    assert rows[1] == (12, "met", 30.0, 1.2)
    assert latest == Latest(value=30.0, as_of=DUE_6 + ONE_DAY)


def test_reaching_the_target_after_the_due_date_does_not_meet_it() -> None:
    rows, latest, _ = run([(DUE_6 + ONE_DAY, 10)], today=DUE_6 + ONE_DAY)
    assert rows[0] == (6, "not_met", None, None)
    assert rows[1] == (12, "scheduled", 10.0, 0.4)
    assert latest == Latest(value=10.0, as_of=DUE_6 + ONE_DAY)


def test_before_the_due_date_the_actual_is_the_latest_so_far() -> None:
    verified = [(date(2025, 2, 1), 3), (date(2025, 4, 1), 6), (date(2025, 6, 1), 9)]
    rows, _, _ = run(verified, today=date(2025, 4, 1))
    assert rows[0] == (6, "scheduled", 6.0, 0.6)
    rows, _, _ = run(verified, today=date(2025, 3, 31))
    assert rows[0] == (6, "scheduled", 3.0, 0.3)


def test_a_later_correction_downward_counts() -> None:
    # Cumulative levels may be corrected: the latest verified value is the one that counts.
    rows, latest, _ = run([(date(2025, 3, 1), 12), (date(2025, 5, 1), 8)], today=DUE_6 + ONE_DAY)
    assert rows[0] == (6, "partially_met", 8.0, 0.8)
    assert latest == Latest(value=8.0, as_of=date(2025, 5, 1))


DESCENDING = [(6, "48"), (12, "24"), (24, "12")]


@pytest.mark.parametrize(
    ("value", "today", "expected"),
    [
        pytest.param(40, date(2025, 6, 1), (6, "met", 40.0, 1.3333), id="below-target-early-is-met"),
        pytest.param(48, DUE_6 + ONE_DAY, (6, "met", 48.0, 1.0), id="exactly-the-target-is-met"),
        pytest.param(60, date(2025, 6, 1), (6, "scheduled", 60.0, 0.5), id="improving-before-due"),
        pytest.param(60, DUE_6 + ONE_DAY, (6, "partially_met", 60.0, 0.5), id="improved-but-short-after-due"),
        pytest.param(72, DUE_6 + ONE_DAY, (6, "not_met", 72.0, 0.0), id="unchanged-after-due"),
        pytest.param(80, DUE_6 + ONE_DAY, (6, "not_met", 80.0, -0.3333), id="worse-after-due"),
    ],
)
def test_descending_targets_are_met_by_going_down(
    value: float, today: date, expected: tuple[int, str, float, float]
) -> None:
    rows, latest, _ = run(
        [(date(2025, 6, 1), value)], today=today, ascending=False, baseline="72", milestones=DESCENDING
    )
    assert rows[0] == expected
    assert latest == Latest(value=float(value), as_of=date(2025, 6, 1))


def test_a_descending_target_not_reached_by_a_higher_value_is_not_met_even_if_an_ascending_one_would_be() -> None:
    verified = [(date(2025, 6, 1), 100)]
    descending, _, _ = run(verified, today=DUE_6 + ONE_DAY, ascending=False, baseline="72", milestones=DESCENDING)
    ascending, _, _ = run(verified, today=DUE_6 + ONE_DAY, ascending=True, baseline="72", milestones=DESCENDING)
    assert descending[0][1] == "not_met"
    assert ascending[0][1] == "met"


QUALITATIVE = [(6, None), (12, None), (24, None)]


def test_qualitative_without_measurements_is_scheduled_then_not_met() -> None:
    before, latest, _ = run(today=DUE_6, measure="qualitative", baseline=None, milestones=QUALITATIVE)
    assert [r[1] for r in before] == ["scheduled"] * 3
    assert latest is None
    after, _, _ = run(today=DUE_12 + ONE_DAY, measure="qualitative", baseline=None, milestones=QUALITATIVE)
    assert after == [(6, "not_met", None, None), (12, "not_met", None, None), (24, "scheduled", None, None)]


def test_qualitative_is_met_by_a_verified_measurement_by_the_due_date() -> None:
    verified = [(DUE_6, None)]
    early, latest, _ = run(verified, today=DUE_6, measure="qualitative", baseline=None, milestones=QUALITATIVE)
    assert early == [(6, "met", None, None), (12, "met", None, None), (24, "met", None, None)]
    assert latest == Latest(value=None, as_of=DUE_6)
    late, _, _ = run(verified, today=DUE_24 + ONE_DAY, measure="qualitative", baseline=None, milestones=QUALITATIVE)
    assert [r[1] for r in late] == ["met"] * 3


def test_qualitative_evidence_after_a_due_date_does_not_meet_that_milestone() -> None:
    verified = [(DUE_6 + ONE_DAY, None)]
    rows, _, _ = run(verified, today=DUE_12 + ONE_DAY, measure="qualitative", baseline=None, milestones=QUALITATIVE)
    assert [r[1] for r in rows] == ["not_met", "met", "met"]


def test_qualitative_measurements_may_carry_a_value_but_have_no_attainment() -> None:
    rows, latest, _ = run(
        [(date(2025, 3, 1), 1)], today=date(2025, 3, 1), measure="qualitative", baseline=None, milestones=QUALITATIVE
    )
    assert rows[0] == (6, "met", 1.0, None)
    assert latest == Latest(value=1.0, as_of=date(2025, 3, 1))


def test_attainment_is_rounded_to_four_places() -> None:
    rows, _, _ = run([(date(2025, 3, 1), 1)], today=date(2025, 3, 1), milestones=[(6, "3")])
    assert rows == [(6, "scheduled", 1.0, 0.3333)]


def test_attainment_counts_from_the_baseline() -> None:
    rows, _, _ = run([(date(2025, 3, 1), 130)], today=date(2025, 3, 1), baseline="100", milestones=[(6, "200")])
    assert rows == [(6, "scheduled", 130.0, 0.3)]


def test_no_baseline_counts_from_zero() -> None:
    rows, _, _ = run([(date(2025, 3, 1), 5)], today=DUE_6 + ONE_DAY, baseline=None)
    assert rows[0] == (6, "partially_met", 5.0, 0.5)


def test_a_target_equal_to_the_baseline_has_no_attainment_instead_of_dividing_by_zero() -> None:
    rows, _, _ = run([(date(2025, 3, 1), 10)], today=date(2025, 3, 1), baseline="10", milestones=[(6, "10")])
    assert rows == [(6, "met", 10.0, None)]


def test_decimal_values_keep_their_fraction() -> None:
    rows, latest, _ = run(
        [(date(2025, 3, 1), Decimal("12.5"))], today=date(2025, 3, 1), measure="percentage", milestones=[(6, "25.0")]
    )
    assert rows == [(6, "scheduled", 12.5, 0.5)]
    assert latest == Latest(value=12.5, as_of=date(2025, 3, 1))


def test_statuses_are_the_ocds_vocabulary() -> None:
    assert {s.value for s in MilestoneStatus} == {"scheduled", "met", "partially_met", "not_met"}
