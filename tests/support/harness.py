"""What the Telegram and Zalo harnesses share: the real bot (`bot.app.build`) on the
test's SQLite file, one real channel of it talking to a loopback platform, and helpers
that inject what a user does there and wait (bounded) until the bot has handled it.

A harness subclass says how its channel is attached (`attach`) and how a user acts on
its platform; restarting, settling and collecting the replies are the same for both.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar

from bot.app import Bot, build, import_register, sample_register_path
from bot.clock import Clock
from bot.settings import Settings
from flows.model import FormRegistry

WAIT = 10.0
# The channel's counter moves after the bot's last request to the platform, so no request
# follows it to wake a waiter: look often rather than wait for the platform's next change.
SETTLE_POLL = 0.002


class Shown(Protocol):
    chat_id: Any

    @property
    def plain_text(self) -> str | None: ...


class Platform(Protocol):
    sent: Any

    def assert_no_violations(self) -> None: ...


class RunningChannel(Protocol):
    updates_handled: int

    async def stop(self) -> None: ...


PlatformT = TypeVar("PlatformT", bound=Platform)
ChannelT = TypeVar("ChannelT", bound=RunningChannel)
MessageT = TypeVar("MessageT")


@dataclass
class ChannelHarness(Generic[PlatformT, ChannelT, MessageT]):
    server: PlatformT
    settings: Settings
    clock: Clock
    bot: Bot
    channel: ChannelT
    # Forms the bot runs instead of the built-in ones (stand-ins), kept across restarts.
    forms: FormRegistry | None = None

    @classmethod
    @asynccontextmanager
    async def serving(
        cls, server: PlatformT, settings: Settings, clock: Clock, **options: Any
    ) -> AsyncIterator[Self]:
        """The bot, with the sample register and this harness's channel on `server`, for
        the block; then the test fails if the bot made a request the platform refuses."""
        forms = options.pop("forms", None)
        bot = await build(settings, clock, forms)
        try:
            await import_register(bot.database, sample_register_path(), clock())
            channel = await cls.attach(server, bot, **options)
        except BaseException:
            await bot.close()
            raise
        harness = cls(server, settings, clock, bot, channel, forms, **options)
        try:
            yield harness
        finally:
            await harness.shutdown()
        server.assert_no_violations()

    @classmethod
    async def attach(cls, server: PlatformT, bot: Bot, **options: Any) -> ChannelT:
        """A started channel of `bot` on `server`, registered as the bot's sender."""
        raise NotImplementedError

    def attach_options(self) -> dict[str, Any]:
        """What `attach` is given again when the bot restarts."""
        return {}

    async def shutdown(self) -> None:
        await self.channel.stop()
        await self.bot.close()

    async def restart(self) -> None:
        """Stop the bot as a process would stop, then start a new one on the same file."""
        await self.shutdown()
        self.bot = await build(self.settings, self.clock, self.forms)
        self.channel = await self.attach(self.server, self.bot, **self.attach_options())

    async def settle(self, handled_before: int, count: int = 1) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while self.channel.updates_handled < handled_before + count:
            if loop.time() > deadline:
                raise TimeoutError(f"timed out after {WAIT}s waiting for {count} update(s)")
            await asyncio.sleep(SETTLE_POLL)

    def replies_since(self, chat_id: object, index: int) -> list[MessageT]:
        """What the bot sent to `chat_id` from `server.sent[index]` on."""
        return [message for message in self.server.sent[index:] if message.chat_id == chat_id]

    async def deliver(self, chat_id: object, inject: Callable[[], object]) -> list[MessageT]:
        """Run `inject` (a user's doing on the platform); return what the bot sent back."""
        index, handled = len(self.server.sent), self.channel.updates_handled
        inject()
        await self.settle(handled)
        return self.replies_since(chat_id, index)


def texts(messages: list[Any]) -> str:
    """Everything the user would read, joined, for simple assertions."""
    return "\n".join(message.plain_text or "" for message in messages)
