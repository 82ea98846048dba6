"""The channel-agnostic core: one inbound event in, the replies out.

Each event is one database transaction: the delivery's dedup key, the user's session,
and any answers commit together before a reply leaves. Features plug in as modules
(`install(dispatcher)`) that register commands, button prefixes and form hooks, so a
new form or module does not touch this file.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import Clock, system_clock
from bot.i18n import N_, normalize_language, tr
from bot.messages import Button, Inbound, Outbound
from bot.settings import Settings
from bot.storage.db import Database
from bot.storage.facilities import Facility
from bot.storage.sessions import Session
from bot.storage.store import Store
from bot.storage.users import ChatUser
from flows.model import FormRegistry
from flows.types import match_choice

log = logging.getLogger(__name__)

CommandHandler = Callable[["Turn", str], Awaitable[None]]
Deliverer = Callable[[Outbound], Awaitable[bool]]
CallbackHandler = Callable[["Turn", str], Awaitable[None]]
TextHandler = Callable[["Turn", str], Awaitable[bool]]
AudienceProvider = Callable[["Turn"], Awaitable[set[str]]]
# Chats of one channel that get a command menu of their own: (chat id, language, audience).
MenuProvider = Callable[[str], Awaitable[list[tuple[str, str, set[str]]]]]


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # an English msgid
    handler: CommandHandler
    needs_link: bool = False
    listed: bool = True
    # Who sees it in /help: "everyone", "linked", "staff" or "admin".
    audience: str = "everyone"


@dataclass
class Turn:
    """One event being handled: its transaction, its user and the replies so far."""

    dispatcher: Dispatcher
    store: Store
    user: ChatUser
    inbound: Inbound
    now: datetime
    session: Session
    replies: list[Outbound] = field(default_factory=list)
    _facility: Facility | None = None
    # Values several modules read in one turn (e.g. the facility profile), read once.
    memo: dict[str, object] = field(default_factory=dict)

    @property
    def lang(self) -> str:
        return normalize_language(self.user.language)

    @property
    def settings(self) -> Settings:
        return self.dispatcher.settings

    def t(self, msgid: str, /, **params: object) -> str:
        return tr(self.lang, msgid, **params)

    def reply(
        self, text: str, buttons: list[list[Button]] | None = None, *, menu: bool = False
    ) -> Outbound:
        outbound = Outbound(
            chat_id=self.user.chat_id, text=text, buttons=buttons or [], is_menu=menu
        )
        self.replies.append(outbound)
        return outbound

    async def facility(self) -> Facility | None:
        if self._facility is None and self.user.facility_id is not None:
            self._facility = await self.store.facilities.by_id(self.user.facility_id)
        return self._facility

    async def refresh_user(self) -> None:
        refreshed = await self.store.users.by_id(self.user.id)
        if refreshed is not None:
            self.user = refreshed
            self._facility = None
            self.memo.clear()


class Dispatcher:
    def __init__(
        self,
        database: Database,
        forms: FormRegistry,
        settings: Settings,
        clock: Clock = system_clock,
    ) -> None:
        self.database = database
        self.forms = forms
        self.settings = settings
        self.clock = clock
        self.commands: dict[str, Command] = {}
        self.callbacks: dict[str, CallbackHandler] = {}
        # Tried in order for free text outside a form; the first to return True wins.
        self.text_handlers: list[TextHandler] = []
        # Called for text inside an open form (the form runner installs it).
        self.form_text: TextHandler | None = None
        self.fallback_text: CommandHandler | None = None
        # Extra audiences a user belongs to ("staff", "admin"), asked when /help is built.
        self.audience_providers: list[AudienceProvider] = []
        # Menus for some chats (staff see their commands in Telegram's menu), asked at start.
        self.menu_providers: list[MenuProvider] = []
        # Sends a message to a chat other than the turn's (e.g. telling a colleague that
        # their answer was replaced); the app wires it to the running channels.
        self.deliver_elsewhere: Deliverer | None = None

    # -- registration

    def command(
        self,
        name: str,
        description: str,
        *,
        needs_link: bool = False,
        listed: bool = True,
        audience: str = "everyone",
    ) -> Callable[[CommandHandler], CommandHandler]:
        def register(handler: CommandHandler) -> CommandHandler:
            if name in self.commands:
                raise ValueError(f"command /{name} is registered twice")
            self.commands[name] = Command(name, description, handler, needs_link, listed, audience)
            return handler

        return register

    def callback(self, prefix: str) -> Callable[[CallbackHandler], CallbackHandler]:
        """Register a button prefix; data looks like "<prefix>:<rest>" (≤ 64 bytes)."""

        def register(handler: CallbackHandler) -> CallbackHandler:
            if prefix in self.callbacks:
                raise ValueError(f"button prefix {prefix!r} is registered twice")
            self.callbacks[prefix] = handler
            return handler

        return register

    def listed_commands(self, audience: set[str]) -> list[Command]:
        return [
            command
            for command in self.commands.values()
            if command.listed and command.audience in audience
        ]

    async def audience(self, turn: Turn) -> set[str]:
        """Whose commands this user sees in /help."""
        audience = base_audience(turn)
        for provider in self.audience_providers:
            audience |= await provider(turn)
        return audience

    # -- handling

    async def handle(self, inbound: Inbound) -> list[Outbound]:
        now = self.clock()
        try:
            async with self.database.transaction() as store:
                if inbound.dedup_key and not await store.updates.claim(inbound.dedup_key, now):
                    log.info("repeated delivery %s ignored", inbound.dedup_key)
                    return []
                user = await store.users.get_or_create(
                    inbound.channel, inbound.user_id, inbound.chat_id, inbound.display_name, now
                )
                session = await store.sessions.get(user.id)
                turn = Turn(self, store, user, inbound, now, session)
                await self._route(turn)
                self._remember_menu(turn)
                await store.sessions.save(turn.session, now)
            return await self._deliver_others(inbound, turn.replies)
        except Exception:
            # The transaction rolled back: nothing half-done is stored, and the same
            # delivery can be tried again.
            log.exception("failed to handle %s from %s", inbound.kind, inbound.channel)
            async with self.database.transaction() as store:
                user = await store.users.get_or_create(
                    inbound.channel, inbound.user_id, inbound.chat_id, inbound.display_name, now
                )
            message = tr(
                user.language,
                N_(
                    "Sorry, something went wrong on our side. Your earlier answers are safe; "
                    "please try again in a moment."
                ),
            )
            return [Outbound(chat_id=inbound.chat_id, text=message)]

    async def _deliver_others(self, inbound: Inbound, replies: list[Outbound]) -> list[Outbound]:
        """Send, after the commit, what is meant for other chats; return the turn's own."""
        own: list[Outbound] = []
        for reply in replies:
            if reply.chat_id == inbound.chat_id and reply.channel in (None, inbound.channel):
                own.append(reply)
                continue
            try:
                delivered = self.deliver_elsewhere is not None and await self.deliver_elsewhere(
                    reply
                )
            except Exception:
                # The turn is committed; a failed side message must not undo its replies.
                log.exception("a message for %s:%s failed", reply.channel, reply.chat_id)
                delivered = False
            if not delivered:
                log.warning("a message for %s:%s was not delivered", reply.channel, reply.chat_id)
        return own

    async def _route(self, turn: Turn) -> None:
        inbound = turn.inbound
        if inbound.kind == "callback" and inbound.callback_data:
            await self._route_callback(turn, inbound.callback_data)
            return
        if inbound.kind != "text" or inbound.text is None:
            turn.reply(
                turn.t(
                    "Please answer in text; I can't read photos, stickers, voice "
                    "messages or locations here."
                )
            )
            return
        text = inbound.text.strip()
        if text.startswith("/"):
            await self._route_command(turn, text)
            return
        # A menu shown after the form's question (e.g. /lang) is the latest thing the user
        # saw, so a typed "2" picks from it rather than answering the question.
        if await self._menu_choice(turn, text):
            return
        if turn.session.form_id and self.form_text is not None and await self.form_text(turn, text):
            return
        for handler in self.text_handlers:
            if await handler(turn, text):
                return
        if self.fallback_text is not None:
            await self.fallback_text(turn, text)
        else:
            turn.reply(turn.t("I didn't understand that. Send /help to see what I can do."))

    async def _route_command(self, turn: Turn, text: str) -> None:
        head, _, argument = text[1:].partition(" ")
        await self.run_command(turn, head.split("@", 1)[0].lower(), argument.strip())

    async def run_command(self, turn: Turn, name: str, argument: str = "") -> None:
        """Run a command as if typed; buttons use this through the "cmd:" prefix."""
        command = self.commands.get(name)
        if command is None:
            turn.reply(
                turn.t("I don't know the command /{name}. Send /help to see the list.", name=name)
            )
            return
        if command.needs_link and turn.user.facility_id is None:
            turn.reply(not_linked_message(turn))
            return
        await command.handler(turn, argument)

    async def _route_callback(self, turn: Turn, data: str) -> None:
        prefix, _, rest = data.partition(":")
        if prefix == "cmd":
            # "cmd:report" or "cmd:report:2025": a button standing for a typed command.
            name, _, argument = rest.partition(":")
            await self.run_command(turn, name, argument)
            return
        handler = self.callbacks.get(prefix)
        if handler is None:
            turn.reply(stale_message(turn))
            return
        await handler(turn, rest)

    async def _menu_choice(self, turn: Turn, text: str) -> bool:
        """A typed number or label standing for a button of the last menu."""
        menu = turn.session.menu
        if not menu:
            return False
        index = match_choice(text, [[label] for label, _data in menu])
        if index is None:
            return False
        turn.session.menu = None
        await self._route_callback(turn, menu[index][1])
        return True

    def _remember_menu(self, turn: Turn) -> None:
        """Typed numbers stand for the last menu only while it is the latest message."""
        if turn.replies:
            turn.session.menu = latest_menu(turn.replies)

    async def mark_unreachable(self, channel: str, chat_id: str) -> None:
        """The channel says this chat blocked the bot: stop trying until they write."""
        async with self.database.transaction() as store:
            await store.users.set_reachable(channel, chat_id, False)


def latest_menu(shown: list[Outbound]) -> list[list[str]] | None:
    """What a typed number or label stands for once `shown` was sent: the numbered
    buttons of the last message with buttons, if that message is a menu."""
    with_buttons = [message for message in shown if message.buttons]
    last = with_buttons[-1] if with_buttons else None
    if last is None or not last.is_menu:
        return None
    return [[button.label, button.data] for button in last.numbered_buttons()]


def base_audience(turn: Turn) -> set[str]:
    return {"everyone", "linked"} if turn.user.facility_id is not None else {"everyone"}


def not_linked_message(turn: Turn) -> str:
    return turn.t(
        "Your chat is not linked to a facility yet. Type the invitation code the "
        "Department of Industry and Trade gave you (for example ABCD-EFGH-JKMNP)."
    )


def stale_message(turn: Turn) -> str:
    return turn.t("That button is no longer valid. Please answer the latest message.")
