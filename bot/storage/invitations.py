"""Invitations (only a hash of each code is kept) and failed attempts to redeem one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_db, to_db
from bot.storage.base import Repository


@dataclass(frozen=True)
class Invitation:
    id: int
    facility_id: int
    expires_at: datetime
    used_at: datetime | None


class InvitationRepository(Repository):
    async def create(
        self, facility_id: int, code_hash: str, now: datetime, expires: datetime
    ) -> int:
        return await self.insert(
            "INSERT INTO invitations (facility_id, code_hash, created_at, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (facility_id, code_hash, to_db(now), to_db(expires)),
        )

    async def by_hash(self, code_hash: str) -> Invitation | None:
        row = await self.fetch_one("SELECT * FROM invitations WHERE code_hash = ?", (code_hash,))
        if row is None:
            return None
        return Invitation(
            id=row["id"],
            facility_id=row["facility_id"],
            expires_at=from_db(row["expires_at"]),
            used_at=from_db(row["used_at"]) if row["used_at"] else None,
        )

    async def mark_used(self, invitation_id: int, user_id: int, now: datetime) -> bool:
        """True if this call used it; False if it was used already (a race)."""
        changed = await self.execute(
            "UPDATE invitations SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL",
            (to_db(now), user_id, invitation_id),
        )
        return changed == 1

    async def record_failure(self, user_id: int, now: datetime) -> None:
        await self.execute(
            "INSERT INTO invitation_failures (user_id, at) VALUES (?, ?)", (user_id, to_db(now))
        )

    async def failures_since(self, user_id: int, since: datetime) -> int:
        row = await self.fetch_one(
            "SELECT COUNT(*) FROM invitation_failures WHERE user_id = ? AND at >= ?",
            (user_id, to_db(since)),
        )
        return int(row[0]) if row else 0
