"""The register of facilities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

import aiosqlite

from bot.clock import to_db
from bot.register import FacilityRecord
from bot.storage.base import Repository

_COLUMNS = (
    "code",
    "name",
    "tax_code",
    "commune_code",
    "former_district",
    "sector_code",
    "size_class",
    "address",
    "phone",
)


@dataclass(frozen=True)
class Facility:
    id: int
    code: str
    name: str
    tax_code: str | None
    commune_code: str
    former_district: str | None
    sector_code: str
    size_class: str
    address: str | None
    phone: str | None

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> Facility:
        return cls(id=row["id"], **{column: row[column] for column in _COLUMNS})


class UpsertOutcome(Enum):
    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def _record_values(record: FacilityRecord) -> tuple[object, ...]:
    values = []
    for column in _COLUMNS:
        value = getattr(record, column)
        values.append(value.value if isinstance(value, Enum) else value)
    return tuple(values)


class FacilityRepository(Repository):
    async def upsert(self, record: FacilityRecord, now: datetime) -> UpsertOutcome:
        """Insert by code, or update the fields that changed; idempotent."""
        values = _record_values(record)
        existing = await self.fetch_one("SELECT * FROM facilities WHERE code = ?", (record.code,))
        if existing is None:
            placeholders = ", ".join("?" for _ in _COLUMNS)
            await self.insert(
                f"INSERT INTO facilities ({', '.join(_COLUMNS)}, created_at, updated_at)"
                f" VALUES ({placeholders}, ?, ?)",
                (*values, to_db(now), to_db(now)),
            )
            return UpsertOutcome.INSERTED
        if tuple(existing[column] for column in _COLUMNS) == values:
            return UpsertOutcome.UNCHANGED
        assignments = ", ".join(f"{column} = ?" for column in _COLUMNS)
        await self.execute(
            f"UPDATE facilities SET {assignments}, updated_at = ? WHERE code = ?",
            (*values, to_db(now), record.code),
        )
        return UpsertOutcome.UPDATED

    async def by_code(self, code: str) -> Facility | None:
        row = await self.fetch_one("SELECT * FROM facilities WHERE code = ?", (code,))
        return Facility.from_row(row) if row else None

    async def by_id(self, facility_id: int) -> Facility | None:
        row = await self.fetch_one("SELECT * FROM facilities WHERE id = ?", (facility_id,))
        return Facility.from_row(row) if row else None

    async def list(self, commune: str | None = None, sector: str | None = None) -> list[Facility]:
        clauses, params = [], []
        if commune:
            clauses.append("commune_code = ?")
            params.append(commune)
        if sector:
            clauses.append("sector_code = ?")
            params.append(sector)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.fetch_all(f"SELECT * FROM facilities{where} ORDER BY code", params)
        return [Facility.from_row(row) for row in rows]
