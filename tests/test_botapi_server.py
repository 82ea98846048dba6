"""Tests of the fake Telegram Bot API server, driven by the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
    ReplyKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, EndPointNotFound, Forbidden, NetworkError, RetryAfter
from telegram.ext import ApplicationBuilder, CallbackContext, MessageHandler, filters

from tests.support.botapi_schema import BotApiSchema, render_text, utf16_len
from tests.support.botapi_server import BotApiServer

USER = 1001


@pytest.fixture
async def server() -> AsyncIterator[BotApiServer]:
    async with BotApiServer() as srv:
        yield srv


@pytest.fixture
async def bot(server: BotApiServer) -> AsyncIterator[Bot]:
    async with Bot(server.token, base_url=server.base_url) as b:
        yield b


def keyboard(*data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(d, callback_data=d)] for d in data])


def seconds(value: int | float | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# -- schema -------------------------------------------------------------------------------


def test_schema_loads_and_matches_methods_case_insensitively() -> None:
    schema = BotApiSchema.load()
    assert schema.version.startswith("Bot API")
    spec = schema.method("SENDmessage")
    assert spec is not None and spec.name == "sendMessage"
    assert spec.fields["chat_id"].required and spec.fields["text"].required
    assert schema.method("noSuchMethod") is None


def test_render_text_counts_after_entities_parsing() -> None:
    assert render_text("<b>a</b> &lt; <i>b</i>", "HTML") == "a < b"
    assert render_text(r"*Xin chào* \- bạn\!", "MarkdownV2") == "Xin chào - bạn!"
    assert utf16_len("😀") == 2


# -- PTB against the server ---------------------------------------------------------------


async def test_get_me(server: BotApiServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.username == "sxsh_test_bot" and me.id == 123456
    assert bot.username == "sxsh_test_bot"
    assert server.calls[0][0] == "getMe"
    server.assert_no_violations()


async def test_echo_round_trip_through_polling(server: BotApiServer) -> None:
    app = ApplicationBuilder().token(server.token).base_url(server.base_url).build()

    async def echo(update: Update, context: CallbackContext) -> None:  # type: ignore[type-arg]
        assert update.effective_message is not None and update.effective_message.text
        await update.effective_message.reply_text(f"echo: {update.effective_message.text}")

    app.add_handler(MessageHandler(filters.TEXT, echo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            update_id = server.send_text(USER, "Xin chào 👋")
            [reply] = await server.wait_for_messages(USER, 1, timeout=3)
            assert reply.text == "echo: Xin chào 👋"
            assert reply.method == "sendMessage"
            server.send_text(USER, "lần hai")
            [second] = await server.wait_for_messages(USER, 1, timeout=3)
            assert second.text == "echo: lần hai"
            assert second.message_id > reply.message_id
            await server.wait_idle(timeout=3)
        finally:
            await app.updater.stop()
            await app.stop()
    assert update_id == 1
    assert [m.text for m in server.messages_to(USER)] == ["echo: Xin chào 👋", "echo: lần hai"]
    server.assert_no_violations()


async def test_send_to_unknown_chat_is_refused(server: BotApiServer, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hello")
    assert server.violations[-1].method == "sendMessage"
    assert server.violations[-1].description == "Bad Request: chat not found"
    with pytest.raises(AssertionError, match="chat not found"):
        server.assert_no_violations()
    assert server.sent == []


async def test_registered_chat_and_reply_keyboard(server: BotApiServer, bot: Bot) -> None:
    server.register_chat(USER)
    message = await bot.send_message(
        USER,
        "<b>Chọn</b> ngôn ngữ",
        parse_mode=ParseMode.HTML,
        reply_markup=ReplyKeyboardMarkup([["Tiếng Việt", "English"]], resize_keyboard=True),
    )
    assert message.text == "Chọn ngôn ngữ"
    assert message.chat.id == USER and message.from_user is not None
    assert message.from_user.is_bot
    [sent] = server.messages_to(USER)
    assert sent.text == "<b>Chọn</b> ngôn ngữ" and sent.plain_text == "Chọn ngôn ngữ"
    assert sent.keyboard_texts == ["Tiếng Việt", "English"]
    server.assert_no_violations()


async def test_text_length_limit(server: BotApiServer, bot: Bot) -> None:
    server.register_chat(USER)
    await bot.send_message(USER, "a" * 4096)
    await bot.send_message(USER, "😀" * 2048)  # 4096 UTF-16 code units
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "a" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(USER, "😀" * 2049)
    # markup does not count
    await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(USER, "<b> </b>", parse_mode=ParseMode.HTML)
    assert len(server.violations) == 3
    assert len(server.sent) == 3


async def test_malformed_markup_is_refused(server: BotApiServer, bot: Bot) -> None:
    server.register_chat(USER)
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await bot.send_message(USER, "a < b", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="reserved"):
        await bot.send_message(USER, "Xong.", parse_mode=ParseMode.MARKDOWN_V2)
    await bot.send_message(USER, r"Xong\.", parse_mode=ParseMode.MARKDOWN_V2)
    assert len(server.violations) == 2


async def test_callback_data_byte_limit(server: BotApiServer, bot: Bot) -> None:
    server.register_chat(USER)
    await bot.send_message(USER, "ok", reply_markup=keyboard("x" * 64))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(USER, "too long", reply_markup=keyboard("x" * 65))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        # 33 characters but 66 bytes in UTF-8
        await bot.send_message(USER, "too long", reply_markup=keyboard("đ" * 33))
    assert [v.description for v in server.violations] == ["Bad Request: BUTTON_DATA_INVALID"] * 2


async def test_inline_button_needs_exactly_one_action(server: BotApiServer, bot: Bot) -> None:
    server.register_chat(USER)
    both = {"inline_keyboard": [[{"text": "x", "callback_data": "a", "url": "https://x.vn"}]]}
    with pytest.raises(BadRequest, match="exactly one"):
        await bot._post("sendMessage", {"chat_id": USER, "text": "t", "reply_markup": both})
    none = {"inline_keyboard": [[{"text": "x"}]]}
    with pytest.raises(BadRequest, match=r"(?i)text buttons are unallowed"):
        await bot._post("sendMessage", {"chat_id": USER, "text": "t", "reply_markup": none})


async def test_unknown_method_is_refused(server: BotApiServer, bot: Bot) -> None:
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    assert server.violations == [("noSuchMethod", "Not Found", {})]


async def test_method_names_are_case_insensitive(server: BotApiServer, bot: Bot) -> None:
    result = await bot._post("GETME")
    assert result["username"] == "sxsh_test_bot"
    server.assert_no_violations()


async def test_missing_and_unknown_fields_are_refused(server: BotApiServer, bot: Bot) -> None:
    server.register_chat(USER)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot._post("sendMessage", {"chat_id": USER})
    with pytest.raises(BadRequest, match="Chat_id is empty"):
        await bot._post("sendMessage", {"text": "hi"})
    with pytest.raises(BadRequest, match='Unknown parameter "colour"'):
        await bot._post("sendMessage", {"chat_id": USER, "text": "hi", "colour": "red"})
    with pytest.raises(BadRequest, match=r"(?i)must be of type Boolean"):
        await bot._post(
            "sendMessage", {"chat_id": USER, "text": "hi", "disable_notification": "maybe"}
        )
    with pytest.raises(BadRequest, match=r"reply_parameters\.message_id"):
        await bot._post(
            "sendMessage", {"chat_id": USER, "text": "hi", "reply_parameters": {"quote": "x"}}
        )
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(USER, "hi", reply_parameters=ReplyParameters(message_id=99))
    assert len(server.violations) == 6


async def test_set_my_commands(server: BotApiServer, bot: Bot) -> None:
    server.register_chat(USER)
    commands = [BotCommand("start", "Bắt đầu"), BotCommand("bao_cao", "Báo cáo năm")]
    assert await bot.set_my_commands(commands, language_code="vi")
    assert await bot.set_my_commands(commands[:1], scope=BotCommandScopeChat(USER))
    assert server.my_commands[("default", "vi")] == [
        {"command": "start", "description": "Bắt đầu"},
        {"command": "bao_cao", "description": "Báo cáo năm"},
    ]
    assert (f"chat:{USER}", "") in server.my_commands
    assert [c.command for c in await bot.get_my_commands(language_code="vi")] == [
        "start",
        "bao_cao",
    ]
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("Start", "viết hoa")])
    with pytest.raises(BadRequest, match="Bot_command_invalid"):
        await bot.set_my_commands([BotCommand("báo_cáo", "dấu")])
    with pytest.raises(BadRequest, match="Bot_command_description_invalid"):
        await bot.set_my_commands([BotCommand("start", "x" * 257)])
    with pytest.raises(BadRequest, match="Bot_commands_too_much"):
        await bot.set_my_commands([BotCommand(f"c{i}", "d") for i in range(101)])
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(777))
    assert await bot.delete_my_commands(language_code="vi")
    assert ("default", "vi") not in server.my_commands
    assert await bot.set_chat_menu_button(USER, MenuButtonCommands())
    assert server.menu_buttons[USER] == {"type": "commands"}
    assert len(server.violations) == 5


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_retry_after_fault(server: BotApiServer, bot: Bot) -> None:
    server.register_chat(USER)
    server.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(USER, "nhắc nhở")
    assert seconds(caught.value.retry_after) == 3  # int, or timedelta with PTB_TIMEDELTA
    await bot.send_message(USER, "nhắc nhở")  # only the next call failed
    assert [m.text for m in server.sent] == ["nhắc nhở"]
    assert server.injected_failures[0].description == "Too Many Requests: retry after 3"
    server.assert_no_violations()  # injected failures are not violations


async def test_server_error_faults_for_one_chat(server: BotApiServer, bot: Bot) -> None:
    server.register_chat(USER)
    server.register_chat(USER + 1)
    server.fail_next("sendMessage", status=502, times=2, chat_id=USER)
    await bot.send_message(USER + 1, "unaffected")
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(USER, "x")
    await bot.send_message(USER, "x")
    assert len(server.sent) == 2


async def test_blocked_user_is_forbidden(server: BotApiServer, bot: Bot) -> None:
    server.block_user(USER)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER, "nhắc nhở")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(USER, ChatAction.TYPING)
    server.unblock_user(USER)
    await bot.send_message(USER, "nhắc nhở")
    server.assert_no_violations()


async def test_edit_message(server: BotApiServer, bot: Bot) -> None:
    server.register_chat(USER)
    message = await bot.send_message(USER, "Câu 1?", reply_markup=keyboard("yes", "no"))
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "Câu 1?", USER, message.message_id, reply_markup=keyboard("yes", "no")
        )
    edited = await bot.edit_message_text("Câu 1? ✅", USER, message.message_id)
    assert isinstance(edited, type(message)) and edited.text == "Câu 1? ✅"
    assert edited.reply_markup is None  # editing without reply_markup removes the keyboard
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(USER, message.message_id)
    await bot.edit_message_reply_markup(USER, message.message_id, reply_markup=keyboard("again"))
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", USER, 999)
    user_update = server.send_text(USER, "a user message")
    user_message_id = server.update(user_update)["message"]["message_id"]
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("x", USER, user_message_id)
    assert [m.method for m in server.sent] == [
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
    ]
    assert server.sent[-1].text == "Câu 1? ✅" and server.sent[-1].button_texts == ["again"]
    assert server.message(USER, message.message_id)["reply_markup"] == keyboard("again").to_dict()
    assert len(server.violations) == 4


async def test_callback_queries(server: BotApiServer, bot: Bot) -> None:
    server.register_chat(USER)
    message = await bot.send_message(USER, "Chọn", reply_markup=keyboard("vi", "en"))
    with pytest.raises(ValueError, match="no button"):
        server.press_button(USER, message.message_id, "fr")
    query_id = server.press_button(USER, message.message_id, "vi")
    [update] = await bot.get_updates(timeout=0)
    assert update.callback_query is not None
    assert update.callback_query.id == query_id and update.callback_query.data == "vi"
    assert update.callback_query.message is not None
    assert update.callback_query.message.message_id == message.message_id
    with pytest.raises(BadRequest, match=r"Message_too_long"):
        await bot.answer_callback_query(query_id, text="x" * 201)
    assert await bot.answer_callback_query(query_id, text="Đã chọn")
    assert server.callback_answers[query_id]["text"] == "Đã chọn"
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)  # already answered
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query("1234567890")  # forged
    assert len(server.violations) == 3


async def test_uploads_and_downloads(server: BotApiServer) -> None:
    async with Bot(
        server.token, base_url=server.base_url, base_file_url=server.base_file_url
    ) as bot:
        server.register_chat(USER)
        report = 'báo cáo "2025".xlsx'
        message = await bot.send_document(
            USER,
            b"PK\x03\x04 xlsx bytes",
            filename=report,
            caption="<i>Báo cáo</i>",
            parse_mode=ParseMode.HTML,
        )
        assert message.document is not None and message.document.file_name == report
        assert message.caption == "Báo cáo"
        await bot.send_photo(USER, b"\x89PNG fake", caption="ảnh")
        document, photo = server.sent
        assert document.method == "sendDocument" and document.caption == "<i>Báo cáo</i>"
        assert document.document is not None
        assert document.document.filename == report
        assert document.document.content == b"PK\x03\x04 xlsx bytes"
        assert photo.photo is not None and photo.photo.content == b"\x89PNG fake"
        # re-sending by file_id works, an unknown file_id does not
        await bot.send_document(USER, message.document.file_id)
        with pytest.raises(BadRequest, match="Wrong file identifier"):
            await bot.send_document(USER, "no-such-file-id")

        server.send_document(USER, "nop.xlsx", b"user bytes")
        [update] = await bot.get_updates()
        assert update.message is not None and update.message.document is not None
        file = await update.message.document.get_file()
        assert bytes(await file.download_as_bytearray()) == b"user bytes"
        assert len(server.violations) == 1


async def test_long_poll_wakes_on_injection(server: BotApiServer, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    task = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    server.send_text(USER, "/start ref_42")
    updates = await asyncio.wait_for(task, timeout=2)
    assert loop.time() - started < 1.0
    [update] = updates
    assert update.message is not None and update.message.text == "/start ref_42"
    [entity] = update.message.entities
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, 6)

    # without injections the wait is capped so that shutdown stays fast
    server.long_poll_cap = 0.3
    started = loop.time()
    assert await bot.get_updates(offset=update.update_id + 1, timeout=10) == ()
    assert loop.time() - started < server.long_poll_cap + 1


async def test_abandoned_long_poll_does_not_swallow_updates(server: BotApiServer, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.1)
    poll.cancel()  # as the Updater does on stop: httpx drops the connection
    with pytest.raises(asyncio.CancelledError):
        await poll
    await asyncio.sleep(0.05)
    update_id = server.send_text(USER, "sent while nobody listens")
    with pytest.raises(TimeoutError, match="1 update"):
        await server.wait_idle(timeout=0.2)
    [update] = await bot.get_updates(timeout=1)
    assert update.update_id == update_id
    await server.wait_idle(timeout=1, quiet=0.05)


async def test_offsets_allowed_updates_and_redelivery(server: BotApiServer, bot: Bot) -> None:
    first = server.send_text(USER, "one")
    server.send_sticker(USER)
    server.send_location(USER)
    server.send_voice(USER)
    server.send_photo(USER, caption="ảnh")
    updates = await bot.get_updates(limit=2)
    assert [u.update_id for u in updates] == [first, first + 1]
    assert updates[1].message is not None and updates[1].message.sticker is not None
    # not confirmed yet: delivered again
    assert [u.update_id for u in await bot.get_updates(limit=1)] == [first]
    rest = await bot.get_updates(offset=first + 2)
    assert [u.update_id for u in rest] == [first + 2, first + 3, first + 4]
    assert rest[0].message is not None and rest[0].message.location is not None
    assert rest[2].message is not None and rest[2].message.photo

    server.repeat_update(first)
    [again] = await bot.get_updates(offset=first + 5)
    assert again.update_id == first and again.message is not None
    assert again.message.text == "one"
    assert await bot.get_updates(offset=first + 5) == ()

    server.send_text(USER, "filtered out")
    assert await bot.get_updates(offset=first + 5, allowed_updates=["callback_query"]) == ()
    await server.wait_idle(timeout=1, quiet=0.05)
    server.assert_no_violations()


async def test_wait_for_messages_is_bounded(server: BotApiServer, bot: Bot) -> None:
    server.register_chat(USER)
    await bot.send_message(USER, "one")
    await bot.send_message(USER, "two")
    assert [m.text for m in await server.wait_for_messages(USER, 1)] == ["one"]
    assert [m.text for m in await server.wait_for_messages(USER, 1)] == ["two"]
    with pytest.raises(TimeoutError, match="1 new messages/edits to chat 1001"):
        await server.wait_for_messages(USER, 1, timeout=0.2)
    assert [m.text for m in await server.wait_for_messages(USER, 2, since=0)] == ["one", "two"]


async def test_raw_http_bodies_and_keep_alive(server: BotApiServer) -> None:
    server.register_chat(USER)
    url = f"{server.base_url}{server.token}"
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=1)) as client:
        markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
        response = await client.post(
            f"{url}/sendMessage", json={"chat_id": USER, "text": "json", "reply_markup": markup}
        )
        assert response.status_code == 200 and response.json()["result"]["text"] == "json"
        response = await client.post(
            f"{url}/sendMessage",
            data={"chat_id": str(USER), "text": "form", "reply_markup": json.dumps(markup)},
        )
        assert response.json()["ok"] is True

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"chat_id": 1001, '
            yield b'"text": "chunked"}'

        response = await client.post(
            f"{url}/sendMessage",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
        assert response.json()["result"]["text"] == "chunked"
        response = await client.get(f"{url}/getMe")
        assert response.json()["result"]["is_bot"] is True
        response = await client.post(f"{server.base_url}999:WRONG/getMe")
        assert response.status_code == 401
        assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        response = await client.get(f"{server.base_file_url}{server.token}/documents/nothing")
        assert response.status_code == 404
    assert [m.text for m in server.sent] == ["json", "form", "chunked"]
    assert all(m.button_texts == ["A"] for m in server.sent[:2])
    assert server.connections_accepted == 1  # one keep-alive connection served everything
    assert [v.description for v in server.violations] == ["Unauthorized"]


async def test_stop_is_prompt_with_a_pending_long_poll() -> None:
    srv = BotApiServer()
    await srv.start()
    async with Bot(srv.token, base_url=srv.base_url) as local_bot:
        poll = asyncio.create_task(local_bot.get_updates(timeout=10))
        await asyncio.sleep(0.1)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await srv.stop()
        assert loop.time() - started < 1.5
        # the poll either got its (empty) answer or lost the connection; it does not hang
        with contextlib.suppress(NetworkError):
            assert await asyncio.wait_for(poll, timeout=2) == ()
