"""One SQLite file through aiosqlite: WAL mode, a busy timeout, foreign keys, migrations.

All SQL lives in `bot/storage`. Work happens in `Database.transaction()`, which hands out
the repositories bound to one connection inside `BEGIN IMMEDIATE … COMMIT`. Turns are
serialised by a lock so that one chat's transaction never interleaves with another's on
the shared connection; a dedup key, an answer and a session position therefore commit
together or not at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

import aiosqlite

from bot.storage.inuse import UseLock
from bot.storage.store import Store

BUSY_TIMEOUT_MS = 5000


class Database:
    def __init__(
        self, connection: aiosqlite.Connection, path: Path, in_use: UseLock | None = None
    ) -> None:
        self._connection = connection
        self._lock = asyncio.Lock()
        self._in_use = in_use
        self.path = path

    @classmethod
    async def open(cls, path: Path | str) -> Database:
        location = Path(path)
        in_use = None
        if str(location) != ":memory:":
            location.parent.mkdir(parents=True, exist_ok=True)
            # Held until close, so `sxsh-bot restore` can tell the database is in use.
            in_use = await UseLock.shared(location)
        try:
            connection = await aiosqlite.connect(location, isolation_level=None)
        except BaseException:
            if in_use is not None:
                in_use.release()
            raise
        connection.row_factory = aiosqlite.Row
        await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await connection.execute("PRAGMA journal_mode = WAL")
        await connection.execute("PRAGMA foreign_keys = ON")
        await connection.execute("PRAGMA synchronous = NORMAL")
        database = cls(connection, location, in_use)
        await database.migrate()
        return database

    async def close(self) -> None:
        await self._connection.close()
        if self._in_use is not None:
            self._in_use.release()

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Store]:
        """Everything inside commits together; an exception rolls it all back."""
        async with self._lock:
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield Store(self._connection)
            except BaseException:
                await self._connection.execute("ROLLBACK")
                raise
            await self._connection.execute("COMMIT")

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Store]:
        """A read-only view that stays consistent while it is open."""
        async with self._lock:
            await self._connection.execute("BEGIN")
            try:
                yield Store(self._connection)
            finally:
                await self._connection.execute("ROLLBACK")

    async def migrate(self) -> list[int]:
        """Apply the numbered migrations not yet applied; returns their numbers."""
        await self._connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        async with self._connection.execute("SELECT version FROM schema_migrations") as cursor:
            applied = {row[0] for row in await cursor.fetchall()}
        done: list[int] = []
        for version, name, script in migrations():
            if version in applied:
                continue
            # executescript commits on its own, so the script carries its transaction.
            await self._connection.executescript(
                "BEGIN IMMEDIATE;\n"
                + script
                + f"\nINSERT INTO schema_migrations VALUES ({version}, '{name}',"
                " strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));\nCOMMIT;"
            )
            done.append(version)
        return done


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, SQL) of every migration shipped with the package, in order."""
    found = []
    folder = resources.files("bot.storage") / "migrations"
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            number, _, rest = entry.name.partition("_")
            found.append((int(number), rest.removesuffix(".sql"), entry.read_text("utf-8")))
    found.sort()
    numbers = [number for number, _name, _sql in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two migrations share a number: {numbers}")
    return found
