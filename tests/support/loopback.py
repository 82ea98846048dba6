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
from typing import Any, NamedTuple, Self, TypeVar

from bot.httpserver import HttpRequest, HttpResponse, HttpServer

T = TypeVar("T")

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


class LoopbackPlatform:
    """The serving and observing half of a fake chat platform."""

    # Named in the failure message of `assert_no_violations`.
    platform = "the platform"

    def __init__(self, *, max_body: int = 1024 * 1024) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
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
