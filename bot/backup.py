"""Backing up the live database and restoring a backup.

A backup uses SQLite's online backup API on a read-only connection of its own: it copies
one consistent state of the database (in WAL mode the bot keeps writing meanwhile) to a
new file, which is checked and then renamed into place, so a backup file is always
whole. The copy is turned into a self-contained file (no -wal beside it).

A restore refuses to touch a database that any process has open (see
`bot.storage.inuse`), checks the backup first (a real SQLite file of this program, not
from a newer version, not damaged), keeps the database it replaces beside it, and writes
through SQLite rather than copying files, so no stale -wal file can be replayed over the
restored data.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from bot.clock import local
from bot.i18n import N_
from bot.storage.db import migrations
from bot.storage.inuse import exclusive


class BackupError(Exception):
    """A problem to show in one line: an English msgid and its parameters."""

    def __init__(self, msgid: str, **params: object) -> None:
        super().__init__(msgid.format(**params))
        self.msgid = msgid
        self.params = params


@dataclass(frozen=True)
class Copied:
    path: Path
    size: int
    facilities: int


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)


def _stamp(now: datetime) -> str:
    return local(now).strftime("%Y%m%d-%H%M%S")


def _copy(source: sqlite3.Connection, target: Path) -> Copied:
    """Copy `source` into a new file `target` (through a partial name), checked."""
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    destination = sqlite3.connect(partial)
    try:
        # One step (pages=-1): the whole copy comes from one read snapshot.
        source.backup(destination)
        destination.execute("PRAGMA journal_mode = DELETE")
        if destination.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(N_("the copy failed its integrity check; nothing was written"))
        facilities = destination.execute("SELECT COUNT(*) FROM facilities").fetchone()[0]
    finally:
        destination.close()
    try:
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Copied(target, target.stat().st_size, int(facilities))


def backup(database: Path, target: Path, now: datetime) -> Copied:
    """Write a consistent copy of the (possibly running) database to `target`.

    `target` may be a folder: the copy is then named after the database and the time.
    An existing file is never overwritten.
    """
    if not database.exists():
        raise BackupError(N_("there is no database at {path}"), path=database)
    if target.is_dir():
        target = target / f"{database.stem}-{_stamp(now)}.db"
    if target.exists():
        raise BackupError(N_("{path} exists already; give a new file name"), path=target)
    if not target.parent.is_dir():
        raise BackupError(N_("the folder {path} does not exist"), path=target.parent)
    source = _read_only(database)
    try:
        return _copy(source, target)
    finally:
        source.close()


def _check_backup(source: sqlite3.Connection, path: Path) -> None:
    try:
        if source.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise BackupError(N_("{path} is damaged (integrity check failed)"), path=path)
        tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master")}
        if not {"schema_migrations", "facilities"} <= tables:
            raise BackupError(N_("{path} is not an sxsh-bot database"), path=path)
        newest = source.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise BackupError(N_("{path} is not an SQLite database"), path=path) from error
    known = max(number for number, _name, _sql in migrations())
    if newest is not None and newest > known:
        raise BackupError(
            N_("{path} was made by a newer sxsh-bot (schema {found}, this one knows {known})"),
            path=path,
            found=newest,
            known=known,
        )


def restore(backup_file: Path, database: Path, now: datetime) -> tuple[Copied, Path | None]:
    """Replace `database` with `backup_file`; returns what was restored and where the
    replaced database was kept (None if there was none).

    Raises `DatabaseInUse` if a bot or a command has the database open.
    """
    if not backup_file.is_file():
        raise BackupError(N_("file not found: {path}"), path=backup_file)
    if database.exists() and backup_file.resolve() == database.resolve():
        raise BackupError(N_("the backup and the database are the same file"))
    source = _read_only(backup_file)
    try:
        _check_backup(source, backup_file)
        with exclusive(database):
            kept = None
            if database.exists():
                kept = database.with_name(f"{database.name}.before-restore-{_stamp(now)}")
                current = sqlite3.connect(database)
                try:
                    _copy(current, kept)
                finally:
                    current.close()
            destination = sqlite3.connect(database)
            try:
                source.backup(destination)
                destination.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                facilities = destination.execute("SELECT COUNT(*) FROM facilities").fetchone()
            finally:
                destination.close()
    finally:
        source.close()
    return Copied(database, database.stat().st_size, int(facilities[0])), kept
