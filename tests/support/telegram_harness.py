"""The real bot (python-telegram-bot `Application`) polling the loopback Bot API server.

    async with TelegramHarness.started(settings, clock) as telegram:
        replies = await telegram.say(1001, "/start")
        await telegram.press(1001, replies[-1], "Tiếng Việt")
        await telegram.restart()

Every helper waits for the bot to finish handling the update it injected (bounded), and
the harness fails the test if the bot made any request Telegram would refuse.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.app import Bot, build, import_register, sample_register_path
from bot.channels.telegram import TelegramChannel
from bot.clock import Clock
from bot.settings import Settings
from tests.support.botapi_server import BotApiServer, SentMessage

WAIT = 10.0
SETTLE_POLL = 0.002


@dataclass
class TelegramHarness:
    server: BotApiServer
    settings: Settings
    clock: Clock
    bot: Bot
    channel: TelegramChannel

    @classmethod
    @asynccontextmanager
    async def started(
        cls, settings: Settings, clock: Clock, *, with_register: bool = True
    ) -> AsyncIterator[TelegramHarness]:
        async with BotApiServer(bot_username="sxsh_test_bot") as server:
            bot, channel = await cls._launch(server, settings, clock)
            if with_register:
                await import_register(bot.database, sample_register_path(), clock())
            harness = cls(server, settings, clock, bot, channel)
            try:
                yield harness
            finally:
                await harness.shutdown()
            server.assert_no_violations()

    @staticmethod
    async def _launch(
        server: BotApiServer, settings: Settings, clock: Clock
    ) -> tuple[Bot, TelegramChannel]:
        bot = await build(settings, clock)
        channel = TelegramChannel(
            bot.dispatcher, server.token, server.base_url, poll_timeout=1, send_rate=1000
        )
        await channel.start()
        bot.senders["telegram"] = channel
        return bot, channel

    async def shutdown(self) -> None:
        await self.channel.stop()
        await self.bot.close()

    async def restart(self) -> None:
        """Stop the bot as a process would stop, then start a new one on the same file."""
        await self.shutdown()
        self.bot, self.channel = await self._launch(self.server, self.settings, self.clock)

    async def settle(self, handled_before: int, count: int = 1) -> None:
        # The counter moves after the bot's last request to the server, so no server event
        # follows it: look often rather than wait for the server's next change.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while self.channel.updates_handled < handled_before + count:
            if loop.time() > deadline:
                raise TimeoutError(f"timed out after {WAIT}s waiting for {count} update(s)")
            await asyncio.sleep(SETTLE_POLL)

    def _replies_since(self, chat_id: int, index: int) -> list[SentMessage]:
        return [m for m in self.server.sent[index:] if m.chat_id == chat_id]

    async def say(self, user_id: int, text: str) -> list[SentMessage]:
        """Send a text as the user; return what the bot sent back to that chat."""
        index, handled = len(self.server.sent), self.channel.updates_handled
        self.server.send_text(user_id, text)
        await self.settle(handled)
        return self._replies_since(user_id, index)

    async def press(self, user_id: int, message: SentMessage, label: str) -> list[SentMessage]:
        """Tap the button labelled `label` (exact, else substring) on a bot message."""
        return await self.press_data(user_id, message.message_id, message.callback_data(label))

    async def press_data(
        self, user_id: int, message_id: int, data: str, *, forged: bool = False
    ) -> list[SentMessage]:
        """Press a button by its data; `forged` sends data the message never offered."""
        index, handled = len(self.server.sent), self.channel.updates_handled
        self.server.press_button(user_id, message_id, data, strict=not forged)
        await self.settle(handled)
        return self._replies_since(user_id, index)

    async def deliver_again(self, user_id: int, update_id: int) -> list[SentMessage]:
        """Telegram delivers an update a second time (same update_id)."""
        index, handled = len(self.server.sent), self.channel.updates_handled
        self.server.repeat_update(update_id)
        await self.settle(handled)
        return self._replies_since(user_id, index)


def texts(messages: list[SentMessage]) -> str:
    """Everything the user would read, joined, for simple assertions."""
    return "\n".join(m.plain_text or "" for m in messages)
