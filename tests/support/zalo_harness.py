"""The real Zalo channel polling (or receiving webhooks from) the loopback Zalo server.

    async with ZaloHarness.started(settings, clock) as zalo:
        replies = await zalo.say("u1001", "/start")
        await zalo.restart()

Every helper waits for the bot to finish handling what it injected (bounded), and the
harness fails the test if the bot made a request Zalo would refuse.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.app import Bot
from bot.channels.zalo import Backoff, WebhookAddress, ZaloChannel
from bot.channels.zalo_api import ZaloBotApi
from bot.clock import Clock
from bot.settings import Settings
from flows.model import FormRegistry
from tests.support.harness import ChannelHarness, texts
from tests.support.zalo_server import ZaloApiServer, ZaloSent

__all__ = ["QUICK", "SECRET", "ZaloHarness", "texts"]

# Retries in tests: the same shape as in production, in tenths of a second.
QUICK = Backoff(first=0.05, most=0.2, attempts=4)
SECRET = "webhook-secret-for-tests"


@dataclass
class ZaloHarness(ChannelHarness[ZaloApiServer, ZaloChannel, ZaloSent]):
    webhook: WebhookAddress | None = None
    webhook_url: str | None = None

    @classmethod
    @asynccontextmanager
    async def started(
        cls,
        settings: Settings,
        clock: Clock,
        *,
        webhook: WebhookAddress | None = None,
        webhook_url: str | None = None,
        forms: FormRegistry | None = None,
    ) -> AsyncIterator[ZaloHarness]:
        async with (
            ZaloApiServer() as server,
            cls.serving(
                server, settings, clock, forms=forms, webhook=webhook, webhook_url=webhook_url
            ) as harness,
        ):
            yield harness

    @classmethod
    async def attach(cls, server: ZaloApiServer, bot: Bot, **options: Any) -> ZaloChannel:
        webhook: WebhookAddress | None = options.get("webhook")
        channel = ZaloChannel(
            bot.dispatcher,
            ZaloBotApi(server.token, server.base_url, timeout=1.0),
            poll_timeout=1,
            webhook=webhook,
            webhook_secret=SECRET if webhook else None,
            webhook_url=options.get("webhook_url"),
            backoff=QUICK,
            send_rate=1000,
            stop_grace=0.05,
        )
        await channel.start()
        bot.senders["zalo"] = channel
        return channel

    def attach_options(self) -> dict[str, Any]:
        # The webhook is registered with Zalo once; a restarted bot only listens again.
        return {"webhook": self.webhook}

    async def say(self, user_id: str, text: str) -> list[ZaloSent]:
        """Send a text as the user; return what the bot sent back to that chat."""
        return await self.deliver(user_id, lambda: self.server.send_text(user_id, text))

    async def deliver_again(self, user_id: str, message_id: str) -> list[ZaloSent]:
        """Zalo delivers a message a second time (same message_id)."""
        return await self.deliver(user_id, lambda: self.server.repeat(message_id))
