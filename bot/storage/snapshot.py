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
from pathlib import Path
from urllib.parse import quote

from bot.clock import from_db
from bot.storage.facilities import _COLUMNS as REGISTER_COLUMNS
from bot.storage.facilities import Facility


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


_FACILITY_COLUMNS = ", ".join(f"f.{column}" for column in ("id", *REGISTER_COLUMNS))


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
            where += " AND (s.status IS NULL OR s.status != 'submitted')"
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

        `only_unsubmitted` keeps the facilities whose `status_of` draft is missing or
        not submitted (who has not reported).
        """
        where, params = scope.where()
        status_join, status_params = _status_join(status_of)
        if only_unsubmitted:
            where += " AND (s.status IS NULL OR s.status != 'submitted')"
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
