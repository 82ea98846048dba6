"""Knowing whether a database is in use: a lock file beside it, held while it is open.

SQLite cannot tell: in WAL mode an idle bot holds no lock on the database a restore could
probe. So every process that opens the database through `Database.open` (the bot, the
console, any command) holds a *shared* `flock` on "<database>.lock" for as long as it is
open, and `restore` asks for it *exclusively* without waiting: if that fails, someone is
using the database. The kernel drops a flock when its process ends, even on a crash, so
a dead bot never leaves a stale lock behind. While a restore holds the lock, a bot that
starts waits a little and then says why it cannot open the database.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RETRY_SECONDS = 0.1


class DatabaseInUse(Exception):
    """Another process (or this one) has the database open, or is restoring it."""


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class UseLock:
    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    async def shared(cls, database: Path, wait: float = 10.0) -> UseLock:
        """Hold the database as "in use"; waits up to `wait` seconds for a restore."""
        fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o644)
        tries = max(1, int(wait / RETRY_SECONDS))
        for attempt in range(tries):
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                return cls(fd)
            except BlockingIOError:
                if attempt == tries - 1:
                    os.close(fd)
                    raise DatabaseInUse(
                        f"{database} is being restored; try again when that is done"
                    ) from None
                await asyncio.sleep(RETRY_SECONDS)
        raise AssertionError("unreachable")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


@contextmanager
def exclusive(database: Path) -> Iterator[None]:
    """Own the database alone for the block; `DatabaseInUse` if anyone has it open."""
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(f"{database} is open in a running bot or command") from None
        yield
    finally:
        os.close(fd)
