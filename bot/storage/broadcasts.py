"""Announcements, their recipients' delivery rows and the managers who turned them off
(migration 0007)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.clock import from_db, to_db
from bot.reminders import Delivery, DeliveryStatus
from bot.storage.base import Repository
from bot.storage.users import ChatUser

# Chats an announcement can reach (the console is a local terminal).
CHAT_APPS = ("telegram", "zalo")


@dataclass(frozen=True)
class Broadcast:
    id: int
    created_by: str
    creator_user_id: int | None
    created_at: datetime
    text: str
    commune_code: str | None
    sector_code: str | None
    language: str | None
    status: str
    confirmed_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Broadcast:
        return cls(
            id=row["id"],
            created_by=row["created_by"],
            creator_user_id=row["creator_user_id"],
            created_at=from_db(row["created_at"]),
            text=row["text"],
            commune_code=row["commune_code"],
            sector_code=row["sector_code"],
            language=row["language"],
            status=row["status"],
            confirmed_at=from_db(row["confirmed_at"]) if row["confirmed_at"] else None,
            finished_at=from_db(row["finished_at"]) if row["finished_at"] else None,
        )


@dataclass(frozen=True)
class Audience:
    """Who an announcement would reach now."""

    recipients: list[ChatUser]  # linked chats on a chat app, announcements on
    facilities: int  # facilities those chats belong to
    opted_out: int  # linked chats that turned announcements off


@dataclass(frozen=True)
class DeliveryRow:
    user_id: int
    delivery: Delivery | None  # None while pending (never tried)


class BroadcastRepository(Repository):
    async def create(
        self,
        created_by: str,
        creator_user_id: int | None,
        commune_code: str | None,
        sector_code: str | None,
        language: str | None,
        status: str,
        now: datetime,
        text: str = "",
    ) -> int:
        if creator_user_id is not None:
            # One announcement in the making per staff chat: a new one replaces it.
            await self.execute(
                "UPDATE broadcasts SET status = 'cancelled' WHERE creator_user_id = ?"
                " AND status IN ('composing', 'preview')",
                (creator_user_id,),
            )
        return await self.insert(
            "INSERT INTO broadcasts (created_by, creator_user_id, created_at, text,"
            " commune_code, sector_code, language, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                created_by,
                creator_user_id,
                to_db(now),
                text,
                commune_code,
                sector_code,
                language,
                status,
            ),
        )

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await self.fetch_one("SELECT * FROM broadcasts WHERE id = ?", (broadcast_id,))
        return Broadcast.from_row(row) if row else None

    async def composing(self, creator_user_id: int, since: datetime) -> Broadcast | None:
        """The announcement this staff chat started writing after `since`, if any."""
        row = await self.fetch_one(
            "SELECT * FROM broadcasts WHERE creator_user_id = ? AND status = 'composing'"
            " AND created_at >= ? ORDER BY id DESC LIMIT 1",
            (creator_user_id, to_db(since)),
        )
        return Broadcast.from_row(row) if row else None

    async def set_text(self, broadcast_id: int, text: str) -> None:
        await self.execute(
            "UPDATE broadcasts SET text = ?, status = 'preview' WHERE id = ?",
            (text, broadcast_id),
        )

    async def cancel(self, broadcast_id: int) -> bool:
        changed = await self.execute(
            "UPDATE broadcasts SET status = 'cancelled' WHERE id = ?"
            " AND status IN ('composing', 'preview')",
            (broadcast_id,),
        )
        return changed == 1

    async def audience(
        self, commune_code: str | None, sector_code: str | None, language: str | None
    ) -> Audience:
        clauses = ["u.facility_id IS NOT NULL", "u.channel IN (?, ?)"]
        params: list[object] = [*CHAT_APPS]
        for clause, value in (
            ("f.commune_code = ?", commune_code),
            ("f.sector_code = ?", sector_code),
            ("u.language = ?", language),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        rows = await self.fetch_all(
            "SELECT u.*, o.user_id IS NOT NULL AS opted_out FROM users u"
            " JOIN facilities f ON f.id = u.facility_id"
            " LEFT JOIN announcement_optouts o ON o.user_id = u.id"
            f" WHERE {' AND '.join(clauses)} ORDER BY u.id",
            params,
        )
        recipients = [ChatUser.from_row(row) for row in rows if not row["opted_out"]]
        return Audience(
            recipients,
            len({user.facility_id for user in recipients}),
            sum(1 for row in rows if row["opted_out"]),
        )

    async def confirm(self, broadcast_id: int, recipients: list[ChatUser], now: datetime) -> bool:
        """Fix the recipients and mark the announcement confirmed; False if it was not
        waiting for confirmation (confirmed already, cancelled)."""
        changed = await self.execute(
            "UPDATE broadcasts SET status = 'confirmed', confirmed_at = ?"
            " WHERE id = ? AND status = 'preview'",
            (to_db(now), broadcast_id),
        )
        if changed != 1:
            return False
        await self.connection.executemany(
            "INSERT INTO broadcast_deliveries (broadcast_id, user_id, status) VALUES (?, ?, ?)",
            [
                (broadcast_id, user.id, "pending" if user.reachable else "unreachable")
                for user in recipients
            ],
        )
        return True

    async def unfinished(self) -> list[Broadcast]:
        rows = await self.fetch_all(
            "SELECT * FROM broadcasts WHERE status = 'confirmed' AND finished_at IS NULL"
            " ORDER BY id"
        )
        return [Broadcast.from_row(row) for row in rows]

    async def deliveries(self, broadcast_id: int, user_id: int | None = None) -> list[DeliveryRow]:
        where = " AND user_id = ?" if user_id is not None else ""
        rows = await self.fetch_all(
            f"SELECT * FROM broadcast_deliveries WHERE broadcast_id = ?{where} ORDER BY user_id",
            (broadcast_id,) if user_id is None else (broadcast_id, user_id),
        )
        return [
            DeliveryRow(
                row["user_id"],
                None
                if row["status"] == "pending"
                else Delivery(
                    DeliveryStatus(row["status"]),
                    from_db(row["claimed_at"] or row["sent_at"] or "1970-01-01T00:00:00+00:00"),
                    row["attempts"],
                    from_db(row["sent_at"]) if row["sent_at"] else None,
                ),
            )
            for row in rows
        ]

    async def claim(self, broadcast_id: int, user_id: int, now: datetime) -> None:
        await self.execute(
            "UPDATE broadcast_deliveries SET status = 'claimed', attempts = attempts + 1,"
            " claimed_at = ?, sent_at = NULL WHERE broadcast_id = ? AND user_id = ?",
            (to_db(now), broadcast_id, user_id),
        )

    async def finish_delivery(
        self, broadcast_id: int, user_id: int, status: DeliveryStatus, now: datetime
    ) -> None:
        await self.execute(
            "UPDATE broadcast_deliveries SET status = ?, sent_at = ?"
            " WHERE broadcast_id = ? AND user_id = ?",
            (
                status.value,
                to_db(now) if status is DeliveryStatus.SENT else None,
                broadcast_id,
                user_id,
            ),
        )

    async def mark_finished(self, broadcast_id: int, now: datetime) -> bool:
        changed = await self.execute(
            "UPDATE broadcasts SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
            (to_db(now), broadcast_id),
        )
        return changed == 1

    async def is_opted_out(self, user_id: int) -> bool:
        return await self.has_user_row("announcement_optouts", user_id)

    async def set_opted_out(self, user_id: int, opted_out: bool, now: datetime) -> None:
        await self.set_user_row("announcement_optouts", user_id, opted_out, now)
