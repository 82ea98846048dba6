"""How much the Zalo transport costs on top of the turns themselves.

    python bench/zalo_throughput.py [--users 20]

Every user links with an invitation and fills the facility profile form to the end
(eight messages each). The baseline hands the same messages straight to the dispatcher;
the Zalo run sends them through the loopback Zalo server, fetched one update per
getUpdates call, answered with sendMessage. Both run in this process on fresh SQLite
files, in waves (every user's next message at once). Prints messages per second and the
ratio Zalo / baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import Bot, build, import_register, sample_register_path  # noqa: E402
from bot.clock import system_clock  # noqa: E402
from bot.invitations import issue  # noqa: E402
from bot.messages import Inbound  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.support.zalo_harness import ZaloHarness  # noqa: E402
from tests.support.zalo_server import ZaloApiServer  # noqa: E402

ANSWERS = ["Hoàng Thị Mai", "-", "0912 345 678", "bún tươi", "4", "-", "1"]
FACILITIES = [f"DEMO{n:02d}" for n in range(1, 41)]


async def fresh_bot(folder: Path, name: str) -> Bot:
    settings = Settings(_env_file=None, db_path=folder / f"{name}.db")  # type: ignore[call-arg]
    bot = await build(settings)
    await import_register(bot.database, sample_register_path(), system_clock())
    return bot


async def invitations(bot: Bot, users: int) -> list[str]:
    codes = []
    async with bot.database.transaction() as store:
        for index in range(users):
            facility = await store.facilities.by_code(FACILITIES[index % len(FACILITIES)])
            assert facility is not None
            code, _expires = await issue(store, facility.id, system_clock(), 30)
            codes.append(code)
    return codes


async def in_waves(users: int, codes: list[str], say: Callable[[int, str], Awaitable[None]]) -> int:
    """Every user's next message at once, wave after wave; the number of messages."""
    waves = [codes, *([answer] * users for answer in ANSWERS)]
    for wave in waves:
        await asyncio.gather(*(say(user, text) for user, text in enumerate(wave)))
    return users * len(waves)


async def baseline(folder: Path, users: int) -> tuple[int, float]:
    bot = await fresh_bot(folder, "baseline")
    codes = await invitations(bot, users)
    counter = iter(range(10**9))

    async def say(user: int, text: str) -> None:
        chat = f"b{user}"
        await bot.dispatcher.handle(
            Inbound("zalo", chat, chat, "text", text=text, dedup_key=f"b:{next(counter)}")
        )

    started = time.perf_counter()
    count = await in_waves(users, codes, say)
    elapsed = time.perf_counter() - started
    await bot.close()
    return count, elapsed


async def over_zalo(folder: Path, users: int) -> tuple[int, float]:
    bot = await fresh_bot(folder, "zalo")
    codes = await invitations(bot, users)
    async with ZaloApiServer() as server:
        channel = await ZaloHarness.attach(server, bot)

        async def say(user: int, text: str) -> None:
            chat = f"z{user}"
            before = len(server.messages_to(chat))
            server.send_text(chat, text)
            await server.wait_until(
                lambda: len(server.messages_to(chat)) > before, 60, what="a reply"
            )

        started = time.perf_counter()
        count = await in_waves(users, codes, say)
        await server.wait_until(lambda: server.pending == 0, 60, what="the queue to empty")
        elapsed = time.perf_counter() - started
        await channel.stop()
        server.assert_no_violations()
    await bot.close()
    return count, elapsed


async def main(users: int) -> None:
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        base_count, base_time = await baseline(Path(folder), users)
        zalo_count, zalo_time = await over_zalo(Path(folder), users)
    base_rate, zalo_rate = base_count / base_time, zalo_count / zalo_time
    print(f"users: {users}, messages per run: {base_count}")
    print(f"baseline (dispatcher only): {base_rate:8.1f} messages/s")
    print(f"through Zalo (loopback):    {zalo_rate:8.1f} messages/s")
    print(f"ratio Zalo / baseline:      {zalo_rate / base_rate:8.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    asyncio.run(main(parser.parse_args().users))
