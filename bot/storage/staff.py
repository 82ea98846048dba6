"""Department staff roles, one per person (channel + the channel's user id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.clock import from_db, to_db
from bot.storage.base import Repository


@dataclass(frozen=True)
class StaffGrant:
    id: int
    channel: str
    external_id: str
    role: str  # 'admin', 'province' or 'commune'
    commune_code: str | None
    granted_by: str
    granted_at: datetime

    @property
    def person(self) -> str:
        return f"{self.channel}:{self.external_id}"

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> StaffGrant:
        return cls(
            id=row["id"],
            channel=row["channel"],
            external_id=row["external_id"],
            role=row["role"],
            commune_code=row["commune_code"],
            granted_by=row["granted_by"],
            granted_at=from_db(row["granted_at"]),
        )


class StaffRepository(Repository):
    async def get(self, channel: str, external_id: str) -> StaffGrant | None:
        row = await self.fetch_one(
            "SELECT * FROM staff WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        return StaffGrant.from_row(row) if row else None

    async def by_id(self, grant_id: int) -> StaffGrant | None:
        row = await self.fetch_one("SELECT * FROM staff WHERE id = ?", (grant_id,))
        return StaffGrant.from_row(row) if row else None

    async def grant(
        self,
        channel: str,
        external_id: str,
        role: str,
        commune_code: str | None,
        granted_by: str,
        now: datetime,
    ) -> None:
        """Give a person a role, replacing the one they had."""
        await self.execute(
            "INSERT INTO staff (channel, external_id, role, commune_code, granted_by, granted_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (channel, external_id) DO UPDATE SET"
            " role = excluded.role, commune_code = excluded.commune_code,"
            " granted_by = excluded.granted_by, granted_at = excluded.granted_at",
            (channel, external_id, role, commune_code, granted_by, to_db(now)),
        )

    async def revoke(self, channel: str, external_id: str) -> bool:
        """True if the person had a role."""
        removed = await self.execute(
            "DELETE FROM staff WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        return removed == 1

    async def all(self) -> list[StaffGrant]:
        rows = await self.fetch_all("SELECT * FROM staff ORDER BY role, channel, external_id")
        return [StaffGrant.from_row(row) for row in rows]
