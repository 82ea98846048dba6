"""Invitation codes: how a chat account becomes a facility's manager.

A code is 13 characters of Crockford's base32 (65 bits of randomness), shown in groups
("7Q2M-K9XD-4HT0B"). People type it back with or without dashes, in any case, and with
O for 0 or I/L for 1; all of that is normalised away. Only a SHA-256 of the normalised
code is stored: with 65 random bits a fast hash is enough, and a leaked database gives
no usable codes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from bot.audit import INVITE
from bot.clock import show_date
from bot.storage.store import Store

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 13
MAX_FAILURES_PER_HOUR = 5
_TYPOS = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
_SEPARATORS = re.compile(r"[\s\-_.]")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize(text: str) -> str | None:
    """The canonical code, or None if the text cannot be a code at all."""
    candidate = _SEPARATORS.sub("", text.strip().upper()).translate(_TYPOS)
    if len(candidate) != CODE_LENGTH or any(ch not in ALPHABET for ch in candidate):
        return None
    return candidate


def display(code: str) -> str:
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def code_hash(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


async def issue(
    store: Store, facility_id: int, now: datetime, days: int, issued_by: str = "system"
) -> tuple[str, datetime]:
    """A fresh single-use code for a facility; returns (code, expiry).

    Every invitation is written to the audit log (never the code itself) in the same
    transaction, whoever issues it.
    """
    code = new_code()
    expires = now + timedelta(days=days)
    invitation_id = await store.invitations.create(facility_id, code_hash(code), now, expires)
    facility = await store.facilities.by_id(facility_id)
    await store.audit.record(
        now,
        issued_by,
        INVITE,
        target=facility.code if facility else str(facility_id),
        detail={"invitation": invitation_id, "expires": show_date(expires), "days": days},
    )
    return code, expires


class RedeemOutcome(Enum):
    LINKED = "linked"
    ALREADY_LINKED = "already_linked"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    TOO_MANY_TRIES = "too_many_tries"


@dataclass(frozen=True)
class Redemption:
    outcome: RedeemOutcome
    facility_id: int | None = None
    tries_left: int = 0


async def redeem(
    store: Store, user_id: int, linked_facility: int | None, text: str, now: datetime
) -> Redemption:
    """Link a user to the facility of a valid code; wrong codes count against a limit."""
    failures = await store.invitations.failures_since(user_id, now - timedelta(hours=1))
    if failures >= MAX_FAILURES_PER_HOUR:
        return Redemption(RedeemOutcome.TOO_MANY_TRIES)
    code = normalize(text)
    invitation = await store.invitations.by_hash(code_hash(code)) if code else None
    outcome: RedeemOutcome | None = None
    if invitation is None:
        outcome = RedeemOutcome.UNKNOWN
    elif invitation.used_at is not None:
        if invitation.facility_id == linked_facility:
            return Redemption(RedeemOutcome.ALREADY_LINKED, invitation.facility_id)
        outcome = RedeemOutcome.USED
    elif invitation.expires_at <= now:
        outcome = RedeemOutcome.EXPIRED
    if outcome is not None or invitation is None:
        await store.invitations.record_failure(user_id, now)
        left = max(0, MAX_FAILURES_PER_HOUR - failures - 1)
        return Redemption(outcome or RedeemOutcome.UNKNOWN, tries_left=left)
    if not await store.invitations.mark_used(invitation.id, user_id, now):
        return Redemption(RedeemOutcome.USED)
    await store.users.link(user_id, invitation.facility_id, now)
    return Redemption(RedeemOutcome.LINKED, invitation.facility_id)
