"""Telegram through python-telegram-bot: thin handlers over the dispatcher.

One handler takes every update, turns it into an `Inbound`, lets the dispatcher commit
the turn, then sends the replies. Updates are processed concurrently, but one chat's
updates keep their order (a lock per chat). Sending goes through python-telegram-bot's
rate limiter, which also honours `RetryAfter`; network errors are retried a few times;
a chat that blocked the bot is marked unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.dispatcher import Dispatcher
from bot.i18n import LANGUAGES, tr
from bot.messages import Inbound, Outbound, split_text

log = logging.getLogger(__name__)

# Durations as timedelta, the behaviour python-telegram-bot will make the default; opting in
# keeps its rate limiter from warning on every RetryAfter.
os.environ.setdefault("PTB_TIMEDELTA", "true")

TELEGRAM = "telegram"
TEXT_LIMIT = 4096
SEND_ATTEMPTS = 4
T = TypeVar("T")


def inbound_from_update(update: Update) -> Inbound | None:
    """The dispatcher's view of an update; None for updates that are not from a user."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return None
    common: dict[str, Any] = {
        "channel": TELEGRAM,
        "user_id": str(user.id),
        "chat_id": str(chat.id),
        "display_name": user.full_name,
        "dedup_key": f"{TELEGRAM}:update:{update.update_id}",
    }
    query = update.callback_query
    if query is not None:
        message_id = query.message.message_id if query.message else None
        return Inbound(
            kind="callback", callback_data=query.data or "", message_id=message_id, **common
        )
    message = update.effective_message
    if message is not None and message.text is not None:
        return Inbound(kind="text", text=message.text, **common)
    if message is not None:
        return Inbound(kind="other", **common)
    return None


def keyboard(outbound: Outbound) -> InlineKeyboardMarkup | None:
    if not outbound.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(button.label, callback_data=button.data) for button in row]
            for row in outbound.buttons
        ]
    )


class TelegramChannel:
    name = TELEGRAM

    def __init__(
        self,
        dispatcher: Dispatcher,
        token: str,
        base_url: str,
        *,
        poll_timeout: int = 30,
        send_rate: float = 25.0,
    ) -> None:
        self.dispatcher = dispatcher
        self.poll_timeout = poll_timeout
        self._chat_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        # Updates fully handled (replies sent); read by monitoring and by the tests.
        self.updates_handled = 0
        self.application: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder()
            .token(token)
            .base_url(base_url)
            .rate_limiter(AIORateLimiter(overall_max_rate=send_rate, max_retries=3))
            .concurrent_updates(64)
            .build()
        )
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)

    @property
    def bot_username(self) -> str | None:
        return self.application.bot.username if self.application.bot else None

    async def start(self) -> None:
        await self.application.initialize()
        await self.register_commands()
        await self.application.start()
        assert self.application.updater is not None
        await self.application.updater.start_polling(
            poll_interval=0, timeout=self.poll_timeout, drop_pending_updates=False
        )
        log.info("Telegram bot @%s is polling", self.bot_username)

    async def stop(self) -> None:
        updater = self.application.updater
        if updater is not None and updater.running:
            await updater.stop()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    async def register_commands(self) -> None:
        """The /help list, in Vietnamese by default and in English for English clients."""
        listed = self.dispatcher.listed_commands({"everyone", "linked"})
        for lang in LANGUAGES:
            commands = [
                BotCommand(command.name, tr(lang, command.description)[:256]) for command in listed
            ]
            await self.application.bot.set_my_commands(
                commands, scope=BotCommandScopeDefault(), language_code=lang
            )
        default = [
            BotCommand(command.name, tr("vi", command.description)[:256]) for command in listed
        ]
        await self.application.bot.set_my_commands(default, scope=BotCommandScopeDefault())
        for provider in self.dispatcher.menu_providers:
            for chat_id, language, audience in await provider(TELEGRAM):
                own = [
                    BotCommand(command.name, tr(language, command.description)[:256])
                    for command in self.dispatcher.listed_commands(audience)
                ]
                try:
                    await self.application.bot.set_my_commands(
                        own, scope=BotCommandScopeChat(int(chat_id))
                    )
                except TelegramError as error:
                    log.warning("no command menu for chat %s: %s", chat_id, error)

    async def _on_update(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        inbound = inbound_from_update(update)
        try:
            if inbound is None:
                return
            async with self._chat_locks[inbound.chat_id]:
                replies = await self.dispatcher.handle(inbound)
                if update.callback_query is not None:
                    await self._answer_callback(update)
                for reply in replies:
                    await self.send(reply)
        finally:
            self.updates_handled += 1

    async def _answer_callback(self, update: Update) -> None:
        query = update.callback_query
        assert query is not None
        try:
            await self._retrying(query.answer)
        except BadRequest as error:
            # A redelivered update's query was answered the first time.
            log.info("callback query not answered: %s", error)

    async def send(self, outbound: Outbound) -> bool:
        """Deliver one reply; False if the chat cannot be reached."""
        bot = self.application.bot
        try:
            if outbound.edit_message_id is not None:
                await self._edit(outbound)
                return True
            if outbound.attachment is not None:
                attachment = outbound.attachment
                sender = bot.send_document if attachment.kind == "document" else bot.send_photo
                caption = outbound.text[:1024] or None
                await self._retrying(
                    lambda: sender(
                        outbound.chat_id,
                        attachment.content,
                        caption=caption,
                        filename=attachment.filename,
                        reply_markup=keyboard(outbound),
                    )
                )
                return True
            pieces = split_text(outbound.text, TEXT_LIMIT)
            for index, piece in enumerate(pieces):
                markup = keyboard(outbound) if index == len(pieces) - 1 else None
                await self._retrying(
                    lambda piece=piece, markup=markup: bot.send_message(  # type: ignore[misc]
                        outbound.chat_id, piece, reply_markup=markup
                    )
                )
            return True
        except Forbidden:
            log.info("chat %s blocked the bot; marking it unreachable", outbound.chat_id)
            await self.dispatcher.mark_unreachable(TELEGRAM, outbound.chat_id)
            return False
        except BadRequest as error:
            log.warning("Telegram refused a message to %s: %s", outbound.chat_id, error)
            if "chat not found" in str(error).lower():
                await self.dispatcher.mark_unreachable(TELEGRAM, outbound.chat_id)
            return False

    async def _edit(self, outbound: Outbound) -> None:
        assert outbound.edit_message_id is not None
        try:
            await self._retrying(
                lambda: self.application.bot.edit_message_reply_markup(
                    chat_id=outbound.chat_id,
                    message_id=outbound.edit_message_id,
                    reply_markup=keyboard(outbound),
                )
            )
        except BadRequest as error:
            if "not modified" not in str(error).lower():
                raise

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """Retry network failures with a growing pause; other errors go to the caller.

        `RetryAfter` is handled by python-telegram-bot's rate limiter, which waits as long
        as Telegram asks and tries again; it only reaches this loop once that gave up.
        """
        delay = 0.5
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await call()
            except RetryAfter:
                raise
            except (TimedOut, NetworkError) as error:
                if isinstance(error, BadRequest | Forbidden) or attempt == SEND_ATTEMPTS:
                    raise
                log.warning("network error talking to Telegram (%s), retrying", error)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling an update", exc_info=context.error)
