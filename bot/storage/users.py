"""Chat users: one row per account on one channel, linked to at most one facility."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.clock import to_db
from bot.storage.base import Repository


@dataclass(frozen=True)
class ChatUser:
    id: int
    channel: str
    external_id: str
    chat_id: str
    display_name: str | None
    language: str
    facility_id: int | None
    reachable: bool

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> ChatUser:
        return cls(
            id=row["id"],
            channel=row["channel"],
            external_id=row["external_id"],
            chat_id=row["chat_id"],
            display_name=row["display_name"],
            language=row["language"],
            facility_id=row["facility_id"],
            reachable=bool(row["reachable"]),
        )


class UserRepository(Repository):
    async def get_or_create(
        self,
        channel: str,
        external_id: str,
        chat_id: str,
        display_name: str | None,
        now: datetime,
    ) -> ChatUser:
        row = await self.fetch_one(
            "SELECT * FROM users WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        if row is None:
            await self.insert(
                "INSERT INTO users (channel, external_id, chat_id, display_name, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (channel, external_id, chat_id, display_name, to_db(now)),
            )
        elif not row["reachable"] or row["chat_id"] != chat_id:
            # Writing to the bot proves the user can be reached again.
            await self.execute(
                "UPDATE users SET reachable = 1, chat_id = ? WHERE id = ?", (chat_id, row["id"])
            )
        user = await self.by_external_id(channel, external_id)
        assert user is not None
        return user

    async def by_external_id(self, channel: str, external_id: str) -> ChatUser | None:
        row = await self.fetch_one(
            "SELECT * FROM users WHERE channel = ? AND external_id = ?", (channel, external_id)
        )
        return ChatUser.from_row(row) if row else None

    async def by_chat(self, channel: str, chat_id: str) -> ChatUser | None:
        row = await self.fetch_one(
            "SELECT * FROM users WHERE channel = ? AND chat_id = ? ORDER BY id LIMIT 1",
            (channel, chat_id),
        )
        return ChatUser.from_row(row) if row else None

    async def by_id(self, user_id: int) -> ChatUser | None:
        row = await self.fetch_one("SELECT * FROM users WHERE id = ?", (user_id,))
        return ChatUser.from_row(row) if row else None

    async def set_language(self, user_id: int, language: str) -> None:
        await self.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))

    async def link(self, user_id: int, facility_id: int, now: datetime) -> None:
        await self.execute(
            "UPDATE users SET facility_id = ?, linked_at = ? WHERE id = ?",
            (facility_id, to_db(now), user_id),
        )

    async def set_reachable(self, channel: str, chat_id: str, reachable: bool) -> int:
        return await self.execute(
            "UPDATE users SET reachable = ? WHERE channel = ? AND chat_id = ?",
            (int(reachable), channel, chat_id),
        )

    async def of_facility(self, facility_id: int) -> list[ChatUser]:
        rows = await self.fetch_all(
            "SELECT * FROM users WHERE facility_id = ? ORDER BY id", (facility_id,)
        )
        return [ChatUser.from_row(row) for row in rows]
