"""How the yearly report holds up when many managers send it at once.

    python -m bench.report_flow              # 1,000 managers
    python -m bench.report_flow --quick      # 10 managers (the test suite runs this)
    python -m bench.report_flow --managers 200

Each simulated manager is linked to a facility of their own and types the whole report
(`tests/support/report_script.py`, 38 messages, submit included) into the real
python-telegram-bot `Application` with the bot's handlers and a SQLite file, polling the
loopback Bot API server of the tests. A manager waits for the bot to finish with a message
before sending the next, as a person would; all managers start together.

The baseline is a bare python-telegram-bot echo handler, built the same way (same
concurrency, same rate limiter, opened wide) and run on the same server in the same
process, fed the same messages by the same number of chats. The figures:

* updates/s: updates handled over the wall time of the whole run;
* p50 / p95: time from an update being queued at the server until the handler has sent
  its last reply for it.

The ratios say what the bot's own work (dispatcher, flow engine, one SQLite transaction
per update) costs over the bare library on this machine; absolute figures mean little on
their own. No figure is asserted anywhere: the test suite only checks that the quick mode
still runs and that every simulated report was stored.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from telegram import Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes, TypeHandler

from bot.app import build, sample_register_path
from bot.channels.telegram import TELEGRAM, TelegramChannel
from bot.dispatcher import Dispatcher
from bot.register import read_register
from bot.settings import Settings
from tests.support.botapi_server import BotApiServer
from tests.support.report_script import FULL_REPORT, SUBMIT

DEFAULT_MANAGERS = 1000
QUICK_MANAGERS = 10  # small: the test suite runs it
FIRST_CHAT = 500_000
UPDATE_TIMEOUT = 60.0  # seconds one update may take before the run is called broken
WIDE_OPEN = 1_000_000.0  # messages per second: the rate limiter never waits
CONCURRENCY = 64
STEPS = (*FULL_REPORT, SUBMIT)


@dataclass
class Completion:
    """When each update finished, by update_id, for the managers waiting on them."""

    waiting: dict[int, asyncio.Future[float]] = field(default_factory=dict)

    def expect(self, update_id: int) -> asyncio.Future[float]:
        return self.waiting.setdefault(update_id, asyncio.get_running_loop().create_future())

    def done(self, update: object) -> None:
        if isinstance(update, Update):
            future = self.expect(update.update_id)
            if not future.done():
                future.set_result(time.perf_counter())


@dataclass(frozen=True)
class Measurement:
    updates: int
    seconds: float
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class TimedChannel(TelegramChannel):
    """The bot's Telegram channel, noting when each update is fully handled."""

    def __init__(self, dispatcher: Dispatcher, server: BotApiServer, completion: Completion):
        super().__init__(
            dispatcher, server.token, server.base_url, poll_timeout=1, send_rate=WIDE_OPEN
        )
        self.completion = completion

    async def _on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await super()._on_update(update, context)
        finally:
            self.completion.done(update)


async def drive(
    server: BotApiServer, completion: Completion, managers: int, steps: Sequence[str]
) -> Measurement:
    """Every manager types `steps` one by one, waiting for each to be handled."""
    latencies: list[float] = []

    async def manager(chat_id: int) -> None:
        for text in steps:
            started = time.perf_counter()
            finished = completion.expect(server.send_text(chat_id, text))
            latencies.append(await asyncio.wait_for(finished, UPDATE_TIMEOUT) - started)

    began = time.perf_counter()
    await asyncio.gather(*(manager(FIRST_CHAT + n) for n in range(managers)))
    return Measurement(managers * len(steps), time.perf_counter() - began, latencies)


async def link_managers(settings: Settings, managers: int) -> None:
    """A facility per manager (copies of the sample DEMO01) and a chat linked to each."""
    now = datetime.now(UTC)
    bot = await build(settings)
    template = next(
        record
        for record in read_register(Path(sample_register_path())).records
        if record.code == "DEMO01"
    )
    try:
        async with bot.database.transaction() as store:
            for n in range(managers):
                code = f"BENCH{n:05d}"
                await store.facilities.upsert(replace(template, code=code, tax_code=None), now)
                facility = await store.facilities.by_code(code)
                assert facility is not None
                chat = str(FIRST_CHAT + n)
                user = await store.users.get_or_create(TELEGRAM, chat, chat, None, now)
                await store.users.link(user.id, facility.id, now)
    finally:
        await bot.close()


async def measure_bot(workdir: Path, managers: int) -> Measurement:
    settings = Settings(_env_file=None, db_path=workdir / "bench.db")  # type: ignore[call-arg]
    await link_managers(settings, managers)
    async with BotApiServer() as server:
        bot = await build(settings)
        completion = Completion()
        channel = TimedChannel(bot.dispatcher, server, completion)
        bot.senders[TELEGRAM] = channel
        await channel.start()
        try:
            measured = await drive(server, completion, managers, STEPS)
        finally:
            await channel.stop()
            await bot.close()
        server.assert_no_violations()
    with sqlite3.connect(settings.db_path) as connection:
        (stored,) = connection.execute("SELECT COUNT(*) FROM latest_reports").fetchone()
    if stored != managers:
        raise RuntimeError(f"{managers} managers reported but {stored} reports were stored")
    return measured


async def measure_echo(managers: int) -> Measurement:
    async with BotApiServer() as server:
        completion = Completion()
        application = (
            ApplicationBuilder()
            .token(server.token)
            .base_url(server.base_url)
            .rate_limiter(AIORateLimiter(overall_max_rate=WIDE_OPEN, max_retries=3))
            .concurrent_updates(CONCURRENCY)
            .build()
        )

        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            try:
                message = update.effective_message
                if message is not None and message.text is not None:
                    await message.reply_text(message.text)
            finally:
                completion.done(update)

        application.add_handler(TypeHandler(Update, echo))
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=1)
        try:
            measured = await drive(server, completion, managers, STEPS)
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()
        server.assert_no_violations()
    return measured


def report(managers: int, bot: Measurement, echo: Measurement) -> str:
    def row(name: str, per_second: float, p50: float, p95: float, unit: str) -> str:
        return f"{name:<24}{per_second:>12.1f}{p50:>11.2f}{unit}{p95:>10.2f}{unit}"

    lines = [
        f"yearly report, {managers} managers at once x {len(STEPS)} updates = "
        f"{bot.updates} updates, loopback Bot API server",
        f"{'':<24}{'updates/s':>12}{'p50':>13}{'p95':>12}",
        row("sxsh-bot report flow", bot.per_second, 1000 * bot.percentile(0.5),
            1000 * bot.percentile(0.95), "ms"),
        row("bare PTB echo handler", echo.per_second, 1000 * echo.percentile(0.5),
            1000 * echo.percentile(0.95), "ms"),
        row("ratio bot / echo", bot.per_second / echo.per_second,
            bot.percentile(0.5) / echo.percentile(0.5),
            bot.percentile(0.95) / echo.percentile(0.95), "x "),
    ]  # fmt: skip
    return "\n".join(lines)


async def run(managers: int, workdir: Path) -> str:
    bot = await measure_bot(workdir, managers)
    echo = await measure_echo(managers)
    return report(managers, bot, echo)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report_flow", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help=f"{QUICK_MANAGERS} managers")
    size.add_argument("--managers", type=int, default=DEFAULT_MANAGERS, metavar="N")
    parser.add_argument("--workdir", type=Path, help="where the SQLite file goes (a temp dir)")
    args = parser.parse_args(argv)
    managers = QUICK_MANAGERS if args.quick else args.managers
    if managers < 1:
        parser.error("--managers must be at least 1")
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="sxsh-bench-") as scratch:
        workdir: Path = args.workdir or Path(scratch)
        print(asyncio.run(run(managers, workdir)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
