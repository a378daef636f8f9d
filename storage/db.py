"""Opening the database and applying numbered migrations.

Each `migrations/NNNN_name.sql` runs inside one transaction together with the
`PRAGMA user_version` bump, so a crash mid-migration leaves the old version.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import weakref
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import aiosqlite

NOW = "((julianday('now') - 2440587.5) * 86400.0)"  # Unix time, as SQLite reads the clock
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str]]:
    """(version, SQL) for every migration file, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


def latest_version() -> int:
    return len(migrations())


async def user_version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cursor:
        (version,) = await cursor.fetchone()
    return int(version)


async def migrate(db: aiosqlite.Connection, target: int | None = None) -> int:
    """Apply the migrations above the database's version, up to `target`."""
    current = await user_version(db)
    for version, sql in migrations():
        if version <= current or (target is not None and version > target):
            continue
        try:
            await db.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
            )
        except Exception:
            if db.in_transaction:
                await db.rollback()
            raise
        current = version
    return current


class DatabaseUnusable(Exception):
    """The database file cannot be used; the message names the file and says why."""


class DatabaseBusy(DatabaseUnusable):
    """Another process holds a lock on the database for longer than konomi waits: the
    file is fine, and nothing was changed."""


def is_busy(error: BaseException) -> bool:
    """Whether an SQLite error is a lock held elsewhere (not damage)."""
    return isinstance(error, sqlite3.OperationalError) and (
        "locked" in str(error) or "busy" in str(error)
    )


def busy_message(path: Path | str, waited_s: float) -> str:
    return (
        f"{path}: another process holds a lock on the database, and it was still held "
        f"after {waited_s:g} s. Nothing was changed; run this again when that process is "
        "done ([storage] busy_timeout_s sets how long konomi waits)."
    )


async def open_database(
    path: Path | str, *, migrate_to: int | None = None, busy_timeout_s: float = 5.0
) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate the database at `path`.

    Raises DatabaseUnusable for a path that cannot hold a database, a file that
    is not SQLite or is damaged, another program's database, or a schema newer
    than this konomi knows, and DatabaseBusy for a database another process keeps
    locked longer than `busy_timeout_s`; the connection is closed again, so nothing
    keeps the process alive."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Checked first: after a failed connect, aiosqlite's thread outlives the loop.
        if path.exists() and not path.is_file():
            raise DatabaseUnusable(f"{path}: not a file (a folder or a device is in the way)")
        if not os.access(path if path.exists() else path.parent, os.R_OK | os.W_OK):
            raise DatabaseUnusable(f"{path}: konomi may not read and write there")
        db = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_s)
    except (OSError, sqlite3.Error) as error:
        raise DatabaseUnusable(f"{path}: cannot open a database there ({error})") from None
    try:
        db.row_factory = aiosqlite.Row
        async with db.execute("SELECT COUNT(*) FROM sqlite_master") as cursor:
            (tables,) = await cursor.fetchone()  # reads the schema: fails on a damaged file
        version = await user_version(db)
        if version > latest_version():
            raise DatabaseUnusable(
                f"{path}: its schema is version {version}, newer than this konomi knows "
                f"({latest_version()}); run the konomi that wrote it, or a newer one"
            )
        if version == 0 and tables:
            raise DatabaseUnusable(f"{path}: another program's SQLite database, not konomi's")
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
    except sqlite3.Error as error:
        await db.close()
        if is_busy(error):
            raise DatabaseBusy(busy_message(path, busy_timeout_s)) from None
        raise DatabaseUnusable(
            f"{path}: not a usable konomi database ({error}); restore a backup, or move it "
            "away to start afresh"
        ) from None
    except BaseException:
        await db.close()
        raise
    try:
        await migrate(db, migrate_to)
    except sqlite3.Error as error:
        await db.close()
        if is_busy(error):
            raise DatabaseBusy(busy_message(path, busy_timeout_s)) from None
        raise DatabaseUnusable(
            f"{path}: upgrading its schema failed ({error}); it was left at version {version}"
        ) from None
    except BaseException:
        await db.close()
        raise
    return db


_transaction_locks: weakref.WeakKeyDictionary[aiosqlite.Connection, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def transaction(db: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error.

    One at a time per connection: coroutines share the bot's connection, and a
    second BEGIN inside an open transaction would fail (or join it)."""
    lock = _transaction_locks.setdefault(db, asyncio.Lock())
    async with lock:
        await db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            await db.rollback()
            raise
        else:
            await db.commit()
