"""A fake Zalo Bot API server for end-to-end tests.

It runs on the test's event loop, on 127.0.0.1 and a port the system picks (serving and
observing through `tests.support.loopback`, shared with the Telegram server), and behaves
as `tests/fixtures/zalo-bot-api.md` describes the platform: every method is a POST of a
JSON object to `/bot{TOKEN}/{method}`; answers are `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": N, "description": ...}`; `getUpdates` (timeout as a string)
hands out **one** update per call and answers `error_code` 408 when none came within
the timeout (capped so tests stay quick), and refuses to work while a webhook is set.

    async with ZaloApiServer() as zalo:
        channel = ZaloChannel(dispatcher, ZaloBotApi(zalo.token, zalo.base_url), poll_timeout=1)
        await channel.start()
        zalo.send_text("u1001", "Xin chào")
        [reply] = await zalo.wait_for_messages("u1001", 1)

Refused, and recorded in `violations` (a test fails on them with `assert_no_violations`):
a wrong token (401), an unknown method (404), anything but a POST of a JSON object,
parameters the method does not take or is missing, a non-string getUpdates timeout, a
text or caption that is empty or over 2,000 characters, a chat id no user ever wrote
from, a photo that is not a URL, an action other than "typing", a webhook URL that is not
https (http on 127.0.0.1 is allowed for tests) or a secret outside 8–256 characters.

Failures a test asks for (`fail_next`, `stall_next`, `block_user`) go to
`injected_failures` instead.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from bot.httpserver import HttpRequest, HttpResponse
from tests.support.loopback import InjectedFailure, LoopbackPlatform, Violation

TEXT_LIMIT = 2000
LONG_POLL_CAP = 1.0
BOT_INFO = {
    "id": "1459232241454765289",
    "account_name": "bot.SxshLangSon",
    "account_type": "BASIC",
    "can_join_groups": False,
}
# The parameters each method takes: name -> required.
METHODS: dict[str, dict[str, bool]] = {
    "getMe": {},
    "getUpdates": {"timeout": False},
    "setWebhook": {"url": True, "secret_token": True},
    "deleteWebhook": {},
    "getWebhookInfo": {},
    "sendMessage": {"chat_id": True, "text": True},
    "sendPhoto": {"chat_id": True, "photo": True, "caption": False},
    "sendChatAction": {"chat_id": True, "action": True},
}
_LOOPBACK_HTTP = ("http://127.0.0.1:", "http://localhost:")


@dataclass
class ZaloSent:
    """A message the bot sent, in the order the server accepted them."""

    index: int
    method: str
    chat_id: str
    message_id: str
    text: str | None = None
    photo: str | None = None

    @property
    def plain_text(self) -> str | None:
        """What the user reads, as `SentMessage.plain_text` (Zalo texts carry no markup)."""
        return self.text

    @property
    def is_edit(self) -> bool:
        """Zalo's Bot API cannot edit a message."""
        return False


@dataclass
class _Fault:
    method: str
    status: int
    error_code: int
    description: str
    times: int
    html: bool = False
    stall: float = 0.0
    retry_after: int | None = None
    # Only calls to this chat fail; None: any call of the method.
    chat_id: str | None = None


class _Refusal(Exception):
    def __init__(self, error_code: int, description: str, status: int = 200) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.status = status


class ZaloApiServer(LoopbackPlatform[ZaloSent]):
    platform = "Zalo"

    def __init__(
        self, token: str = "1234567890:ZALO-TEST-TOKEN", *, long_poll_cap: float = LONG_POLL_CAP
    ) -> None:
        super().__init__()
        self.token = token
        self.long_poll_cap = long_poll_cap
        self.webhook_url = ""
        self.webhook_secret = ""
        # user id -> display name; in a private chat the chat id is the user's id.
        self.users: dict[str, str] = {}
        self._pending: list[dict[str, Any]] = []
        self._history: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self._faults: list[_Fault] = []
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[Any]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
        }

    @property
    def base_url(self) -> str:
        """For `ZaloBotApi(token, base_url)` and SXSH_ZALO_BASE_URL (the token follows)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- the world

    def register_chat(self, user_id: str, display_name: str | None = None) -> None:
        """The user wrote to the bot before: Zalo can deliver to their chat."""
        self.users.setdefault(user_id, display_name or f"Người dùng {user_id}")

    def make_update(
        self,
        user_id: str,
        event: str = "message.text.received",
        *,
        display_name: str | None = None,
        **content: Any,
    ) -> dict[str, Any]:
        """A user's message as Zalo delivers it, remembered but not queued (webhook tests
        post it themselves)."""
        name = display_name or self.users.get(user_id) or f"Người dùng {user_id}"
        self.users[user_id] = name
        message_id = format(next(self._ids) * 7919, "020x")
        update = {
            "event_name": event,
            "message": {
                "message_id": message_id,
                "date": int(time.time() * 1000),
                "chat": {"id": user_id, "chat_type": "PRIVATE"},
                "from": {"id": user_id, "display_name": name, "is_bot": False},
                **content,
            },
        }
        self._history[message_id] = update
        return copy.deepcopy(update)

    def _queue(self, update: dict[str, Any]) -> str:
        self._pending.append(update)
        self._notify()
        return str(update["message"]["message_id"])

    def send_text(self, user_id: str, text: str, *, display_name: str | None = None) -> str:
        """The user writes to the bot; returns the message id."""
        return self._queue(self.make_update(user_id, display_name=display_name, text=text))

    def send_image(self, user_id: str, caption: str = "") -> str:
        return self._queue(
            self.make_update(
                user_id,
                "message.image.received",
                photo="https://photo.example/a.jpg",
                caption=caption,
            )
        )

    def send_sticker(self, user_id: str) -> str:
        return self._queue(
            self.make_update(
                user_id, "message.sticker.received", sticker="0e078a2fb66a5f34067b", url=""
            )
        )

    def send_unsupported(self, user_id: str) -> str:
        return self._queue(self.make_update(user_id, "message.unsupported.received"))

    def latest_from(self, user_id: str) -> str:
        """The id of the user's latest message (to deliver it again)."""
        return next(
            message_id
            for message_id, update in reversed(self._history.items())
            if update["message"]["from"]["id"] == user_id
        )

    def repeat(self, message_id: str) -> None:
        """Deliver an update a second time, as Zalo may."""
        self._queue(copy.deepcopy(self._history[message_id]))

    def fail_next(
        self,
        method: str,
        status: int = 500,
        *,
        times: int = 1,
        error_code: int | None = None,
        html: bool = False,
        retry_after: int | None = None,
        chat_id: str | None = None,
    ) -> None:
        """The next `times` calls of `method` (to `chat_id` if given) fail: HTTP `status`
        with an ok:false body (`error_code` defaults to the status; status 200 gives
        ok:false with HTTP 200), or a proxy's HTML error page with `html`."""
        code = error_code if error_code is not None else status
        try:
            description = HTTPStatus(code).phrase
        except ValueError:
            description = "Error"
        self._faults.append(
            _Fault(method, status, code, description, times, html, 0.0, retry_after, chat_id)
        )

    def clear_faults(self, method: str) -> None:
        """Forget the failures still waiting for `method`: the platform is back."""
        self._faults = [fault for fault in self._faults if fault.method != method]

    def stall_next(
        self, method: str, seconds: float, *, times: int = 1, chat_id: str | None = None
    ) -> None:
        """Hold the next answers to `method` (to `chat_id` if given) for `seconds` (longer
        than the bot waits): a call the bot gives up on is dropped unanswered."""
        self._faults.append(
            _Fault(method, 200, 0, "stalled", times, stall=seconds, chat_id=chat_id)
        )

    # -- observing

    @property
    def pending(self) -> int:
        return len(self._pending)

    # -- HTTP

    async def _respond(self, request: HttpRequest) -> HttpResponse:
        method = request.path.rsplit("/", 1)[-1]
        try:
            body = self._check(request, method)
            fault = self._take_fault(method, body)
            if fault is not None:
                return await self._fail(fault, body)
            result = await self._handlers[method](body)
        except _Refusal as refusal:
            return _error(refusal)
        finally:
            self._notify()
        return HttpResponse.json(200, {"ok": True, "result": result})

    def _check(self, request: HttpRequest, method: str) -> dict[str, Any]:
        """The JSON body of a well-formed call; refusals are recorded as violations."""
        prefix = f"/bot{self.token}/"
        try:
            if not request.path.startswith("/bot"):
                raise _Refusal(404, "Not Found", 404)
            if not request.path.startswith(prefix):
                raise _Refusal(401, "Unauthorized", 401)
            if method not in METHODS:
                raise _Refusal(404, f"method {method} not found", 404)
            if request.method != "POST":
                raise _Refusal(405, "Method Not Allowed", 405)
            if not request.headers.get("content-type", "").startswith("application/json"):
                raise _Refusal(400, "Bad Request: the body must be JSON")
            try:
                body = request.json()
            except ValueError:
                raise _Refusal(400, "Bad Request: the body is not valid JSON") from None
            if not isinstance(body, dict):
                raise _Refusal(400, "Bad Request: the body must be a JSON object")
            self.calls.append((method, body))
            self._check_parameters(method, body)
            return body
        except _Refusal as refusal:
            self.violations.append(Violation(method, refusal.description, {}))
            raise

    def _check_parameters(self, method: str, body: dict[str, Any]) -> None:
        allowed = METHODS[method]
        for name in body:
            if name not in allowed:
                raise _Refusal(400, f"Bad Request: {method} takes no parameter {name!r}")
        for name, required in allowed.items():
            if required and name not in body:
                raise _Refusal(400, f"Bad Request: {name} is required")
            if name in body and not isinstance(body[name], str):
                raise _Refusal(400, f"Bad Request: {name} must be a string")
        if "chat_id" in body and body["chat_id"] not in self.users:
            raise _Refusal(400, "Bad Request: chat not found")
        for name in ("text", "caption"):
            if name in body and not 1 <= len(body[name]) <= TEXT_LIMIT:
                raise _Refusal(400, f"Bad Request: {name} must have 1 to 2000 characters")
        if method == "getUpdates" and not body.get("timeout", "0").isdigit():
            raise _Refusal(400, "Bad Request: timeout must be a number of seconds")
        if method == "sendPhoto" and not body["photo"].startswith(("https://", "http://")):
            raise _Refusal(400, "Bad Request: photo must be a URL")
        if method == "sendChatAction" and body["action"] != "typing":
            raise _Refusal(400, "Bad Request: action must be typing")
        if method == "setWebhook":
            url = body["url"]
            if not url.startswith(("https://", *_LOOPBACK_HTTP)):
                raise _Refusal(400, "Bad Request: the webhook URL must be https")
            if not 8 <= len(body["secret_token"]) <= 256:
                raise _Refusal(400, "Bad Request: secret_token must have 8 to 256 characters")

    def _take_fault(self, method: str, body: dict[str, Any]) -> _Fault | None:
        chat_id = body.get("chat_id")
        for fault in self._faults:
            if fault.method == method and fault.chat_id in (None, chat_id):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        if method.startswith("send") and chat_id in self._blocked:
            return _Fault(method, 200, 403, "Forbidden: the user has blocked the bot", 1)
        return None

    async def _fail(self, fault: _Fault, body: dict[str, Any]) -> HttpResponse:
        self.injected_failures.append(InjectedFailure(fault.method, fault.description, body))
        if fault.stall:
            await asyncio.sleep(fault.stall)
            raise _Refusal(504, "Gateway Timeout", 504)
        if fault.html:
            page = f"<html><body><h1>{fault.status} {fault.description}</h1></body></html>"
            return HttpResponse(fault.status, page.encode(), "text/html")
        answer: dict[str, Any] = {
            "ok": False,
            "error_code": fault.error_code,
            "description": fault.description,
        }
        if fault.retry_after is not None:
            answer["parameters"] = {"retry_after": fault.retry_after}
        return HttpResponse.json(fault.status, answer)

    # -- methods

    async def _get_me(self, body: dict[str, Any]) -> Any:
        return dict(BOT_INFO)

    async def _get_updates(self, body: dict[str, Any]) -> Any:
        if self.webhook_url:
            refusal = _Refusal(400, "Bad Request: getUpdates does not work while a webhook is set")
            self.violations.append(Violation("getUpdates", refusal.description, body))
            raise refusal
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(float(body.get("timeout", "30")), self.long_poll_cap)
        while not self._pending:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise _Refusal(408, "Request timeout")
            await self._wait_changed(remaining)
        # One update per call; once handed out it is gone (there is no offset to confirm).
        return self._pending.pop(0)

    async def _set_webhook(self, body: dict[str, Any]) -> Any:
        self.webhook_url = body["url"]
        self.webhook_secret = body["secret_token"]
        return {"url": self.webhook_url, "updated_at": int(time.time() * 1000)}

    async def _delete_webhook(self, body: dict[str, Any]) -> Any:
        self.webhook_url = self.webhook_secret = ""
        return {"url": "", "updated_at": int(time.time() * 1000)}

    async def _get_webhook_info(self, body: dict[str, Any]) -> Any:
        return {"url": self.webhook_url, "updated_at": int(time.time() * 1000)}

    def _record(self, method: str, chat_id: str, **content: str | None) -> dict[str, Any]:
        message_id = format(next(self._ids) * 104729, "020x")
        self.sent.append(ZaloSent(len(self.sent), method, chat_id, message_id, **content))
        return {"message_id": message_id, "date": int(time.time() * 1000)}

    async def _send_message(self, body: dict[str, Any]) -> Any:
        return self._record("sendMessage", body["chat_id"], text=body["text"])

    async def _send_photo(self, body: dict[str, Any]) -> Any:
        return self._record(
            "sendPhoto", body["chat_id"], photo=body["photo"], text=body.get("caption")
        )

    async def _send_chat_action(self, body: dict[str, Any]) -> Any:
        return True


def _error(refusal: _Refusal) -> HttpResponse:
    return HttpResponse.json(
        refusal.status,
        {"ok": False, "error_code": refusal.error_code, "description": refusal.description},
    )
