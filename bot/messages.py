"""What flows between channels and the dispatcher: one inbound event, outbound replies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

InboundKind = Literal["text", "callback", "other"]


@dataclass(frozen=True)
class Inbound:
    """One thing a user did, as every channel describes it.

    `dedup_key` names the delivery (e.g. "telegram:update:123"): a second delivery with
    the same key changes nothing and gets no reply.
    """

    channel: str
    user_id: str
    chat_id: str
    kind: InboundKind
    text: str | None = None
    callback_data: str | None = None
    message_id: int | None = None
    display_name: str | None = None
    dedup_key: str | None = None


@dataclass(frozen=True)
class Button:
    """A tappable choice. `numbered` buttons are also offered as "1.", "2." lines on
    channels without buttons; the others carry the words to type instead (`typed`)."""

    label: str
    data: str
    numbered: bool = True
    typed: str | None = None


@dataclass(frozen=True)
class Attachment:
    kind: Literal["document", "photo"]
    filename: str
    content: bytes


@dataclass
class Outbound:
    chat_id: str
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    # Set when the reply updates the message whose button was pressed (a toggle).
    edit_message_id: int | None = None
    attachment: Attachment | None = None
    # A menu's numbered buttons may be answered by typing their number or label.
    is_menu: bool = False
    # The channel of `chat_id` when it is not the one the turn came from (a message to
    # another user); None means the turn's own channel.
    channel: str | None = None

    def numbered_buttons(self) -> list[Button]:
        return [button for row in self.buttons for button in row if button.numbered]


def split_text(text: str, limit: int) -> list[str]:
    """Split a long reply at paragraph or line ends so every piece fits `limit`."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = rest.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest:
        pieces.append(rest)
    return pieces
