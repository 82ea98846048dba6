"""The real Zalo channel polling (or receiving webhooks from) the loopback Zalo server.

    async with ZaloHarness.started(settings, clock) as zalo:
        replies = await zalo.say("u1001", "/start")
        await zalo.restart()

Every helper waits for the bot to finish handling what it injected (bounded), and the
harness fails the test if the bot made a request Zalo would refuse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from bot.app import Bot, build, import_register, sample_register_path
from bot.channels.zalo import Backoff, WebhookAddress, ZaloChannel
from bot.channels.zalo_api import ZaloBotApi
from bot.clock import Clock
from bot.settings import Settings
from tests.support.zalo_server import ZaloApiServer, ZaloSent

WAIT = 10.0
# Retries in tests: the same shape as in production, in tenths of a second.
QUICK = Backoff(first=0.05, most=0.2, attempts=4)
SECRET = "webhook-secret-for-tests"


@dataclass
class ZaloHarness:
    server: ZaloApiServer
    settings: Settings
    clock: Clock
    bot: Bot
    channel: ZaloChannel
    webhook: WebhookAddress | None = None

    @classmethod
    @asynccontextmanager
    async def started(
        cls,
        settings: Settings,
        clock: Clock,
        *,
        webhook: WebhookAddress | None = None,
        webhook_url: str | None = None,
    ) -> AsyncIterator[ZaloHarness]:
        async with ZaloApiServer() as server:
            bot = await build(settings, clock)
            await import_register(bot.database, sample_register_path(), clock())
            channel = await cls.launch(server, bot, webhook, webhook_url)
            harness = cls(server, settings, clock, bot, channel, webhook)
            try:
                yield harness
            finally:
                await harness.shutdown()
            server.assert_no_violations()

    @staticmethod
    def channel_for(
        server: ZaloApiServer,
        bot: Bot,
        webhook: WebhookAddress | None = None,
        webhook_url: str | None = None,
    ) -> ZaloChannel:
        return ZaloChannel(
            bot.dispatcher,
            ZaloBotApi(server.token, server.base_url, timeout=1.0),
            poll_timeout=1,
            webhook=webhook,
            webhook_secret=SECRET if webhook else None,
            webhook_url=webhook_url,
            backoff=QUICK,
            send_rate=1000,
            stop_grace=0.05,
        )

    @classmethod
    async def launch(
        cls,
        server: ZaloApiServer,
        bot: Bot,
        webhook: WebhookAddress | None = None,
        webhook_url: str | None = None,
    ) -> ZaloChannel:
        channel = cls.channel_for(server, bot, webhook, webhook_url)
        await channel.start()
        bot.senders["zalo"] = channel
        return channel

    async def shutdown(self) -> None:
        await self.channel.stop()
        await self.bot.close()

    async def restart(self) -> None:
        """Stop the bot as a process would stop, then start a new one on the same file."""
        await self.shutdown()
        self.bot = await build(self.settings, self.clock)
        self.channel = await self.launch(self.server, self.bot, self.webhook)

    async def settle(self, handled_before: int, count: int = 1) -> None:
        await self.server.wait_until(
            lambda: self.channel.updates_handled >= handled_before + count,
            WAIT,
            what=f"the bot to handle {count} Zalo message(s)",
        )

    async def deliver(self, chat_id: str, inject: Callable[[], object]) -> list[ZaloSent]:
        """Run `inject` (a user's doing on the server); return what the bot sent back."""
        index, handled = len(self.server.sent), self.channel.updates_handled
        inject()
        await self.settle(handled)
        return self.server.messages_to(chat_id)[len(self._before(chat_id, index)) :]

    def _before(self, chat_id: str, index: int) -> list[ZaloSent]:
        return [message for message in self.server.sent[:index] if message.chat_id == chat_id]

    async def say(self, user_id: str, text: str) -> list[ZaloSent]:
        """Send a text as the user; return what the bot sent back to that chat."""
        return await self.deliver(user_id, lambda: self.server.send_text(user_id, text))

    async def deliver_again(self, user_id: str, message_id: str) -> list[ZaloSent]:
        """Zalo delivers a message a second time (same message_id)."""
        return await self.deliver(user_id, lambda: self.server.repeat(message_id))


def texts(messages: list[ZaloSent]) -> str:
    """Everything the user would read, joined, for simple assertions."""
    return "\n".join(message.text or "" for message in messages)
