"""The same flows in a terminal: numbered lines instead of buttons, no token needed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.channels.plain import render_plain
from bot.dispatcher import Dispatcher
from bot.messages import Inbound, Outbound

CONSOLE = "console"


class ConsoleChannel:
    def __init__(
        self,
        dispatcher: Dispatcher,
        user_id: str = "local",
        read: Callable[[], str] = input,
        write: Callable[[str], None] = print,
    ) -> None:
        self.dispatcher = dispatcher
        self.user_id = user_id
        self._read = read
        self._write = write

    async def send(self, text: str) -> list[Outbound]:
        replies = await self.dispatcher.handle(
            Inbound(CONSOLE, self.user_id, self.user_id, "text", text=text)
        )
        for reply in replies:
            self._write(render_plain(reply))
            self._write("")
        return replies

    async def run(self, first: str | None = "/start") -> None:
        """Read lines until end of input or /quit."""
        if first:
            await self.send(first)
        while True:
            try:
                line = await asyncio.to_thread(self._read_line)
            except EOFError:
                break
            if line.strip() in {"/quit", "/exit"}:
                break
            if line.strip():
                await self.send(line)

    def _read_line(self) -> str:
        return self._read()
