"""Drafts: a facility's answers to one form for one period, shared by its users."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.clock import from_db, to_db
from bot.storage.base import Repository
from flows.engine import DELETE


@dataclass(frozen=True)
class Draft:
    id: int
    facility_id: int
    form_id: str
    period: str
    form_version: int
    status: str
    updated_at: datetime


@dataclass(frozen=True)
class StoredAnswer:
    value: object
    answered_by: int | None
    answered_at: datetime


class DraftRepository(Repository):
    async def find(self, facility_id: int, form_id: str, period: str) -> Draft | None:
        row = await self.fetch_one(
            "SELECT * FROM drafts WHERE facility_id = ? AND form_id = ? AND period = ?",
            (facility_id, form_id, period),
        )
        return _draft(row) if row else None

    async def by_id(self, draft_id: int) -> Draft | None:
        row = await self.fetch_one("SELECT * FROM drafts WHERE id = ?", (draft_id,))
        return _draft(row) if row else None

    async def open(
        self, facility_id: int, form_id: str, period: str, version: int, now: datetime
    ) -> Draft:
        existing = await self.find(facility_id, form_id, period)
        if existing is not None:
            return existing
        await self.insert(
            "INSERT INTO drafts (facility_id, form_id, period, form_version, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            (facility_id, form_id, period, version, to_db(now), to_db(now)),
        )
        created = await self.find(facility_id, form_id, period)
        assert created is not None
        return created

    async def answers(self, draft_id: int) -> dict[str, object]:
        return {
            name: answer.value for name, answer in (await self.answer_details(draft_id)).items()
        }

    async def answer_details(self, draft_id: int) -> dict[str, StoredAnswer]:
        rows = await self.fetch_all(
            "SELECT name, value, answered_by, answered_at FROM draft_answers WHERE draft_id = ?",
            (draft_id,),
        )
        return {row["name"]: _stored_answer(row) for row in rows}

    async def authors(self, draft_id: int, names: list[str]) -> dict[str, StoredAnswer]:
        """The stored answers to `names`, with who gave them and when."""
        if not names:
            return {}
        marks = ", ".join("?" for _ in names)
        rows = await self.fetch_all(
            "SELECT name, value, answered_by, answered_at FROM draft_answers"
            f" WHERE draft_id = ? AND name IN ({marks})",
            (draft_id, *names),
        )
        return {row["name"]: _stored_answer(row) for row in rows}

    async def apply(
        self, draft_id: int, changes: Mapping[str, object], user_id: int | None, now: datetime
    ) -> None:
        """Store the engine's answer changes; `DELETE` removes an answer."""
        for name, value in changes.items():
            if value is DELETE:
                await self.execute(
                    "DELETE FROM draft_answers WHERE draft_id = ? AND name = ?", (draft_id, name)
                )
                continue
            await self.execute(
                "INSERT INTO draft_answers (draft_id, name, value, answered_by, answered_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (draft_id, name) DO UPDATE SET"
                " value = excluded.value, answered_by = excluded.answered_by,"
                " answered_at = excluded.answered_at",
                (draft_id, name, json.dumps(value, ensure_ascii=False), user_id, to_db(now)),
            )
        if changes:
            await self.execute(
                "UPDATE drafts SET updated_at = ? WHERE id = ?", (to_db(now), draft_id)
            )

    async def set_status(self, draft_id: int, status: str, now: datetime) -> None:
        await self.execute(
            "UPDATE drafts SET status = ?, updated_at = ? WHERE id = ?",
            (status, to_db(now), draft_id),
        )


def _stored_answer(row: aiosqlite.Row) -> StoredAnswer:
    return StoredAnswer(json.loads(row["value"]), row["answered_by"], from_db(row["answered_at"]))


def _draft(row: aiosqlite.Row) -> Draft:
    return Draft(
        id=row["id"],
        facility_id=row["facility_id"],
        form_id=row["form_id"],
        period=row["period"],
        form_version=row["form_version"],
        status=row["status"],
        updated_at=from_db(row["updated_at"]),
    )
