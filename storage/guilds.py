"""Guild records, the one home for them: the row every guild's data hangs from, its
settings (reports channel, when the bot left), and purging everything it left behind."""

from __future__ import annotations

import time
from dataclasses import dataclass

import aiosqlite

from storage.db import NOW, transaction


@dataclass(frozen=True)
class GuildRecord:
    guild_id: int
    reports_channel_id: int | None
    left_at: float | None  # set while the bot is out of the guild
    places_channel_id: int | None  # where members' private threads open (None: where /vote was)
    moderators_role_id: int | None  # may manage the pool and reports beside Manage Server


@dataclass(frozen=True)
class GuildSummary:
    """Counts for an admin's status view."""

    faces: int
    hidden: int
    voters: int
    votes: int
    models: int
    queued: int
    running: int


async def ensure_guild(db: aiosqlite.Connection, guild_id: int) -> None:
    await db.execute("INSERT OR IGNORE INTO guild_pools (guild_id) VALUES (?)", (guild_id,))


async def get_guild(db: aiosqlite.Connection, guild_id: int) -> GuildRecord | None:
    async with db.execute(
        "SELECT guild_id, reports_channel_id, left_at, places_channel_id, moderators_role_id"
        " FROM guild_pools"
        " WHERE guild_id = ?",
        (guild_id,),
    ) as cursor:
        row = await cursor.fetchone()
    return GuildRecord(*row) if row else None


async def set_reports_channel(db: aiosqlite.Connection, guild_id: int, channel_id: int) -> None:
    await _set_column(db, guild_id, "reports_channel_id", channel_id)


async def set_places_channel(
    db: aiosqlite.Connection, guild_id: int, channel_id: int | None
) -> None:
    await _set_column(db, guild_id, "places_channel_id", channel_id)


async def set_moderators_role(db: aiosqlite.Connection, guild_id: int, role_id: int | None) -> None:
    await _set_column(db, guild_id, "moderators_role_id", role_id)


async def moderator_roles(db: aiosqlite.Connection) -> dict[int, int]:
    """Guild -> the role an admin lets manage the pool, for every guild that chose one."""
    async with db.execute(
        "SELECT guild_id, moderators_role_id FROM guild_pools WHERE moderators_role_id IS NOT NULL"
    ) as cursor:
        return {row[0]: row[1] for row in await cursor.fetchall()}


async def claim_welcome(db: aiosqlite.Connection, guild_id: int) -> bool:
    """Whether the server's admins are still to be welcomed; marks them welcomed."""
    async with transaction(db):
        await ensure_guild(db, guild_id)
        cursor = await db.execute(
            f"UPDATE guild_pools SET welcomed_at = {NOW}"
            " WHERE guild_id = ? AND welcomed_at IS NULL",
            (guild_id,),
        )
    return cursor.rowcount > 0


async def _set_column(
    db: aiosqlite.Connection, guild_id: int, column: str, value: int | None
) -> None:
    async with transaction(db):
        await ensure_guild(db, guild_id)
        await db.execute(
            f"UPDATE guild_pools SET {column} = ? WHERE guild_id = ?", (value, guild_id)
        )


async def mark_left(db: aiosqlite.Connection, guild_id: int, at: float | None = None) -> None:
    async with transaction(db):
        await ensure_guild(db, guild_id)
        await db.execute(
            "UPDATE guild_pools SET left_at = ? WHERE guild_id = ?",
            (time.time() if at is None else at, guild_id),
        )


async def mark_rejoined(db: aiosqlite.Connection, guild_id: int) -> None:
    await db.execute("UPDATE guild_pools SET left_at = NULL WHERE guild_id = ?", (guild_id,))


async def due_for_purge(db: aiosqlite.Connection, grace_s: float, now: float) -> list[int]:
    async with db.execute(
        "SELECT guild_id FROM guild_pools WHERE left_at IS NOT NULL AND ? - left_at >= ?",
        (now, grace_s),
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def purge_guild(db: aiosqlite.Connection, guild_id: int) -> int:
    """Delete every row of a guild (faces, votes, models, jobs, channels, settings);
    returns how many faces went."""
    async with db.execute("SELECT COUNT(*) FROM faces WHERE guild_id = ?", (guild_id,)) as cur:
        (faces,) = await cur.fetchone()
    async with transaction(db):
        await db.execute("DELETE FROM guild_pools WHERE guild_id = ?", (guild_id,))
    return int(faces)


async def guild_summary(db: aiosqlite.Connection, guild_id: int) -> GuildSummary:
    queries = {
        "faces": "SELECT COUNT(*) FROM faces WHERE guild_id = ?",
        "hidden": "SELECT COUNT(*) FROM faces WHERE guild_id = ? AND hidden = 1",
        "voters": "SELECT COUNT(DISTINCT user_id) FROM votes WHERE guild_id = ?",
        "votes": "SELECT COUNT(*) FROM votes WHERE guild_id = ?",
        "models": "SELECT COUNT(*) FROM models WHERE guild_id = ?",
        "queued": "SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND state = 'queued'",
        "running": "SELECT COUNT(*) FROM jobs WHERE guild_id = ? AND state = 'running'",
    }
    counts = {}
    for name, sql in queries.items():
        async with db.execute(sql, (guild_id,)) as cursor:
            (counts[name],) = await cursor.fetchone()
    return GuildSummary(**counts)
