"""`sxsh-bot run` as a real process against the loopback Bot API server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.botapi_server import BotApiServer

ROOT = Path(__file__).parent.parent


def bot_env(server: BotApiServer, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SXSH_")}
    env.update(
        SXSH_TELEGRAM_TOKEN=server.token,
        SXSH_TELEGRAM_BASE_URL=server.base_url,
        SXSH_TELEGRAM_POLL_TIMEOUT="1",
        SXSH_DB_PATH=str(db),
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
async def test_the_bot_answers_and_stops_cleanly_on_a_signal(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    async with BotApiServer() as server:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            env=bot_env(server, tmp_path / "run.db"),
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await server.wait_for_call("getUpdates", timeout=30)
            server.send_text(4242, "/help")
            [reply] = await server.wait_for_messages(4242, 1, timeout=15)
            assert "/help" in (reply.plain_text or "")
            process.send_signal(stop_signal)
            code = await asyncio.wait_for(process.wait(), timeout=20)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        stderr = (await process.stderr.read()).decode() if process.stderr else ""
        assert code == 0, stderr
        assert "Traceback" not in stderr
        server.assert_no_violations()


async def test_invite_asks_the_bot_api_for_the_username_when_none_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with BotApiServer(bot_username="langson_sxsh_bot") as server:
        for name, value in bot_env(server, tmp_path / "invite.db").items():
            if name.startswith("SXSH_"):
                monkeypatch.setenv(name, value)
        monkeypatch.delenv("SXSH_TELEGRAM_BOT_USERNAME", raising=False)
        monkeypatch.chdir(tmp_path)
        from bot.app import sample_register_path

        assert await asyncio.to_thread(main, ["facilities", "import", sample_register_path()]) == 0
        capsys.readouterr()
        assert await asyncio.to_thread(main, ["invite", "DEMO03"]) == 0
        link = capsys.readouterr().out.strip().split("\t")[-1]
        assert link.startswith("https://t.me/langson_sxsh_bot?start=")
