"""What every repository shares: a connection and small typed fetch helpers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import aiosqlite

from bot.clock import to_db

Params = Iterable[object]


class Repository:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self.connection = connection

    async def fetch_one(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        async with self.connection.execute(sql, tuple(params)) as cursor:
            row: aiosqlite.Row | None = await cursor.fetchone()
            return row

    async def fetch_all(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        async with self.connection.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Runs a statement; returns the number of rows it changed."""
        async with self.connection.execute(sql, tuple(params)) as cursor:
            return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Runs an INSERT; returns the new row id."""
        async with self.connection.execute(sql, tuple(params)) as cursor:
            row_id = cursor.lastrowid
        if row_id is None:
            raise RuntimeError("the insert returned no row id")
        return row_id

    async def has_user_row(self, table: str, user_id: int) -> bool:
        """Whether a per-user switch table (opt-outs) holds the user."""
        row = await self.fetch_one(f"SELECT 1 FROM {table} WHERE user_id = ?", (user_id,))
        return row is not None

    async def set_user_row(self, table: str, user_id: int, present: bool, now: datetime) -> None:
        """Put the user in a per-user switch table (with the time) or take them out."""
        if present:
            await self.execute(
                f"INSERT INTO {table} (user_id, since) VALUES (?, ?)"
                " ON CONFLICT (user_id) DO NOTHING",
                (user_id, to_db(now)),
            )
        else:
            await self.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
