"""The yearly report through the console channel on a real SQLite file: the year asked
for, the deadline and the late mark, /status, refused figures, revisions."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from bot.app import Bot
from bot.clock import VIETNAM
from bot.messages import Inbound, Outbound
from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for
from tests.support.report_script import FULL_REPORT, NOT_APPLIED, SUBMIT
from tests.test_onboarding import Chat

PROFILE = ("Nguyễn Thị Hoa", "-", "0912 345 678", "bún", "1", "-")


def rows(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as connection:
        return connection.execute(sql).fetchall()


async def linked(bot: Bot, clock: FakeClock, user: str = "manager") -> Chat:
    chat = Chat(bot, user)
    await chat.say(await invitation_for(bot, "DEMO01", clock()))
    return chat


async def answer(chat: Chat, steps: tuple[str, ...]) -> str:
    reply = ""
    for step in steps:
        reply = await chat.say(step)
    return reply


def vietnam(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A wall-clock time in Vietnam."""
    return datetime(year, month, day, hour, minute, second, tzinfo=VIETNAM)


async def test_after_the_profile_is_saved_the_report_is_the_next_step_one_tap_away(
    bot: Bot, clock: FakeClock
) -> None:
    chat = await linked(bot, clock)
    await answer(chat, PROFILE)
    offer = await chat.say("1")
    assert "thông tin cơ sở đã được lưu" in offer
    assert "Bước tiếp theo: báo cáo kết quả áp dụng SXSH năm 2026" in offer
    assert "Hạn gửi: trước ngày 15/12/2026 — còn 14 ngày." in offer
    assert "1. Bắt đầu báo cáo năm 2026" in offer
    opened = await chat.say("1")
    assert "Báo cáo kết quả áp dụng sản xuất sạch hơn (SXSH) năm 2026" in opened
    assert "ví dụ /report 2025" in opened
    assert "(1/" in opened and "Lãnh đạo cơ sở đã được phổ biến" in opened


async def test_the_profile_answers_are_offered_as_defaults_and_name_the_non_applier(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    chat = await linked(bot, clock)
    await answer(chat, (*PROFILE, SUBMIT))
    product = await answer(chat, FULL_REPORT[:8])
    assert "bún: bún" in product  # a button with the profile's product
    assert "tấn: tấn" in await chat.say("bún")
    await chat.say("/cancel")
    await chat.say("/report 2025")
    await answer(chat, (*NOT_APPLIED[1:], SUBMIT))
    assert rows(
        settings.db_path, "SELECT year, applied, reporter_name, reporter_phone FROM latest_reports"
    ) == [(2025, 0, "Nguyễn Thị Hoa", "0912 345 678")]


async def test_status_follows_the_report_from_not_started_to_sent_and_counts_the_days(
    bot: Bot, clock: FakeClock
) -> None:
    chat = await linked(bot, clock)
    status = await chat.say("/status")
    assert "Báo cáo kết quả SXSH năm 2026 — Cơ sở sản xuất bún phở Mẫu Tam Thanh:" in status
    assert "Chưa bắt đầu." in status and "còn 14 ngày" in status
    await answer(chat, NOT_APPLIED[:4])
    assert "Đang soạn: đã trả lời 3/40 câu hỏi." in await chat.say("/status")
    await answer(chat, (*NOT_APPLIED[4:], SUBMIT))
    clock.now = vietnam(2026, 12, 14, 8, 30)
    status = await chat.say("/status")
    assert "Đã gửi lúc 01/12/2026 09:00, đúng hạn (mã biên nhận LS-2026-000001)." in status
    assert "Hạn gửi: hôm nay, ngày 14/12/2026, là ngày cuối cùng." in status


async def test_a_report_sent_from_15_december_is_accepted_and_marked_late_but_a_later_fix_is_not(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    chat = await linked(bot, clock)
    await answer(chat, NOT_APPLIED)
    clock.now = vietnam(2026, 12, 14, 23, 59, 59)
    assert "nộp muộn" not in await chat.say(SUBMIT)
    clock.now = vietnam(2026, 12, 15, 0, 0)
    receipt = await answer(chat, ("/report", "2", "2", "5", "3", SUBMIT))  # a new reason
    assert "LS-2026-000002" in receipt and "gửi lần đầu lúc 14/12/2026 23:59" in receipt
    assert rows(
        settings.db_path,
        "SELECT revision, late, first_late, first_submitted_at FROM latest_reports",
    ) == [(2, 1, 0, "2026-12-14T16:59:59.000000+00:00")]
    assert "đúng hạn" in await chat.say("/status")

    other = Chat(bot, "other")
    code = await invitation_for(bot, "DEMO02", clock())
    await other.say(code)
    await answer(other, NOT_APPLIED)
    receipt = await other.say(SUBMIT)
    assert "nộp muộn" in receipt and "LS-2026-000003" in receipt
    status = await other.say("/status")
    assert "sau thời hạn: ghi nhận nộp muộn" in status
    assert "Hạn gửi: trước ngày 15/12/2026." in status

    not_sent = Chat(bot, "third")
    await not_sent.say(await invitation_for(bot, "DEMO03", clock()))
    status = await not_sent.say("/status")
    assert "Chưa bắt đầu." in status
    assert (
        "Đã quá hạn gửi (trước ngày 15/12/2026): báo cáo gửi bây giờ vẫn được tiếp nhận" in status
    )


async def test_per_unit_figures_of_zero_or_absurd_size_are_refused_and_nothing_is_lost(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    chat = await linked(bot, clock)
    await answer(chat, FULL_REPORT[:13])
    for typed in ("0", "5.000.000", "-3"):
        reply = await chat.say(typed)
        assert "Nhập một số lớn hơn 0 và dưới 1.000.000 cho một tấn, ví dụ 125,5." in reply
    assert "Vui lòng viết theo dạng" in await chat.say("1,250")
    assert "năm 2026 (kWh)" in await chat.say("125,5")
    stored = {
        name: value
        for name, value in rows(settings.db_path, "SELECT name, value FROM draft_answers")
    }
    assert stored["elec_base"] == '"125.5"' and stored["output"] == '"1250.5"'


async def test_a_baseline_year_after_the_reporting_year_is_refused(
    bot: Bot, clock: FakeClock
) -> None:
    chat = await linked(bot, clock)
    await answer(chat, FULL_REPORT[:12])
    reply = await chat.say("2027")
    assert "Năm của số liệu nền không thể sau năm báo cáo 2026." in reply


async def test_a_past_year_is_reported_only_when_asked_and_a_future_or_odd_one_is_refused(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    chat = await linked(bot, clock)
    assert "Năm 2027 chưa đến" in await chat.say("/report 2027")
    assert "ghi năm bằng 4 chữ số, ví dụ /report 2025" in await chat.say("/report hai nghìn")
    assert "từ năm 2016 trở về sau" in await chat.say("/report 2015")
    opened = await chat.say("/report năm 2025")
    assert "năm 2025 gửi Sở Công Thương" in opened
    await answer(chat, (*NOT_APPLIED[1:], SUBMIT))
    assert rows(settings.db_path, "SELECT year, late, receipt FROM latest_reports") == [
        (2025, 1, "LS-2025-000001")
    ]
    assert "Chưa bắt đầu." in await chat.say("/status")
    assert "Đã gửi lúc 01/12/2026 09:00, sau thời hạn" in await chat.say("/status 2025")


async def test_early_in_the_year_report_asks_whether_last_years_report_is_meant(
    bot: Bot, clock: FakeClock
) -> None:
    clock.now = vietnam(2027, 1, 10, 9, 0)
    chat = await linked(bot, clock)
    choice = await chat.say("/report")
    assert "Anh/chị báo cáo cho năm nào? Báo cáo năm 2026 chưa được gửi." in choice
    assert "1. Năm 2027" in choice and "2. Năm 2026 (chưa gửi)" in choice
    assert "năm 2026 gửi Sở Công Thương" in await chat.say("2")
    await chat.say("/cancel")
    assert "năm 2027 gửi Sở Công Thương" in await chat.say("/report 2027")
    await chat.say("có")
    # This year's report has begun: /report goes straight back to it.
    assert "hình thức nào" in await chat.say("/report")


async def test_submitting_again_without_a_change_keeps_the_report_as_it_is(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    chat = await linked(bot, clock)
    await answer(chat, (*NOT_APPLIED, SUBMIT))
    menu = await chat.say("/report")
    assert "1. Xem báo cáo" in menu and "2. Sửa báo cáo" in menu
    await chat.say("2")
    reply = await chat.say(SUBMIT)
    assert "Không có thay đổi nào so với báo cáo đã gửi lúc 01/12/2026 09:00" in reply
    assert rows(settings.db_path, "SELECT COUNT(*) FROM report_revisions") == [(1,)]


async def test_a_change_left_half_done_is_kept_and_status_says_it_is_not_sent(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    chat = await linked(bot, clock)
    await answer(chat, (*NOT_APPLIED, SUBMIT))
    await answer(chat, ("/report", "2", "2", "7"))  # change: the adviser question …
    await chat.say("không")  # … answered differently
    await chat.say("/cancel")
    status = await chat.say("/status")
    assert "Một số câu trả lời đã được sửa sau khi gửi nhưng chưa được gửi lại." in status
    assert rows(settings.db_path, "SELECT wants_adviser FROM latest_reports") == [(1,)]
    assert "chưa được gửi lại" in await chat.say("/report")


async def test_an_english_speaking_manager_gets_the_form_and_the_receipt_in_english(
    bot: Bot, clock: FakeClock
) -> None:
    chat = await linked(bot, clock)
    await chat.say("/lang en")
    assert "The 2026 Cleaner Production (SXSH) results report" in await chat.say("/report")
    summary = await answer(chat, ("yes", "1", "0", "no", "2", "-", "yes"))
    assert "Please check your answers — SXSH results report for 2026" in summary
    receipt = await chat.say(SUBMIT)
    assert "Receipt number: LS-2026-000001" in receipt
    assert "Received at: 01/12/2026 09:00 (Vietnam time)" in receipt


class RecordingSender:
    """Stands for a running channel the bot can start messages on."""

    def __init__(self) -> None:
        self.sent: list[Outbound] = []

    async def send(self, outbound: Outbound) -> bool:
        self.sent.append(outbound)
        return True


async def test_a_replaced_answer_is_told_to_its_author_on_their_channel_and_to_nobody_else(
    bot: Bot, clock: FakeClock
) -> None:
    first, second = await linked(bot, clock, "first"), await linked(bot, clock, "second")
    channel = RecordingSender()
    bot.senders["console"] = channel
    await first.say("/report")
    await second.say("/report")
    await first.say("có")
    replaced = await second.say("không")
    assert "vừa trả lời" not in replaced and "cán bộ, công nhân" in replaced
    [notice] = channel.sent
    assert (notice.channel, notice.chat_id) == ("console", "first")
    assert notice.text.startswith(
        "ℹ️ Một đồng nghiệp cùng cơ sở vừa trả lời câu “Lãnh đạo cơ sở đã được phổ biến"
    )
    assert ": Không. Câu trả lời trước đó của anh/chị (Có) đã được thay thế." in notice.text
    # Both now at the staff question: giving the same answer as the other replaces nothing.
    assert "cán bộ, công nhân" in await first.say("/report")
    await first.say("0")
    await second.say("0")
    assert len(channel.sent) == 1


async def test_forged_or_stale_report_buttons_are_refused_and_change_nothing(
    bot: Bot, clock: FakeClock, settings: Settings
) -> None:
    await linked(bot, clock)

    async def press(data: str) -> str:
        pressed = Inbound("console", "manager", "manager", "callback", callback_data=data)
        return "\n".join(reply.text for reply in await bot.dispatcher.handle(pressed))

    for data in ("report:change:2026", "report:burn:2026", "report:view:abc", "report:"):
        assert "không còn hiệu lực" in await press(data)
    assert "Chưa có báo cáo năm 2026 nào được gửi" in await press("report:view:2026")
    assert rows(settings.db_path, "SELECT COUNT(*) FROM report_revisions") == [(0,)]


async def test_report_and_status_need_a_linked_chat(bot: Bot) -> None:
    stranger = Chat(bot, "stranger")
    for command in ("/report", "/status", "/report 2025"):
        assert "chưa được liên kết" in await stranger.say(command)
