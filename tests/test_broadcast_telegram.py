"""Announcements and /stats on Telegram, end to end against the loopback Bot API server:
preview, confirmation, a fan-out through flood control (429), server errors (5xx) and a
blocked chat (403), a restart in the middle, each manager getting the announcement exactly
once, the delivery report; and /stats answered with the figures and two photos."""

from __future__ import annotations

import io

import matplotlib.image

from bot.broadcasts import send_pending
from bot.outbox import Post
from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for
from tests.support.botapi_server import SentMessage
from tests.support.staffing import audit_rows
from tests.support.telegram_harness import TelegramHarness, texts

ADMIN = 9001
# Managers of DEMO01…DEMO04, and what the Bot API does to the first message to each.
SLOW, FLAKY, BLOCKED, FINE = 1001, 1002, 1003, 1004
HEADLINE = "📢 Thông báo của Sở Công Thương Lạng Sơn"
TEXT = "Hội thảo SXSH ngành chế biến thực phẩm: 8 giờ ngày 20/12/2026 tại Sở Công Thương."


def announcements_to(telegram: TelegramHarness, chat: int) -> list[SentMessage]:
    return [m for m in telegram.server.messages_to(chat) if HEADLINE in (m.plain_text or "")]


async def link(telegram: TelegramHarness, clock: FakeClock, user: int, code: str) -> None:
    await telegram.say(user, await invitation_for(telegram.bot, code, clock()))


async def test_an_announcement_reaches_each_manager_once_through_429_5xx_403_and_a_restart(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    settings.admin_ids = [ADMIN]
    for user, code in ((SLOW, "DEMO01"), (FLAKY, "DEMO02"), (BLOCKED, "DEMO03"), (FINE, "DEMO04")):
        await link(telegram, clock, user, code)
    await telegram.say(FINE, "/announcements off")
    await telegram.say(FINE, "/announcements on")

    asked = texts(await telegram.say(ADMIN, "/broadcast"))
    assert "Hãy viết nội dung thông báo" in asked and "4 tài khoản chat" in asked
    preview = (await telegram.say(ADMIN, TEXT))[-1]
    assert TEXT in (preview.plain_text or "") and HEADLINE in (preview.plain_text or "")
    assert "4 tài khoản chat của 4 cơ sở trong toàn tỉnh" in (preview.plain_text or "")
    assert preview.button_texts == ["Gửi cho 4 tài khoản chat", "Hủy"]
    assert all(announcements_to(telegram, user) == [] for user in (SLOW, FLAKY, FINE))

    server = telegram.server
    server.fail_next("sendMessage", status=429, retry_after=1, chat_id=SLOW)
    # Every try of this run fails: the message waits for the next run.
    server.fail_next("sendMessage", status=502, times=4, chat_id=FLAKY)
    server.block_user(BLOCKED)
    confirmed = await telegram.press(ADMIN, preview, "Gửi cho 4 tài khoản chat")
    assert "Đang gửi thông báo số 1 tới 4 tài khoản chat" in texts(confirmed)

    def first_report() -> SentMessage | None:
        return next(
            (m for m in server.messages_to(ADMIN) if "Thông báo số 1:" in (m.plain_text or "")),
            None,
        )

    report = await server.wait_until(first_report, 30, what="the delivery report")
    assert "đã gửi 2, lỗi 1, không liên lạc được 1" in (report.plain_text or "")
    assert "1 tin chưa gửi được" in (report.plain_text or "")
    assert len(announcements_to(telegram, SLOW)) == 1  # sent after the 429's wait
    assert announcements_to(telegram, FLAKY) == []

    await telegram.restart()
    await send_pending(
        Post(telegram.bot.database, telegram.bot.senders), settings, clock, notify_interim=False
    )
    await send_pending(Post(telegram.bot.database, telegram.bot.senders), settings, clock)
    for user in (SLOW, FLAKY, FINE):
        [message] = announcements_to(telegram, user)
        assert TEXT in (message.plain_text or "")
        assert "/announcements off" in (message.plain_text or "")
    assert announcements_to(telegram, BLOCKED) == []
    final = [m for m in server.messages_to(ADMIN) if "Thông báo số 1:" in (m.plain_text or "")]
    assert len(final) == 2
    assert "đã gửi 3, lỗi 0, không liên lạc được 1." in (final[-1].plain_text or "")
    [entry] = [row for row in audit_rows(settings.db_path) if row[1] == "broadcast"]
    assert entry[0] == f"telegram:{ADMIN}" and entry[2] == "broadcast:1"

    # A second press of the old button sends nothing again.
    again = await telegram.press_data(ADMIN, preview.message_id, "bc:ok:1")
    assert "đã được gửi hoặc đã hủy" in texts(again)
    assert all(len(announcements_to(telegram, u)) == 1 for u in (SLOW, FLAKY, FINE))


async def test_stats_answers_with_the_figures_then_two_charts_as_photos(
    telegram: TelegramHarness, settings: Settings
) -> None:
    settings.admin_ids = [ADMIN]
    since = len(telegram.server.sent)
    reply = texts(await telegram.say(ADMIN, "/stats"))
    assert "Chỉ tiêu SXSH năm 2026 — toàn tỉnh" in reply
    assert "Cơ sở trong danh sách: 40" in reply

    def photos() -> list[SentMessage] | None:
        found = [m for m in telegram.server.sent[since:] if m.chat_id == ADMIN and m.photo]
        return found if len(found) == 2 else None

    indicators, progress = await telegram.server.wait_until(photos, 60, what="two charts")
    for message in (indicators, progress):
        assert message.photo is not None
        picture = matplotlib.image.imread(io.BytesIO(message.photo.content), format="png")
        assert picture.shape[0] > 300 and picture.shape[1] > 600
    assert "so với mục tiêu" in (indicators.plain_text or "")
    assert [call for call in telegram.server.calls_to("sendPhoto")]


async def test_staff_who_wrote_to_the_bot_get_their_commands_in_telegrams_menu(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    settings.admin_ids = [ADMIN]
    await telegram.say(ADMIN, "/myid")
    await link(telegram, clock, SLOW, "DEMO01")
    await telegram.restart()  # menus are set when the bot starts
    menus = telegram.server.my_commands
    staff_menu = [command["command"] for command in menus[(f"chat:{ADMIN}", "")]]
    assert {"stats", "broadcast", "export", "staff"} <= set(staff_menu)
    assert (f"chat:{SLOW}", "") not in menus  # a manager keeps the default menu
    default = [command["command"] for command in menus[("default", "")]]
    assert "stats" not in default and "announcements" in default
