"""Fan-out benchmark: deadline reminders to thousands of users through the loopback Bot API
server, with python-telegram-bot's rate limiter at a configured rate.

    python bench/reminders.py                 # 2,000 users at 30 messages/s (about 70 s)
    python bench/reminders.py --users 500 --rate 25
    python bench/reminders.py --quick         # 60 users, limit 1000/s: a smoke run
    python bench/reminders.py --throttle 5    # Telegram answers 429 (retry after 1 s) 5 times

Prints the achieved send rate as a fraction of the limit, beside a baseline measured in the
same run (the same channel sending plain messages with no planning, claiming or marking),
and the counts of duplicates and misses, which must both be zero (exit status 1 if not).
The limiter lets a first second's worth of messages through at once, so a short run can
exceed 1.00 of the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import build, import_register, sample_register_path  # noqa: E402
from bot.channels.telegram import TELEGRAM, TelegramChannel  # noqa: E402
from bot.clock import VIETNAM  # noqa: E402
from bot.messages import Outbound  # noqa: E402
from bot.reminder_service import fan_out_workers, run_reminders  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.support.botapi_server import BotApiServer  # noqa: E402
from tests.support.reminder_world import reminders_in  # noqa: E402

# 8 December 2026, 09:00 in Vietnam: the 7-day reminder is due for everybody.
NOW = datetime(2026, 12, 8, 9, 0, tzinfo=VIETNAM).astimezone(UTC)
FIRST_CHAT = 100_000
BASELINE_CHAT = 900_000


async def measure(users: int, rate: float, baseline_messages: int, throttle: int) -> bool:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            db_path=Path(folder) / "bench.db",
            send_rate=min(rate, 30.0),
        )
        async with BotApiServer() as server:
            bot = await build(settings, lambda: NOW)
            await import_register(bot.database, sample_register_path(), NOW)
            chats = list(range(FIRST_CHAT, FIRST_CHAT + users))
            async with bot.database.transaction() as store:
                facilities = await store.facilities.list()
                for index, chat in enumerate(chats):
                    user = await store.users.get_or_create(
                        TELEGRAM, str(chat), str(chat), f"Bench {chat}", NOW
                    )
                    await store.users.link(user.id, facilities[index % len(facilities)].id, NOW)
            for chat in [*chats, *range(BASELINE_CHAT, BASELINE_CHAT + baseline_messages)]:
                server.register_chat(chat)
            for chat in chats[:: max(1, users // throttle)][:throttle] if throttle else []:
                server.fail_next("sendMessage", status=429, retry_after=1, chat_id=chat)
            channel = TelegramChannel(bot.dispatcher, server.token, server.base_url, send_rate=rate)
            await channel.application.initialize()
            bot.senders[TELEGRAM] = channel
            try:
                baseline_rate = await _baseline(channel, baseline_messages, settings)
                # Let the limiter's bucket refill, so both runs start alike.
                await asyncio.sleep(min(2.0, baseline_messages / rate))
                started = time.perf_counter()
                report = await run_reminders(bot)
                elapsed = time.perf_counter() - started
            finally:
                await channel.application.shutdown()
                await bot.close()
            server.assert_no_violations()
            received = Counter(m.chat_id for m in reminders_in(server.sent))
            throttled = len(server.injected_failures)
        with sqlite3.connect(settings.db_path) as connection:
            marked = connection.execute(
                "SELECT COUNT(*) FROM reminder_deliveries WHERE status = 'sent'"
            ).fetchone()[0]
    duplicates = sum(count - 1 for count in received.values() if count > 1)
    misses = sum(1 for chat in chats if received[chat] == 0)
    achieved = report.sent / elapsed
    print(f"users {users}, rate limit {rate:g} messages/s")
    print(
        f"fan-out: {report.sent} reminders in {elapsed:.1f} s = {achieved:.1f}/s"
        f" = {achieved / rate:.2f} of the limit"
    )
    print(
        f"baseline (plain sends, same channel and limit): {baseline_rate:.1f}/s"
        f" = {baseline_rate / rate:.2f} of the limit; fan-out/baseline"
        f" = {achieved / baseline_rate:.2f}"
    )
    print(f"429 answers honoured: {throttled}; marked sent in the database: {marked}")
    print(f"duplicates {duplicates}, misses {misses}")
    return duplicates == 0 and misses == 0 and marked == users


async def _baseline(channel: TelegramChannel, messages: int, settings: Settings) -> float:
    """Plain sends through the same channel, as many at once as the fan-out uses."""
    pending = list(range(BASELINE_CHAT, BASELINE_CHAT + messages))
    workers = fan_out_workers(settings.send_rate)

    async def work() -> None:
        while pending:
            await channel.send(Outbound(str(pending.pop()), "baseline"))

    started = time.perf_counter()
    await asyncio.gather(*(work() for _ in range(workers)))
    return messages / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=30.0, help="messages per second, overall")
    parser.add_argument("--quick", action="store_true", help="60 users at 1000/s")
    parser.add_argument(
        "--throttle", type=int, default=0, help="answer this many sends with 429, retry after 1 s"
    )
    args = parser.parse_args(argv)
    users, rate = (60, 1000.0) if args.quick else (args.users, args.rate)
    baseline = max(1, min(users // 4, 300))
    return 0 if asyncio.run(measure(users, rate, baseline, args.throttle)) else 1


if __name__ == "__main__":
    sys.exit(main())
