"""Keys of processed updates, so a redelivered update changes nothing."""

from __future__ import annotations

from datetime import datetime

from bot.clock import to_db
from bot.storage.base import Repository


class UpdateRepository(Repository):
    async def claim(self, key: str, now: datetime) -> bool:
        """True the first time a key is seen; committed with the turn's other writes."""
        changed = await self.execute(
            "INSERT OR IGNORE INTO processed_updates (key, processed_at) VALUES (?, ?)",
            (key, to_db(now)),
        )
        return changed == 1
