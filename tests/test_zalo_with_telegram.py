"""Telegram and Zalo at once, in one bot on one database, started the way `sxsh-bot run`
starts them (bot/service.py), each polling its own loopback server."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from bot import service
from bot.app import Bot, build, import_register, sample_register_path
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.reminder_service import run_reminders
from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for
from tests.support.botapi_server import BotApiServer
from tests.support.form_scripts import FORMS, FormScript, stored_answers
from tests.support.reminder_world import (
    FACILITIES,
    link_user,
    register_chats,
    reminders_to,
    save_report,
    zalo_reminders_to,
)
from tests.support.telegram_harness import TelegramHarness
from tests.support.telegram_harness import texts as telegram_texts
from tests.support.zalo_harness import QUICK, ZaloHarness
from tests.support.zalo_harness import texts as zalo_texts
from tests.support.zalo_server import ZaloApiServer

ON_TELEGRAM = 1001
ON_ZALO = "9a3f0c7e5d1b2a4c6e80"


@dataclass
class Both:
    bot: Bot
    telegram: TelegramHarness
    zalo: ZaloHarness


@pytest.fixture
async def both(settings: Settings, clock: FakeClock) -> AsyncIterator[Both]:
    async with BotApiServer(bot_username="sxsh_test_bot") as telegram, ZaloApiServer() as zalo:
        settings = settings.model_copy(
            update={
                "telegram_token": SecretStr(telegram.token),
                "telegram_base_url": telegram.base_url,
                "telegram_poll_timeout": 1,
                "zalo_token": SecretStr(zalo.token),
                "zalo_base_url": zalo.base_url,
                "zalo_poll_timeout": 1,
            }
        )
        bot = await build(settings, clock)
        await import_register(bot.database, sample_register_path(), clock())
        telegram_channel, zalo_channel = service.channels(bot, zalo_backoff=QUICK)
        assert isinstance(telegram_channel, TelegramChannel)
        assert isinstance(zalo_channel, ZaloChannel)
        zalo_channel.stop_grace = 0.05  # the loopback server's polls are short anyway
        zalo_channel.api.timeout = 1.0  # a stalled call is given up on quickly
        async with service.running(bot, [telegram_channel, zalo_channel]):
            assert bot.senders == {"telegram": telegram_channel, "zalo": zalo_channel}
            yield Both(
                bot,
                TelegramHarness(telegram, settings, clock, bot, telegram_channel),
                ZaloHarness(zalo, settings, clock, bot, zalo_channel),
            )
        assert bot.senders == {}
        await bot.close()
        telegram.assert_no_violations()
        zalo.assert_no_violations()


async def link_both(both: Both, clock: FakeClock, zalo_facility: str = "DEMO01") -> None:
    telegram_code = await invitation_for(both.bot, "DEMO01", clock())
    await both.telegram.say(ON_TELEGRAM, f"/start {telegram_code}")
    await both.zalo.say(ON_ZALO, await invitation_for(both.bot, zalo_facility, clock()))


async def test_a_telegram_user_and_a_zalo_user_of_one_facility_share_its_draft_and_reminders(
    both: Both, clock: FakeClock, settings: Settings
) -> None:
    telegram_code = await invitation_for(both.bot, "DEMO01", clock())
    await both.telegram.say(ON_TELEGRAM, f"/start {telegram_code}")
    await both.telegram.say(ON_TELEGRAM, "Hoàng Thị Mai")
    await both.telegram.say(ON_TELEGRAM, "Phó giám đốc")
    zalo_code = await invitation_for(both.bot, "DEMO01", clock())
    welcome = zalo_texts(await both.zalo.say(ON_ZALO, zalo_code))
    assert "(3/7) Số điện thoại" in welcome
    for answer in ("0912 345 678", "bánh phở tươi", "4", "12"):
        summary = zalo_texts(await both.zalo.say(ON_ZALO, answer))
    assert "Hoàng Thị Mai" in summary and "Phó giám đốc" in summary
    assert "thông tin cơ sở đã được lưu" in zalo_texts(await both.zalo.say(ON_ZALO, "1"))
    with sqlite3.connect(settings.db_path) as connection:
        answered_on = dict(
            connection.execute(
                "SELECT a.name, u.channel FROM draft_answers a JOIN users u ON u.id = a.answered_by"
            ).fetchall()
        )
    assert answered_on["contact_name"] == "telegram"
    assert answered_on["contact_phone"] == "zalo"
    assert stored_answers(settings, "facility_profile")["employees"] == "12"
    # 1 December: the 30-day reminder is due; each user hears it on the channel they use.
    assert (await run_reminders(both.bot)).sent == 2
    [on_zalo] = zalo_reminders_to(both.zalo.server, ON_ZALO)
    [on_telegram] = reminders_to(both.telegram.server, ON_TELEGRAM)
    for reminder in (on_zalo.text, on_telegram.plain_text):
        assert "còn 14 ngày để gửi báo cáo kết quả áp dụng SXSH năm 2026" in (reminder or "")


@pytest.mark.parametrize("script", FORMS, ids=lambda script: script.form_id)
async def test_the_same_answers_store_the_same_on_telegram_and_on_zalo(
    both: Both, clock: FakeClock, settings: Settings, script: FormScript
) -> None:
    await both.telegram.say(
        ON_TELEGRAM, f"/start {await invitation_for(both.bot, 'DEMO02', clock())}"
    )
    await both.zalo.say(ON_ZALO, await invitation_for(both.bot, "DEMO03", clock()))
    latest = (await both.telegram.say(ON_TELEGRAM, script.command))[-1]
    await both.zalo.say(ON_ZALO, script.command)
    for typed, tapped in script.answers:
        if tapped is None:
            latest = (await both.telegram.say(ON_TELEGRAM, typed))[-1]
        else:
            latest = (await both.telegram.press(ON_TELEGRAM, latest, tapped))[-1]
        await both.zalo.say(ON_ZALO, typed)
    assert script.thanks in telegram_texts(await both.telegram.press(ON_TELEGRAM, latest, "Gửi"))
    assert script.thanks in zalo_texts(await both.zalo.say(ON_ZALO, "1"))
    on_telegram = stored_answers(settings, script.form_id, "DEMO02")
    assert on_telegram == stored_answers(settings, script.form_id, "DEMO03") == script.stored


async def test_zalo_failing_for_a_while_neither_stops_telegram_nor_loses_zalo_answers(
    both: Both, clock: FakeClock, settings: Settings
) -> None:
    await link_both(both, clock, zalo_facility="DEMO02")
    zalo = both.zalo.server
    zalo.fail_next("getUpdates", 503, times=1000)
    await zalo.wait_until(lambda: len(zalo.injected_failures) >= 3, what="Zalo polls to fail")
    assert "(2/7)" in telegram_texts(await both.telegram.say(ON_TELEGRAM, "Nguyễn Văn An"))
    zalo.send_text(ON_ZALO, "Hoàng Thị Mai")
    # Zalo comes back, but refuses every try of the reply to that message.
    zalo.fail_next("sendMessage", 500, times=QUICK.attempts)
    handled = both.zalo.channel.updates_handled
    zalo.clear_faults("getUpdates")
    await both.zalo.settle(handled)
    assert "(2/7)" not in zalo_texts(zalo.messages_to(ON_ZALO))
    assert stored_answers(settings, "facility_profile", "DEMO02") == {
        "contact_name": '"Hoàng Thị Mai"'
    }
    assert "(3/7)" in zalo_texts(await both.zalo.say(ON_ZALO, "-"))
    assert "(3/7)" in telegram_texts(await both.telegram.say(ON_TELEGRAM, "-"))


async def test_a_mixed_fan_out_reminds_each_user_once_on_the_channel_they_use(
    both: Both, clock: FakeClock
) -> None:
    on_telegram = {2001: ("DEMO01", "vi"), 2002: ("DEMO02", "en")}
    on_zalo = {"z" * 20: ("DEMO01", "vi"), "e" * 20: ("DEMO03", "en"), "a" * 20: ("DEMO04", "vi")}
    for chat, (facility, language) in {**on_telegram, **on_zalo}.items():
        channel = "zalo" if isinstance(chat, str) else "telegram"
        await link_user(both.bot, chat, facility, clock(), channel=channel, language=language)
    register_chats(both.telegram.server, *on_telegram)
    register_chats(both.zalo.server, *on_zalo)
    # A facility that has reported: its Zalo user is not reminded.
    await link_user(both.bot, "d" * 20, "DEMO05", clock(), channel="zalo")
    register_chats(both.zalo.server, "d" * 20)
    await save_report(both.bot, "DEMO05", 2026, clock(), submitted=True)

    assert (await run_reminders(both.bot)).sent == 5
    clock.advance(hours=3)
    assert (await run_reminders(both.bot)).sent == 0

    for chat in on_telegram:
        [reminder] = reminders_to(both.telegram.server, chat)
        english = on_telegram[chat][1] == "en"
        assert ("14 days left" if english else "còn 14 ngày") in (reminder.plain_text or "")
    for chat in on_zalo:
        [reminder] = zalo_reminders_to(both.zalo.server, chat)
        english = on_zalo[chat][1] == "en"
        assert ("14 days left" if english else "còn 14 ngày") in (reminder.text or "")
    assert both.zalo.server.messages_to("d" * 20) == []
    # Nothing went out on the wrong platform.
    assert {message.chat_id for message in both.telegram.server.sent} == set(on_telegram)
    assert {message.chat_id for message in both.zalo.server.sent} == set(on_zalo)


async def test_zalo_failing_during_a_fan_out_holds_back_neither_telegram_nor_later_zalo_reminders(
    both: Both, clock: FakeClock
) -> None:
    telegram_chats, zalo_chats = [2001, 2002], ["b" * 20, "c" * 20]
    for chat, facility in zip([*telegram_chats, *zalo_chats], FACILITIES, strict=False):
        channel = "zalo" if isinstance(chat, str) else "telegram"
        await link_user(both.bot, chat, facility, clock(), channel=channel)
    register_chats(both.telegram.server, *telegram_chats)
    register_chats(both.zalo.server, *zalo_chats)
    zalo = both.zalo.server
    zalo.fail_next("sendMessage", 503, times=1000)  # Zalo is down

    report = await run_reminders(both.bot)

    assert (report.sent, report.failed) == (2, 2)
    assert all(len(reminders_to(both.telegram.server, chat)) == 1 for chat in telegram_chats)
    assert "/help" in telegram_texts(await both.telegram.say(ON_TELEGRAM, "/help"))
    zalo.clear_faults("sendMessage")
    zalo.stall_next("sendMessage", seconds=3, chat_id=zalo_chats[0])  # and then slow, once
    clock.advance(minutes=10)
    report = await run_reminders(both.bot)
    assert (report.sent, report.failed) == (2, 0)
    assert [len(zalo_reminders_to(zalo, chat)) for chat in zalo_chats] == [1, 1]
    assert all(len(reminders_to(both.telegram.server, chat)) == 1 for chat in telegram_chats)
