"""The yearly report end to end on Telegram: the real Application polling the loopback
Bot API server, a real SQLite file read back with sqlite3."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from bot.app import build, import_register, sample_register_path
from bot.settings import Settings
from tests.conftest import FakeClock, invitation_for
from tests.support.botapi_server import SentMessage
from tests.support.report_script import FULL_REPORT, NOT_APPLIED, SUBMIT, stored_reports
from tests.support.telegram_harness import TelegramHarness, texts
from tests.test_onboarding import Chat

MANAGER = 1001
COLLEAGUE = 1002
QUESTION = re.compile(r"\(\d+/\d+\) ")  # "(3/7) …": a question being asked


def rows(db_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db_path) as connection:
        return connection.execute(sql).fetchall()


async def link(telegram: TelegramHarness, clock: FakeClock, user: int = MANAGER) -> None:
    code = await invitation_for(telegram.bot, "DEMO01", clock())
    await telegram.say(user, f"/start {code}")


async def answer_all(
    telegram: TelegramHarness, steps: tuple[str, ...], user: int = MANAGER
) -> list[SentMessage]:
    replies: list[SentMessage] = []
    for step in steps:
        replies = await telegram.say(user, step)
    return replies


async def test_a_full_report_typed_the_vietnamese_way_is_stored_with_exact_figures(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(telegram, clock)
    summary = (await answer_all(telegram, FULL_REPORT))[-1]
    shown = summary.plain_text or ""
    assert "Báo cáo kết quả áp dụng SXSH năm 2026" in shown
    for figure in ("1.250,5", "125,5", "3,92", "150.000.000\u00a0₫", "100.000.000\u00a0₫", "→ 1,5"):
        assert figure in shown
    receipt = texts(await telegram.press(MANAGER, summary, "Gửi"))
    assert "Đã nhận báo cáo năm 2026 của Cơ sở sản xuất bún phở Mẫu Tam Thanh" in receipt
    assert "Mã biên nhận: LS-2026-000001" in receipt
    assert "Thời gian nhận: 01/12/2026 09:00 (giờ Việt Nam)" in receipt

    db = settings.db_path
    [report] = rows(
        db,
        "SELECT year, revision, late, applied, aware, aware_how, staff_trained, techniques,"
        " product, product_unit, output, investment_vnd, yearly_savings_vnd, payback_years,"
        " sxsh_unit, sxsh_unit_people, reporter_name, reporter_phone, form_version"
        " FROM latest_reports",
    )
    assert report == (
        2026,
        1,
        0,
        1,
        1,
        '["training", "adviser_visit"]',
        12,
        '["good_housekeeping", "equipment_modification"]',
        "bánh phở tươi",
        "tấn",
        "1250.5",
        150_000_000,
        100_000_000,
        "1.5",
        1,
        2,
        "Hoàng Thị Mai",
        "0912 345 678",
        1,
    )
    assert rows(
        db,
        "SELECT resource, name, unit, baseline_year, baseline_per_unit, current_per_unit,"
        " saving_pct, confirmed, questioned FROM report_resources ORDER BY rowid",
    ) == [
        ("electricity", None, "kWh", 2024, "125.5", "100.4", "20", 1, 0),
        ("fuel", "coal", "tonne", 2024, "0.35", "0.28", "20", 1, 0),
        ("water", None, "m3", 2024, "12.5", "10", "20", 1, 0),
        ("material", "gạo", "tonne", 2024, "1.02", "0.98", "3.92", 1, 0),
    ]
    assert rows(db, "SELECT technique, description FROM report_measures ORDER BY rowid") == [
        ("good_housekeeping", "Sửa rò rỉ hơi, tắt máy khi không sản xuất"),
        ("equipment_modification", "Thay nồi hấp bằng nồi có bảo ôn"),
    ]
    [(raw,)] = rows(db, "SELECT answers FROM report_revisions")
    assert json.loads(str(raw))["elec_base"] == "125.5"
    assert rows(db, "SELECT period, status FROM drafts WHERE form_id = 'annual_report'") == [
        ("2026", "submitted")
    ]


async def test_a_manager_who_did_not_apply_sxsh_finishes_in_a_few_questions(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(telegram, clock)
    asked = 0
    for step in NOT_APPLIED:
        replies = await telegram.say(MANAGER, step)
        asked += sum(bool(QUESTION.match(m.plain_text or "")) for m in replies)
    summary = replies[-1]
    assert "Vui lòng kiểm tra lại" in (summary.plain_text or "")
    assert asked == 7
    await telegram.press(MANAGER, summary, "Gửi")
    assert rows(
        settings.db_path,
        "SELECT applied, not_applied_reason, wants_adviser, output, techniques FROM latest_reports",
    ) == [(0, "no_funds", 1, None, "[]")]
    assert rows(settings.db_path, "SELECT COUNT(*) FROM report_resources") == [(0,)]


async def test_a_report_changed_after_submission_is_a_new_revision_and_both_are_kept(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(telegram, clock)
    summary = (await answer_all(telegram, NOT_APPLIED))[-1]
    await telegram.press(MANAGER, summary, "Gửi")
    clock.advance(days=2, hours=1)

    menu = (await telegram.say(MANAGER, "/report"))[-1]
    assert menu.button_texts == ["Xem báo cáo", "Sửa báo cáo"]
    replies = await telegram.press(MANAGER, menu, "Sửa báo cáo")
    assert "bản số 2" in texts(replies)
    replies = await telegram.press(MANAGER, replies[-1], "Sửa câu trả lời")
    replies = await telegram.press(MANAGER, replies[-1], "Vì sao năm 2026")
    replies = await telegram.press(MANAGER, replies[-1], "Thiếu cán bộ kỹ thuật")
    replies = await telegram.press(MANAGER, replies[-1], "Gửi")
    receipt = texts(replies)
    assert "Mã biên nhận: LS-2026-000002" in receipt
    assert "Thời gian nhận: 03/12/2026 10:00" in receipt
    assert "gửi lần đầu lúc 01/12/2026 09:00" in receipt

    assert rows(
        settings.db_path,
        "SELECT revision, receipt, submitted_at, not_applied_reason FROM report_revisions"
        " ORDER BY revision",
    ) == [
        (1, "LS-2026-000001", "2026-12-01T02:00:00.000000+00:00", "no_funds"),
        (2, "LS-2026-000002", "2026-12-03T03:00:00.000000+00:00", "no_staff"),
    ]
    assert rows(settings.db_path, "SELECT revision, not_applied_reason FROM latest_reports") == [
        (2, "no_staff")
    ]
    view = texts(await telegram.press(MANAGER, replies[-1], "Xem báo cáo"))
    assert "• Bản số 1: 01/12/2026 09:00 — mã biên nhận LS-2026-000001" in view
    assert "• Bản số 2: 03/12/2026 10:00 — mã biên nhận LS-2026-000002" in view
    assert "Thiếu cán bộ kỹ thuật" in view and "Thiếu vốn đầu tư" not in view


async def test_a_restart_in_the_middle_of_the_report_resumes_at_the_next_question(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(telegram, clock)
    await answer_all(telegram, FULL_REPORT[:12])
    await telegram.restart()
    replies = await telegram.say(MANAGER, FULL_REPORT[12])
    assert "Điện năng tiêu thụ cho một tấn sản phẩm năm 2024" in texts(replies)
    summary = (await answer_all(telegram, FULL_REPORT[13:]))[-1]
    assert "Vui lòng kiểm tra lại" in (summary.plain_text or "")


async def test_a_negative_and_a_75_percent_saving_are_questioned_once_and_kept_as_confirmed(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(telegram, clock)
    await answer_all(telegram, (*FULL_REPORT[:11], "1", "2024", "100"))
    negative = texts(await telegram.say(MANAGER, "120"))
    assert "Tiết kiệm điện (%) trên một tấn, từ 100 xuống 120 kWh: -20" in negative
    assert "Mức này bất thường" in negative
    again = texts(await telegram.say(MANAGER, "không"))
    assert "Điện năng tiêu thụ cho một tấn sản phẩm năm 2026" in again
    high = await telegram.say(MANAGER, "25")
    assert "kWh: 75" in texts(high) and "Mức này bất thường" in texts(high)
    replies = await telegram.press(MANAGER, high[-1], "Có")
    assert "Tổng vốn đầu tư" in texts(replies)
    summary = (await answer_all(telegram, ("0", "0", "không", "-", "Mai", "0912 345 678")))[-1]
    assert "→ 75" in (summary.plain_text or "")
    await telegram.say(MANAGER, SUBMIT)
    assert rows(
        settings.db_path,
        "SELECT resource, baseline_per_unit, current_per_unit, saving_pct, confirmed, questioned"
        " FROM report_resources",
    ) == [("electricity", "100", "25", "75", 1, 1)]


async def test_two_managers_share_the_draft_and_the_one_whose_answer_is_replaced_is_told(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings
) -> None:
    await link(telegram, clock, MANAGER)
    await link(telegram, clock, COLLEAGUE)
    await telegram.say(MANAGER, "/lang en")
    assert "Has the facility's management" in texts(await telegram.say(MANAGER, "/report"))
    assert "Lãnh đạo cơ sở đã được phổ biến" in texts(await telegram.say(COLLEAGUE, "/report"))
    await telegram.say(MANAGER, "yes")
    before = len(telegram.server.sent)
    replies = await telegram.say(COLLEAGUE, "không")
    assert "cán bộ, công nhân" in texts(replies)
    [notice] = [m for m in telegram.server.sent[before:] if m.chat_id == MANAGER]
    assert "has just answered “Has the facility's management learned" in (notice.text or "")
    assert ": No. Your earlier answer (Yes) was replaced" in (notice.text or "")
    assert rows(
        settings.db_path,
        "SELECT a.value, u.external_id FROM draft_answers AS a JOIN users AS u"
        " ON u.id = a.answered_by WHERE a.name = 'mgmt_aware'",
    ) == [("false", str(COLLEAGUE))]
    resumed = texts(await telegram.say(MANAGER, "/report"))
    assert "How many of the facility's staff were trained" in resumed


async def test_the_same_report_on_the_console_gives_the_same_stored_data(
    telegram: TelegramHarness, clock: FakeClock, settings: Settings, tmp_path: Path
) -> None:
    await link(telegram, clock)
    await answer_all(telegram, (*FULL_REPORT, SUBMIT))

    console_settings = settings.model_copy(update={"db_path": tmp_path / "console.db"})
    console = await build(console_settings, clock)
    try:
        await import_register(console.database, sample_register_path(), clock())
        chat = Chat(console)
        await chat.say(await invitation_for(console, "DEMO01", clock()))
        for step in (*FULL_REPORT, SUBMIT):
            await chat.say(step)
    finally:
        await console.close()

    on_telegram = stored_reports(settings.db_path)
    assert all(on_telegram.values()), on_telegram
    assert stored_reports(console_settings.db_path) == on_telegram
