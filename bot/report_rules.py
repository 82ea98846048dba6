"""The yearly report's rules of time and numbering, as plain functions.

The plan wants each year's report *before* 15 December: the last day is 14 December and
a report received from 15 December 00:00 (Vietnam time) on is accepted but marked late.
Receipts are short and carry only digits after the province code and the year, so they
read unambiguously over the phone ("LS-2026-000123").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import VIETNAM, local
from flows.textmatch import fold

REPORT_FORM = "annual_report"
DEADLINE_MONTH = 12
DEADLINE_DAY = 15  # the first day a report is late
RECEIPT_PREFIX = "LS"
# How far back a report may be filed: older figures are no use to this year's indicators
# and a year like 2016 typed for 2026 is far more likely a typo than a real wish.
YEARS_BACK = 10
# Early in a year a manager who types /report may well mean last year's report.
PREVIOUS_YEAR_OFFERED_UNTIL_MONTH = 3


def deadline(year: int, zone: ZoneInfo = VIETNAM) -> datetime:
    """The first moment a report for `year` is late: 15 December 00:00 local time."""
    return datetime(year, DEADLINE_MONTH, DEADLINE_DAY, tzinfo=zone)


def is_late(submitted_at: datetime, year: int, zone: ZoneInfo = VIETNAM) -> bool:
    return submitted_at >= deadline(year, zone)


def days_left(now: datetime, year: int, zone: ZoneInfo = VIETNAM) -> int:
    """Days a manager still has, today included: 1 on 14 December, 0 once it is late."""
    return max(0, (deadline(year, zone).date() - local(now, zone).date()).days)


def format_receipt(year: int, sequence: int) -> str:
    """'LS-2026-000123': the province, the reporting year, the year's running number."""
    return f"{RECEIPT_PREFIX}-{year}-{sequence:06d}"


@dataclass(frozen=True)
class YearChoice:
    """What `/report <argument>` asks for: a year, and why it cannot be used if it can't."""

    year: int
    problem: str | None = None  # "not_a_year", "future" or "too_old"


def choose_year(argument: str, current_year: int) -> YearChoice:
    """The reporting year a manager typed ("2025", "năm 2025"); empty means this year."""
    words = fold(argument).replace("nam", " ").split()
    if not words:
        return YearChoice(current_year)
    if len(words) != 1 or not words[0].isdigit() or len(words[0]) != 4:
        return YearChoice(current_year, "not_a_year")
    year = int(words[0])
    if year > current_year:
        return YearChoice(year, "future")
    if year < earliest_year(current_year):
        return YearChoice(year, "too_old")
    return YearChoice(year)


def earliest_year(current_year: int) -> int:
    return current_year - YEARS_BACK


def offers_previous_year(now: datetime, zone: ZoneInfo = VIETNAM) -> bool:
    """Whether `/report` without a year should ask which year is meant (early in a year)."""
    return local(now, zone).month <= PREVIOUS_YEAR_OFFERED_UNTIL_MONTH
