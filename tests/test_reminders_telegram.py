"""Reminders end to end on Telegram: the real python-telegram-bot Application (its rate
limiter, its JobQueue) against the loopback Bot API server, on a real SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import VIETNAM
from bot.reminder_service import JOB_NAME, run_reminders, schedule_reminders
from bot.reminders import CLAIM_LEASE
from bot.settings import Settings
from tests.conftest import FakeClock
from tests.support.reminder_world import (
    FACILITIES,
    REPORT_BUTTON,
    SEVEN_DAYS_LEFT,
    delivery_statuses,
    link_user,
    managers_of_facilities,
    register_chats,
    reminders_to,
    save_report,
    stand_in_forms,
)
from tests.support.telegram_harness import TelegramHarness


@pytest.fixture
async def telegram(settings: Settings, clock: FakeClock) -> AsyncIterator[TelegramHarness]:
    clock.now = SEVEN_DAYS_LEFT
    async with TelegramHarness.started(settings, clock, forms=stand_in_forms()) as harness:
        yield harness


async def managers(telegram: TelegramHarness, count: int) -> list[int]:
    """`count` managers of different facilities, linked, none with a report."""
    chats = [2001 + n for n in range(count)]
    return await managers_of_facilities(telegram.bot, telegram.server, chats)


def reminder_counts(telegram: TelegramHarness, chats: list[int]) -> dict[int, int]:
    return {chat: len(reminders_to(telegram.server, chat)) for chat in chats}


async def test_a_reminder_tells_the_days_left_and_the_report_state_with_a_button_to_it(
    telegram: TelegramHarness, clock: FakeClock
) -> None:
    await link_user(telegram.bot, 2001, "DEMO01", clock())
    await link_user(telegram.bot, 2002, "DEMO02", clock(), language="en")
    register_chats(telegram.server, 2001, 2002)
    await save_report(telegram.bot, "DEMO01", 2026, clock(), {"applied": True, "elec_now": "9"})

    report = await run_reminders(telegram.bot)

    assert report.sent == 2
    [vietnamese] = reminders_to(telegram.server, 2001)
    assert "còn 7 ngày để gửi báo cáo kết quả áp dụng SXSH năm 2026" in (
        vietnamese.plain_text or ""
    )
    assert "Hạn cuối là ngày 14/12/2026" in (vietnamese.plain_text or "")
    assert "Tình trạng báo cáo: bản nháp, đã trả lời 2/4 câu hỏi" in (vietnamese.plain_text or "")
    assert vietnamese.button_texts == ["Tiếp tục làm báo cáo"]
    assert vietnamese.callback_data("Tiếp tục làm báo cáo") == REPORT_BUTTON
    [english] = reminders_to(telegram.server, 2002)
    assert "7 days left to send the yearly SXSH results report" in (english.plain_text or "")
    assert "Your report: not started." in (english.plain_text or "")
    assert english.button_texts == ["Start the report"]


async def test_a_restart_in_the_middle_of_a_fan_out_sends_no_duplicate(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    chats = await managers(telegram, 8)
    server = telegram.server
    # Telegram holds the third message back for 30 s: the fan-out stalls there (the rate
    # limiter pauses every send), some delivered, the rest claimed or not; the bot dies.
    server.fail_next("sendMessage", status=429, retry_after=30, chat_id=chats[2])
    fan_out = asyncio.create_task(run_reminders(telegram.bot, workers=2))
    await server.wait_until(lambda: server.injected_failures, what="the 429")
    await server.wait_idle(quiet=0.3)  # every request sent before the stall was answered
    await server.wait_until(
        lambda: (
            delivery_statuses(settings.db_path)["sent"]
            == sum(reminder_counts(telegram, chats).values())
        ),
        what="the delivered reminders to be marked",
    )
    fan_out.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await fan_out
    delivered_before = sum(reminder_counts(telegram, chats).values())
    assert delivered_before < len(chats)

    await telegram.restart()
    await run_reminders(telegram.bot)
    assert max(reminder_counts(telegram, chats).values()) == 1
    # The message that was in flight when the bot died waits for its claim to lapse.
    assert reminder_counts(telegram, chats)[chats[2]] == 0

    clock.advance(seconds=CLAIM_LEASE.total_seconds() + 60)
    await run_reminders(telegram.bot)
    assert reminder_counts(telegram, chats) == dict.fromkeys(chats, 1)
    await run_reminders(telegram.bot)
    assert reminder_counts(telegram, chats) == dict.fromkeys(chats, 1)
    assert delivery_statuses(settings.db_path) == {"sent": len(chats)}


async def test_retry_after_and_server_errors_still_deliver_each_reminder_exactly_once(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    chats = await managers(telegram, 4)
    server = telegram.server
    server.fail_next("sendMessage", status=429, retry_after=1, chat_id=chats[0])
    server.fail_next("sendMessage", status=502, chat_id=chats[1])
    # More 5xx in a row than the channel retries: this one fails for this run.
    server.fail_next("sendMessage", status=500, times=4, chat_id=chats[2])

    report = await run_reminders(telegram.bot)

    assert (report.sent, report.failed) == (3, 1)
    assert reminder_counts(telegram, chats) == {chats[0]: 1, chats[1]: 1, chats[2]: 0, chats[3]: 1}
    assert delivery_statuses(settings.db_path) == {"sent": 3, "failed": 1}

    clock.advance(minutes=10)
    report = await run_reminders(telegram.bot)
    assert (report.sent, report.failed) == (1, 0)
    assert reminder_counts(telegram, chats) == dict.fromkeys(chats, 1)
    assert len(server.injected_failures) == 1 + 1 + 4


async def test_a_manager_who_submits_during_the_fan_out_is_not_reminded(
    telegram: TelegramHarness, clock: FakeClock
) -> None:
    chats = await managers(telegram, 2)
    # The first send is held back a second; meanwhile the second facility submits.
    telegram.server.fail_next("sendMessage", status=429, retry_after=1, chat_id=chats[0])
    fan_out = asyncio.create_task(run_reminders(telegram.bot, workers=1))
    await telegram.server.wait_until(lambda: telegram.server.injected_failures, what="the 429")
    await save_report(telegram.bot, FACILITIES[1], 2026, clock(), submitted=True)
    report = await fan_out
    assert (report.sent, report.skipped) == (1, 1)
    assert reminder_counts(telegram, chats) == {chats[0]: 1, chats[1]: 0}


async def test_the_job_queue_runs_the_reminders_at_start_up_and_then_at_the_interval(
    telegram: TelegramHarness, settings: Settings
) -> None:
    [chat] = await managers(telegram, 1)
    job = schedule_reminders(telegram.channel.application, telegram.bot)
    await telegram.server.wait_until(
        lambda: reminders_to(telegram.server, chat), what="the start-up run's reminder"
    )
    assert job.name == JOB_NAME
    trigger = job.job.trigger
    assert trigger.interval == timedelta(minutes=settings.reminder_interval_minutes)
    assert job.job.max_instances == 1


async def test_a_run_at_night_sends_nothing_and_the_reminder_goes_out_in_the_morning(
    telegram: TelegramHarness, clock: FakeClock
) -> None:
    [chat] = await managers(telegram, 1)
    clock.now = datetime(2026, 12, 11, 21, 30, tzinfo=VIETNAM).astimezone(UTC)
    night = await run_reminders(telegram.bot)
    assert night.outside_window and reminder_counts(telegram, [chat]) == {chat: 0}
    clock.now = datetime(2026, 12, 12, 8, 0, tzinfo=VIETNAM).astimezone(UTC)
    await run_reminders(telegram.bot)
    [reminder] = reminders_to(telegram.server, chat)
    assert "còn 3 ngày" in (reminder.plain_text or "")
