"""Where each chat user is: the open form and its state, and the last menu shown."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.clock import to_db
from bot.storage.base import Repository


@dataclass
class Session:
    user_id: int
    form_id: str | None = None
    draft_id: int | None = None
    state: dict[str, object] | None = None
    # The buttons of the last menu, so "2" or a typed label can stand for a press.
    menu: list[list[str]] | None = None


class SessionRepository(Repository):
    async def get(self, user_id: int) -> Session:
        row = await self.fetch_one("SELECT * FROM sessions WHERE user_id = ?", (user_id,))
        if row is None:
            return Session(user_id=user_id)
        return Session(
            user_id=user_id,
            form_id=row["form_id"],
            draft_id=row["draft_id"],
            state=json.loads(row["state"]) if row["state"] else None,
            menu=json.loads(row["menu"]) if row["menu"] else None,
        )

    async def save(self, session: Session, now: datetime) -> None:
        await self.execute(
            "INSERT INTO sessions (user_id, form_id, draft_id, state, menu, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " form_id = excluded.form_id, draft_id = excluded.draft_id,"
            " state = excluded.state, menu = excluded.menu, updated_at = excluded.updated_at",
            (
                session.user_id,
                session.form_id,
                session.draft_id,
                json.dumps(session.state, ensure_ascii=False) if session.state else None,
                json.dumps(session.menu, ensure_ascii=False) if session.menu else None,
                to_db(now),
            ),
        )
