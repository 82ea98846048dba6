"""`sxsh-bot run` with Zalo: which channels start, one-line errors, and the real process
serving Telegram and Zalo at once, or Zalo by webhook, or Zalo alone with its deadline
reminders, until a signal stops it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.app import build, import_register, sample_register_path
from bot.cli import main
from bot.clock import VIETNAM
from bot.settings import Settings
from tests.support.botapi_server import BotApiServer
from tests.support.reminder_world import link_user
from tests.support.zalo_server import ZaloApiServer

ROOT = Path(__file__).parent.parent
SECRET = "a-long-webhook-secret"


@pytest.fixture
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """No SXSH_* from the outside; the database in a temporary folder."""
    for name in list(os.environ):
        if name.startswith("SXSH_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SXSH_DB_PATH", str(tmp_path / "run.db"))
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("SXSH_")},
        "SXSH_DB_PATH": str(tmp_path / "run.db"),
        "PYTHONPATH": str(ROOT),
    }


def test_without_any_token_run_names_both_variables_in_one_line(
    environment: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "SXSH_TELEGRAM_TOKEN" in err and "SXSH_ZALO_TOKEN" in err
    assert not Path("run.db").exists()


@pytest.mark.parametrize(
    ("variables", "address", "named"),
    [
        ({"SXSH_ZALO_TOKEN": "1:Z"}, "127.0.0.1:8443/zalo", "SXSH_ZALO_WEBHOOK_SECRET"),
        ({"SXSH_TELEGRAM_TOKEN": "1:T"}, "127.0.0.1:8443/zalo", "SXSH_ZALO_TOKEN"),
        ({"SXSH_ZALO_TOKEN": "1:Z", "SXSH_ZALO_WEBHOOK_SECRET": SECRET}, "8443", "HOST:PORT"),
        ({"SXSH_ZALO_TOKEN": "1:Z", "SXSH_ZALO_WEBHOOK_SECRET": "short"}, "h:1/z", "8 to 256"),
    ],
)
def test_a_webhook_that_cannot_work_is_refused_in_one_line(
    environment: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variables: dict[str, str],
    address: str,
    named: str,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert main(["--lang", "en", "run", "--zalo-webhook", address]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and named in err


@asynccontextmanager
async def bot_process(env: dict[str, str], *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "--lang",
        "en",
        "run",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def stop_cleanly(process: asyncio.subprocess.Process) -> None:
    process.send_signal(signal.SIGTERM)
    code = await asyncio.wait_for(process.wait(), timeout=20)
    assert process.stderr is not None
    stderr = (await process.stderr.read()).decode()
    assert code == 0, stderr
    assert "Traceback" not in stderr, stderr


async def test_one_process_answers_on_telegram_and_on_zalo_and_stops_on_sigterm(
    environment: dict[str, str],
) -> None:
    async with BotApiServer() as telegram, ZaloApiServer() as zalo:
        env = {
            **environment,
            "SXSH_TELEGRAM_TOKEN": telegram.token,
            "SXSH_TELEGRAM_BASE_URL": telegram.base_url,
            "SXSH_TELEGRAM_POLL_TIMEOUT": "1",
            "SXSH_ZALO_TOKEN": zalo.token,
            "SXSH_ZALO_BASE_URL": zalo.base_url,
            "SXSH_ZALO_POLL_TIMEOUT": "1",
        }
        async with bot_process(env) as process:
            await telegram.wait_for_call("getUpdates", timeout=30)
            await zalo.wait_until(lambda: zalo.calls_to("getUpdates"), 30, what="a Zalo poll")
            telegram.send_text(4242, "/help")
            zalo.send_text("z4242", "/help")
            [on_telegram] = await telegram.wait_for_messages(4242, 1, timeout=15)
            [on_zalo] = await zalo.wait_for_messages("z4242", 1, timeout=15)
            assert "/lang" in (on_telegram.plain_text or "")
            assert "/lang" in (on_zalo.text or "")
            await stop_cleanly(process)
        telegram.assert_no_violations()
        zalo.assert_no_violations()


async def test_zalo_by_webhook_answers_only_calls_with_the_secret(
    environment: dict[str, str],
) -> None:
    async with ZaloApiServer() as zalo:
        env = {
            **environment,
            "SXSH_ZALO_TOKEN": zalo.token,
            "SXSH_ZALO_BASE_URL": zalo.base_url,
            "SXSH_ZALO_WEBHOOK_SECRET": SECRET,
        }
        async with bot_process(env, "--zalo-webhook", "127.0.0.1:0/zalo") as process:
            assert process.stdout is not None
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            match = re.search(r"Zalo webhook listening on (http://\S+)", line)
            assert match, line
            update = zalo.make_update("z77", text="/help")
            async with httpx.AsyncClient() as client:
                refused = await client.post(
                    match.group(1), json=update, headers={"X-Bot-Api-Secret-Token": "guess"}
                )
                accepted = await client.post(
                    match.group(1),
                    json={"ok": True, "result": update},
                    headers={"X-Bot-Api-Secret-Token": SECRET},
                )
            assert (refused.status_code, accepted.status_code) == (403, 200)
            [reply] = await zalo.wait_for_messages("z77", 1, timeout=15)
            assert "/lang" in (reply.text or "")
            await stop_cleanly(process)
        assert zalo.calls_to("getUpdates") == []
        zalo.assert_no_violations()


async def test_a_token_zalo_refuses_stops_the_start_with_one_line(
    environment: dict[str, str],
) -> None:
    async with ZaloApiServer() as zalo:
        env = {**environment, "SXSH_ZALO_TOKEN": "1:REVOKED", "SXSH_ZALO_BASE_URL": zalo.base_url}
        async with bot_process(env) as process:
            code = await asyncio.wait_for(process.wait(), timeout=30)
            assert process.stderr is not None
            err = (await process.stderr.read()).decode()
        assert code == 2
        assert err.count("\n") == 1 and "Zalo refused" in err and "401" in err
        assert "1:REVOKED" not in err


def test_a_webhook_address_that_is_not_https_is_refused_in_one_line(
    environment: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SXSH_ZALO_TOKEN", "1:Z")
    monkeypatch.setenv("SXSH_ZALO_WEBHOOK_URL", "http://bot.example.vn/zalo")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SXSH_ZALO_WEBHOOK_URL" in err and "https" in err


async def test_a_zalo_only_process_sends_the_deadline_reminders_that_are_due(
    environment: dict[str, str], tmp_path: Path
) -> None:
    # The process keeps real time: a deadline three days from today, a reminder 30 days
    # before it (so due now), and a sending window the whole day long.
    deadline = datetime.now(VIETNAM).date() + timedelta(days=3)
    if (deadline.month, deadline.day) == (2, 29):  # not a day of every year
        deadline += timedelta(days=1)
    manager = "0b5e7a9c3d1f2e4a6c8b"
    settings = Settings(_env_file=None, db_path=tmp_path / "run.db")  # type: ignore[call-arg]
    bot = await build(settings)
    try:
        await import_register(bot.database, sample_register_path(), datetime.now(VIETNAM))
        await link_user(bot, manager, "DEMO01", datetime.now(VIETNAM), channel="zalo")
    finally:
        await bot.close()
    async with ZaloApiServer() as zalo:
        zalo.register_chat(manager)
        zalo.fail_next("sendMessage", 502)  # Zalo falters once: the reminder is tried again
        env = {
            **environment,
            "SXSH_ZALO_TOKEN": zalo.token,
            "SXSH_ZALO_BASE_URL": zalo.base_url,
            "SXSH_ZALO_POLL_TIMEOUT": "1",
            "SXSH_REPORT_DEADLINE_MONTH": str(deadline.month),
            "SXSH_REPORT_DEADLINE_DAY": str(deadline.day),
            "SXSH_REMINDER_OFFSETS": "30",
            "SXSH_REMINDER_WINDOW_START": "00:00",
            "SXSH_REMINDER_WINDOW_END": "23:59:59.999999",
        }
        async with bot_process(env) as process:
            [reminder] = await zalo.wait_for_messages(manager, 1, timeout=30)
            await stop_cleanly(process)
        zalo.assert_no_violations()
    assert zalo.messages_to(manager) == [reminder]
    assert "Nhắc hạn: còn" in (reminder.text or "")
    assert (reminder.text or "").endswith("\n  1. Bắt đầu làm báo cáo")
    assert len(zalo.injected_failures) == 1
    with sqlite3.connect(tmp_path / "run.db") as connection:
        statuses = connection.execute("SELECT status FROM reminder_deliveries").fetchall()
    assert statuses == [("sent",)]
