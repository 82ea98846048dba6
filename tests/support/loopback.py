"""What the loopback chat platforms of the tests share (the Telegram Bot API server and
the Zalo Bot API server): HTTP through the bot's own `bot.httpserver` on 127.0.0.1 and a
port the system picks, the record of calls, refusals and injected failures, and bounded
waiting for the bot to do something.

A platform subclass answers one request in `_respond`; every refusal it records in
`violations` fails the test at `assert_no_violations`, while failures the test asked for
(`injected_failures`) do not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, NamedTuple, Protocol, Self, TypeVar

from bot.httpserver import HttpRequest, HttpResponse, HttpServer

T = TypeVar("T")


class Sent(Protocol):
    """What the bot sent, as a platform records it."""

    # Position in the platform's `sent`.
    index: int
    chat_id: Any

    @property
    def is_edit(self) -> bool: ...


SentT = TypeVar("SentT", bound=Sent)

# How often `wait_until` looks again when no request wakes it: what tests wait for (the
# bot's bookkeeping after its last reply) often changes with no request to follow.
RECHECK = 0.02


class Violation(NamedTuple):
    """A request the platform refused: `(method, description, params)`."""

    method: str
    description: str
    params: dict[str, Any]


class InjectedFailure(NamedTuple):
    """A failure the test asked for, as the bot met it."""

    method: str
    description: str
    params: dict[str, Any]


class LoopbackPlatform(Generic[SentT]):
    """The serving and observing half of a fake chat platform."""

    # Named in the failure message of `assert_no_violations`.
    platform = "the platform"

    def __init__(self, *, max_body: int = 1024 * 1024) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        # What the bot sent, in the order the platform accepted it.
        self.sent: list[SentT] = []
        self._message_cursors: dict[Any, int] = {}
        self.violations: list[Violation] = []
        self.injected_failures: list[InjectedFailure] = []
        self._changed = asyncio.Event()
        # Chats whose user blocked the bot: sending there fails with 403.
        self._blocked: set[Any] = set()
        self._http = HttpServer(self._respond, max_body=max_body)
        self._started = False

    # -- life cycle

    async def start(self) -> None:
        if self._started:
            raise RuntimeError(f"the loopback {self.platform} server is already started")
        await self._http.start("127.0.0.1", 0)
        self._started = True

    async def stop(self) -> None:
        """Close the listener and every connection; bounded (about a second at most)."""
        self._notify()
        if self._started:
            self._started = False
            await self._http.stop()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if not self._started:
            raise RuntimeError(f"the loopback {self.platform} server is not started")
        return self._http.address[1]

    @property
    def connections_accepted(self) -> int:
        """TCP connections served so far (keep-alive reuses one)."""
        return self._http.connections_accepted

    async def _respond(self, request: HttpRequest) -> HttpResponse:
        raise NotImplementedError

    # -- the world

    def block_user(self, chat_id: Any) -> None:
        """From now on every message to `chat_id` is refused: the user blocked the bot."""
        self._blocked.add(chat_id)

    def unblock_user(self, chat_id: Any) -> None:
        self._blocked.discard(chat_id)

    # -- observing

    def messages_to(self, chat_id: Any, *, include_edits: bool = True) -> list[SentT]:
        return [m for m in self.sent if m.chat_id == chat_id and (include_edits or not m.is_edit)]

    async def wait_for_messages(
        self,
        chat_id: Any,
        count: int = 1,
        timeout: float = 5.0,
        *,
        since: int | None = None,
        include_edits: bool = True,
    ) -> list[SentT]:
        """Wait for `count` new entries of `sent` to `chat_id` and return exactly those
        (the first `count` after the cursor).

        The cursor is per chat and moves past what each call returns, so consecutive calls
        walk through the conversation; `since` (an index into `sent`, e.g. `len(sent)`
        taken earlier) overrides it. Edits are entries too unless `include_edits=False`
        (skipped edits are consumed).
        """
        start = self._message_cursors.get(chat_id, 0) if since is None else since

        def pick() -> list[SentT] | None:
            found = [
                m
                for m in self.sent[start:]
                if m.chat_id == chat_id and (include_edits or not m.is_edit)
            ]
            return found[:count] if len(found) >= count else None

        kind = "messages/edits" if include_edits else "messages"
        result = await self.wait_until(
            pick, timeout, what=f"{count} new {kind} to chat {chat_id} after index {start}"
        )
        self._message_cursors[chat_id] = result[-1].index + 1
        return result

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call of `method` (case-insensitive), in order."""
        return [params for name, params in self.calls if name.lower() == method.lower()]

    def assert_no_violations(self) -> None:
        if self.violations:
            lines = "\n".join(
                f"  {v.method}: {v.description} params={_short(v.params)}" for v in self.violations
            )
            raise AssertionError(
                f"the bot made {len(self.violations)} request(s) {self.platform} refuses:\n{lines}"
            )

    async def wait_until(
        self, predicate: Callable[[], T | None], timeout: float = 5.0, *, what: str = "it"
    ) -> T:
        """Wait until `predicate()` is truthy (checked after every request and injection,
        and every few milliseconds) and return its value; TimeoutError after `timeout`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {what}" + self._context()
                )
            await self._wait_changed(min(remaining, RECHECK))

    def _context(self) -> str:
        """What a timeout message adds to help find out why."""
        recent = [name for name, _ in self.calls[-10:] if name != "getUpdates"]
        return f" (recent calls: {recent})"

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_changed(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)


def _short(params: dict[str, Any]) -> str:
    text = repr(params)
    return text if len(text) <= 300 else text[:300] + "..."
