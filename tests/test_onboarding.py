"""Invitations, language, help and the shared form commands, driven through the console
channel on a real SQLite file."""

from __future__ import annotations

import sqlite3

from bot.app import Bot, build
from bot.channels.console import ConsoleChannel
from bot.invitations import display
from bot.messages import Inbound
from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for


class Chat:
    """A console user whose replies are collected as plain text."""

    def __init__(self, bot: Bot, user: str = "manager") -> None:
        self.lines: list[str] = []
        self.channel = ConsoleChannel(bot.dispatcher, user, write=self.lines.append)

    async def say(self, text: str) -> str:
        self.lines.clear()
        await self.channel.send(text)
        return "\n".join(self.lines)


def stored_answers(settings: Settings) -> dict[str, str]:
    with sqlite3.connect(settings.db_path) as connection:
        return dict(connection.execute("SELECT name, value FROM draft_answers").fetchall())


async def test_a_manager_links_with_a_code_and_is_greeted_by_the_facilitys_name(
    bot: Bot, clock: FakeClock
) -> None:
    code = await invitation_for(bot, "DEMO01", clock())
    chat = Chat(bot)
    reply = await chat.say(f"/start {code}")
    assert "Xin chào Cơ sở sản xuất bún phở Mẫu Tam Thanh!" in reply
    assert "(1/7) Họ và tên người phụ trách SXSH" in reply


async def test_the_code_can_be_typed_in_lower_case_with_spaces_instead_of_dashes(
    bot: Bot, clock: FakeClock
) -> None:
    code = await invitation_for(bot, "DEMO02", clock())
    messy = display(code).lower().replace("-", " ")
    reply = await Chat(bot).say(messy)
    assert "đã được liên kết" in reply


async def test_a_code_is_single_use(bot: Bot, clock: FakeClock) -> None:
    code = await invitation_for(bot, "DEMO01", clock())
    await Chat(bot, "first").say(code)
    reply = await Chat(bot, "second").say(code)
    assert "đã được sử dụng" in reply


async def test_an_expired_code_is_refused(bot: Bot, clock: FakeClock) -> None:
    code = await invitation_for(bot, "DEMO01", clock(), days=30)
    clock.advance(days=31)
    reply = await Chat(bot).say(code)
    assert "hết hạn" in reply


async def test_after_five_wrong_codes_in_an_hour_the_user_must_wait(
    bot: Bot, clock: FakeClock
) -> None:
    chat = Chat(bot)
    good = await invitation_for(bot, "DEMO01", clock())
    for tries_left in (4, 3, 2, 1, 0):
        reply = await chat.say("ABCD-EFGH-JKMNP")
        assert f"còn {tries_left} lần thử" in reply
    assert "chờ một giờ" in await chat.say(good)
    clock.advance(hours=1, minutes=1)
    assert "đã được liên kết" in await chat.say(good)


async def test_an_unlinked_user_can_read_help_but_not_facility_forms(bot: Bot) -> None:
    chat = Chat(bot)
    help_text = await chat.say("/help")
    assert "/help" in help_text and "/profile" not in help_text
    assert "chưa được liên kết" in await chat.say("/profile")


async def test_language_switch_is_kept_and_help_follows_it(bot: Bot, clock: FakeClock) -> None:
    chat = Chat(bot)
    menu = await chat.say("/lang")
    assert "1. Tiếng Việt" in menu and "2. English" in menu
    assert "English" in await chat.say("2")
    assert "What you can do:" in await chat.say("/help")
    assert "Đã chọn ngôn ngữ" in await chat.say("/lang vi")
    assert "Anh/chị có thể:" in await chat.say("/help")


async def test_cancel_keeps_the_draft_and_the_form_resumes_at_the_first_unanswered_question(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    chat = Chat(bot)
    await chat.say(await invitation_for(bot, "DEMO01", clock()))
    await chat.say("Nguyễn Thị Hoa")
    reply = await chat.say("/cancel")
    assert "/profile" in reply
    assert stored_answers(settings)["contact_name"] == '"Nguyễn Thị Hoa"'
    assert "(2/7) Chức vụ" in await chat.say("/profile")


async def test_a_restart_in_the_middle_of_a_form_resumes_where_it_was(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    chat = Chat(bot)
    await chat.say(await invitation_for(bot, "DEMO01", clock()))
    await chat.say("Nguyễn Thị Hoa")
    await chat.say("Giám đốc")
    await bot.close()
    restarted = await build(settings, clock)
    try:
        reply = await Chat(restarted).say("0912 345 678")
        assert "(4/7) Sản phẩm chính" in reply
        assert stored_answers(settings)["contact_phone"] == '"0912 345 678"'
    finally:
        await restarted.close()


async def test_a_repeated_delivery_changes_nothing_and_gets_no_reply(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    chat = Chat(bot)
    await chat.say(await invitation_for(bot, "DEMO01", clock()))
    first = Inbound("console", "manager", "manager", "text", text="Lê Văn Nam", dedup_key="k1")
    again = Inbound("console", "manager", "manager", "text", text="Trần Văn B", dedup_key="k1")
    assert await bot.dispatcher.handle(first)
    assert await bot.dispatcher.handle(again) == []
    assert stored_answers(settings)["contact_name"] == '"Lê Văn Nam"'


async def test_a_photo_gets_a_polite_request_for_text_and_the_form_stays(
    bot: Bot, clock: FakeClock
) -> None:
    chat = Chat(bot)
    await chat.say(await invitation_for(bot, "DEMO01", clock()))
    replies = await bot.dispatcher.handle(Inbound("console", "manager", "manager", "other"))
    assert "bằng chữ" in replies[0].text
    assert "(2/7)" in await chat.say("Nguyễn Thị Hoa")


async def test_a_bad_answer_gets_a_message_in_the_users_language_and_loses_nothing(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    chat = Chat(bot)
    await chat.say(await invitation_for(bot, "DEMO01", clock()))
    for answer in ("Nguyễn Thị Hoa", "-", "0912 345 678", "bún", "1"):
        await chat.say(answer)
    reply = await chat.say("1,250")
    assert "Vui lòng viết theo dạng" in reply
    await chat.say("/lang en")
    await chat.say("/profile")
    reply = await chat.say("-5")
    assert "Enter a number of staff" in reply
    assert stored_answers(settings)["product_unit"] == '"tonne"'
