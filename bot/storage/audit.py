"""The audit log: who exported what, changed whose role, invited which facility."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.clock import from_db, to_db
from bot.storage.base import Repository


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str  # "telegram:123456" or "cli:operator"
    action: str  # see bot.audit.ACTIONS
    target: str | None
    filter: dict[str, object]
    detail: dict[str, object]


def _decode(text: str | None) -> dict[str, object]:
    if not text:
        return {}
    decoded = json.loads(text)
    return decoded if isinstance(decoded, dict) else {}


def _encode(values: dict[str, object] | None) -> str | None:
    cleaned = {key: value for key, value in (values or {}).items() if value is not None}
    return json.dumps(cleaned, ensure_ascii=False, sort_keys=True) if cleaned else None


class AuditRepository(Repository):
    async def record(
        self,
        now: datetime,
        actor: str,
        action: str,
        target: str | None = None,
        filter: dict[str, object] | None = None,
        detail: dict[str, object] | None = None,
    ) -> int:
        return await self.insert(
            "INSERT INTO audit_log (at, actor, action, target, filter, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (to_db(now), actor, action, target, _encode(filter), _encode(detail)),
        )

    async def since(self, moment: datetime | None = None) -> list[AuditEntry]:
        rows = await self.fetch_all(
            "SELECT * FROM audit_log WHERE at >= ? ORDER BY at, id",
            (to_db(moment) if moment else "",),
        )
        return [
            AuditEntry(
                id=row["id"],
                at=from_db(row["at"]),
                actor=row["actor"],
                action=row["action"],
                target=row["target"],
                filter=_decode(row["filter"]),
                detail=_decode(row["detail"]),
            )
            for row in rows
        ]
