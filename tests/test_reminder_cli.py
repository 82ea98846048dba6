"""`sxsh-bot reminders plan|run`, run in-process on a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.app import build, import_register, sample_register_path
from bot.cli import main
from bot.clock import VIETNAM, system_clock
from bot.settings import Settings
from tests.support.botapi_server import BotApiServer
from tests.support.reminder_world import (
    link_user,
    register_chats,
    reminders_to,
    save_report,
    zalo_reminders_to,
)
from tests.support.zalo_server import ZaloApiServer

NEVER, SUBMITTED, OPTED_OUT, BLOCKED, ADMIN, ABSENT_ADMIN = 1001, 1002, 1003, 1004, 9001, 9002


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("SXSH_DB_PATH", str(path))
    monkeypatch.setenv("SXSH_ADMIN_IDS", f"{ADMIN},{ABSENT_ADMIN}")
    monkeypatch.delenv("SXSH_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("SXSH_ZALO_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return path


async def populate(path: Path, year: int = 2026) -> None:
    """Four managers in four states, and an administrator who has written to the bot."""
    settings = Settings(_env_file=None, db_path=path)  # type: ignore[call-arg]
    bot = await build(settings)
    now = system_clock()
    try:
        await import_register(bot.database, sample_register_path(), now)
        for chat, code in ((NEVER, "DEMO01"), (SUBMITTED, "DEMO02"), (OPTED_OUT, "DEMO03")):
            await link_user(bot, chat, code, now, name=f"Quản lý {code}")
        await link_user(bot, BLOCKED, "DEMO04", now, name="Quản lý DEMO04")
        await save_report(bot, "DEMO02", year, now, submitted=True)
        async with bot.database.transaction() as store:
            await store.users.get_or_create("telegram", str(ADMIN), str(ADMIN), "Cán bộ Sở", now)
            await store.users.set_reachable("telegram", str(BLOCKED), False)
            opted = await store.users.by_external_id("telegram", str(OPTED_OUT))
            assert opted is not None
            await store.reminders.set_opted_out(opted.id, True, now)
    finally:
        await bot.close()


def deliveries(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM reminder_deliveries").fetchone()[0])


def test_plan_prints_who_would_be_reminded_and_why_and_sends_nothing(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(populate(db))
    assert main(["reminders", "plan", "--at", "2026-12-08 09:00"]) == 0
    out = capsys.readouterr().out
    assert "Báo cáo năm 2026 phải nộp trước ngày 15/12/2026 (hạn cuối là ngày 14/12/2026)" in out
    assert "15/11, 01/12, 08/12, 12/12, 14/12" in out
    assert "Lúc 08/12/2026 09:00: đến lượt lời nhắc trước hạn 7 ngày." in out
    lines = {line.split("\t")[0]: line for line in out.splitlines() if "\t" in line}
    assert "sẽ được nhắc ngay: còn 7 ngày; báo cáo chưa bắt đầu" in lines["DEMO01"]
    assert "Quản lý DEMO01 (telegram 1001)" in lines["DEMO01"]
    assert "không nhắc: đã nộp báo cáo" in lines["DEMO02"]
    assert "không nhắc: đã tắt nhắc hạn" in lines["DEMO03"]
    assert "không nhắc: không liên lạc được" in lines["DEMO04"]
    assert "Sẽ nhắc 1/4 người dùng đã liên kết." in out
    assert deliveries(db) == 0


def test_plan_outside_the_window_says_when_the_reminder_will_go_out(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(populate(db))
    assert main(["--lang", "en", "reminders", "plan", "--at", "14/12/2026 06:30"]) == 0
    out = capsys.readouterr().out
    assert (
        "the reminder 1 day(s) before the deadline is due; it goes out at 14/12/2026 08:00" in out
    )
    assert "will be reminded at 14/12/2026 08:00; report not started" in out


def test_plan_on_the_morning_after_the_deadline_previews_the_staff_summary(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(populate(db))
    assert main(["--lang", "en", "reminders", "plan", "--at", "2026-12-15 08:30"]) == 0
    out = capsys.readouterr().out
    assert "no reminder is due; the next goes out at 15/11/2027 08:00" in out
    assert "Staff summary for 2026:" in out
    assert f"Cán bộ Sở (telegram {ADMIN})\twill receive it now" in out
    assert f"Administrators who never wrote to the bot cannot receive it: {ABSENT_ADMIN}" in out
    assert "1 of 40 facilities have reported; 39 have not." in out
    assert "Phường Tam Thanh (" in out and "DEMO01 Cơ sở sản xuất bún phở" in out
    assert "Users the bot cannot reach (1)" in out and "(telegram 1004)" in out
    assert deliveries(db) == 0


def test_a_time_that_cannot_be_read_is_refused_in_one_line(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reminders", "plan", "--at", "ngày mai"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert "--at: ghi thời điểm theo dạng 2026-12-08 09:00 (giờ Việt Nam)" in err


def test_run_without_a_token_says_what_to_set_in_one_line(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--lang", "en", "reminders", "run"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0
    assert "set SXSH_TELEGRAM_TOKEN" in err and "sxsh-bot reminders plan" in err


def due_now(monkeypatch: pytest.MonkeyPatch) -> int:
    """A deadline two days from today with one reminder three days before it: due now,
    all day long. Returns the report year."""
    deadline = datetime.now(VIETNAM).date() + timedelta(days=2)
    if (deadline.month, deadline.day) == (2, 29):
        deadline += timedelta(days=1)
    monkeypatch.setenv("SXSH_REPORT_DEADLINE_MONTH", str(deadline.month))
    monkeypatch.setenv("SXSH_REPORT_DEADLINE_DAY", str(deadline.day))
    monkeypatch.setenv("SXSH_REMINDER_OFFSETS", "3")
    monkeypatch.setenv("SXSH_REMINDER_WINDOW_START", "00:00")
    monkeypatch.setenv("SXSH_REMINDER_WINDOW_END", "23:59:59.999999")
    return deadline.year


async def test_run_sends_what_is_due_now_through_telegram(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await populate(db, due_now(monkeypatch))
    async with BotApiServer() as server:
        register_chats(server, NEVER, SUBMITTED, OPTED_OUT, BLOCKED, ADMIN)
        monkeypatch.setenv("SXSH_TELEGRAM_TOKEN", server.token)
        monkeypatch.setenv("SXSH_TELEGRAM_BASE_URL", server.base_url)
        # The command runs its own event loop; this one keeps serving the Bot API.
        code = await asyncio.to_thread(main, ["--lang", "en", "reminders", "run"])
        again = await asyncio.to_thread(main, ["--lang", "en", "reminders", "run"])
        server.assert_no_violations()
    out = capsys.readouterr().out
    assert (code, again) == (0, 0)
    assert "Reminders sent: 1; failed: 0" in out.splitlines()[0]
    assert "Reminders sent: 0; failed: 0" in out.splitlines()[1]
    assert len(reminders_to(server, NEVER)) == 1
    for other in (SUBMITTED, OPTED_OUT, BLOCKED, ADMIN):
        assert reminders_to(server, other) == []


async def test_run_sends_through_zalo_too_each_user_on_their_channel(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    await populate(db, due_now(monkeypatch))
    on_zalo = "4c2a9e0b7d5f3a1c6e8b"
    settings = Settings(_env_file=None, db_path=db)  # type: ignore[call-arg]
    bot = await build(settings)
    try:
        await link_user(bot, on_zalo, "DEMO05", system_clock(), channel="zalo")
    finally:
        await bot.close()
    async with BotApiServer() as telegram, ZaloApiServer() as zalo:
        register_chats(telegram, NEVER, SUBMITTED, OPTED_OUT, BLOCKED, ADMIN)
        register_chats(zalo, on_zalo)
        monkeypatch.setenv("SXSH_TELEGRAM_TOKEN", telegram.token)
        monkeypatch.setenv("SXSH_TELEGRAM_BASE_URL", telegram.base_url)
        monkeypatch.setenv("SXSH_ZALO_TOKEN", zalo.token)
        monkeypatch.setenv("SXSH_ZALO_BASE_URL", zalo.base_url)
        code = await asyncio.to_thread(main, ["--lang", "en", "reminders", "run"])
        telegram.assert_no_violations()
        zalo.assert_no_violations()
    assert code == 0
    assert "Reminders sent: 2; failed: 0" in capsys.readouterr().out
    assert len(reminders_to(telegram, NEVER)) == 1
    assert len(zalo_reminders_to(zalo, on_zalo)) == 1
    # Sending only: the running bot's polling and webhook are left alone.
    assert zalo.calls_to("getUpdates") == zalo.calls_to("deleteWebhook") == []


async def test_run_with_a_zalo_token_zalo_refuses_stops_in_one_line(
    db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with ZaloApiServer() as zalo:
        monkeypatch.setenv("SXSH_ZALO_TOKEN", "1:REVOKED")
        monkeypatch.setenv("SXSH_ZALO_BASE_URL", zalo.base_url)
        code = await asyncio.to_thread(main, ["--lang", "en", "reminders", "run"])
        zalo.violations.clear()  # the refused token is the point
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "Zalo refused" in err and "401" in err
    assert "REVOKED" not in err
