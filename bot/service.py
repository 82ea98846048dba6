"""The channels `sxsh-bot run` serves: every one that has a token, in one process.

Telegram and Zalo share the bot's dispatcher and database; each running channel is also
`bot.senders[name]`, for messages the bot starts itself (reminders). A channel that
fails at run time recovers on its own; only a refused configuration at start stops the
whole service, with a one-line reason.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from bot.app import Bot
from bot.channels.zalo import Backoff, WebhookAddress, ZaloChannel, ZaloSetupError
from bot.channels.zalo_api import ZaloBotApi
from bot.i18n import N_, tr
from bot.messages import Outbound
from bot.settings import Settings

log = logging.getLogger(__name__)


class Channel(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, outbound: Outbound) -> bool: ...


class SetupError(Exception):
    """Why the service cannot start, to be shown in the operator's language."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(tr("en", msgid, **params))
        self.msgid = msgid
        self.params = params

    def text(self, lang: str) -> str:
        return tr(lang, self.msgid, **self.params)


def check(settings: Settings, zalo_webhook: WebhookAddress | None = None) -> None:
    """SetupError unless the settings name at least one channel that can run."""
    if settings.telegram_token is None and settings.zalo_token is None:
        raise SetupError(
            N_(
                "set SXSH_TELEGRAM_TOKEN (from @BotFather) or SXSH_ZALO_TOKEN (from Zalo Bot "
                "Creator), or both, to run the bot; try `sxsh-bot chat --demo` without one"
            )
        )
    if zalo_webhook is not None and settings.zalo_token is None:
        raise SetupError(N_("--zalo-webhook needs SXSH_ZALO_TOKEN as well"))
    if zalo_webhook is not None and settings.zalo_webhook_secret is None:
        raise SetupError(
            N_(
                "--zalo-webhook needs SXSH_ZALO_WEBHOOK_SECRET (8 to 256 characters, the "
                "secret_token Zalo sends back with every call)"
            )
        )


def channels(
    bot: Bot, *, zalo_webhook: WebhookAddress | None = None, zalo_backoff: Backoff | None = None
) -> list[Channel]:
    """The channels the settings ask for, not started yet; SetupError if none can run."""
    settings = bot.settings
    check(settings, zalo_webhook)
    found: list[Channel] = []
    if settings.telegram_token is not None:
        from bot.channels.telegram import TelegramChannel

        found.append(
            TelegramChannel(
                bot.dispatcher,
                settings.telegram_token.get_secret_value(),
                settings.telegram_base_url,
                poll_timeout=settings.telegram_poll_timeout,
                send_rate=settings.send_rate,
            )
        )
    if settings.zalo_token is not None:
        secret = settings.zalo_webhook_secret
        found.append(
            ZaloChannel(
                bot.dispatcher,
                ZaloBotApi(settings.zalo_token.get_secret_value(), settings.zalo_base_url),
                poll_timeout=settings.zalo_poll_timeout,
                webhook=zalo_webhook,
                webhook_secret=secret.get_secret_value() if secret else None,
                webhook_url=settings.zalo_webhook_url,
                backoff=zalo_backoff,
                send_rate=settings.send_rate,
            )
        )
    return found


@asynccontextmanager
async def running(bot: Bot, chosen: list[Channel]) -> AsyncIterator[list[Channel]]:
    """Start the channels in order, serve inside the block, stop them in reverse order."""
    started: list[Channel] = []
    try:
        for channel in chosen:
            try:
                await channel.start()
            except BaseException as error:
                await _stop_quietly(channel)
                refusal = _refusal(error)
                if refusal is None:
                    raise
                raise refusal from error
            started.append(channel)
            bot.senders[channel.name] = channel
        yield started
    finally:
        for channel in reversed(started):
            bot.senders.pop(channel.name, None)
            await _stop_quietly(channel)


def _refusal(error: BaseException) -> SetupError | None:
    if isinstance(error, ZaloSetupError):
        return SetupError(N_("Zalo refused the bot's settings ({error})"), error=str(error))
    from telegram.error import InvalidToken

    if isinstance(error, InvalidToken):
        return SetupError(N_("Telegram refused SXSH_TELEGRAM_TOKEN ({error})"), error=str(error))
    return None


async def _stop_quietly(channel: Channel) -> None:
    try:
        await channel.stop()
    except Exception:
        log.exception("the %s channel did not stop cleanly", channel.name)
