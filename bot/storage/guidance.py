"""Questions typed to the guidance library: paging through results, and content gaps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.clock import from_db, to_db
from bot.storage.base import Repository


@dataclass(frozen=True)
class AskedQuestion:
    id: int
    user_id: int
    question: str
    sector_code: str | None
    found: int
    asked_at: datetime

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> AskedQuestion:
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            question=row["question"],
            sector_code=row["sector_code"],
            found=row["found"],
            asked_at=from_db(row["asked_at"]),
        )


class GuidanceRepository(Repository):
    async def record(
        self, user_id: int, question: str, sector_code: str | None, found: int, now: datetime
    ) -> int:
        return await self.insert(
            "INSERT INTO guidance_questions (user_id, question, sector_code, found, asked_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (user_id, question, sector_code, found, to_db(now)),
        )

    async def by_id(self, question_id: int) -> AskedQuestion | None:
        row = await self.fetch_one("SELECT * FROM guidance_questions WHERE id = ?", (question_id,))
        return AskedQuestion.from_row(row) if row else None

    async def unanswered(self, limit: int = 100) -> list[AskedQuestion]:
        """The latest questions that found nothing: where the library needs a snippet."""
        rows = await self.fetch_all(
            "SELECT * FROM guidance_questions WHERE found = 0 ORDER BY asked_at DESC, id DESC"
            " LIMIT ?",
            (limit,),
        )
        return [AskedQuestion.from_row(row) for row in rows]
