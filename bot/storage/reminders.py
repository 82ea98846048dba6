"""Deadline reminders: who gets them, where each facility's report stands, and the row
claimed per (user, year, reminder) that makes every message go out once."""

from __future__ import annotations

import json
from datetime import datetime

from bot.clock import from_db, to_db
from bot.reminders import Delivery, DeliveryKey, DeliveryStatus
from bot.storage.base import Repository
from bot.storage.facilities import Facility
from bot.storage.users import ChatUser

# A facility's report draft: its status and its stored answers (JSON-decoded).
StoredReport = tuple[str, dict[str, object]]


class ReminderRepository(Repository):
    async def linked_users(self, user_id: int | None = None) -> list[tuple[ChatUser, bool]]:
        """Users linked to a facility, each with whether they turned reminders off."""
        where = " AND u.id = ?" if user_id is not None else ""
        rows = await self.fetch_all(
            "SELECT u.*, o.user_id IS NOT NULL AS opted_out FROM users u"
            " LEFT JOIN reminder_optouts o ON o.user_id = u.id"
            f" WHERE u.facility_id IS NOT NULL{where} ORDER BY u.id",
            () if user_id is None else (user_id,),
        )
        return [(ChatUser.from_row(row), bool(row["opted_out"])) for row in rows]

    async def facilities(self) -> dict[int, Facility]:
        rows = await self.fetch_all("SELECT * FROM facilities ORDER BY code")
        return {row["id"]: Facility.from_row(row) for row in rows}

    async def reports(
        self, form_id: str, period: str, facility_id: int | None = None
    ) -> dict[int, StoredReport]:
        """facility id -> its draft of `form_id` for `period`, with the answers."""
        where = " AND d.facility_id = ?" if facility_id is not None else ""
        rows = await self.fetch_all(
            "SELECT d.facility_id, d.status, a.name, a.value FROM drafts d"
            " LEFT JOIN draft_answers a ON a.draft_id = d.id"
            f" WHERE d.form_id = ? AND d.period = ?{where}",
            (form_id, period) if facility_id is None else (form_id, period, facility_id),
        )
        found: dict[int, StoredReport] = {}
        for row in rows:
            _status, answers = found.setdefault(row["facility_id"], (row["status"], {}))
            if row["name"] is not None:
                answers[row["name"]] = json.loads(row["value"])
        return found

    async def deliveries(
        self, year: int, user_id: int | None = None
    ) -> dict[DeliveryKey, Delivery]:
        where = " AND user_id = ?" if user_id is not None else ""
        rows = await self.fetch_all(
            f"SELECT * FROM reminder_deliveries WHERE year = ?{where}",
            (year,) if user_id is None else (year, user_id),
        )
        return {
            (row["user_id"], row["year"], row["reminder"]): Delivery(
                DeliveryStatus(row["status"]),
                from_db(row["claimed_at"]),
                row["attempts"],
                from_db(row["sent_at"]) if row["sent_at"] else None,
            )
            for row in rows
        }

    async def claim(self, key: DeliveryKey, now: datetime) -> None:
        """Take the row before sending; the caller decided in this transaction that it may."""
        await self.execute(
            "INSERT INTO reminder_deliveries (user_id, year, reminder, status, attempts,"
            " claimed_at) VALUES (?, ?, ?, 'claimed', 1, ?)"
            " ON CONFLICT (user_id, year, reminder) DO UPDATE SET status = 'claimed',"
            " attempts = attempts + 1, claimed_at = excluded.claimed_at, sent_at = NULL",
            (*key, to_db(now)),
        )

    async def finish(self, key: DeliveryKey, status: DeliveryStatus, now: datetime) -> None:
        sent_at = to_db(now) if status is DeliveryStatus.SENT else None
        await self.execute(
            "UPDATE reminder_deliveries SET status = ?, sent_at = ?"
            " WHERE user_id = ? AND year = ? AND reminder = ?",
            (status.value, sent_at, *key),
        )

    async def is_opted_out(self, user_id: int) -> bool:
        return await self.has_user_row("reminder_optouts", user_id)

    async def set_opted_out(self, user_id: int, opted_out: bool, now: datetime) -> None:
        await self.set_user_row("reminder_optouts", user_id, opted_out, now)
