"""A simulated reporting season, 1 November to 16 December, with an injected clock: the
real bot, the real SQLite file, every reminder run the scheduler would make, and the
messages as the loopback Bot API server received them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import VIETNAM, local
from bot.reminder_service import run_reminders
from bot.settings import Settings
from tests.conftest import FakeClock
from tests.support.reminder_world import (
    link_user,
    register_chats,
    reminders_in,
    save_report,
    stand_in_forms,
)
from tests.support.telegram_harness import TelegramHarness

# Runs every 30 minutes, at :07 and :37 past the hour, as a scheduler started at 00:07 would.
INTERVAL = timedelta(minutes=30)
ADMIN = 9001
EARLY, IN_TIME, LATE, DRAFTING, NEVER, NEVER_EN, OPTED_OUT, BLOCKED = (
    1001,
    1002,
    1003,
    1004,
    1005,
    1015,
    1006,
    1007,
)
EVERY_REMINDER = ["15/11 08:07", "01/12 08:07", "08/12 08:07", "12/12 08:07", "14/12 08:07"]


def vn(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=VIETNAM).astimezone(UTC)


@pytest.fixture
async def season(settings: Settings, clock: FakeClock) -> AsyncIterator[TelegramHarness]:
    settings.admin_ids = [ADMIN]
    settings.reminder_interval_minutes = 30
    clock.now = vn(11, 1, 0, 7)
    async with TelegramHarness.started(settings, clock, forms=stand_in_forms()) as telegram:
        yield telegram


@dataclass
class Season:
    """Drives the clock run by run, doing what people do at their moment."""

    telegram: TelegramHarness
    clock: FakeClock
    events: list[tuple[datetime, Callable[[], Awaitable[object]]]]
    down: tuple[datetime, datetime] | None = None
    # chat id -> (local "dd/mm HH:MM", text) of every message the runs sent
    received: dict[int, list[tuple[str, str]]] = field(default_factory=dict)

    async def run_until(self, end: datetime) -> None:
        pending = sorted(self.events, key=lambda event: event[0])
        while self.clock() < end:
            while pending and pending[0][0] <= self.clock():
                await pending.pop(0)[1]()
            if self.down and self.down[0] <= self.clock() < self.down[1]:
                if self.clock() + INTERVAL >= self.down[1]:
                    await self.telegram.restart()
            else:
                before = len(self.telegram.server.sent)
                await run_reminders(self.telegram.bot)
                when = local(self.clock()).strftime("%d/%m %H:%M")
                for message in self.telegram.server.sent[before:]:
                    self.received.setdefault(message.chat_id, []).append(
                        (when, message.plain_text or "")
                    )
            self.clock.advance(seconds=INTERVAL.total_seconds())


async def test_a_season_of_reminders_reaches_exactly_who_has_not_reported_once_each(
    season: TelegramHarness, clock: FakeClock
) -> None:
    telegram, bot = season, season.bot
    server = telegram.server
    now = clock()
    people = [
        (EARLY, "DEMO01", "vi"),
        (IN_TIME, "DEMO02", "vi"),
        (LATE, "DEMO03", "vi"),
        (DRAFTING, "DEMO04", "vi"),
        (NEVER, "DEMO05", "vi"),
        (NEVER_EN, "DEMO05", "en"),
        (OPTED_OUT, "DEMO06", "vi"),
        (BLOCKED, "DEMO07", "vi"),
    ]
    for chat, code, language in people:
        await link_user(bot, chat, code, now, language=language)
    register_chats(server, *(chat for chat, _code, _lang in people))
    server.block_user(BLOCKED)
    await telegram.say(ADMIN, "/start")
    await telegram.say(OPTED_OUT, "/reminders off")
    sent_before = len(server.sent)

    draft = {"applied": True, "elec_before": "125.5"}
    events: list[tuple[datetime, Callable[[], Awaitable[object]]]] = [
        (
            vn(11, 10, 10),
            lambda: save_report(telegram.bot, "DEMO01", 2026, clock(), submitted=True),
        ),
        (vn(11, 20, 10), lambda: save_report(telegram.bot, "DEMO04", 2026, clock(), draft)),
        (vn(12, 9, 10), lambda: save_report(telegram.bot, "DEMO02", 2026, clock(), submitted=True)),
        (
            vn(12, 16, 10),
            lambda: save_report(telegram.bot, "DEMO03", 2026, clock(), submitted=True),
        ),
    ]
    calendar = Season(telegram, clock, events)
    await calendar.run_until(vn(12, 17, 0, 0))

    got = {chat: [when for when, _ in texts] for chat, texts in calendar.received.items()}
    assert got.get(EARLY, []) == []
    assert got[IN_TIME] == EVERY_REMINDER[:3]
    assert got[LATE] == EVERY_REMINDER
    assert got[DRAFTING] == EVERY_REMINDER
    assert got[NEVER] == EVERY_REMINDER
    assert got[NEVER_EN] == EVERY_REMINDER
    assert got.get(OPTED_OUT, []) == []
    assert got.get(BLOCKED, []) == []
    # The staff summary, once, on the morning after the deadline (long: sent in pieces).
    assert set(got[ADMIN]) == {"15/12 08:07"}
    # Every message of the season was a reminder with its button, or the staff summary.
    season_messages = server.sent[sent_before:]
    assert len(reminders_in(season_messages)) == 3 + 5 * 4
    # The blocked user was tried once, found unreachable, and never tried again.
    assert [c for c in server.calls_to("sendMessage") if c["chat_id"] == BLOCKED] != []
    assert len([c for c in server.calls_to("sendMessage") if c["chat_id"] == BLOCKED]) == 1

    texts = {
        chat: [text for _when, text in received] for chat, received in calendar.received.items()
    }
    assert (
        "còn 30 ngày" in texts[NEVER][0] and "Tình trạng báo cáo: chưa bắt đầu" in texts[NEVER][0]
    )
    assert "còn 14 ngày" in texts[NEVER][1]
    assert "hôm nay, 14/12/2026, là ngày cuối cùng" in texts[NEVER][4]
    assert "chưa bắt đầu" in texts[DRAFTING][0]
    assert "bản nháp, đã trả lời 2/4 câu hỏi" in texts[DRAFTING][1]
    assert "30 days left" in texts[NEVER_EN][0] and "not started" in texts[NEVER_EN][0]

    summary = "\n".join(texts[ADMIN])
    assert summary.count("Báo cáo SXSH năm 2026: đã hết hạn") == 1
    assert (
        "Phường Kỳ Lừa (2)\n• DEMO04 Công ty TNHH Gạch Tuynel Mẫu Hoàng Đồng: bản nháp, "
        "đã trả lời 2/4 câu hỏi" in summary
    )
    assert "Đã có 2/40 cơ sở nộp báo cáo" in summary
    assert "DEMO03" in summary and "DEMO06" in summary and "DEMO07" in summary
    assert "DEMO01 " not in summary and "DEMO02 " not in summary
    assert "Người dùng bot không liên lạc được (1)" in summary and "1007" in summary


async def test_after_a_week_of_downtime_only_the_latest_missed_reminder_is_sent(
    season: TelegramHarness, clock: FakeClock
) -> None:
    telegram = season
    await link_user(telegram.bot, NEVER, "DEMO05", clock())
    register_chats(telegram.server, NEVER)
    # Down (and restarted) from 5 December 12:00 to 12 December 15:00: the 7-day reminder
    # (8 December) and the 3-day one (12 December 08:00) fell due meanwhile.
    calendar = Season(telegram, clock, [], down=(vn(12, 5, 12), vn(12, 12, 15)))
    await calendar.run_until(vn(12, 16, 0, 0))
    received = calendar.received[NEVER]
    assert [when for when, _text in received] == [
        "15/11 08:07",
        "01/12 08:07",
        "12/12 15:07",
        "14/12 08:07",
    ]
    assert "còn 3 ngày" in received[2][1]
