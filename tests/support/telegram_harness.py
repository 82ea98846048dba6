"""The real bot (python-telegram-bot `Application`) polling the loopback Bot API server.

    async with TelegramHarness.started(settings, clock) as telegram:
        replies = await telegram.say(1001, "/start")
        await telegram.press(1001, replies[-1], "Tiếng Việt")
        await telegram.restart()

Every helper waits for the bot to finish handling the update it injected (bounded), and
the harness fails the test if the bot made any request Telegram would refuse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.app import Bot
from bot.channels.telegram import TelegramChannel
from bot.clock import Clock
from bot.settings import Settings
from flows.model import FormRegistry
from tests.support.botapi_server import BotApiServer, SentMessage
from tests.support.harness import ChannelHarness, texts

__all__ = ["TelegramHarness", "texts"]


class TelegramHarness(ChannelHarness[BotApiServer, TelegramChannel, SentMessage]):
    @classmethod
    @asynccontextmanager
    async def started(
        cls, settings: Settings, clock: Clock, *, forms: FormRegistry | None = None
    ) -> AsyncIterator[TelegramHarness]:
        async with (
            BotApiServer(bot_username="sxsh_test_bot") as server,
            cls.serving(server, settings, clock, forms=forms) as harness,
        ):
            yield harness

    @classmethod
    async def attach(cls, server: BotApiServer, bot: Bot, **options: Any) -> TelegramChannel:
        channel = TelegramChannel(
            bot.dispatcher, server.token, server.base_url, poll_timeout=1, send_rate=1000
        )
        await channel.start()
        bot.senders["telegram"] = channel
        return channel

    async def say(self, user_id: int, text: str) -> list[SentMessage]:
        """Send a text as the user; return what the bot sent back to that chat."""
        return await self.deliver(user_id, lambda: self.server.send_text(user_id, text))

    async def press(self, user_id: int, message: SentMessage, label: str) -> list[SentMessage]:
        """Tap the button labelled `label` (exact, else substring) on a bot message."""
        return await self.press_data(user_id, message.message_id, message.callback_data(label))

    async def press_data(
        self, user_id: int, message_id: int, data: str, *, forged: bool = False
    ) -> list[SentMessage]:
        """Press a button by its data; `forged` sends data the message never offered."""
        return await self.deliver(
            user_id,
            lambda: self.server.press_button(user_id, message_id, data, strict=not forged),
        )

    async def deliver_again(self, user_id: int, update_id: int) -> list[SentMessage]:
        """Telegram delivers an update a second time (same update_id)."""
        return await self.deliver(user_id, lambda: self.server.repeat_update(update_id))
