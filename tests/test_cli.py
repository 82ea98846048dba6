"""The `sxsh-bot` command line, run in-process on a real SQLite file."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from bot.app import sample_register_path
from bot.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("SXSH_DB_PATH", str(path))
    monkeypatch.delenv("SXSH_TELEGRAM_TOKEN", raising=False)
    monkeypatch.setenv("SXSH_TELEGRAM_BOT_USERNAME", "sxsh_test_bot")
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return path


def test_importing_the_sample_register_twice_adds_then_changes_nothing(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["facilities", "import", sample_register_path()]) == 0
    assert "thêm mới 40, cập nhật 0, không đổi 0" in capsys.readouterr().out
    assert main(["facilities", "import", sample_register_path()]) == 0
    assert "thêm mới 0, cập nhật 0, không đổi 40" in capsys.readouterr().out


def test_a_register_with_bad_rows_imports_the_good_ones_and_names_each_bad_line(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["facilities", "import", str(FIXTURES / "register_with_errors.csv")]) == 1
    out = capsys.readouterr().out
    assert "Dòng 4" in out and "Dòng 20" in out
    with sqlite3.connect(db) as connection:
        count = connection.execute("SELECT COUNT(*) FROM facilities").fetchone()[0]
    assert count == 4


def test_an_updated_row_is_reported_as_updated(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["facilities", "import", sample_register_path()])
    capsys.readouterr()
    lines = Path(sample_register_path()).read_text(encoding="utf-8").splitlines()
    changed = tmp_path / "changed.csv"
    changed.write_text(
        "\n".join([lines[0], lines[1].replace("0900 000 001", "0900 000 999")]), encoding="utf-8"
    )
    assert main(["facilities", "import", str(changed)]) == 0
    assert "cập nhật 1" in capsys.readouterr().out


def test_listing_filters_by_sector_and_commune(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["facilities", "import", sample_register_path()])
    capsys.readouterr()
    main(["facilities", "list", "--sector", "23"])
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("DEMO")]
    assert rows and all("\tC23\t" in row for row in rows)
    main(["facilities", "list", "--commune", "tam thanh"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("DEMO")]
    assert rows and all("Tam Thanh" in row for row in rows)


def test_an_unknown_commune_filter_is_one_clear_line_and_a_failure(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["facilities", "list", "--commune", "Atlantis"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "sxsh-bot: không có xã/phường: Atlantis"


def test_invite_prints_a_code_and_deep_link_and_stores_only_a_hash(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["facilities", "import", sample_register_path()])
    capsys.readouterr()
    assert main(["invite", "DEMO01", "DEMO02"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.strip().splitlines()]
    assert [row[0] for row in rows] == ["DEMO01", "DEMO02"]
    code = rows[0][2]
    assert rows[0][4] == f"https://t.me/sxsh_test_bot?start={code.replace('-', '')}"
    with sqlite3.connect(db) as connection:
        stored = [row[0] for row in connection.execute("SELECT code_hash FROM invitations")]
        dump = "\n".join(connection.iterdump())
    assert hashlib.sha256(code.replace("-", "").encode()).hexdigest() in stored
    assert code.replace("-", "") not in dump


def test_inviting_an_unknown_facility_fails_without_creating_any_invitation(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["facilities", "import", sample_register_path()])
    assert main(["invite", "DEMO01", "NOPE"]) == 2
    assert "NOPE" in capsys.readouterr().err
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT COUNT(*) FROM invitations").fetchone()[0] == 0


def test_run_without_a_token_says_which_variable_to_set(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SXSH_TELEGRAM_TOKEN" in err


def test_english_output_on_request(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--lang", "en", "facilities", "import", sample_register_path()])
    assert "40 added, 0 updated, 0 unchanged" in capsys.readouterr().out


def test_every_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for command in (
        ["run"],
        ["chat"],
        ["facilities", "import"],
        ["facilities", "list"],
        ["invite"],
    ):
        with pytest.raises(SystemExit) as exited:
            main([*command, "--help"])
        assert exited.value.code == 0
        assert "usage: sxsh-bot" in capsys.readouterr().out


def test_the_console_demo_opens_on_the_first_question_without_a_token(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("SXSH_")}
    finished = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--demo"],
        input="Nguyễn Văn An\n/quit\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(Path(__file__).parent.parent)},
        timeout=60,
    )
    assert finished.returncode == 0, finished.stderr
    assert "(1/7) Họ và tên người phụ trách SXSH" in finished.stdout
    assert "(2/7) Chức vụ" in finished.stdout
    assert (tmp_path / "sxsh-demo.db").exists()
