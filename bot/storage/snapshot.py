"""A read-only, consistent view of the database for exports, on its own connection.

An export can take a while on a large register. It must neither hold the bot's shared
connection (every chat would wait) nor see half of a manager's submission. So it opens
its own `sqlite3` connection, read-only (`mode=ro` and `query_only`), and reads
everything inside one read transaction: in WAL mode that transaction sees the database
as it was when it began, while the bot keeps committing. The reader is synchronous so a
whole export can run in a worker thread.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from bot.clock import from_db, to_db
from bot.indicators import FacilityYear
from bot.storage.facilities import _COLUMNS as REGISTER_COLUMNS
from bot.storage.facilities import Facility

REPORT_FORM = "annual_report"


@dataclass(frozen=True)
class FacilityFilter:
    """Which facilities an export covers; None means no restriction on that field."""

    commune_code: str | None = None
    sector_code: str | None = None
    facility_id: int | None = None

    def where(self) -> tuple[str, list[object]]:
        clauses: list[str] = []
        params: list[object] = []
        for column, value in (
            ("f.commune_code", self.commune_code),
            ("f.sector_code", self.sector_code),
            ("f.id", self.facility_id),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        return (" AND ".join(clauses) or "1"), params


@dataclass(frozen=True)
class FormStatus:
    """A facility's draft of one form for one period."""

    status: str  # 'draft' or 'submitted'
    updated_at: datetime


@dataclass(frozen=True)
class FacilityFacts:
    """One facility with what an export row needs about it."""

    facility: Facility
    linked_accounts: int
    # The draft whose status is asked for (e.g. the yearly report), if any.
    status: FormStatus | None
    # Stored JSON answers of the form whose answers are asked for (e.g. the profile).
    answers: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class SubmittedReport:
    """One revision of a facility's yearly report (see migration 0002)."""

    facility: Facility
    revision: int
    latest_revision: int
    receipt: str
    form_version: int
    submitted_at: datetime
    submitted_by: str | None  # the chat user's display name
    late: bool  # this revision arrived on or after the deadline
    first_submitted_at: datetime
    first_late: bool  # the facility reported late
    answers: dict[str, object]


@dataclass(frozen=True)
class AppliedMeasure:
    facility: Facility
    receipt: str
    revision: int
    technique: str
    description: str | None


@dataclass(frozen=True)
class AssessmentRow:
    facility: Facility
    completed_at: datetime
    sector_code: str
    overall: int
    scores: dict[str, int | None]
    opportunities: list[str]


_FACILITY_COLUMNS = ", ".join(f"f.{column}" for column in ("id", *REGISTER_COLUMNS))
_LATEST = (
    "(SELECT MAX(o.revision) FROM report_revisions o"
    " WHERE o.facility_id = r.facility_id AND o.year = r.year)"
)
_FIRST = (
    "(SELECT o.{column} FROM report_revisions o"
    " WHERE o.facility_id = r.facility_id AND o.year = r.year AND o.revision = 1)"
)


class SnapshotReader:
    """Queries for exports; every call reads the same snapshot."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def count_facilities(
        self,
        scope: FacilityFilter,
        status_of: tuple[str, str] | None = None,
        only_unsubmitted: bool = False,
    ) -> int:
        where, params = scope.where()
        join, join_params = _status_join(status_of)
        if only_unsubmitted:
            where += _NOT_REPORTED
            params.append(_period_year(status_of))
        row = self.connection.execute(
            f"SELECT COUNT(*) FROM facilities f {join} WHERE {where}", [*join_params, *params]
        ).fetchone()
        return int(row[0])

    def facilities(
        self,
        scope: FacilityFilter,
        *,
        status_of: tuple[str, str] | None = None,
        answers_of: tuple[str, str] | None = None,
        only_unsubmitted: bool = False,
    ) -> Iterator[FacilityFacts]:
        """Facilities in code order, each with the status of one (form, period) draft and
        the answers of another; streamed, so memory does not grow with the register.

        `only_unsubmitted` keeps the facilities without a submitted report for the year
        of `status_of` (who has not reported).
        """
        where, params = scope.where()
        status_join, status_params = _status_join(status_of)
        if only_unsubmitted:
            where += _NOT_REPORTED
            params.append(_period_year(status_of))
        # One row per facility: its answers gathered into one JSON object by SQLite, so
        # Python decodes one value per facility instead of one row per answer.
        form_id, period = answers_of if answers_of is not None else ("", "")
        sql = (
            f"SELECT {_FACILITY_COLUMNS},"
            " (SELECT COUNT(*) FROM users u WHERE u.facility_id = f.id) AS linked_accounts,"
            " s.status AS draft_status, s.updated_at AS draft_updated_at,"
            " (SELECT json_group_object(a.name, json(a.value)) FROM drafts p"
            "  JOIN draft_answers a ON a.draft_id = p.id"
            "  WHERE p.facility_id = f.id AND p.form_id = ? AND p.period = ?) AS answers"
            f" FROM facilities f {status_join}"
            f" WHERE {where} ORDER BY f.code"
        )
        for row in self.connection.execute(sql, [form_id, period, *status_params, *params]):
            status = (
                FormStatus(row["draft_status"], from_db(row["draft_updated_at"]))
                if row["draft_status"] is not None
                else None
            )
            answers = json.loads(row["answers"]) if row["answers"] else {}
            yield FacilityFacts(
                Facility.from_row(row), int(row["linked_accounts"]), status, answers
            )

    # -- the yearly reports

    def facility_years(self, scope: FacilityFilter, year: int) -> Iterator[FacilityYear]:
        """Every facility in scope with its report for `year` (latest revision), as the
        indicators read it; saving figures are the confirmed ones."""
        where, params = scope.where()
        sql = (
            "SELECT f.commune_code, f.sector_code, f.size_class, r.id AS revision_id,"
            " r.aware, r.applied, r.sxsh_unit, d.status AS draft_status,"
            f" {_FIRST.format(column='late')} AS first_late,"
            " (SELECT json_group_object(x.resource, x.saving_pct) FROM report_resources x"
            "  WHERE x.revision_id = r.id AND x.confirmed = 1 AND x.saving_pct IS NOT NULL)"
            "  AS savings"
            " FROM facilities f"
            f" LEFT JOIN report_revisions r ON r.facility_id = f.id AND r.year = ?"
            f"  AND r.revision = {_LATEST}"
            " LEFT JOIN drafts d ON d.facility_id = f.id AND d.form_id = ? AND d.period = ?"
            f" WHERE {where} ORDER BY f.code"
        )
        for row in self.connection.execute(sql, [year, REPORT_FORM, str(year), *params]):
            reported = row["revision_id"] is not None
            savings = json.loads(row["savings"]) if row["savings"] else {}
            yield FacilityYear(
                commune_code=row["commune_code"],
                sector_code=row["sector_code"],
                size_class=row["size_class"],
                reported=reported,
                late=bool(row["first_late"]),
                drafting=row["draft_status"] is not None,
                aware=bool(row["aware"]),
                applied=bool(row["applied"]),
                sxsh_unit=bool(row["sxsh_unit"]),
                savings={resource: Decimal(text) for resource, text in savings.items()},
            )

    def count_reports(self, scope: FacilityFilter, year: int, *, latest_only: bool) -> int:
        where, params = scope.where()
        latest = f" AND r.revision = {_LATEST}" if latest_only else ""
        row = self.connection.execute(
            "SELECT COUNT(*) FROM report_revisions r JOIN facilities f ON f.id = r.facility_id"
            f" WHERE r.year = ?{latest} AND {where}",
            [year, *params],
        ).fetchone()
        return int(row[0])

    def reports(
        self, scope: FacilityFilter, year: int, *, latest_only: bool
    ) -> Iterator[SubmittedReport]:
        """The reports for `year` in facility-code order: each facility's latest revision,
        or every revision (oldest first) for the full history."""
        where, params = scope.where()
        latest = f" AND r.revision = {_LATEST}" if latest_only else ""
        sql = (
            f"SELECT {_FACILITY_COLUMNS}, r.revision, r.receipt, r.form_version,"
            " r.submitted_at, r.late, r.answers, u.display_name,"
            f" {_LATEST} AS latest_revision,"
            f" {_FIRST.format(column='submitted_at')} AS first_submitted_at,"
            f" {_FIRST.format(column='late')} AS first_late"
            " FROM report_revisions r JOIN facilities f ON f.id = r.facility_id"
            " LEFT JOIN users u ON u.id = r.submitted_by"
            f" WHERE r.year = ?{latest} AND {where} ORDER BY f.code, r.revision"
        )
        for row in self.connection.execute(sql, [year, *params]):
            yield SubmittedReport(
                facility=Facility.from_row(row),
                revision=row["revision"],
                latest_revision=row["latest_revision"],
                receipt=row["receipt"],
                form_version=row["form_version"],
                submitted_at=from_db(row["submitted_at"]),
                submitted_by=row["display_name"],
                late=bool(row["late"]),
                first_submitted_at=from_db(row["first_submitted_at"]),
                first_late=bool(row["first_late"]),
                answers=json.loads(row["answers"]),
            )

    def _measures_sql(self, scope: FacilityFilter, select: str) -> tuple[str, list[object]]:
        where, params = scope.where()
        return (
            f"SELECT {select} FROM report_measures m"
            " JOIN report_revisions r ON r.id = m.revision_id"
            " JOIN facilities f ON f.id = r.facility_id"
            f" WHERE r.year = ? AND r.revision = {_LATEST} AND {where}",
            params,
        )

    def count_measures(self, scope: FacilityFilter, year: int) -> int:
        sql, params = self._measures_sql(scope, "COUNT(*)")
        return int(self.connection.execute(sql, [year, *params]).fetchone()[0])

    def measures(self, scope: FacilityFilter, year: int) -> Iterator[AppliedMeasure]:
        """Each measure of the latest revisions for `year`, in the order it was reported."""
        sql, params = self._measures_sql(
            scope, f"{_FACILITY_COLUMNS}, r.receipt, r.revision, m.technique, m.description"
        )
        for row in self.connection.execute(sql + " ORDER BY f.code, m.rowid", [year, *params]):
            yield AppliedMeasure(
                Facility.from_row(row),
                row["receipt"],
                row["revision"],
                row["technique"],
                row["description"],
            )

    # -- self-assessments

    def _assessments_sql(
        self, scope: FacilityFilter, select: str, start: datetime, end: datetime
    ) -> tuple[str, list[object]]:
        where, params = scope.where()
        return (
            f"SELECT {select} FROM assessment_results a JOIN facilities f ON f.id = a.facility_id"
            f" WHERE a.completed_at >= ? AND a.completed_at < ? AND {where}",
            [to_db(start), to_db(end), *params],
        )

    def count_assessments(self, scope: FacilityFilter, start: datetime, end: datetime) -> int:
        sql, params = self._assessments_sql(scope, "COUNT(*)", start, end)
        return int(self.connection.execute(sql, params).fetchone()[0])

    def assessments(
        self, scope: FacilityFilter, start: datetime, end: datetime
    ) -> Iterator[AssessmentRow]:
        """Self-assessments completed from `start` until before `end`."""
        sql, params = self._assessments_sql(
            scope,
            f"{_FACILITY_COLUMNS}, a.completed_at, a.sector_code AS assessed_sector,"
            " a.overall, a.scores, a.opportunities",
            start,
            end,
        )
        for row in self.connection.execute(sql + " ORDER BY f.code, a.completed_at", params):
            yield AssessmentRow(
                Facility.from_row(row),
                from_db(row["completed_at"]),
                row["assessed_sector"],
                row["overall"],
                json.loads(row["scores"]),
                json.loads(row["opportunities"]),
            )


# Who has not reported: no submitted revision of the year's report (the definition the
# indicators use too; a draft, even one being changed, is not a report).
_NOT_REPORTED = (
    " AND NOT EXISTS (SELECT 1 FROM report_revisions x WHERE x.facility_id = f.id AND x.year = ?)"
)


def _period_year(status_of: tuple[str, str] | None) -> int:
    if status_of is None or not status_of[1].isdigit():
        raise ValueError("who has not reported is asked of a yearly report")
    return int(status_of[1])


def _status_join(status_of: tuple[str, str] | None) -> tuple[str, list[object]]:
    # Without a form to ask about, join a view with no rows (keeps the s.* columns valid
    # without making SQLite scan every draft for every facility).
    form_id, period = status_of if status_of is not None else ("", "")
    return (
        "LEFT JOIN drafts s ON s.facility_id = f.id AND s.form_id = ? AND s.period = ?",
        [form_id, period],
    )


@contextmanager
def read_snapshot(path: Path) -> Iterator[SnapshotReader]:
    """Open `path` read-only and hold one read transaction until the block ends."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
    try:
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA query_only = ON")
        connection.execute("BEGIN")
        # The snapshot starts with the first read, not with BEGIN: read now.
        connection.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()
        yield SnapshotReader(connection)
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        connection.close()
