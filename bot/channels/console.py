"""The same flows in a terminal: numbered lines instead of buttons, no token needed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.dispatcher import Dispatcher
from bot.messages import Inbound, Outbound

CONSOLE = "console"


def render_plain(outbound: Outbound) -> str:
    """A reply as text for channels without buttons: numbered choices, typed shortcuts."""
    lines = [outbound.text]
    number = 0
    extras: list[str] = []
    for row in outbound.buttons:
        for button in row:
            if button.numbered:
                number += 1
                lines.append(f"  {number}. {button.label}")
            elif button.typed:
                extras.append(f"{button.label}: {button.typed}")
    if extras:
        lines.append("  [" + " · ".join(extras) + "]")
    return "\n".join(lines)


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
