"""Replies for channels without buttons (the console, Zalo): numbered lines to type."""

from __future__ import annotations

from bot.messages import Outbound

# The channels whose replies are rendered here: a choice is made by typing its number.
PLAIN_TEXT_CHANNELS = frozenset({"console", "zalo"})


def render_plain(outbound: Outbound) -> str:
    """A reply as text: numbered choices, and the words to type for the other buttons."""
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
