"""Messages the bot starts itself — deadline reminders, the staff summary, announcements —
sent once each: claimed in the database, sent, then marked.

A message is claimed in one transaction (the caller decides there, on fresh data, that it
is still due, and writes its claim row), sent outside any transaction through the running
channel (`bot.senders`), and marked sent, failed or unreachable in a second transaction.
A claim that is never marked (the process died while sending) is left alone for a lease
(`bot.reminders.CLAIM_LEASE`) and then tried again; a failed message is tried again by a
later run, up to `MAX_ATTEMPTS`. Many messages are in flight at once; the channels' own
rate limiters keep the pace Telegram and Zalo allow and honour their "retry after".
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from math import ceil
from typing import Protocol, TypeVar

from bot.messages import Outbound
from bot.reminders import DeliveryStatus
from bot.storage.db import Database
from bot.storage.store import Store
from bot.storage.users import ChatUser

log = logging.getLogger(__name__)
T = TypeVar("T")

# Decides, in the claiming transaction, whether the message is still due; if so writes the
# claim and returns whom to send what. None: no longer due (skipped).
Claim = Callable[[Store], Awaitable[tuple[ChatUser, Outbound] | None]]
Finish = Callable[[Store, DeliveryStatus], Awaitable[None]]


class Sender(Protocol):
    async def send(self, outbound: Outbound) -> bool: ...


@dataclass(frozen=True)
class Post:
    """Where messages go out: the database that records them and the running channels."""

    database: Database
    senders: Mapping[str, Sender]


@dataclass
class Tally:
    """What a run did: messages sent, failed (tried again later), to unreachable chats,
    and skipped (due when planned, no longer when claimed)."""

    sent: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0

    def count(self, status: DeliveryStatus | None) -> None:
        if status is None:
            self.skipped += 1
        elif status is DeliveryStatus.SENT:
            self.sent += 1
        elif status is DeliveryStatus.UNREACHABLE:
            self.unreachable += 1
        else:
            self.failed += 1


async def claim_and_send(post: Post, claim: Claim, finish: Finish) -> DeliveryStatus | None:
    """Claim, send, mark; None if the claim found the message no longer due."""
    async with post.database.transaction() as store:
        claimed = await claim(store)
    if claimed is None:
        return None
    user, outbound = claimed
    status = await deliver(post, user, outbound)
    async with post.database.transaction() as store:
        await finish(store, status)
    return status


async def deliver(post: Post, user: ChatUser, outbound: Outbound) -> DeliveryStatus:
    """Send through the user's channel: sent, unreachable (the chat blocked the bot: the
    channel marked it), or failed (no such channel running, the network, Telegram's flood
    control outlasting the retries — a later run tries again)."""
    sender = post.senders.get(user.channel)
    if sender is None:
        return DeliveryStatus.FAILED
    try:
        delivered = await sender.send(outbound)
    except Exception:
        log.warning("a message to user %s failed; a later run tries again", user.id, exc_info=True)
        return DeliveryStatus.FAILED
    if delivered:
        return DeliveryStatus.SENT
    async with post.database.snapshot() as store:
        current = await store.users.by_id(user.id)
    if current is not None and not current.reachable:
        return DeliveryStatus.UNREACHABLE
    return DeliveryStatus.FAILED


def fan_out_workers(send_rate: float) -> int:
    """Enough sends in flight to reach the rate limit over a slow network (a second per
    message); the channel's rate limiter does the pacing."""
    return max(4, min(64, ceil(send_rate)))


async def fan_out(items: Iterable[T], send: Callable[[T], Awaitable[None]], workers: int) -> None:
    """Run `send` on every item, `workers` at a time."""
    pending = deque(items)

    async def work() -> None:
        while pending:
            await send(pending.popleft())

    await asyncio.gather(*(work() for _ in range(workers)))
