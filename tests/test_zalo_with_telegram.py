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
from bot.messages import Outbound
from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for
from tests.support.botapi_server import BotApiServer
from tests.support.form_scripts import FORMS, FormScript, stored_answers
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
        async with service.running(bot, service.channels(bot, zalo_backoff=QUICK)) as running:
            telegram_channel, zalo_channel = running
            assert isinstance(telegram_channel, TelegramChannel)
            assert isinstance(zalo_channel, ZaloChannel)
            assert bot.senders == {"telegram": telegram_channel, "zalo": zalo_channel}
            zalo_channel.stop_grace = 0.05  # the loopback server's polls are short anyway
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
    assert "(3/6) Số điện thoại" in welcome
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
    # What reminders do: each user of the facility, through the channel they use.
    async with both.bot.database.snapshot() as store:
        facility = await store.facilities.by_code("DEMO01")
        assert facility is not None
        users = await store.users.of_facility(facility.id)
    reminder = "Còn 14 ngày đến hạn nộp báo cáo SXSH năm 2026."
    for user in users:
        assert await both.bot.senders[user.channel].send(Outbound(user.chat_id, reminder))
    assert both.zalo.server.messages_to(ON_ZALO)[-1].text == reminder
    assert both.telegram.server.messages_to(ON_TELEGRAM)[-1].text == reminder


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
    assert "(2/6)" in telegram_texts(await both.telegram.say(ON_TELEGRAM, "Nguyễn Văn An"))
    zalo.send_text(ON_ZALO, "Hoàng Thị Mai")
    # Zalo comes back, but refuses every try of the reply to that message.
    zalo.fail_next("sendMessage", 500, times=QUICK.attempts)
    handled = both.zalo.channel.updates_handled
    zalo.clear_faults("getUpdates")
    await both.zalo.settle(handled)
    assert "(2/6)" not in zalo_texts(zalo.messages_to(ON_ZALO))
    assert stored_answers(settings, "facility_profile", "DEMO02") == {
        "contact_name": '"Hoàng Thị Mai"'
    }
    assert "(3/6)" in zalo_texts(await both.zalo.say(ON_ZALO, "-"))
    assert "(3/6)" in telegram_texts(await both.telegram.say(ON_TELEGRAM, "-"))
