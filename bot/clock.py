"""Time: stored in UTC, shown in Vietnam time. Code takes a clock; tests hand it one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def system_clock() -> datetime:
    return datetime.now(UTC)


def to_db(moment: datetime) -> str:
    """UTC ISO text with microseconds, so stored times sort as text."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored; give a timezone")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_db(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local(moment: datetime, zone: ZoneInfo = VIETNAM) -> datetime:
    return moment.astimezone(zone)


def show_datetime(moment: datetime, zone: ZoneInfo = VIETNAM) -> str:
    """'14/12/2026 09:05' in Vietnam time — the way dates are written in Vietnam."""
    return local(moment, zone).strftime("%d/%m/%Y %H:%M")


def show_date(moment: datetime, zone: ZoneInfo = VIETNAM) -> str:
    return local(moment, zone).strftime("%d/%m/%Y")
