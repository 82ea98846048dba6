"""`sxsh-bot stats` and `sxsh-bot broadcast`, run in-process on a real SQLite file; the
broadcast against the loopback Bot API server."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import matplotlib.image
import pytest

from bot.app import sample_register_path
from bot.cli import main
from tests.support.botapi_server import BotApiServer
from tests.support.staffing import audit_rows

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("SXSH_DB_PATH", str(path))
    for name in ("SXSH_TELEGRAM_TOKEN", "SXSH_ADMIN_IDS", "SXSH_TELEGRAM_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    # Announcements go out in a sending window; the test must not depend on the hour.
    monkeypatch.setenv("SXSH_REMINDER_WINDOW_START", "00:00")
    monkeypatch.setenv("SXSH_REMINDER_WINDOW_END", "23:59:59.999999")
    monkeypatch.chdir(tmp_path)
    assert main(["facilities", "import", sample_register_path()]) == 0
    return path


def link(db: Path, user: int, code: str, language: str = "vi") -> None:
    """A Telegram chat linked to a facility (as an invitation would have done)."""
    with sqlite3.connect(db) as connection:
        connection.execute(
            "INSERT INTO users (channel, external_id, chat_id, language, facility_id, created_at)"
            " SELECT 'telegram', ?, ?, ?, id, '2026-12-01T02:00:00+00:00' FROM facilities"
            " WHERE code = ?",
            (str(user), str(user), language, code),
        )


def test_stats_prints_the_indicators_by_commune_and_sector_and_writes_two_charts(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    charts = tmp_path / "charts"
    charts.mkdir()
    assert main(["stats", "--year", "2026", "--commune", "tam thanh", "--charts", str(charts)]) == 0
    out = capsys.readouterr().out
    assert "Chỉ tiêu SXSH năm 2026 — phường Tam Thanh" in out
    assert "1. Nhận thức về SXSH: 0% (0/2) — mục tiêu 90% ✗ chưa đạt" in out
    assert "Theo xã/phường:" in out and "• phường Tam Thanh: báo cáo 0/2" in out
    assert "Theo ngành:" in out
    pictures = sorted(charts.iterdir())
    assert [p.name for p in pictures] == [
        "sxsh-2026-indicators.png",
        "sxsh-2026-progress-by-commune.png",
    ]
    for picture in pictures:
        assert picture.read_bytes().startswith(PNG)
        height, width, _channels = matplotlib.image.imread(picture).shape
        assert width > 600 and height > 200


def test_stats_refuses_an_unknown_commune_or_a_missing_folder_in_one_line(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["--lang", "en", "stats", "--commune", "Atlantis"]) == 2
    assert capsys.readouterr().err.strip() == "sxsh-bot: unknown commune: Atlantis"
    assert main(["--lang", "en", "stats", "--charts", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_broadcast_without_a_terminal_needs_yes_and_sends_nothing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link(db, 1001, "DEMO01")
    message = tmp_path / "message.txt"
    message.write_text("Hội thảo SXSH ngày 20/12.", encoding="utf-8")
    capsys.readouterr()
    assert main(["broadcast", "--file", str(message)]) == 2
    printed = capsys.readouterr()
    assert "Người nhận: 1 tài khoản chat của 1 cơ sở trong toàn tỉnh." in printed.out
    assert "--yes" in printed.err
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT status FROM broadcasts").fetchall() == [("cancelled",)]
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n", encoding="utf-8")
    assert main(["broadcast", "--file", str(empty)]) == 2
    assert "Thông báo đang trống" in capsys.readouterr().err


async def test_broadcast_with_yes_sends_through_telegram_and_prints_the_delivery_report(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    link(db, 1001, "DEMO01")
    link(db, 1002, "DEMO02")
    link(db, 1003, "DEMO03", language="en")
    link(db, 1004, "DEMO05")  # blocked the bot
    message = tmp_path / "message.txt"
    message.write_text("\ufeffTập huấn SXSH cho ngành xi măng.\n", encoding="utf-8")
    async with BotApiServer() as server:
        for user in (1001, 1002, 1003, 1004):
            server.register_user(user)
        server.block_user(1004)
        monkeypatch.setenv("SXSH_TELEGRAM_TOKEN", server.token)
        monkeypatch.setenv("SXSH_TELEGRAM_BASE_URL", server.base_url)
        argv = ["broadcast", "--file", str(message), "--lang", "vi", "--yes"]
        code = await asyncio.to_thread(main, argv)
        server.assert_no_violations()
    out = capsys.readouterr().out
    assert code == 0
    assert "Người nhận: 3 tài khoản chat của 3 cơ sở trong toàn tỉnh (vi)." in out
    assert "đã gửi 2, lỗi 0, không liên lạc được 1." in out
    received = {m.chat_id for m in server.sent if "xi măng" in (m.plain_text or "")}
    assert received == {1001, 1002}  # not the English chat, not the blocked one
    [entry] = [row for row in audit_rows(db) if row[1] == "broadcast"]
    assert entry[0].startswith("cli") and '"language": "vi"' in (entry[3] or "")
