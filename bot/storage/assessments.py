"""Self-assessment results per facility, and requests for an adviser to call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.clock import from_db, to_db
from bot.storage.base import Repository


@dataclass(frozen=True)
class StoredAssessment:
    id: int
    facility_id: int
    draft_id: int
    form_version: int
    sector_code: str
    overall: int
    scores: dict[str, int | None]
    answers: dict[str, str]
    opportunities: list[str]
    completed_at: datetime

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> StoredAssessment:
        return cls(
            id=row["id"],
            facility_id=row["facility_id"],
            draft_id=row["draft_id"],
            form_version=row["form_version"],
            sector_code=row["sector_code"],
            overall=row["overall"],
            scores=json.loads(row["scores"]),
            answers=json.loads(row["answers"]),
            opportunities=json.loads(row["opportunities"]),
            completed_at=from_db(row["completed_at"]),
        )


@dataclass(frozen=True)
class AdviserRequest:
    id: int
    facility_id: int
    assessment_id: int | None
    contact_name: str | None
    phone: str | None
    requested_at: datetime
    handled_at: datetime | None

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> AdviserRequest:
        handled = row["handled_at"]
        return cls(
            id=row["id"],
            facility_id=row["facility_id"],
            assessment_id=row["assessment_id"],
            contact_name=row["contact_name"],
            phone=row["phone"],
            requested_at=from_db(row["requested_at"]),
            handled_at=from_db(handled) if handled else None,
        )


class AssessmentRepository(Repository):
    async def open_period(self, facility_id: int, form_id: str) -> str | None:
        """The period of the facility's assessment still being answered, if any."""
        row = await self.fetch_one(
            "SELECT period FROM drafts WHERE facility_id = ? AND form_id = ?"
            " AND status = 'draft' ORDER BY created_at DESC, id DESC LIMIT 1",
            (facility_id, form_id),
        )
        return str(row["period"]) if row else None

    async def save(
        self,
        *,
        facility_id: int,
        draft_id: int,
        form_version: int,
        sector_code: str,
        overall: int,
        scores: dict[str, int | None],
        answers: dict[str, str],
        opportunities: list[str],
        user_id: int | None,
        now: datetime,
    ) -> int:
        return await self.insert(
            "INSERT INTO assessment_results (facility_id, draft_id, form_version, sector_code,"
            " overall, scores, answers, opportunities, completed_by, completed_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                facility_id,
                draft_id,
                form_version,
                sector_code,
                overall,
                json.dumps(scores),
                json.dumps(answers),
                json.dumps(opportunities),
                user_id,
                to_db(now),
            ),
        )

    async def by_id(self, assessment_id: int) -> StoredAssessment | None:
        row = await self.fetch_one(
            "SELECT * FROM assessment_results WHERE id = ?", (assessment_id,)
        )
        return StoredAssessment.from_row(row) if row else None

    async def latest(self, facility_id: int, before: int | None = None) -> StoredAssessment | None:
        """The facility's most recent result (or the one before result `before`)."""
        earlier = "" if before is None else " AND id < ?"
        params = (facility_id,) if before is None else (facility_id, before)
        row = await self.fetch_one(
            f"SELECT * FROM assessment_results WHERE facility_id = ?{earlier}"
            " ORDER BY completed_at DESC, id DESC LIMIT 1",
            params,
        )
        return StoredAssessment.from_row(row) if row else None

    async def request_adviser(
        self,
        facility_id: int,
        user_id: int,
        assessment_id: int | None,
        contact_name: str | None,
        phone: str | None,
        now: datetime,
    ) -> int:
        return await self.insert(
            "INSERT INTO adviser_requests (facility_id, user_id, assessment_id, contact_name,"
            " phone, requested_at) VALUES (?, ?, ?, ?, ?, ?)",
            (facility_id, user_id, assessment_id, contact_name, phone, to_db(now)),
        )

    async def open_request(self, facility_id: int) -> AdviserRequest | None:
        row = await self.fetch_one(
            "SELECT * FROM adviser_requests WHERE facility_id = ? AND handled_at IS NULL"
            " ORDER BY requested_at DESC LIMIT 1",
            (facility_id,),
        )
        return AdviserRequest.from_row(row) if row else None

    async def open_requests(self) -> list[AdviserRequest]:
        rows = await self.fetch_all(
            "SELECT * FROM adviser_requests WHERE handled_at IS NULL ORDER BY requested_at, id"
        )
        return [AdviserRequest.from_row(row) for row in rows]

    async def mark_handled(self, request_id: int, now: datetime) -> bool:
        changed = await self.execute(
            "UPDATE adviser_requests SET handled_at = ? WHERE id = ? AND handled_at IS NULL",
            (to_db(now), request_id),
        )
        return changed == 1
