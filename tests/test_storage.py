"""The SQLite file: WAL mode, foreign keys, migrations applied once, atomic turns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.storage.db import Database, migrations
from tests.conftest import START


async def test_the_database_runs_in_wal_mode_with_foreign_keys_and_all_migrations(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.db"
    database = await Database.open(path)
    async with database.snapshot() as store:
        mode = await store.facilities.fetch_one("PRAGMA journal_mode")
        keys = await store.facilities.fetch_one("PRAGMA foreign_keys")
    assert mode is not None and mode[0] == "wal"
    assert keys is not None and keys[0] == 1
    assert await database.migrate() == []
    await database.close()
    with sqlite3.connect(path) as connection:
        applied = [row[0] for row in connection.execute("SELECT version FROM schema_migrations")]
    assert applied == [number for number, _name, _sql in migrations()]


async def test_a_failing_turn_rolls_back_everything_it_wrote(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "s.db")
    with pytest.raises(RuntimeError):
        async with database.transaction() as store:
            await store.updates.claim("telegram:update:1", START)
            raise RuntimeError("crash in the middle of a turn")
    async with database.transaction() as store:
        assert await store.updates.claim("telegram:update:1", START) is True
    await database.close()


async def test_a_reference_to_a_missing_facility_is_refused(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "s.db")
    with pytest.raises(sqlite3.IntegrityError):
        async with database.transaction() as store:
            await store.invitations.create(999, "hash", START, START)
    await database.close()
