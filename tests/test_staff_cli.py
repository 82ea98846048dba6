"""`sxsh-bot staff`, `audit`, `export`, `backup` and `restore`, run in-process on a real
SQLite file; the database-in-use check also against a real second process."""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import openpyxl
import pytest

from bot.app import Bot, sample_register_path
from bot.backup import backup, restore
from bot.cli import main
from bot.settings import Settings
from bot.storage.inuse import DatabaseInUse, UseLock, exclusive
from tests.conftest import FakeClock
from tests.support.staffing import audit_rows

ROOT = Path(__file__).parent.parent


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("SXSH_DB_PATH", str(path))
    monkeypatch.delenv("SXSH_TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("SXSH_ADMIN_IDS", raising=False)
    monkeypatch.setenv("SXSH_TELEGRAM_BOT_USERNAME", "sxsh_test_bot")
    monkeypatch.chdir(tmp_path)
    assert main(["facilities", "import", sample_register_path()]) == 0
    return path


def scalar(db: Path, sql: str) -> object:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchone()[0]


def test_staff_add_list_and_remove_with_the_commune_by_name(
    db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    capsys.readouterr()
    assert main(["staff", "add", "telegram:123456", "xa", "Tam", "Thanh"]) == 0
    assert "telegram:123456 nay là cán bộ cấp xã — phường Tam Thanh." in capsys.readouterr().out
    assert main(["staff", "add", "zalo:77", "province"]) == 0
    monkeypatch.setenv("SXSH_ADMIN_IDS", "42")
    capsys.readouterr()
    assert main(["staff", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("telegram:42\tquản trị viên")
    assert any(
        line.startswith("telegram:123456\tcán bộ cấp xã\tphường Tam Thanh") for line in lines
    )
    assert lines[-1] == "3 người có quyền cán bộ"
    assert main(["staff", "remove", "telegram:123456"]) == 0
    assert scalar(db, "SELECT COUNT(*) FROM staff") == 1
    actions = [(action, target) for _actor, action, target, _f in audit_rows(db)]
    assert ("role.grant", "telegram:123456") in actions
    assert ("role.revoke", "telegram:123456") in actions
    assert all(
        actor.startswith("cli") for actor, action, _t, _f in audit_rows(db) if "role" in action
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["staff", "add", "123456", "province"], "kênh:mã"),
        (["staff", "add", "telegram:1", "commune"], "Hãy cho biết xã/phường"),
        (["staff", "add", "telegram:1", "commune", "Atlantis"], "Hãy cho biết xã/phường"),
        (["staff", "add", "telegram:1", "province", "Tam", "Thanh"], "Chỉ cán bộ cấp xã"),
        (["staff", "add", "telegram:1", "boss"], "Vai trò là một trong"),
        (["staff", "remove", "telegram:999"], "không có quyền cán bộ"),
    ],
)
def test_a_wrong_staff_command_is_one_line_and_changes_nothing(
    db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert scalar(db, "SELECT COUNT(*) FROM staff") == 0
    assert scalar(db, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'role%'") == 0


def test_every_invitation_is_audited_without_its_code(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["invite", "DEMO01", "DEMO02"]) == 0
    code = capsys.readouterr().out.splitlines()[0].split("\t")[2].replace("-", "")
    invites = [row for row in audit_rows(db) if row[1] == "invite"]
    assert [target for _actor, _action, target, _f in invites] == ["DEMO01", "DEMO02"]
    with sqlite3.connect(db) as connection:
        assert code not in "\n".join(connection.iterdump())
    assert main(["audit"]) == 0
    out = capsys.readouterr().out
    assert "\tcấp mã mời\tDEMO01\t" in out and out.strip().endswith("2 mục")


def test_audit_since_a_day_in_vietnam_time(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(db) as connection:
        connection.executemany(
            "INSERT INTO audit_log (at, actor, action, target) VALUES (?, 'cli:x', 'export', ?)",
            [
                ("2026-12-13T16:59:00.000000+00:00", "before"),  # 23:59 on 13/12 in Vietnam
                ("2026-12-13T17:00:00.000000+00:00", "after"),  # 00:00 on 14/12 in Vietnam
            ],
        )
    capsys.readouterr()
    assert main(["audit", "--since", "14/12/2026"]) == 0
    out = capsys.readouterr().out
    assert "after" in out and "before" not in out
    assert out.startswith("14/12/2026 00:00\tcli:x\txuất dữ liệu\tafter")
    assert main(["audit", "--since", "2026-12-13"]) == 0
    assert "before" in capsys.readouterr().out
    assert main(["audit", "--since", "hôm qua"]) == 2
    assert "không phải ngày hợp lệ" in capsys.readouterr().err


def test_export_xlsx_for_one_commune_with_progress_and_an_audit_entry(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    out = tmp_path / "tam-thanh.xlsx"
    argv = ["export", "--year", "2026", "--format", "xlsx", "--out", str(out)]
    assert main([*argv, "--commune", "tam thanh"]) == 0
    printed = capsys.readouterr()
    assert f"Đã ghi {out}" in printed.out
    assert "Cơ sở" in printed.err and "100%" in printed.err  # the progress bar
    workbook = openpyxl.load_workbook(out)
    assert workbook.sheetnames == [
        "Thông tin",
        "Báo cáo 2026",
        "Giải pháp 2026",
        "Chỉ tiêu 2026",
        "Chưa báo cáo 2026",
        "Các phiên bản 2026",
        "Tự đánh giá 2026",
        "Cơ sở",
    ]
    communes = {row[4] for row in workbook["Cơ sở"].iter_rows(min_row=2, values_only=True)}
    assert communes == {"phường Tam Thanh"}
    [(actor, _action, _target, filter_json)] = [r for r in audit_rows(db) if r[1] == "export"]
    assert actor.startswith("cli") and filter_json is not None
    assert '"commune": "05986"' in filter_json and '"year": 2026' in filter_json


def test_export_csv_one_sheet_or_a_zip_of_all(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    single = tmp_path / "missing.csv"
    argv = ["export", "--year", "2026", "--format", "csv"]
    assert main([*argv, "--sheet", "chưa báo cáo", "--out", str(single), "--sector", "C23"]) == 0
    raw = single.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0][:2] == ["Mã cơ sở", "Tên cơ sở"]
    assert rows[1:] and {row[4] for row in rows[1:]} == {"C23"}
    archive = tmp_path / "all.zip"
    assert main([*argv, "--out", str(archive)]) == 0
    assert sorted(zipfile.ZipFile(archive).namelist()) == [
        "00_thong_tin.csv",
        "01_reports.csv",
        "02_measures.csv",
        "03_indicators.csv",
        "04_not_reported.csv",
        "05_revisions.csv",
        "06_self_assessments.csv",
        "07_facilities.csv",
    ]
    capsys.readouterr()
    assert main([*argv, "--out", str(tmp_path / "all.csv")]) == 2
    assert ".zip" in capsys.readouterr().err
    assert main([*argv, "--sheet", "summary"]) == 2
    assert "reports, measures, indicators, not_reported" in capsys.readouterr().err
    assert main([*argv, "--commune", "Atlantis"]) == 2
    assert not (tmp_path / "all.csv").exists()


def test_export_without_out_names_the_file_after_the_year_and_filter(
    db: Path, tmp_path: Path
) -> None:
    assert main(["export", "--year", "2026", "--commune", "Chi Lăng"]) == 0
    [written] = list(tmp_path.glob("sxsh-2026-xa-chi-lang-*.xlsx"))
    assert openpyxl.load_workbook(written).sheetnames[0] == "Thông tin"


def test_a_backup_is_consistent_while_another_connection_keeps_writing(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stop = threading.Event()

    def keep_writing() -> None:
        # Each transaction adds one audit entry and one processed update: a torn copy
        # would have different counts.
        with sqlite3.connect(db, timeout=30) as writer:
            number = 0
            while not stop.is_set() and number < 20000:
                number += 1
                writer.execute(
                    "INSERT INTO audit_log (at, actor, action) VALUES ('t', 'w', 'export')"
                )
                writer.execute(
                    "INSERT INTO processed_updates VALUES (?, 't')", (f"writer:{number}",)
                )
                writer.commit()

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        copies = []
        for index in range(3):
            target = tmp_path / f"copy{index}.db"
            assert main(["backup", str(target)]) == 0
            copies.append(target)
    finally:
        stop.set()
        writer.join(timeout=30)
    assert "Đã sao lưu" in capsys.readouterr().out
    for copy in copies:
        with sqlite3.connect(copy) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            audits = connection.execute(
                "SELECT COUNT(*) FROM audit_log WHERE actor = 'w'"
            ).fetchone()[0]
            updates = connection.execute(
                "SELECT COUNT(*) FROM processed_updates WHERE key LIKE 'writer:%'"
            ).fetchone()[0]
            assert audits == updates
            assert connection.execute("SELECT COUNT(*) FROM facilities").fetchone()[0] == 40
        assert not Path(f"{copy}-wal").exists()  # a single self-contained file


def test_backup_never_overwrites_and_accepts_a_folder(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    assert main(["backup", str(folder)]) == 0
    [written] = list(folder.glob("cli-*.db"))
    capsys.readouterr()
    assert main(["backup", str(written)]) == 2
    assert "đã tồn tại" in capsys.readouterr().err


def test_restore_brings_back_the_backup_and_keeps_the_replaced_database(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = tmp_path / "before.db"
    assert main(["backup", str(backup)]) == 0
    with sqlite3.connect(db) as connection:
        connection.execute("DELETE FROM facilities WHERE code LIKE 'DEMO1%'")
    capsys.readouterr()
    assert main(["restore", str(backup)]) == 0
    out = capsys.readouterr().out
    assert "Đã khôi phục" in out and "40 cơ sở" in out
    assert scalar(db, "SELECT COUNT(*) FROM facilities") == 40
    [kept] = list(tmp_path.glob("cli.db.before-restore-*"))
    assert scalar(kept, "SELECT COUNT(*) FROM facilities") == 30
    assert main(["facilities", "list"]) == 0  # the restored database opens and migrates


@pytest.mark.parametrize("content", [b"not a database at all", b""])
def test_restore_refuses_a_file_that_is_not_a_backup(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(content)
    capsys.readouterr()
    assert main(["restore", str(bogus)]) == 2
    assert "không phải cơ sở dữ liệu" in capsys.readouterr().err
    assert scalar(db, "SELECT COUNT(*) FROM facilities") == 40


def test_restore_refuses_a_backup_from_a_newer_version(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    newer = tmp_path / "newer.db"
    assert main(["backup", str(newer)]) == 0
    with sqlite3.connect(newer) as connection:
        connection.execute("INSERT INTO schema_migrations VALUES (9999, 'future', 'x')")
    capsys.readouterr()
    assert main(["restore", str(newer)]) == 2
    assert "phiên bản sxsh-bot mới hơn" in capsys.readouterr().err


def test_restore_refuses_while_a_bot_process_has_the_database_open(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    backup = tmp_path / "backup.db"
    assert main(["backup", str(backup)]) == 0
    env = {k: v for k, v in os.environ.items() if k != "SXSH_TELEGRAM_TOKEN"}
    console = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**env, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
    )
    try:
        assert console.stdout is not None
        console.stdout.readline()  # the bot answered /start: the database is open
        capsys.readouterr()
        assert main(["restore", str(backup)]) == 2
        assert "đang được bot hoặc một lệnh khác sử dụng" in capsys.readouterr().err
        assert not list(tmp_path.glob("cli.db.before-restore-*"))
    finally:
        console.communicate(b"/quit\n", timeout=60)
    assert main(["restore", str(backup)]) == 0


def test_the_new_commands_have_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (
        ["staff", "add"],
        ["staff", "list"],
        ["audit"],
        ["export"],
        ["backup"],
        ["restore"],
    ):
        with pytest.raises(SystemExit) as exited:
            main([*command, "--help"])
        assert exited.value.code == 0
        assert "usage: sxsh-bot" in capsys.readouterr().out


async def test_restore_refuses_while_this_process_has_the_database_open(
    bot: Bot, settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    copy = backup(settings.db_path, tmp_path / "copy.db", clock())
    with pytest.raises(DatabaseInUse):
        restore(copy.path, settings.db_path, clock())
    async with bot.database.snapshot() as store:
        assert len(await store.facilities.list()) == 40


async def test_a_bot_starting_during_a_restore_waits_then_says_why(tmp_path: Path) -> None:
    database = tmp_path / "busy.db"
    with exclusive(database), pytest.raises(DatabaseInUse, match="being restored"):
        await UseLock.shared(database, wait=0.3)
    held = await UseLock.shared(database, wait=0.3)
    held.release()
