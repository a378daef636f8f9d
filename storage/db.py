"""Opening the database and applying numbered migrations.

Each `migrations/NNNN_name.sql` runs inside one transaction together with the
`PRAGMA user_version` bump, so a crash mid-migration leaves the old version.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import weakref
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import aiosqlite

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


async def open_database(path: Path | str, *, migrate_to: int | None = None) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate the database at `path`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = await aiosqlite.connect(path, isolation_level=None, timeout=30.0)
    db.row_factory = aiosqlite.Row
    await db.execute("PRAGMA journal_mode = WAL")
    await db.execute("PRAGMA foreign_keys = ON")
    await db.execute("PRAGMA synchronous = NORMAL")
    await db.execute("PRAGMA busy_timeout = 30000")
    try:
        await migrate(db, migrate_to)
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
