import aiosqlite
import pytest

from storage import DatabaseUnusable, latest_version, open_database
from storage.db import migrations, user_version


async def test_from_empty_to_latest(tmp_path):
    db = await open_database(tmp_path / "k.sqlite3")
    try:
        assert await user_version(db) == latest_version() >= 3
        async with db.execute("PRAGMA journal_mode") as cursor:
            assert (await cursor.fetchone())[0] == "wal"
        async with db.execute("PRAGMA foreign_keys") as cursor:
            assert (await cursor.fetchone())[0] == 1
        async with db.execute("SELECT name FROM sqlite_master WHERE type = 'table'") as cursor:
            tables = {row[0] for row in await cursor.fetchall()}
        assert {"guild_pools", "sources", "faces", "pairs", "votes", "models", "jobs"} <= tables
    finally:
        await db.close()


@pytest.mark.parametrize("start", range(1, len(migrations())))
async def test_from_every_earlier_version_keeps_the_data(tmp_path, start):
    path = tmp_path / "k.sqlite3"
    db = await open_database(path, migrate_to=start)
    assert await user_version(db) == start
    await db.execute("INSERT INTO guild_pools (guild_id) VALUES (7)")
    await db.close()

    db = await open_database(path)
    try:
        assert await user_version(db) == latest_version()
        async with db.execute("SELECT guild_id FROM guild_pools") as cursor:
            assert [row[0] for row in await cursor.fetchall()] == [7]
    finally:
        await db.close()


async def test_reopening_applies_nothing_twice(tmp_path):
    path = tmp_path / "k.sqlite3"
    for _ in range(2):
        db = await open_database(path)
        assert await user_version(db) == latest_version()
        await db.close()


async def test_a_failing_migration_leaves_the_previous_version(tmp_path, monkeypatch):
    path = tmp_path / "k.sqlite3"
    db = await open_database(path, migrate_to=1)
    await db.close()
    import storage.db as storage_db

    real = storage_db.migrations()
    broken = [*real[:1], (2, "CREATE TABLE half_done (x INTEGER); THIS IS NOT SQL;")]
    monkeypatch.setattr(storage_db, "migrations", lambda: broken)
    with pytest.raises(DatabaseUnusable, match="upgrading its schema failed .* version 1"):
        await open_database(path)
    monkeypatch.undo()
    db = await aiosqlite.connect(path)
    try:
        async with db.execute("PRAGMA user_version") as cursor:
            assert (await cursor.fetchone())[0] == 1
        async with db.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'") as cursor:
            assert await cursor.fetchone() is None
    finally:
        await db.close()


async def test_guild_settings_move_from_string_keys_to_the_guild_row(tmp_path):
    path = tmp_path / "k.sqlite3"
    db = await open_database(path, migrate_to=6)
    await db.execute("INSERT INTO guild_pools (guild_id) VALUES (7)")
    await db.executemany(
        "INSERT INTO bot_state (key, value) VALUES (?, ?)",
        [("reports_channel:7", "70"), ("left_at:8", "1234.5"), ("command_sync_hash", "abc")],
    )
    await db.commit()
    await db.close()

    db = await open_database(path)
    try:
        async with db.execute(
            "SELECT guild_id, reports_channel_id, left_at FROM guild_pools ORDER BY guild_id"
        ) as cursor:
            assert [tuple(row) for row in await cursor.fetchall()] == [
                (7, 70, None),
                (8, None, 1234.5),
            ]
        async with db.execute("SELECT key FROM bot_state") as cursor:
            assert [row[0] for row in await cursor.fetchall()] == ["command_sync_hash"]
    finally:
        await db.close()
