"""Deadline reminders on Zalo: the real Zalo channel (`bot.senders["zalo"]`) against the
loopback Zalo server, the real yearly report form, a real SQLite file; and what must hold
alike on Telegram and on Zalo."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.reminder_service import JOB_NAME, run_reminders, schedule_reminders_without_telegram
from bot.settings import Settings
from tests.conftest import FakeClock
from tests.support.reminder_world import (
    SEVEN_DAYS_LEFT,
    delivery_statuses,
    link_user,
    managers_of_facilities,
    register_chats,
    reminders_sent,
    zalo_reminders_to,
)
from tests.support.telegram_harness import TelegramHarness
from tests.support.zalo_harness import QUICK, ZaloHarness, texts


@pytest.fixture
async def zalo(settings: Settings, clock: FakeClock) -> AsyncIterator[ZaloHarness]:
    clock.now = SEVEN_DAYS_LEFT
    async with ZaloHarness.started(settings, clock) as harness:
        yield harness


async def managers(zalo: ZaloHarness, count: int) -> list[str]:
    """`count` Zalo managers of different facilities, linked, none with a report."""
    chats = [f"5a1c{n:016x}" for n in range(count)]
    return await managers_of_facilities(zalo.bot, zalo.server, chats, channel="zalo")


def reminder_counts(zalo: ZaloHarness, chats: list[str]) -> dict[str, int]:
    return {chat: len(zalo_reminders_to(zalo.server, chat)) for chat in chats}


async def test_zalo_managers_are_reminded_once_in_their_language_and_type_1_to_open_the_report(
    zalo: ZaloHarness, clock: FakeClock
) -> None:
    [started] = await managers(zalo, 1)
    await link_user(zalo.bot, "9e0d" * 5, "DEMO02", clock(), channel="zalo", language="en")
    english = "9e0d" * 5
    register_chats(zalo.server, english)
    await zalo.say(started, "/report")
    await zalo.say(started, "có")  # the first answer: the report is a draft now

    assert (await run_reminders(zalo.bot)).sent == 2
    clock.advance(minutes=10)
    assert (await run_reminders(zalo.bot)).sent == 0

    [vietnamese] = zalo_reminders_to(zalo.server, started)
    shown = vietnamese.text or ""
    assert "còn 7 ngày để gửi báo cáo kết quả áp dụng SXSH năm 2026" in shown
    assert "Tình trạng báo cáo: bản nháp, đã trả lời 1/" in shown
    assert "Gõ 1 để làm tiếp từ chỗ đã dừng." in shown
    assert shown.endswith("\n  1. Tiếp tục làm báo cáo")
    assert "Bấm nút" not in shown
    [in_english] = zalo_reminders_to(zalo.server, english)
    assert "7 days left to send the yearly SXSH results report" in (in_english.text or "")
    assert "Your report: not started. Type 1 to start." in (in_english.text or "")
    assert (in_english.text or "").endswith("\n  1. Start the report")

    resumed = texts(await zalo.say(started, "1"))
    assert "Lãnh đạo cơ sở được phổ biến về SXSH qua những hình thức nào?" in resumed
    opened = texts(await zalo.say(english, "start the report"))
    assert "Has the facility's management learned" in opened


async def test_a_number_typed_after_the_reminder_answers_the_question_shown_after_it(
    zalo: ZaloHarness,
) -> None:
    [chat] = await managers(zalo, 1)
    await run_reminders(zalo.bot)
    await zalo.say(chat, "1")  # the reminder's line: the report's first question
    asked = texts(await zalo.say(chat, "có"))
    assert "qua những hình thức nào?" in asked
    # "1" now picks the first way of learning, not the reminder's line any more.
    assert "bao nhiêu cán bộ, công nhân" in texts(await zalo.say(chat, "1"))


@pytest.fixture(params=["telegram", "zalo"])
async def chat_app(
    request: pytest.FixtureRequest, settings: Settings, clock: FakeClock
) -> AsyncIterator[TelegramHarness | ZaloHarness]:
    clock.now = SEVEN_DAYS_LEFT
    harness = TelegramHarness if request.param == "telegram" else ZaloHarness
    async with harness.started(settings, clock) as started:
        yield started


async def test_a_user_who_blocked_the_bot_is_marked_unreachable_and_reminded_once_back(
    chat_app: TelegramHarness | ZaloHarness, clock: FakeClock, settings: Settings
) -> None:
    channel = chat_app.channel.name
    chat = 2001 if channel == "telegram" else "5a1c" * 5
    await managers_of_facilities(chat_app.bot, chat_app.server, [chat], channel=channel)
    chat_app.server.block_user(chat)

    report = await run_reminders(chat_app.bot)

    assert report.unreachable == 1
    with sqlite3.connect(settings.db_path) as connection:
        reachable = connection.execute(
            "SELECT reachable FROM users WHERE channel = ? AND external_id = ?", (channel, chat)
        ).fetchone()[0]
    assert reachable == 0
    clock.advance(minutes=30)
    await run_reminders(chat_app.bot)
    assert len(chat_app.server.calls_to("sendMessage")) == 1  # not tried again

    chat_app.server.unblock_user(chat)
    clock.advance(hours=2)
    await chat_app.say(chat, "/help")  # type: ignore[arg-type]
    await run_reminders(chat_app.bot)
    [reminder] = reminders_sent(chat_app.server, chat)
    assert "còn 7 ngày" in (reminder.plain_text or "")


async def test_zalo_errors_during_a_fan_out_are_retried_and_each_reminder_arrives_once(
    zalo: ZaloHarness, clock: FakeClock, settings: Settings
) -> None:
    chats = await managers(zalo, 5)
    server = zalo.server
    server.fail_next("sendMessage", 429, retry_after=1, chat_id=chats[0])
    server.fail_next("sendMessage", 502, chat_id=chats[1])
    server.fail_next("sendMessage", 200, error_code=500, chat_id=chats[2])  # ok:false
    server.stall_next("sendMessage", seconds=3, chat_id=chats[3])  # longer than the bot waits
    # More failures in a row than the channel tries: this one waits for the next run.
    server.fail_next("sendMessage", 503, times=QUICK.attempts, chat_id=chats[4])

    report = await run_reminders(zalo.bot)

    assert (report.sent, report.failed, report.unreachable) == (4, 1, 0)
    assert reminder_counts(zalo, chats) == {**dict.fromkeys(chats[:4], 1), chats[4]: 0}
    assert delivery_statuses(settings.db_path) == {"sent": 4, "failed": 1}
    clock.advance(minutes=10)
    report = await run_reminders(zalo.bot)
    assert (report.sent, report.failed) == (1, 0)
    assert reminder_counts(zalo, chats) == dict.fromkeys(chats, 1)
    assert len(server.injected_failures) == 4 + QUICK.attempts
    # The channel still answers its users.
    assert "/reminders" in texts(await zalo.say(chats[0], "/help"))


async def test_without_telegram_apscheduler_runs_the_reminders_at_start_up_and_at_the_interval(
    zalo: ZaloHarness, settings: Settings
) -> None:
    [chat] = await managers(zalo, 1)
    reminders = schedule_reminders_without_telegram(zalo.bot)
    try:
        await zalo.server.wait_until(
            lambda: zalo_reminders_to(zalo.server, chat), what="the start-up run's reminder"
        )
        job = reminders.scheduler.get_job(JOB_NAME)
        assert job is not None
        assert job.trigger.interval == timedelta(minutes=settings.reminder_interval_minutes)
        assert job.max_instances == 1
    finally:
        await reminders.stop()
    assert reminder_counts(zalo, [chat]) == {chat: 1}


async def test_stopping_the_schedule_lets_the_run_in_progress_mark_what_it_sent(
    zalo: ZaloHarness, clock: FakeClock, settings: Settings
) -> None:
    chats = await managers(zalo, 2)
    zalo.server.fail_next("sendMessage", 502, chat_id=chats[1])  # that one takes a retry
    reminders = schedule_reminders_without_telegram(zalo.bot)
    await zalo.server.wait_until(lambda: zalo.server.injected_failures, what="the 502")
    await reminders.stop()  # as `sxsh-bot run` does on SIGTERM
    assert reminder_counts(zalo, chats) == dict.fromkeys(chats, 1)
    assert delivery_statuses(settings.db_path) == {"sent": 2}
    clock.advance(minutes=20)  # after a restart, the next run has nothing left to send
    assert (await run_reminders(zalo.bot)).sent == 0
