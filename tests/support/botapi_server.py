"""A fake Telegram Bot API server for end-to-end tests.

It runs inside the test process on the test's event loop, on ``127.0.0.1`` and an
OS-chosen port, served by the bot's own HTTP/1.1 server (``bot.httpserver``: keep-alive,
``Content-Length`` and chunked request bodies) through :mod:`tests.support.loopback`, which
it shares with the Zalo server.  Every request is validated
against the Bot API description in ``tests/fixtures/telegram-bot-api/api.json`` (see
:mod:`tests.support.botapi_schema`) and refused the way Telegram would refuse it; every
refusal is recorded in :attr:`BotApiServer.violations`.

Example (an echo bot; a real test would install the sxsh-bot handlers instead)::

    from telegram.ext import ApplicationBuilder, MessageHandler, filters

    async def echo(update, context):
        await update.effective_message.reply_text(update.effective_message.text)

    async def test_echo() -> None:
        async with BotApiServer() as server:
            app = (
                ApplicationBuilder()
                .token(server.token)
                .base_url(server.base_url)
                .base_file_url(server.base_file_url)  # only needed to download user files
                .build()
            )
            app.add_handler(MessageHandler(filters.TEXT, echo))
            async with app:
                await app.start()
                await app.updater.start_polling(poll_interval=0, timeout=1)
                try:
                    server.send_text(1001, "Xin chào")
                    [reply] = await server.wait_for_messages(1001, 1, timeout=3)
                    assert reply.text == "Xin chào"
                    # buttons: server.press_button(1001, reply.message_id,
                    #                              reply.callback_data("Tiếng Việt"))
                    await server.wait_idle()
                finally:
                    await app.updater.stop()
                    await app.stop()
            server.assert_no_violations()

What the server knows and refuses is described on :class:`BotApiServer`.  Injected
failures (:meth:`BotApiServer.fail_next`, :meth:`BotApiServer.block_user`) are what the
test asked for, so they go to :attr:`BotApiServer.injected_failures`, not to the
violations.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import itertools
import json
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from bot.httpserver import HttpRequest, HttpResponse

from .botapi_schema import (
    ApiError,
    BotApiSchema,
    MethodSpec,
    UploadedFile,
    bad_request,
    check_method_limits,
    normalize_parse_mode,
    render_text,
    utf16_len,
)
from .loopback import InjectedFailure, LoopbackPlatform, Violation

__all__ = ["BotApiServer", "InjectedFailure", "SentMessage", "UploadedFile", "Violation"]

LONG_POLL_CAP = 2.0
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
_SENDING_PREFIXES = ("send", "copy", "forward", "edit", "stop")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
_QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
# Bots may upload documents of up to 50 MB; a multipart body is a little larger.
_MAX_BODY_BYTES = 51 * 1024 * 1024


@dataclass
class SentMessage:
    """One message the bot sent, or one edit of it (``method`` tells which).

    ``text``/``caption`` are exactly what the bot sent (with markup when ``parse_mode`` is
    set); ``plain_text`` is what the user sees (text or caption, markup stripped).  For
    ``editMessageReplyMarkup`` the text fields carry the message's current text.
    """

    index: int  # position in BotApiServer.sent
    method: str
    chat_id: int
    message_id: int
    text: str | None = None
    caption: str | None = None
    parse_mode: str | None = None
    plain_text: str | None = None
    reply_markup: dict[str, Any] | None = None
    document: UploadedFile | None = None
    photo: UploadedFile | None = None
    file_id: str | None = None  # media sent by file_id or URL instead of an upload
    params: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_edit(self) -> bool:
        return self.method.startswith("edit")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """The inline keyboard buttons, row by row, flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [button for row in rows for button in row]

    @property
    def button_texts(self) -> list[str]:
        return [button["text"] for button in self.buttons]

    @property
    def keyboard_texts(self) -> list[str]:
        """Texts of a reply keyboard (ReplyKeyboardMarkup), flattened."""
        rows = (self.reply_markup or {}).get("keyboard") or []
        return [button["text"] for row in rows for button in row]

    def callback_data(self, label: str) -> str:
        """``callback_data`` of the button whose text is ``label`` (else contains it)."""
        for exact in (True, False):
            for button in self.buttons:
                if (button["text"] == label if exact else label in button["text"]) and (
                    "callback_data" in button
                ):
                    return str(button["callback_data"])
        raise KeyError(f"no callback button {label!r} in {self.button_texts}")


@dataclass
class _StoredMessage:
    chat_id: int
    message_id: int
    from_bot: bool
    payload: dict[str, Any]  # the Message object as Telegram would return it
    raw_text: str | None = None  # text or caption as sent, with markup
    parse_mode: str | None = None
    entities: Any = None
    reply_markup: dict[str, Any] | None = None  # inline keyboard only
    deleted: bool = False

    def content_key(self) -> tuple[Any, ...]:
        plain = self.payload.get("text", self.payload.get("caption"))
        formatting = self.raw_text if self.raw_text != plain else None
        return plain, formatting, json.dumps(self.entities, sort_keys=True)


@dataclass
class _Fault:
    method: str  # lower case
    status: int
    description: str
    retry_after: int | None
    remaining: int
    chat_id: int | None


class BotApiServer(LoopbackPlatform[SentMessage]):
    """Fake Bot API: validates like Telegram, records what the bot does, injects users.

    Refusals (also appended to :attr:`violations`):

    * wrong token -> 401 ``Unauthorized``; unknown method -> 404 ``Not Found`` (method names
      match case-insensitively);
    * anything :meth:`BotApiSchema.validate_request` and ``check_method_limits`` refuse:
      unknown or missing parameters, wrong types, nested objects, text/caption/button/
      command limits, malformed HTML/MarkdownV2;
    * ``chat_id`` (top level or in a ``BotCommandScope``) of a chat the server never saw
      -> ``chat not found``; ``reply_parameters`` naming a missing message -> ``message to
      be replied not found`` (unless ``allow_sending_without_reply``);
    * editing a message the bot did not send there -> ``message to edit not found``; the
      same content and markup -> ``message is not modified...``; deleting a missing
      message -> ``message to delete not found``;
    * ``answerCallbackQuery`` for an unknown or answered query id -> ``query is too old...``;
    * ``getUpdates`` while a webhook is set -> 409 ``Conflict``; unknown ``file_id`` ->
      ``wrong file identifier/HTTP URL specified``.

    Methods without a dedicated handler answer after validation with a stub: ``True`` for
    Boolean results, a minimal Message (recorded in :attr:`sent`) for ``send*``/``copy*``
    methods returning one, ``{"message_id"}`` for MessageId; other object results are
    ``True`` as well, which python-telegram-bot may fail to parse.
    """

    platform = "Telegram"

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "sxsh_test_bot",
        schema_path: Path | None = None,
        *,
        bot_first_name: str = "SXSH Test Bot",
        long_poll_cap: float = LONG_POLL_CAP,
    ) -> None:
        super().__init__(max_body=_MAX_BODY_BYTES)
        self.token = token
        self.schema = BotApiSchema.load(schema_path)
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_user: dict[str, Any] = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.long_poll_cap = long_poll_cap

        # observations (and `sent`, `calls`, `violations`, `injected_failures`)
        self.my_commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.deleted: list[tuple[int, int]] = []
        self.webhook_url: str = ""

        # world state
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, dict[str, Any]] = {}
        self._messages: dict[tuple[int, int], _StoredMessage] = {}
        self._next_message_id: dict[int, int] = {}
        self._callback_queries: dict[str, bool] = {}  # id -> answered
        self._files: dict[str, UploadedFile] = {}  # file_id -> content
        self._faults: list[_Fault] = []

        # updates
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._history: dict[int, dict[str, Any]] = {}
        self._pending: list[dict[str, Any]] = []  # not yet confirmed by offset
        self._redeliver: list[dict[str, Any]] = []
        self._delivered: set[int] = set()
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES

        # waiting
        self._last_activity = 0.0
        self._call_cursors: dict[str, int] = {}
        self._stopping = False

        self._handlers: dict[str, Callable[[MethodSpec, dict[str, Any]], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendDocument": self._send_media,
            "sendPhoto": self._send_media,
            "editMessageText": self._edit_message,
            "editMessageCaption": self._edit_message,
            "editMessageReplyMarkup": self._edit_message,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "getFile": self._get_file,
            "getChat": self._get_chat,
        }

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        await super().start()

    async def stop(self) -> None:
        """Answer the long polls, then close the listener and every connection."""
        self._stopping = True
        await super().stop()

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)``/``ApplicationBuilder().base_url(...)`` (PTB adds the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``: where getFile paths download."""
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- world set-up -----------------------------------------------------------------------

    def register_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> dict[str, Any]:
        """Create or update a user and their private chat (``chat_id == user_id``).

        A new user defaults to first name "Test" and language "vi"; pass
        ``language_code=""`` for a user without one.
        """
        user = self.users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": "vi"}
        )
        for key, value in (
            ("first_name", first_name),
            ("last_name", last_name),
            ("username", username),
            ("language_code", language_code),
        ):
            if value == "" and key != "first_name":
                user.pop(key, None)
            elif value is not None:
                user[key] = value
        chat = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat[key] = user[key]
        self.chats[user_id] = chat
        return user

    def register_chat(
        self,
        chat_id: int,
        *,
        type: str = "private",  # Telegram's name for it
        first_name: str = "Test",
        title: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Make a chat known (as if it had written to the bot) without an update."""
        if type == "private":
            self.register_user(chat_id, first_name=first_name, username=username)
            return self.chats[chat_id]
        chat: dict[str, Any] = {"id": chat_id, "type": type, "title": title or f"Chat {chat_id}"}
        if username:
            chat["username"] = username
        self.chats[chat_id] = chat
        return chat

    def block_user(self, chat_id: int) -> None:
        """From now on every send/edit to ``chat_id`` gets 403 "bot was blocked by the user"."""
        if chat_id not in self.chats:
            self.register_chat(chat_id)
        super().block_user(chat_id)

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next ``times`` valid calls of ``method`` (to ``chat_id`` if given) with
        an error instead of performing them.

        ``description`` defaults to Telegram's wording for the status ("Too Many Requests:
        retry after N", "Forbidden: bot was blocked by the user", "Internal Server Error",
        "Bad Gateway", ...); ``retry_after`` adds ``{"parameters": {"retry_after": N}}``.
        """
        if self.schema.method(method) is None:
            raise ValueError(f"unknown Bot API method {method!r}")
        if description is None:
            description = _default_description(status, retry_after)
        self._faults.append(
            _Fault(
                method=method.lower(),
                status=status,
                description=description,
                retry_after=retry_after,
                remaining=times,
                chat_id=chat_id,
            )
        )

    # -- injecting user activity ------------------------------------------------------------

    def inject_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (its ``update_id`` is assigned here); returns the update_id."""
        update = {key: value for key, value in update.items() if key != "update_id"}
        update_id = next(self._update_ids)
        full = {"update_id": update_id, **update}
        self._history[update_id] = full
        self._pending.append(full)
        self._notify()
        return update_id

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str | None = None,
        language_code: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """The user writes ``text`` in their private chat; returns the update_id.

        A leading ``/command`` (up to the first whitespace, ``@username`` included) gets a
        ``bot_command`` entity, as Telegram's clients send it.
        """
        message = self._user_message(user_id, first_name, language_code)
        message["text"] = text
        if text.startswith("/") and len(text) > 1:
            command = re.split(r"\s", text, maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        if reply_to_message_id is not None:
            replied = self._messages.get((user_id, reply_to_message_id))
            if replied is None:
                raise ValueError(f"no message {reply_to_message_id} in chat {user_id}")
            message["reply_to_message"] = copy.deepcopy(replied.payload)
        return self._inject_message(message)

    def send_photo(self, user_id: int, *, caption: str | None = None, content: bytes = b"") -> int:
        message = self._user_message(user_id)
        file_id = self._store_file(
            UploadedFile("photo", "photo.jpg", content or b"\xff\xd8fake-jpeg", "image/jpeg")
        )
        message["photo"] = self._photo_sizes(file_id)
        if caption is not None:
            message["caption"] = caption
        return self._inject_message(message)

    def send_document(
        self,
        user_id: int,
        filename: str = "document.pdf",
        content: bytes = b"%PDF-1.4 fake",
        *,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> int:
        """The user uploads a file; the bot can fetch it with getFile + download."""
        message = self._user_message(user_id)
        file_id = self._store_file(UploadedFile("document", filename, content, mime_type))
        message["document"] = {
            "file_id": file_id,
            "file_unique_id": _unique_id(file_id),
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        if caption is not None:
            message["caption"] = caption
        return self._inject_message(message)

    def send_sticker(self, user_id: int, emoji: str = "👍") -> int:
        message = self._user_message(user_id)
        file_id = f"sticker-{next(self._file_ids)}"
        message["sticker"] = {
            "file_id": file_id,
            "file_unique_id": _unique_id(file_id),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._inject_message(message)

    def send_voice(self, user_id: int, duration: int = 3) -> int:
        message = self._user_message(user_id)
        file_id = self._store_file(UploadedFile("voice", "voice.ogg", b"OggS fake", "audio/ogg"))
        message["voice"] = {
            "file_id": file_id,
            "file_unique_id": _unique_id(file_id),
            "duration": duration,
            "mime_type": "audio/ogg",
        }
        return self._inject_message(message)

    def send_location(
        self, user_id: int, latitude: float = 21.8537, longitude: float = 106.7615
    ) -> int:
        message = self._user_message(user_id)
        message["location"] = {"latitude": latitude, "longitude": longitude}
        return self._inject_message(message)

    def press_button(
        self, user_id: int, message_id: int, callback_data: str, *, strict: bool = True
    ) -> str:
        """The user presses an inline button of bot message ``message_id`` in their chat.

        Returns the callback query id.  With ``strict`` (the default) the message must
        currently show a button with this ``callback_data``, as only such a press is
        possible in a real client; ``strict=False`` forges the press.
        """
        stored = self._messages.get((user_id, message_id))
        if stored is None or stored.deleted or not stored.from_bot:
            raise ValueError(f"bot message {message_id} not found in chat {user_id}")
        if strict:
            rows = (stored.reply_markup or {}).get("inline_keyboard") or []
            datas = [b.get("callback_data") for row in rows for b in row]
            if callback_data not in datas:
                raise ValueError(
                    f"message {message_id} in chat {user_id} has no button with callback_data "
                    f"{callback_data!r} (it has {datas}); pass strict=False to forge the press"
                )
        user = self.users.get(user_id) or self.register_user(user_id)
        query_id = str(4_000_000_000_000_000 + next(self._callback_ids))
        self._callback_queries[query_id] = False
        self.inject_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": dict(user),
                    "message": copy.deepcopy(stored.payload),
                    "chat_instance": str(7_000_000_000 + user_id),
                    "data": callback_data,
                }
            }
        )
        return query_id

    def repeat_update(self, update_id: int) -> None:
        """Deliver an earlier update once more with the same update_id (as Telegram does when
        it did not get the confirmation), even if the bot already confirmed it."""
        if update_id not in self._history:
            raise KeyError(f"no update {update_id} was ever injected")
        self._redeliver.append(self._history[update_id])
        self._notify()

    def _user_message(
        self, user_id: int, first_name: str | None = None, language_code: str | None = None
    ) -> dict[str, Any]:
        user = self.register_user(user_id, first_name=first_name, language_code=language_code)
        return {
            "message_id": self._new_message_id(user_id),
            "from": dict(user),
            "chat": dict(self.chats[user_id]),
            "date": int(time.time()),
        }

    def _inject_message(self, message: dict[str, Any]) -> int:
        chat_id = message["chat"]["id"]
        self._messages[(chat_id, message["message_id"])] = _StoredMessage(
            chat_id=chat_id,
            message_id=message["message_id"],
            from_bot=False,
            payload=message,
            raw_text=message.get("text", message.get("caption")),
        )
        return self.inject_update({"message": message})

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _photo_sizes(self, file_id: str) -> list[dict[str, Any]]:
        """Three PhotoSizes of one stored photo; every size downloads the same bytes."""
        sizes = _photo_sizes(file_id, len(self._files[file_id].content))
        for size in sizes:
            self._files.setdefault(size["file_id"], self._files[file_id])
        return sizes

    def _store_file(self, upload: UploadedFile) -> str:
        file_id = f"file-{next(self._file_ids)}-{hashlib.sha1(upload.content).hexdigest()[:12]}"
        self._files[file_id] = upload
        return file_id

    # -- observing --------------------------------------------------------------------------

    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """The current state of a message (as Telegram would return it)."""
        stored = self._messages.get((chat_id, message_id))
        if stored is None or stored.deleted:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        return copy.deepcopy(stored.payload)

    def update(self, update_id: int) -> dict[str, Any]:
        """An injected update as delivered, e.g. ``server.update(uid)["message"]["message_id"]``."""
        if update_id not in self._history:
            raise KeyError(f"no update {update_id} was ever injected")
        return copy.deepcopy(self._history[update_id])

    async def wait_for_call(
        self, method: str, timeout: float = 5.0, *, since: int | None = None
    ) -> dict[str, Any]:
        """Wait for the next successful call of ``method`` (per-method cursor into
        :attr:`calls`, or ``since``) and return its parameters."""
        key = method.lower()
        start = self._call_cursors.get(key, 0) if since is None else since

        def pick() -> tuple[int, dict[str, Any]] | None:
            for index in range(start, len(self.calls)):
                name, params = self.calls[index]
                if name.lower() == key:
                    return index, params
            return None

        index, params = await self.wait_until(pick, timeout, what=f"a {method} call")
        self._call_cursors[key] = index + 1
        return params

    async def wait_idle(self, timeout: float = 5.0, *, quiet: float = 0.2) -> None:
        """Wait until every queued update was fetched by the bot and no request other than
        getUpdates arrived for ``quiet`` seconds; ``TimeoutError`` after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            now = loop.time()
            undelivered = self._undelivered()
            idle_for = now - self._last_activity
            if not undelivered and idle_for >= quiet:
                return
            if now >= deadline:
                raise TimeoutError(
                    f"bot not idle after {timeout}s: {len(undelivered)} update(s) not fetched, "
                    f"last request {idle_for:.2f}s ago" + self._context()
                )
            step = quiet - idle_for if not undelivered else 0.25
            await self._wait_changed(max(0.01, min(step, deadline - now)))

    def _undelivered(self) -> list[int]:
        return [
            u["update_id"]
            for u in self._pending
            if u["update_id"] not in self._delivered and _update_type(u) in self._allowed_updates
        ] + [u["update_id"] for u in self._redeliver]

    def _context(self) -> str:
        parts = []
        if self.violations:
            parts.append(
                "violations: "
                + "; ".join(f"{v.method}: {v.description}" for v in self.violations[-5:])
            )
        if self.sent:
            parts.append(
                "last sent: "
                + "; ".join(
                    f"[{m.index}] {m.method} to {m.chat_id}: {(m.plain_text or '')[:60]!r}"
                    for m in self.sent[-5:]
                )
            )
        recent = [name for name, _ in self.calls[-10:] if name != "getUpdates"]
        parts.append(f"recent calls: {recent}")
        return " (" + " | ".join(parts) + ")"

    # -- HTTP -------------------------------------------------------------------------------

    async def _respond(self, request: HttpRequest) -> HttpResponse:
        try:
            return await self._answer(request)
        except Exception as exc:  # a bug in this fake server: make it loud
            error = ApiError(f"Internal Server Error: fake server crashed: {exc!r}", 500)
            self._violation("<http>", error, {})
            return _error_response(error)

    async def _answer(self, request: HttpRequest) -> HttpResponse:
        path = urllib.parse.unquote(request.path)
        file_match = re.fullmatch(r"/file/bot([^/]+)/(.+)", path)
        if file_match:
            return self._serve_file(file_match.group(1), file_match.group(2))
        match = re.fullmatch(r"/bot([^/]*)/([^/]*)", path)
        if match is None:
            return _error_response(ApiError("Not Found", 404))
        token, method_name = match.groups()
        try:
            raw, files = _parse_body(request)
        except ApiError as exc:
            self._violation(method_name, exc, {})
            return _error_response(exc)
        if token != self.token:
            refusal = ApiError("Unauthorized", 401)
            self._violation(method_name, refusal, raw)
            return _error_response(refusal)
        spec = self.schema.method(method_name)
        if spec is None:
            refusal = ApiError("Not Found", 404)
            self.calls.append((method_name, dict(raw)))
            self._violation(method_name, refusal, raw)
            return _error_response(refusal)
        try:
            params = self.schema.validate_request(spec, raw, files)
            check_method_limits(spec.name, params)
        except ApiError as exc:
            self.calls.append((spec.name, dict(raw, **files)))
            self._violation(spec.name, exc, dict(raw, **files))
            return _error_response(exc)
        self.calls.append((spec.name, params))
        if spec.name != "getUpdates":
            self._last_activity = asyncio.get_running_loop().time()
        try:
            fault = self._take_fault(spec.name, params)
            if fault is not None:
                self.injected_failures.append(InjectedFailure(spec.name, fault.description, params))
                return _error_response(fault)
            # A long poll whose client leaves is cancelled by the HTTP server before it
            # hands anything out, so no update is lost with the connection.
            result = await self._handlers.get(spec.name, self._generic)(spec, params)
        except ApiError as exc:
            self._violation(spec.name, exc, params)
            return _error_response(exc)
        finally:
            if spec.name != "getUpdates":
                self._last_activity = asyncio.get_running_loop().time()
            self._notify()
        return HttpResponse.json(200, {"ok": True, "result": result})

    def _serve_file(self, token: str, file_path: str) -> HttpResponse:
        if token != self.token:
            return _error_response(ApiError("Unauthorized", 401))
        file_id = file_path.rsplit("/", 1)[-1]
        upload = self._files.get(file_id)
        if upload is None:
            return _error_response(ApiError("Not Found", 404))
        return HttpResponse(200, upload.content, upload.content_type or "application/octet-stream")

    def _violation(self, method: str, exc: ApiError, params: dict[str, Any]) -> None:
        self.violations.append(Violation(method, exc.description, dict(params)))
        self._notify()

    def _take_fault(self, method: str, params: dict[str, Any]) -> ApiError | None:
        chat_id = params.get("chat_id")
        for fault in self._faults:
            if fault.method == method.lower() and fault.chat_id in (None, chat_id):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
                return ApiError(fault.description, fault.status, parameters)
        if (
            isinstance(chat_id, int)
            and chat_id in self._blocked
            and method.lower().startswith(_SENDING_PREFIXES)
        ):
            return ApiError("Forbidden: bot was blocked by the user", 403)
        return None

    # -- method handlers --------------------------------------------------------------------

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if isinstance(chat_id, str):
            for chat in self.chats.values():
                if chat.get("username") and f"@{chat['username']}" == chat_id:
                    return chat
            raise bad_request("chat not found")
        if chat_id not in self.chats:
            raise bad_request("chat not found")
        return self.chats[chat_id]

    def _check_chats(self, params: dict[str, Any]) -> dict[str, Any] | None:
        scope = params.get("scope")
        if isinstance(scope, dict) and "chat_id" in scope:
            self._chat(scope["chat_id"])
        if "chat_id" in params:
            return self._chat(params["chat_id"])
        return None

    def _check_reply(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if not reply:
            return None
        target_chat = reply.get("chat_id", chat_id)
        if target_chat != chat_id:
            self._chat(target_chat)
        stored = self._messages.get((target_chat, reply["message_id"]))
        if stored is None or stored.deleted:
            if reply.get("allow_sending_without_reply"):
                return None
            raise bad_request("message to be replied not found")
        return copy.deepcopy(stored.payload)

    async def _get_me(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        return dict(self.bot_user)

    async def _get_updates(self, spec: MethodSpec, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise ApiError(
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
                409,
            )
        if "allowed_updates" in params:
            self._allowed_updates = frozenset(params["allowed_updates"] or DEFAULT_UPDATE_TYPES)
        offset = params.get("offset", 0)
        limit = min(max(params.get("limit", 100), 1), 100)
        timeout = min(max(float(params.get("timeout", 0)), 0.0), self.long_poll_cap)
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            updates = self._deliverable(limit)
            remaining = deadline - loop.time()
            if updates or remaining <= 0 or self._stopping:
                break
            await self._wait_changed(remaining)
        self._mark_delivered(updates)
        return updates

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:
            self._pending = self._pending[offset:]

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        self._pending = [u for u in self._pending if _update_type(u) in self._allowed_updates]
        seen: set[int] = set()
        chosen: list[dict[str, Any]] = []
        for update in sorted(self._redeliver + self._pending, key=lambda u: u["update_id"]):
            if update["update_id"] not in seen:
                seen.add(update["update_id"])
                chosen.append(update)
        return copy.deepcopy(chosen[:limit])

    def _mark_delivered(self, updates: list[dict[str, Any]]) -> None:
        ids = {u["update_id"] for u in updates}
        self._delivered |= ids
        self._redeliver = [u for u in self._redeliver if u["update_id"] not in ids]
        if updates:
            self._last_activity = asyncio.get_running_loop().time()

    async def _set_webhook(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        self.webhook_url = params["url"]
        if params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    async def _delete_webhook(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._drop_pending()
        return True

    def _drop_pending(self) -> None:
        self._pending.clear()
        self._redeliver.clear()

    async def _get_webhook_info(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }

    def _bot_message(self, chat: dict[str, Any], **content: Any) -> dict[str, Any]:
        message = {
            "message_id": self._new_message_id(chat["id"]),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(time.time()),
        }
        message.update({k: v for k, v in content.items() if v is not None})
        return message

    def _record(
        self,
        method: str,
        stored: _StoredMessage,
        params: dict[str, Any],
        **extra: Any,
    ) -> SentMessage:
        payload = stored.payload
        is_caption = "caption" in payload or ("text" not in payload and "caption" in params)
        sent = SentMessage(
            index=len(self.sent),
            method=method,
            chat_id=stored.chat_id,
            message_id=stored.message_id,
            text=None if is_caption else stored.raw_text,
            caption=stored.raw_text if is_caption else None,
            parse_mode=stored.parse_mode,
            plain_text=payload.get("text", payload.get("caption")),
            reply_markup=params.get("reply_markup"),
            params=params,
            **extra,
        )
        self.sent.append(sent)
        return sent

    async def _send_message(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        chat = self._check_chats(params)
        assert chat is not None
        reply_to = self._check_reply(chat["id"], params)
        markup = params.get("reply_markup")
        inline = markup if markup and "inline_keyboard" in markup else None
        parse_mode = normalize_parse_mode(params.get("parse_mode"))
        entities = params.get("entities")
        plain = render_text(params["text"], None if entities else parse_mode)
        payload = self._bot_message(
            chat,
            text=plain,
            entities=entities,
            reply_to_message=reply_to,
            reply_markup=inline,
            link_preview_options=params.get("link_preview_options"),
        )
        stored = self._store_bot_message(payload, params["text"], parse_mode, entities, inline)
        self._record(spec.name, stored, params)
        return copy.deepcopy(payload)

    def _store_bot_message(
        self,
        payload: dict[str, Any],
        raw_text: str | None,
        parse_mode: str | None,
        entities: Any,
        inline: dict[str, Any] | None,
    ) -> _StoredMessage:
        stored = _StoredMessage(
            chat_id=payload["chat"]["id"],
            message_id=payload["message_id"],
            from_bot=True,
            payload=payload,
            raw_text=raw_text,
            parse_mode=parse_mode,
            entities=entities,
            reply_markup=inline,
        )
        self._messages[(stored.chat_id, stored.message_id)] = stored
        return stored

    def _media(
        self, kind: str, value: Any
    ) -> tuple[dict[str, Any] | list[Any], UploadedFile | None, str | None]:
        """Telegram's description of sent media plus (upload, file_id/URL)."""
        if isinstance(value, UploadedFile):
            upload = value
            file_id = self._store_file(upload)
            source: str | None = None
        elif isinstance(value, str) and re.match(r"(?i)https?://", value):
            upload, source = None, value
            file_id = self._store_file(UploadedFile(kind, value.rsplit("/", 1)[-1], b""))
        elif isinstance(value, str) and value in self._files:
            upload, source, file_id = None, value, value
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        stored = self._files[file_id]
        size = len(stored.content)
        if kind == "photo":
            return self._photo_sizes(file_id), upload, source
        info: dict[str, Any] = {"file_id": file_id, "file_unique_id": _unique_id(file_id)}
        if kind == "document":
            info["file_name"] = stored.filename or "document"
            info["mime_type"] = stored.content_type or "application/octet-stream"
            info["file_size"] = size
        return info, upload, source

    async def _send_media(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        chat = self._check_chats(params)
        assert chat is not None
        reply_to = self._check_reply(chat["id"], params)
        kind = "photo" if spec.name == "sendPhoto" else "document"
        media, upload, source = self._media(kind, params[kind])
        markup = params.get("reply_markup")
        inline = markup if markup and "inline_keyboard" in markup else None
        parse_mode = normalize_parse_mode(params.get("parse_mode"))
        entities = params.get("caption_entities")
        caption = params.get("caption")
        plain = render_text(caption, None if entities else parse_mode) if caption else None
        payload = self._bot_message(
            chat,
            caption=plain,
            caption_entities=entities,
            reply_to_message=reply_to,
            reply_markup=inline,
            **{kind: media},
        )
        stored = self._store_bot_message(payload, caption, parse_mode, entities, inline)
        self._record(spec.name, stored, params, **{kind: upload}, file_id=source)
        return copy.deepcopy(payload)

    async def _edit_message(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        if "inline_message_id" in params:
            raise bad_request("MESSAGE_ID_INVALID (the fake server has no inline messages)")
        if "chat_id" not in params:
            raise bad_request("chat_id is empty")
        if "message_id" not in params:
            raise bad_request("message identifier is not specified")
        chat = self._check_chats(params)
        assert chat is not None
        stored = self._messages.get((chat["id"], params["message_id"]))
        if stored is None or stored.deleted:
            raise bad_request("message to edit not found")
        if not stored.from_bot:
            raise bad_request("message can't be edited")
        markup = params.get("reply_markup")
        before = (stored.content_key(), stored.reply_markup)
        payload = copy.deepcopy(stored.payload)
        raw, parse_mode, entities = stored.raw_text, stored.parse_mode, stored.entities
        if spec.name == "editMessageText":
            if "text" not in stored.payload:
                raise bad_request("there is no text in the message to edit")
            raw = params["text"]
            parse_mode = normalize_parse_mode(params.get("parse_mode"))
            entities = params.get("entities")
            payload["text"] = render_text(raw, None if entities else parse_mode)
            _set_or_drop(payload, "entities", entities)
        elif spec.name == "editMessageCaption":
            if "text" in stored.payload:
                raise bad_request("there is no caption in the message to edit")
            raw = params.get("caption")
            parse_mode = normalize_parse_mode(params.get("parse_mode"))
            entities = params.get("caption_entities")
            _set_or_drop(
                payload,
                "caption",
                render_text(raw, None if entities else parse_mode) if raw else None,
            )
            _set_or_drop(payload, "caption_entities", entities)
        _set_or_drop(payload, "reply_markup", markup)
        candidate = _StoredMessage(
            chat_id=stored.chat_id,
            message_id=stored.message_id,
            from_bot=True,
            payload=payload,
            raw_text=raw,
            parse_mode=parse_mode,
            entities=entities,
            reply_markup=markup,
        )
        if (candidate.content_key(), candidate.reply_markup) == before:
            raise bad_request(_NOT_MODIFIED)
        payload["edit_date"] = int(time.time())
        self._messages[(stored.chat_id, stored.message_id)] = candidate
        self._record(spec.name, candidate, params)
        return copy.deepcopy(payload)

    async def _delete_message(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        chat = self._check_chats(params)
        assert chat is not None
        stored = self._messages.get((chat["id"], params["message_id"]))
        if stored is None or stored.deleted:
            raise bad_request("message to delete not found")
        stored.deleted = True
        self.deleted.append((chat["id"], params["message_id"]))
        return True

    async def _answer_callback_query(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        query_id = params["callback_query_id"]
        if self._callback_queries.get(query_id, True):
            raise bad_request(_QUERY_INVALID)
        self._callback_queries[query_id] = True
        self.callback_answers[query_id] = params
        return True

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        key = scope["type"]
        if "chat_id" in scope:
            key += f":{scope['chat_id']}"
        if "user_id" in scope:
            key += f":{scope['user_id']}"
        return key, params.get("language_code", "")

    async def _set_my_commands(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        self._check_chats(params)
        key = self._commands_key(params)
        if params["commands"]:
            self.my_commands[key] = params["commands"]
        else:
            self.my_commands.pop(key, None)
        return True

    async def _get_my_commands(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        self._check_chats(params)
        return self.my_commands.get(self._commands_key(params), [])

    async def _delete_my_commands(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        self._check_chats(params)
        self.my_commands.pop(self._commands_key(params), None)
        return True

    async def _set_chat_menu_button(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        self._check_chats(params)
        self.menu_buttons[params.get("chat_id")] = params.get("menu_button") or {"type": "default"}
        return True

    async def _get_chat_menu_button(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        self._check_chats(params)
        chat_id = params.get("chat_id")
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "default"}

    async def _get_file(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        file_id = params["file_id"]
        upload = self._files.get(file_id)
        if upload is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        return {
            "file_id": file_id,
            "file_unique_id": _unique_id(file_id),
            "file_size": len(upload.content),
            "file_path": f"{upload.field}s/{file_id}",
        }

    async def _get_chat(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        chat = self._check_chats(params)
        assert chat is not None
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                f.name: False
                for f in (self.schema.types["AcceptedGiftTypes"].fields or {}).values()
                if f.required
            },
        }

    async def _generic(self, spec: MethodSpec, params: dict[str, Any]) -> Any:
        chat = self._check_chats(params)
        returns = spec.returns[0] if spec.returns else "Boolean"
        creates = spec.name.startswith(("send", "copy", "forward"))
        if chat is not None and creates:
            self._check_reply(chat["id"], params)
        if chat is not None and creates and returns in ("Message", "Array of Message"):
            caption = params.get("caption")
            parse_mode = normalize_parse_mode(params.get("parse_mode"))
            plain = render_text(caption, parse_mode) if isinstance(caption, str) else None
            extra: dict[str, Any] = {}
            if "latitude" in params and "longitude" in params:
                extra["location"] = {
                    "latitude": params["latitude"],
                    "longitude": params["longitude"],
                }
            payload = self._bot_message(chat, caption=plain, **extra)
            stored = self._store_bot_message(payload, caption, parse_mode, None, None)
            self._record(spec.name, stored, params)
            return [payload] if returns.startswith("Array") else copy.deepcopy(payload)
        if chat is not None and creates and returns == "MessageId":
            return {"message_id": self._new_message_id(chat["id"])}
        if returns == "Integer":
            return 0
        if returns == "String":
            return ""
        if returns.startswith("Array of"):
            return []
        return True


def _update_type(update: dict[str, Any]) -> str:
    return next((key for key in update if key != "update_id"), "")


def _unique_id(file_id: str) -> str:
    return hashlib.sha1(file_id.encode()).hexdigest()[:16]


def _photo_sizes(file_id: str, size: int) -> list[dict[str, Any]]:
    return [
        {
            "file_id": f"{file_id}" if side == 1280 else f"{file_id}-{side}",
            "file_unique_id": _unique_id(f"{file_id}-{side}"),
            "width": side,
            "height": side * 3 // 4,
            "file_size": size if side == 1280 else max(1, size // (1280 // side)),
        }
        for side in (90, 320, 1280)
    ]


def _set_or_drop(payload: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        payload.pop(key, None)
    else:
        payload[key] = value


def _default_description(status: int, retry_after: int | None) -> str:
    if status == 429:
        return f"Too Many Requests: retry after {retry_after or 1}"
    if status == 403:
        return "Forbidden: bot was blocked by the user"
    if status == 400:
        return "Bad Request: injected failure"
    if status == 409:
        return "Conflict: terminated by other getUpdates request"
    return _phrase(status)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _error_response(exc: ApiError) -> HttpResponse:
    return HttpResponse.json(exc.error_code, exc.to_json())


def _parse_body(request: HttpRequest) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    params: dict[str, Any] = dict(urllib.parse.parse_qsl(request.query, keep_blank_values=True))
    files: dict[str, UploadedFile] = {}
    content_type = request.headers.get("content-type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    if not request.body:
        return params, files
    if mime == "application/json":
        try:
            decoded = json.loads(request.body)
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if not isinstance(decoded, dict):
            raise bad_request("JSON request body must be an object")
        params.update(decoded)
    elif mime == "application/x-www-form-urlencoded":
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise bad_request("request body is not valid UTF-8") from None
        params.update(urllib.parse.parse_qsl(text, keep_blank_values=True))
    elif mime == "multipart/form-data":
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        if match is None:
            raise bad_request("multipart body without boundary")
        for name, filename, part_type, content in _multipart_parts(
            request.body, match.group(1).encode("latin-1")
        ):
            if filename is None:
                params[name] = content.decode("utf-8")
            else:
                files[name] = UploadedFile(name, filename, content, part_type)
    else:
        raise bad_request(f"unsupported Content-Type {content_type!r}")
    return params, files


_DISPOSITION_PARAM_RE = re.compile(r';\s*([a-zA-Z*]+)="((?:[^"\\]|\\.)*)"')


def _multipart_parts(
    body: bytes, boundary: bytes
) -> list[tuple[str, str | None, str | None, bytes]]:
    delimiter = b"--" + boundary
    sections = body.split(delimiter)
    parts = []
    for section in sections[1:]:
        if section.startswith(b"--"):
            break
        section = section.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, _, content = section.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                key, value = line.split(":", 1)
                headers[key.strip().lower()] = value.strip()
        disposition = dict(_DISPOSITION_PARAM_RE.findall(headers.get("content-disposition", "")))
        if "name" not in disposition:
            raise bad_request("multipart part without a name")
        filename = disposition.get("filename")
        parts.append(
            (
                _html5_unescape(disposition["name"]),
                _html5_unescape(filename) if filename is not None else None,
                headers.get("content-type"),
                content,
            )
        )
    return parts


def _html5_unescape(value: str) -> str:
    """Undo httpx's HTML5 form encoding of names (``"`` -> %22, ``\\`` doubled, controls)."""
    value = re.sub(r"%(2[2]|[01][0-9A-Fa-f])", lambda m: chr(int(m.group(1), 16)), value)
    return value.replace("\\\\", "\\")
