"""End to end on Zalo: the real Zalo channel polling a Zalo Bot API server on 127.0.0.1
that refuses whatever the platform refuses (tests/support/zalo_server.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import build
from bot.messages import Attachment, Outbound
from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for
from tests.support.form_scripts import FORMS, FormScript, stored_answers
from tests.support.zalo_harness import ZaloHarness, texts
from tests.support.zalo_server import ZaloApiServer

MANAGER = "7c4e0a91d2b35f6e8a10"


@pytest.fixture
async def zalo(settings: Settings, clock: FakeClock) -> AsyncIterator[ZaloHarness]:
    async with ZaloHarness.started(settings, clock) as harness:
        yield harness


def scalar(settings: Settings, sql: str, *params: object) -> object:
    with sqlite3.connect(settings.db_path) as connection:
        return connection.execute(sql, params).fetchone()[0]


async def link(zalo: ZaloHarness, clock: FakeClock, user: str = MANAGER) -> str:
    code = await invitation_for(zalo.bot, "DEMO01", clock())
    return texts(await zalo.say(user, code))


async def test_a_typed_invitation_code_links_the_manager_and_the_first_question_appears(
    zalo: ZaloHarness, clock: FakeClock
) -> None:
    assert "mã mời" in texts(await zalo.say(MANAGER, "Xin chào"))
    shown = await link(zalo, clock)
    assert "Xin chào Cơ sở sản xuất bún phở Mẫu Tam Thanh!" in shown
    assert "(1/7) Họ và tên người phụ trách SXSH" in shown


@pytest.mark.parametrize("script", FORMS, ids=lambda script: script.form_id)
async def test_a_complete_form_typed_on_zalo_is_stored_and_submitted(
    zalo: ZaloHarness, clock: FakeClock, settings: Settings, script: FormScript
) -> None:
    await link(zalo, clock)
    await zalo.say(MANAGER, script.command)
    replies = []
    for typed, _tapped in script.answers:
        replies = await zalo.say(MANAGER, typed)
    summary = texts(replies)
    assert "Vui lòng kiểm tra lại" in summary
    assert "  1. Gửi" in summary and "  2. Sửa câu trả lời" in summary
    assert script.thanks in texts(await zalo.say(MANAGER, "1"))
    assert stored_answers(settings, script.form_id) == script.stored
    assert scalar(settings, "SELECT status FROM drafts WHERE form_id = ?", script.form_id) == (
        "submitted"
    )


async def test_choices_are_numbered_lines_and_a_typed_number_picks_one(
    zalo: ZaloHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(zalo, clock)
    for answer in ("Hoàng Thị Mai", "-", "0912 345 678"):
        await zalo.say(MANAGER, answer)
    question = texts(await zalo.say(MANAGER, "bún tươi"))
    assert "  1. tấn\n  2. m³\n  3. nghìn viên\n  4. kg" in question
    assert "(6/6)" in texts(await zalo.say(MANAGER, "4"))
    assert stored_answers(settings, "facility_profile")["product_unit"] == '"kg"'
    menu = texts(await zalo.say(MANAGER, "/lang"))
    assert "  1. Tiếng Việt\n  2. English" in menu
    assert "Language set: English." in texts(await zalo.say(MANAGER, "2"))
    assert "employees" not in stored_answers(settings, "facility_profile")
    assert "(6/6) How many people work" in texts(await zalo.say(MANAGER, "/profile"))


async def test_a_restart_in_the_middle_of_a_form_resumes_where_it_was(
    zalo: ZaloHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(zalo, clock)
    await zalo.say(MANAGER, "Hoàng Thị Mai")
    await zalo.restart()
    replies = await zalo.say(MANAGER, "-")
    assert "(3/7) Số điện thoại" in texts(replies)
    assert stored_answers(settings, "facility_profile")["contact_name"] == '"Hoàng Thị Mai"'


async def test_a_repeated_delivery_changes_nothing_and_sends_nothing(
    zalo: ZaloHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(zalo, clock)
    await zalo.say(MANAGER, "Hoàng Thị Mai")
    message_id = zalo.server.latest_from(MANAGER)
    await zalo.say(MANAGER, "Giám đốc")
    assert await zalo.deliver_again(MANAGER, message_id) == []
    answers = stored_answers(settings, "facility_profile")
    assert answers["contact_name"] == '"Hoàng Thị Mai"'
    assert answers["contact_role"] == '"Giám đốc"'
    assert "(3/7)" in texts(await zalo.say(MANAGER, "/profile"))


async def test_photos_stickers_and_unsupported_messages_get_a_polite_request_for_text(
    zalo: ZaloHarness, clock: FakeClock
) -> None:
    await link(zalo, clock)
    server = zalo.server
    for inject in (server.send_image, server.send_sticker, server.send_unsupported):
        replies = await zalo.deliver(MANAGER, lambda inject=inject: inject(MANAGER))
        assert "Vui lòng trả lời bằng chữ" in texts(replies)
    assert "(2/7)" in texts(await zalo.say(MANAGER, "Hoàng Thị Mai"))


async def test_a_reply_longer_than_2000_characters_is_split_without_losing_words(
    zalo: ZaloHarness,
) -> None:
    zalo.server.make_update("3003")
    long_text = "\n".join(f"Dòng {n}: " + "tiết kiệm năng lượng " * 5 for n in range(40))
    assert len(long_text) > 2 * 2000
    assert await zalo.channel.send(Outbound("3003", long_text))
    pieces = [message.text or "" for message in zalo.server.messages_to("3003")]
    assert len(pieces) == 3
    assert all(len(piece) <= 2000 for piece in pieces)
    assert " ".join(pieces).split() == long_text.split()


async def test_a_user_who_blocked_the_bot_is_marked_unreachable_until_they_write_again(
    zalo: ZaloHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(zalo, clock)
    reachable = "SELECT reachable FROM users WHERE channel = 'zalo' AND chat_id = ?"
    zalo.server.block_user(MANAGER)
    await zalo.say(MANAGER, "Hoàng Thị Mai")
    assert scalar(settings, reachable, MANAGER) == 0
    assert not await zalo.channel.send(Outbound(MANAGER, "Nhắc hạn báo cáo"))
    zalo.server.unblock_user(MANAGER)
    assert "/help" in texts(await zalo.say(MANAGER, "/help"))
    assert scalar(settings, reachable, MANAGER) == 1


async def test_a_file_for_staff_becomes_a_note_saying_where_to_get_it(
    zalo: ZaloHarness, clock: FakeClock
) -> None:
    await link(zalo, clock)
    export = Attachment("document", "bao-cao-2026.xlsx", b"PK\x03\x04")
    assert await zalo.channel.send(
        Outbound(MANAGER, "Tổng hợp báo cáo năm 2026", attachment=export)
    )
    [note] = zalo.server.messages_to(MANAGER)[-1:]
    assert (note.text or "").startswith("Tổng hợp báo cáo năm 2026\n\n📎")
    assert "bao-cao-2026.xlsx" in (note.text or "") and "Telegram" in (note.text or "")
    await zalo.say(MANAGER, "/lang en")
    assert await zalo.channel.send(Outbound(MANAGER, "", attachment=export))
    assert "Zalo cannot carry files" in (zalo.server.messages_to(MANAGER)[-1].text or "")


async def test_errors_while_sending_are_retried_and_each_reply_arrives_once(
    zalo: ZaloHarness, clock: FakeClock
) -> None:
    await link(zalo, clock)
    failures: list[dict[str, Any]] = [
        {"status": 429, "retry_after": 1},
        {"status": 502},
        {"status": 503, "html": True},  # a proxy's error page, not JSON
        {"status": 200, "error_code": 500},  # ok:false in a 200 answer
    ]
    answers = ["Hoàng Thị Mai", "Phó giám đốc", "0912 345 678", "bánh phở"]
    for step, (failure, answer) in enumerate(zip(failures, answers, strict=True), start=2):
        zalo.server.fail_next("sendMessage", **failure)
        replies = await zalo.say(MANAGER, answer)
        assert [f"({step}/7)" in (message.text or "") for message in replies] == [True]
    assert len(zalo.server.injected_failures) == len(failures)


async def test_a_send_that_times_out_is_tried_again(zalo: ZaloHarness, clock: FakeClock) -> None:
    await link(zalo, clock)
    zalo.server.stall_next("sendMessage", seconds=3)
    replies = await zalo.say(MANAGER, "Hoàng Thị Mai")
    assert sum("(2/7)" in (message.text or "") for message in replies) == 1


async def test_polling_survives_errors_and_timeouts_and_then_answers(
    zalo: ZaloHarness, clock: FakeClock
) -> None:
    await link(zalo, clock)
    server = zalo.server
    server.fail_next("getUpdates", 500, times=2)
    server.fail_next("getUpdates", 429)
    server.stall_next("getUpdates", seconds=2.5)
    server.fail_next("getUpdates", 502, html=True)
    await server.wait_until(
        lambda: len(server.injected_failures) == 5, 15, what="the poller to meet every failure"
    )
    replies = await zalo.say(MANAGER, "Hoàng Thị Mai")
    assert "(2/7)" in texts(replies)


async def test_polling_starts_by_removing_a_webhook_left_behind(
    settings: Settings, clock: FakeClock
) -> None:
    async with ZaloApiServer() as server:
        server.webhook_url = "https://old-server.example/zalo"
        bot = await build(settings, clock)
        channel = await ZaloHarness.attach(server, bot)
        try:
            await server.wait_until(lambda: server.calls_to("getUpdates"), what="a poll")
        finally:
            await channel.stop()
            await bot.close()
        assert server.calls[:3] == [
            ("getMe", {}),
            ("deleteWebhook", {}),
            ("getUpdates", {"timeout": "1"}),
        ]
        assert server.webhook_url == ""
        server.assert_no_violations()


async def test_stopping_while_a_message_is_being_answered_finishes_it_first(
    zalo: ZaloHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(zalo, clock)
    zalo.server.send_text(MANAGER, "Hoàng Thị Mai")
    await zalo.server.wait_until(lambda: zalo.server.pending == 0, what="the poller to take it")
    zalo.channel.stop_grace = 1.0
    await zalo.restart()
    assert stored_answers(settings, "facility_profile")["contact_name"] == '"Hoàng Thị Mai"'
    assert "(2/7)" in texts(zalo.server.messages_to(MANAGER))
