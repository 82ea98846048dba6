"""Submitted yearly reports: every revision kept, normalized (see migration 0002)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from bot.clock import from_db, to_db
from bot.report_record import ReportRecord, decimal_text
from bot.report_rules import REPORT_FORM, format_receipt
from bot.storage.base import Repository


@dataclass(frozen=True)
class Revision:
    id: int
    facility_id: int
    year: int
    revision: int
    receipt: str
    form_version: int
    submitted_at: datetime
    submitted_by: int | None
    # The display name of that chat user, when known.
    submitted_by_name: str | None
    late: bool
    answers: dict[str, object]
    reporter_name: str | None


@dataclass(frozen=True)
class NewRevision:
    facility_id: int
    year: int
    form_version: int
    draft_id: int
    submitted_at: datetime
    submitted_by: int | None  # None: not through a chat (imports, tests)
    late: bool
    answers: dict[str, object]
    record: ReportRecord


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


class ReportRepository(Repository):
    async def add(self, new: NewRevision) -> Revision:
        """Store the next revision of a facility's report for a year, with its receipt."""
        row = await self.fetch_one(
            "SELECT COALESCE(MAX(revision), 0) + 1 FROM report_revisions"
            " WHERE facility_id = ? AND year = ?",
            (new.facility_id, new.year),
        )
        number = int(row[0]) if row else 1
        row = await self.fetch_one(
            "SELECT COUNT(*) + 1 FROM report_revisions WHERE year = ?", (new.year,)
        )
        receipt = format_receipt(new.year, int(row[0]) if row else 1)
        record = new.record
        revision_id = await self.insert(
            "INSERT INTO report_revisions (facility_id, year, revision, receipt, form_id,"
            " form_version, draft_id, submitted_at, submitted_by, late, answers, aware,"
            " aware_how, staff_trained, applied, not_applied_reason, not_applied_detail,"
            " wants_adviser, techniques, product, product_unit, output, investment_vnd,"
            " yearly_savings_vnd, payback_years, sxsh_unit, sxsh_unit_people, remarks,"
            " reporter_name, reporter_phone)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
            " ?, ?, ?, ?, ?, ?, ?)",
            (
                new.facility_id,
                new.year,
                number,
                receipt,
                REPORT_FORM,
                new.form_version,
                new.draft_id,
                to_db(new.submitted_at),
                new.submitted_by,
                int(new.late),
                json.dumps(new.answers, ensure_ascii=False, sort_keys=True),
                _flag(record.aware),
                json.dumps(list(record.aware_how)),
                record.staff_trained,
                int(record.applied),
                record.not_applied_reason,
                record.not_applied_detail,
                _flag(record.wants_adviser),
                json.dumps(list(record.techniques)),
                record.product,
                record.product_unit,
                decimal_text(record.output),
                record.investment_vnd,
                record.yearly_savings_vnd,
                decimal_text(record.payback_years),
                _flag(record.sxsh_unit),
                record.sxsh_unit_people,
                record.remarks,
                record.reporter_name,
                record.reporter_phone,
            ),
        )
        for figure in record.resources:
            await self.execute(
                "INSERT INTO report_resources (revision_id, resource, name, unit, baseline_year,"
                " baseline_per_unit, current_per_unit, saving_pct, confirmed, questioned)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    revision_id,
                    figure.resource,
                    figure.name,
                    figure.unit,
                    figure.baseline_year,
                    decimal_text(figure.baseline_per_unit),
                    decimal_text(figure.current_per_unit),
                    decimal_text(figure.saving_pct),
                    int(figure.confirmed),
                    int(figure.questioned),
                ),
            )
        for measure in record.measures:
            await self.execute(
                "INSERT INTO report_measures (revision_id, technique, description)"
                " VALUES (?, ?, ?)",
                (revision_id, measure.technique, measure.description),
            )
        stored = await self._one("r.id = ?", (revision_id,))
        assert stored is not None
        return stored

    async def latest(self, facility_id: int, year: int) -> Revision | None:
        """The facility's report for the year: its latest revision."""
        return await self._one(
            "r.facility_id = ? AND r.year = ? ORDER BY r.revision DESC LIMIT 1",
            (facility_id, year),
        )

    async def revisions(self, facility_id: int, year: int) -> list[Revision]:
        rows = await self.fetch_all(
            _SELECT + " WHERE r.facility_id = ? AND r.year = ? ORDER BY r.revision",
            (facility_id, year),
        )
        return [_revision(row) for row in rows]

    async def _one(self, where: str, params: tuple[object, ...]) -> Revision | None:
        row = await self.fetch_one(f"{_SELECT} WHERE {where}", params)
        return _revision(row) if row else None


_SELECT = (
    "SELECT r.id, r.facility_id, r.year, r.revision, r.receipt, r.form_version,"
    " r.submitted_at, r.submitted_by, u.display_name, r.late, r.answers, r.reporter_name"
    " FROM report_revisions AS r LEFT JOIN users AS u ON u.id = r.submitted_by"
)


def _revision(row: aiosqlite.Row) -> Revision:
    return Revision(
        id=row["id"],
        facility_id=row["facility_id"],
        year=row["year"],
        revision=row["revision"],
        receipt=row["receipt"],
        form_version=row["form_version"],
        submitted_at=from_db(row["submitted_at"]),
        submitted_by=row["submitted_by"],
        submitted_by_name=row["display_name"],
        late=bool(row["late"]),
        answers=json.loads(row["answers"]),
        reporter_name=row["reporter_name"],
    )
