"""`/reminders off` and `/reminders on`: a manager's choice, kept across restarts."""

from __future__ import annotations

from bot.app import Bot, build
from bot.reminder_service import CHAT_APPS, plan_now
from bot.reminders import Verdict
from bot.settings import Settings
from tests.conftest import FakeClock
from tests.support.reminder_world import link_user
from tests.test_onboarding import Chat


async def verdict_of(bot: Bot, clock: FakeClock) -> Verdict:
    plan = await plan_now(bot, clock(), CHAT_APPS | {"console"})
    [decision] = plan.reminders.decisions
    return decision.verdict


async def test_reminders_off_is_kept_across_a_restart_and_on_turns_them_back(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    await link_user(bot, 1, "DEMO01", clock(), channel="console")
    chat = Chat(bot, "1")
    reply = await chat.say("/reminders off")
    assert "Đã tắt nhắc hạn nộp báo cáo" in reply
    assert "hạn cuối là ngày 14/12/2026" in reply
    assert await verdict_of(bot, clock) is Verdict.OPTED_OUT

    await bot.close()
    restarted = await build(settings, clock)
    try:
        assert await verdict_of(restarted, clock) is Verdict.OPTED_OUT
        chat = Chat(restarted, "1")
        assert "Nhắc hạn nộp báo cáo đang tắt." in await chat.say("/reminders")
        reply = await chat.say("/reminders on")
        assert "Đã bật nhắc hạn nộp báo cáo" in reply and "từ 08:00 đến 20:00" in reply
        assert await verdict_of(restarted, clock) is not Verdict.OPTED_OUT
    finally:
        await restarted.close()


async def test_the_status_offers_the_switch_as_a_button_or_a_number(
    bot: Bot, clock: FakeClock
) -> None:
    await link_user(bot, 1, "DEMO01", clock(), channel="console")
    chat = Chat(bot, "1")
    shown = await chat.say("/reminders")
    assert "Nhắc hạn nộp báo cáo đang bật." in shown and "1. Tắt nhắc hạn" in shown
    assert "Đã tắt nhắc hạn" in await chat.say("1")
    assert "1. Bật nhắc hạn" in await chat.say("/reminders")


async def test_vietnamese_words_work_too_and_a_typo_gets_a_clear_answer_that_changes_nothing(
    bot: Bot, clock: FakeClock
) -> None:
    await link_user(bot, 1, "DEMO01", clock(), channel="console")
    chat = Chat(bot, "1")
    assert "Đã tắt nhắc hạn" in await chat.say("/reminders tắt")
    reply = await chat.say("/reminders of")
    assert "Chưa hiểu “of”" in reply and "/reminders off" in reply
    assert "đang tắt" in reply
    assert await verdict_of(bot, clock) is Verdict.OPTED_OUT
    assert "Đã bật nhắc hạn" in await chat.say("/reminders bat")


async def test_the_command_answers_in_english_and_needs_a_linked_chat(
    bot: Bot, clock: FakeClock
) -> None:
    await link_user(bot, 1, "DEMO01", clock(), channel="console", language="en")
    assert "Deadline reminders are off." in await Chat(bot, "1").say("/reminders off")
    assert "chưa được liên kết" in await Chat(bot, "stranger").say("/reminders off")
