"""End to end on Telegram: the real python-telegram-bot Application polling a Bot API
server on 127.0.0.1 that refuses whatever Telegram would refuse."""

from __future__ import annotations

import sqlite3

from bot.messages import Outbound
from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for
from tests.support.telegram_harness import TelegramHarness, texts

MANAGER = 1001


def answers(settings: Settings) -> dict[str, str]:
    with sqlite3.connect(settings.db_path) as connection:
        return dict(connection.execute("SELECT name, value FROM draft_answers").fetchall())


def scalar(settings: Settings, sql: str) -> object:
    with sqlite3.connect(settings.db_path) as connection:
        return connection.execute(sql).fetchone()[0]


async def link(telegram: TelegramHarness, clock: FakeClock, user: int = MANAGER) -> None:
    code = await invitation_for(telegram.bot, "DEMO01", clock())
    await telegram.say(user, f"/start {code}")


async def test_the_deep_link_code_links_the_manager_and_the_first_question_appears(
    telegram: TelegramHarness, clock: FakeClock
) -> None:
    code = await invitation_for(telegram.bot, "DEMO01", clock())
    replies = await telegram.say(MANAGER, f"/start {code}")
    shown = texts(replies)
    assert "Xin chào Cơ sở sản xuất bún phở Mẫu Tam Thanh!" in shown
    assert "(1/7) Họ và tên người phụ trách SXSH" in shown


async def test_a_complete_form_by_typing_and_tapping_is_stored_and_submitted(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(telegram, clock)
    await telegram.say(MANAGER, "Hoàng Thị Mai")
    replies = await telegram.say(MANAGER, "Phó giám đốc")
    assert "(3/7)" in texts(replies)
    await telegram.say(MANAGER, "0912 345 678")
    replies = await telegram.say(MANAGER, "bánh phở tươi")
    unit_question = replies[-1]
    assert "nghìn viên" in unit_question.button_texts
    replies = await telegram.press(MANAGER, unit_question, "kg")
    replies = await telegram.press(MANAGER, replies[-1], "Bỏ qua")
    summary = replies[-1]
    assert "Vui lòng kiểm tra lại" in (summary.plain_text or "")
    assert "bánh phở tươi" in (summary.plain_text or "")
    replies = await telegram.press(MANAGER, summary, "Gửi")
    assert "thông tin cơ sở đã được lưu" in texts(replies)
    stored = answers(settings)
    assert stored["product_unit"] == '"kg"'
    assert stored["employees"] == "null"
    assert scalar(settings, "SELECT status FROM drafts") == "submitted"


async def test_a_restart_in_the_middle_of_a_form_resumes_where_it_was(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(telegram, clock)
    await telegram.say(MANAGER, "Hoàng Thị Mai")
    await telegram.restart()
    replies = await telegram.say(MANAGER, "-")
    assert "(3/7) Số điện thoại" in texts(replies)
    assert answers(settings)["contact_name"] == '"Hoàng Thị Mai"'


async def test_a_repeated_update_changes_nothing_and_sends_nothing(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(telegram, clock)
    before, handled = len(telegram.server.sent), telegram.channel.updates_handled
    update_id = telegram.server.send_text(MANAGER, "Hoàng Thị Mai")
    await telegram.settle(handled)
    assert len(telegram.server.sent) == before + 1
    again = await telegram.deliver_again(MANAGER, update_id)
    assert again == []
    assert answers(settings)["contact_name"] == '"Hoàng Thị Mai"'


async def test_a_stale_or_forged_button_press_is_refused_and_changes_nothing(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(telegram, clock)
    for answer in ("Hoàng Thị Mai", "-", "0912 345 678"):
        await telegram.say(MANAGER, answer)
    replies = await telegram.say(MANAGER, "bún")
    unit_question = replies[-1]
    await telegram.press(MANAGER, unit_question, "tấn")
    stale = await telegram.press(MANAGER, unit_question, "kg")
    assert "không còn hiệu lực" in texts(stale)
    forged = await telegram.press_data(
        MANAGER, unit_question.message_id, "f:9999:choose:0", forged=True
    )
    assert "không còn hiệu lực" in texts(forged)
    junk = await telegram.press_data(MANAGER, unit_question.message_id, "zz:<script>", forged=True)
    assert "không còn hiệu lực" in texts(junk)
    assert answers(settings)["product_unit"] == '"tonne"'


async def test_photos_stickers_voice_and_locations_get_a_polite_request_for_text(
    telegram: TelegramHarness, clock: FakeClock
) -> None:
    await link(telegram, clock)
    server = telegram.server
    for inject in (server.send_photo, server.send_sticker, server.send_voice, server.send_location):
        index, handled = len(server.sent), telegram.channel.updates_handled
        inject(MANAGER)
        await telegram.settle(handled)
        assert "Vui lòng trả lời bằng chữ" in texts(server.sent[index:])
    assert "(2/7)" in texts(await telegram.say(MANAGER, "Hoàng Thị Mai"))


async def test_switching_language_with_buttons_changes_the_questions(
    telegram: TelegramHarness, clock: FakeClock
) -> None:
    await link(telegram, clock)
    menu = (await telegram.say(MANAGER, "/lang"))[-1]
    assert menu.button_texts == ["Tiếng Việt", "English"]
    assert "Language set: English." in texts(await telegram.press(MANAGER, menu, "English"))
    assert "Full name of the person in charge" in texts(await telegram.say(MANAGER, "/profile"))


async def test_the_command_list_is_registered_in_vietnamese_and_english(
    telegram: TelegramHarness,
) -> None:
    commands = telegram.server.my_commands
    vi = {c["command"]: c["description"] for c in commands[("default", "vi")]}
    en = {c["command"]: c["description"] for c in commands[("default", "en")]}
    assert vi["help"] == "Những việc bot có thể giúp"
    assert en["help"] == "What this bot can do"
    assert commands[("default", "")] == commands[("default", "vi")]


async def test_an_unlinked_user_cannot_open_facility_forms(telegram: TelegramHarness) -> None:
    replies = await telegram.say(2002, "/profile")
    assert "chưa được liên kết" in texts(replies)


async def test_a_reply_longer_than_4096_characters_is_split(telegram: TelegramHarness) -> None:
    telegram.server.register_chat(3003, first_name="Long")
    long_text = "\n".join(f"Dòng {n}: " + "tiết kiệm năng lượng " * 5 for n in range(80))
    assert len(long_text) > 4096
    assert await telegram.channel.send(Outbound("3003", long_text))
    pieces = telegram.server.messages_to(3003)
    assert len(pieces) == -(-len(long_text) // 4096)
    assert all(len(piece.text or "") <= 4096 for piece in pieces)
    joined = " ".join(piece.text or "" for piece in pieces)
    assert joined.split() == long_text.split()


async def test_a_user_who_blocked_the_bot_is_marked_unreachable(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(telegram, clock)
    telegram.server.block_user(MANAGER)
    await telegram.say(MANAGER, "Hoàng Thị Mai")
    assert scalar(settings, f"SELECT reachable FROM users WHERE chat_id = '{MANAGER}'") == 0
    telegram.server.unblock_user(MANAGER)
    await telegram.say(MANAGER, "/help")
    assert scalar(settings, f"SELECT reachable FROM users WHERE chat_id = '{MANAGER}'") == 1


async def test_retry_after_and_server_errors_still_deliver_the_reply_once(
    telegram: TelegramHarness, clock: FakeClock
) -> None:
    await link(telegram, clock)
    telegram.server.fail_next("sendMessage", status=429, retry_after=1)
    replies = await telegram.say(MANAGER, "Hoàng Thị Mai")
    assert [m.plain_text for m in replies if "(2/7)" in (m.plain_text or "")] != []
    telegram.server.fail_next("sendMessage", status=502)
    replies = await telegram.say(MANAGER, "-")
    assert sum("(3/7)" in (m.plain_text or "") for m in replies) == 1
