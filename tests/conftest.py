"""Shared fixtures: a real SQLite file per test, an injectable clock, the sample register."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import Bot, build, import_register, sample_register_path
from bot.invitations import issue
from bot.settings import Settings
from tests.support.telegram_harness import TelegramHarness

# 09:00 on 1 December 2026 in Vietnam.
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in ("SXSH_TELEGRAM_TOKEN", "SXSH_DB_PATH", "SXSH_ADMIN_IDS"):
        monkeypatch.delenv(name, raising=False)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        db_path=tmp_path / "sxsh.db",
        telegram_bot_username="sxsh_test_bot",
    )


@pytest.fixture
async def bot(settings: Settings, clock: FakeClock) -> AsyncIterator[Bot]:
    running = await build(settings, clock)
    await import_register(running.database, sample_register_path(), clock())
    yield running
    await running.close()


async def invitation_for(bot: Bot, facility_code: str, now: datetime, days: int = 30) -> str:
    async with bot.database.transaction() as store:
        facility = await store.facilities.by_code(facility_code)
        assert facility is not None
        code, _expires = await issue(store, facility.id, now, days)
    return code


@pytest.fixture
async def telegram(settings: Settings, clock: FakeClock) -> AsyncIterator[TelegramHarness]:
    """The real Application polling a loopback Bot API server, sample register loaded."""
    async with TelegramHarness.started(settings, clock) as harness:
        yield harness
