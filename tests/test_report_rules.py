"""The report's rules of time and numbering: deadline, late mark, days left, receipts,
the year a manager asks for."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.clock import VIETNAM
from bot.report_rules import choose_year, days_left, format_receipt, is_late, offers_previous_year


def vietnam(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A wall-clock time in Vietnam."""
    return datetime(year, month, day, hour, minute, second, tzinfo=VIETNAM)


@pytest.mark.parametrize(
    ("received", "year", "late"),
    [
        (vietnam(2026, 6, 30, 10, 0), 2026, False),
        (vietnam(2026, 12, 14, 23, 59, 59), 2026, False),
        (vietnam(2026, 12, 15, 0, 0), 2026, True),
        # 15 December 00:00 in Vietnam is still 14 December in UTC.
        (datetime(2026, 12, 14, 16, 59, 59, tzinfo=UTC), 2026, False),
        (datetime(2026, 12, 14, 17, 0, tzinfo=UTC), 2026, True),
        (vietnam(2026, 12, 31, 23, 0), 2026, True),
        (vietnam(2027, 1, 5, 8, 0), 2026, True),
        (vietnam(2026, 3, 1, 8, 0), 2025, True),
    ],
)
def test_a_report_received_from_15_december_vietnam_time_is_late(
    received: datetime, year: int, late: bool
) -> None:
    assert is_late(received, year, VIETNAM) is late


@pytest.mark.parametrize(
    ("now", "left"),
    [
        (vietnam(2026, 12, 1, 9, 0), 14),
        (vietnam(2026, 12, 13, 23, 59), 2),
        (vietnam(2026, 12, 14, 0, 1), 1),  # today is the last day
        (vietnam(2026, 12, 15, 0, 0), 0),
        (vietnam(2027, 2, 1, 0, 0), 0),
        (vietnam(2026, 1, 1, 0, 0), 348),
        # 1 December 06:00 in Vietnam is 30 November in UTC: the day counts in Vietnam.
        (datetime(2026, 11, 30, 23, 0, tzinfo=UTC), 14),
    ],
)
def test_days_left_count_today_in_vietnam_and_stop_at_zero(now: datetime, left: int) -> None:
    assert days_left(now, 2026, VIETNAM) == left


@pytest.mark.parametrize(
    ("year", "sequence", "receipt"),
    [
        (2026, 1, "LS-2026-000001"),
        (2026, 123, "LS-2026-000123"),
        (2025, 999_999, "LS-2025-999999"),
    ],
)
def test_a_receipt_names_the_province_the_year_and_a_six_digit_number(
    year: int, sequence: int, receipt: str
) -> None:
    assert format_receipt(year, sequence) == receipt
    # Only digits after the year: nothing to mix up (O and 0, I and 1) when read aloud.
    assert re.fullmatch(r"LS-\d{4}-\d{6}", receipt)


@pytest.mark.parametrize(
    ("typed", "year", "problem"),
    [
        ("", 2026, None),
        ("2025", 2025, None),
        ("năm 2025", 2025, None),
        ("nam 2024", 2024, None),
        (" 2016 ", 2016, None),
        ("2015", 2015, "too_old"),
        ("2027", 2027, "future"),
        ("hai nghìn", 2026, "not_a_year"),
        ("25", 2026, "not_a_year"),
        ("2025 2026", 2026, "not_a_year"),
    ],
)
def test_the_year_typed_after_report_is_this_one_or_up_to_ten_years_back(
    typed: str, year: int, problem: str | None
) -> None:
    choice = choose_year(typed, 2026)
    assert (choice.year, choice.problem) == (year, problem)


@pytest.mark.parametrize(
    ("now", "asks"),
    [
        (vietnam(2027, 1, 1, 0, 0), True),
        (vietnam(2027, 3, 31, 23, 0), True),
        (vietnam(2027, 4, 1, 0, 0), False),
        (vietnam(2026, 12, 1, 9, 0), False),
    ],
)
def test_only_early_in_a_year_does_report_ask_which_year_is_meant(
    now: datetime, asks: bool
) -> None:
    assert offers_previous_year(now, VIETNAM) is asks
