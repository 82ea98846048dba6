"""Zalo through the Zalo Bot Platform: the same dispatcher and flows as Telegram.

Zalo has no buttons, so replies go out as plain text with numbered choices (the user
types the number or the words), split at Zalo's 2,000 characters. Updates arrive by long
polling (one per call; 408 means none yet) or by webhook (`--zalo-webhook`), checked
against the secret Zalo sends back in `X-Bot-Api-Secret-Token`. Zalo has no update ids:
a message's `message_id` is the delivery's dedup key, so a repeated delivery changes
nothing. One chat's messages are handled in order (a lock per chat), different chats
side by side. Errors from Zalo are retried with a growing pause and never stop the
process: the poller keeps going, and a reply that cannot be sent is logged.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar

from aiolimiter import AsyncLimiter

from bot.channels.plain import render_plain
from bot.channels.zalo_api import TEXT_LIMIT, ZaloBotApi, ZaloError, updates_in
from bot.dispatcher import Dispatcher
from bot.httpserver import HttpRequest, HttpResponse, HttpServer
from bot.i18n import N_, tr
from bot.messages import Inbound, Outbound, split_text

log = logging.getLogger(__name__)

ZALO = "zalo"
SECRET_HEADER = "x-bot-api-secret-token"
# Updates being handled at once; the poller waits when this many are in flight.
MAX_IN_FLIGHT = 64
T = TypeVar("T")

FILE_ELSEWHERE = N_(
    "📎 Zalo cannot carry files, so {filename} was not sent here. You can get it from "
    "this bot on Telegram, or the Department can export it from the command line (sxsh-bot)."
)


@dataclass(frozen=True)
class Backoff:
    """Pauses between tries: `first`, doubling up to `most`; sends stop after `attempts`."""

    first: float = 1.0
    most: float = 30.0
    attempts: int = 4

    def pause(self, failures: int, asked: float | None = None) -> float:
        """The pause after `failures` failures in a row (Zalo's own figure if it gave one)."""
        if asked is not None and asked > 0:
            return min(asked, self.most)
        return min(self.first * 2.0 ** max(failures - 1, 0), self.most)


@dataclass(frozen=True)
class WebhookAddress:
    """Where the webhook listens: `HOST:PORT/PATH`, e.g. `127.0.0.1:8443/zalo`."""

    host: str
    port: int
    path: str

    @classmethod
    def parse(cls, text: str) -> WebhookAddress:
        match = re.fullmatch(r"\[?([^\[\]/]*?)\]?:(\d{1,5})(/\S*)", text.strip())
        if match is None or not match.group(1) or int(match.group(2)) > 65535:
            raise ValueError(text)
        return cls(match.group(1), int(match.group(2)), match.group(3))


def inbound_from_update(update: Mapping[str, Any]) -> Inbound | None:
    """The dispatcher's view of a Zalo update; None for what is not a user's message."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat, sender = message.get("chat"), message.get("from")
    if not isinstance(chat, dict) or not isinstance(sender, dict):
        return None
    chat_id, user_id = chat.get("id"), sender.get("id")
    if not isinstance(chat_id, str | int) or not isinstance(user_id, str | int):
        return None
    message_id = message.get("message_id")
    name = sender.get("display_name") or sender.get("first_name") or sender.get("name")
    event = update.get("event_name")
    text = message.get("text")
    is_text = isinstance(text, str) and event in (None, "message.text.received")
    return Inbound(
        channel=ZALO,
        user_id=str(user_id),
        chat_id=str(chat_id),
        kind="text" if is_text else "other",
        text=text if is_text else None,
        display_name=name if isinstance(name, str) else None,
        dedup_key=f"{ZALO}:message:{message_id}" if message_id not in (None, "") else None,
    )


def means_unreachable(error: ZaloError) -> bool:
    """Zalo says this chat cannot get our messages (blocked, or no such chat)."""
    if error.error_code == HTTPStatus.FORBIDDEN:
        return True
    described = error.description.lower()
    return error.error_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.NOT_FOUND) and any(
        words in described for words in ("chat not found", "user not found", "blocked")
    )


class ZaloSetupError(Exception):
    """Zalo refused the bot's configuration (token, webhook address) at start."""


class ZaloChannel:
    name = ZALO

    def __init__(
        self,
        dispatcher: Dispatcher,
        api: ZaloBotApi,
        *,
        poll_timeout: int = 30,
        webhook: WebhookAddress | None = None,
        webhook_secret: str | None = None,
        webhook_url: str | None = None,
        backoff: Backoff | None = None,
        send_rate: float = 25.0,
        stop_grace: float = 1.0,
    ) -> None:
        if webhook is not None and not webhook_secret:
            raise ValueError("a Zalo webhook needs its secret")
        self.dispatcher = dispatcher
        self.api = api
        self.poll_timeout = poll_timeout
        self.webhook = webhook
        self._secret = (webhook_secret or "").encode("utf-8")
        self.webhook_url = webhook_url
        self.backoff = backoff or Backoff()
        # Seconds stop() lets a running getUpdates call finish before cutting it off.
        self.stop_grace = stop_grace
        self._limiter = AsyncLimiter(send_rate, 1.0)
        self._chat_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._stopping = False
        self._http: HttpServer | None = None
        self.account_name: str | None = None
        # Updates fully handled (replies sent or given up); read by the tests.
        self.updates_handled = 0

    # -- life cycle

    async def start(self) -> None:
        await self._introduce()
        if self.webhook is not None:
            self._http = HttpServer(self._on_webhook)
            await self._http.start(self.webhook.host, self.webhook.port)
            if self.webhook_url:
                await self._setup_call(
                    lambda: self.api.set_webhook(self.webhook_url or "", self._secret.decode())
                )
            else:
                log.warning(
                    "SXSH_ZALO_WEBHOOK_URL is not set: Zalo must already have this webhook's "
                    "public https address (setWebhook)"
                )
            log.info("Zalo webhook listening on %s", self.listening_url)
        else:
            # getUpdates does not work while a webhook is set.
            await self._setup_call(self.api.delete_webhook)
            self._poller = asyncio.create_task(self._poll(), name="zalo-poller")
            log.info("Zalo bot %s is polling", self.account_name or "")

    async def stop(self) -> None:
        if self._poller is not None:
            # Zalo forgets an update once it hands it out, so a poll that is receiving
            # one gets a moment to finish; a poll that is only waiting is cut short.
            self._stopping = True
            _done, waiting = await asyncio.wait({self._poller}, timeout=self.stop_grace)
            for poller in waiting:
                poller.cancel()
                await asyncio.wait({poller})
            self._poller = None
        if self._http is not None:
            await self._http.stop()
            self._http = None
        if self._tasks:
            # Let messages being answered finish, briefly; what is cut off was either
            # not committed (Zalo may deliver it again) or only lacks its reply.
            _done, unfinished = await asyncio.wait(set(self._tasks), timeout=5.0)
            for task in unfinished:
                task.cancel()
            if unfinished:
                await asyncio.wait(unfinished, timeout=1.0)
        await self.api.aclose()

    @property
    def listening_url(self) -> str | None:
        """http://HOST:PORT/PATH of the running webhook (the port the system chose)."""
        if self._http is None or self.webhook is None:
            return None
        host, port = self._http.address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}{self.webhook.path}"

    async def _introduce(self) -> None:
        """getMe: a wrong token stops the start; Zalo being down does not."""
        try:
            me = await self._retrying(self.api.get_me)
        except ZaloError as error:
            if error.retryable:
                log.warning("Zalo did not answer getMe (%s); carrying on", error)
                return
            raise ZaloSetupError(str(error)) from None
        name = me.get("account_name") or me.get("display_name")
        self.account_name = str(name) if name else None

    async def _setup_call(self, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            await self._retrying(call)
        except ZaloError as error:
            if not error.retryable:
                raise ZaloSetupError(str(error)) from None
            log.warning("Zalo did not answer (%s); carrying on", error)

    # -- receiving

    async def _poll(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                updates = await self.api.get_updates(self.poll_timeout)
            except asyncio.CancelledError:
                raise
            except Exception as error:
                failures += 1
                asked = error.retry_after if isinstance(error, ZaloError) else None
                pause = self.backoff.pause(failures, asked)
                if isinstance(error, ZaloError):
                    log.warning("Zalo getUpdates failed (%s); again in %.1f s", error, pause)
                else:
                    log.exception("Zalo poller error; again in %.1f s", pause)
                await asyncio.sleep(pause)
                continue
            failures = 0
            for update in updates:
                await self._accept(update)

    async def _accept(self, update: Mapping[str, Any]) -> asyncio.Event | None:
        """Start handling one update; the event is set once its turn is committed."""
        inbound = inbound_from_update(update)
        if inbound is None:
            log.info("Zalo event %r ignored", update.get("event_name"))
            return None
        while len(self._tasks) >= MAX_IN_FLIGHT:
            await asyncio.wait(set(self._tasks), return_when=asyncio.FIRST_COMPLETED)
        committed = asyncio.Event()
        task = asyncio.create_task(self._process(inbound, committed))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return committed

    async def _process(self, inbound: Inbound, committed: asyncio.Event) -> None:
        try:
            async with self._chat_locks[inbound.chat_id]:
                replies = await self.dispatcher.handle(inbound)
                committed.set()
                for reply in replies:
                    await self.send(reply)
        except ZaloError as error:
            # The turn is stored; only its reply is lost, and the user can ask again.
            log.warning("gave up replying in Zalo chat %s: %s", inbound.chat_id, error)
        except Exception:
            log.exception("could not answer a Zalo message in chat %s", inbound.chat_id)
        finally:
            committed.set()
            self.updates_handled += 1

    async def _on_webhook(self, request: HttpRequest) -> HttpResponse:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, self._secret):
            return _answer(HTTPStatus.FORBIDDEN)
        assert self.webhook is not None
        if request.path != self.webhook.path:
            return _answer(HTTPStatus.NOT_FOUND)
        if request.method != "POST":
            return _answer(HTTPStatus.METHOD_NOT_ALLOWED)
        try:
            body = request.json()
        except ValueError:
            return _answer(HTTPStatus.BAD_REQUEST)
        accepted = [await self._accept(update) for update in updates_in(body)]
        # Answer once the message is stored: if we fail before that, Zalo may try again.
        await asyncio.gather(*(event.wait() for event in accepted if event is not None))
        return HttpResponse.json(HTTPStatus.OK, {"ok": True})

    # -- sending

    async def send(self, outbound: Outbound) -> bool:
        """Deliver one reply; False if the chat cannot be reached (it is marked so).

        Raises `ZaloError` when Zalo keeps failing after the retries, as the Telegram
        channel raises its network errors: the message may go through later.
        """
        text = render_plain(outbound)
        if outbound.attachment is not None:
            note = tr(
                await self._language(outbound.chat_id),
                FILE_ELSEWHERE,
                filename=outbound.attachment.filename,
            )
            text = f"{text}\n\n{note}" if text.strip() else note
        try:
            for piece in split_text(text, TEXT_LIMIT):
                if piece.strip():
                    await self._retrying(
                        lambda piece=piece: self._send_text(outbound.chat_id, piece)  # type: ignore[misc]
                    )
        except ZaloError as error:
            if error.retryable:
                raise
            if means_unreachable(error):
                log.info("Zalo chat %s cannot be reached; marking it so", outbound.chat_id)
                await self.dispatcher.mark_unreachable(ZALO, outbound.chat_id)
            else:
                log.warning("Zalo refused a message to %s: %s", outbound.chat_id, error)
            return False
        return True

    async def _send_text(self, chat_id: str, text: str) -> Any:
        async with self._limiter:
            return await self.api.send_message(chat_id, text)

    async def _language(self, chat_id: str) -> str:
        async with self.dispatcher.database.snapshot() as store:
            user = await store.users.by_chat(ZALO, chat_id)
        return user.language if user else "vi"

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """Try again after errors that may pass (429, 5xx, timeouts), a bounded number
        of times; other errors go to the caller at once."""
        for attempt in range(1, self.backoff.attempts + 1):
            try:
                return await call()
            except ZaloError as error:
                if not error.retryable or attempt == self.backoff.attempts:
                    raise
                pause = self.backoff.pause(attempt, error.retry_after)
                log.warning("Zalo %s failed (%s); again in %.1f s", error.method, error, pause)
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")


def _answer(status: HTTPStatus) -> HttpResponse:
    return HttpResponse.json(
        status,
        {"ok": status == HTTPStatus.OK, "error_code": status.value, "description": status.phrase},
    )
