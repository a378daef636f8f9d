"""The bot's own small state: key/value pairs and channels that get pairs on a schedule."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.guilds import ensure_guild


async def get_value(db: aiosqlite.Connection, key: str) -> str | None:
    async with db.execute("SELECT value FROM bot_state WHERE key = ?", (key,)) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def set_value(db: aiosqlite.Connection, key: str, value: str) -> None:
    await db.execute(
        "INSERT INTO bot_state (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


@dataclass(frozen=True)
class VoteChannel:
    channel_id: int
    guild_id: int
    interval_s: float
    enabled_by: int
    last_posted_at: float


async def enable_channel(
    db: aiosqlite.Connection, guild_id: int, channel_id: int, interval_s: float, enabled_by: int
) -> None:
    await ensure_guild(db, guild_id)
    await db.execute(
        "INSERT INTO vote_channels (channel_id, guild_id, interval_s, enabled_by)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET"
        " interval_s = excluded.interval_s, enabled_by = excluded.enabled_by",
        (channel_id, guild_id, interval_s, enabled_by),
    )


async def disable_channel(db: aiosqlite.Connection, guild_id: int, channel_id: int) -> bool:
    cursor = await db.execute(
        "DELETE FROM vote_channels WHERE guild_id = ? AND channel_id = ?", (guild_id, channel_id)
    )
    return cursor.rowcount > 0


async def vote_channels(db: aiosqlite.Connection, guild_id: int | None = None) -> list[VoteChannel]:
    sql = "SELECT channel_id, guild_id, interval_s, enabled_by, last_posted_at FROM vote_channels"
    args: tuple = ()
    if guild_id is not None:
        sql += " WHERE guild_id = ?"
        args = (guild_id,)
    async with db.execute(sql, args) as cursor:
        return [VoteChannel(*row) for row in await cursor.fetchall()]


async def mark_posted(db: aiosqlite.Connection, channel_id: int, at: float) -> None:
    await db.execute(
        "UPDATE vote_channels SET last_posted_at = ? WHERE channel_id = ?", (at, channel_id)
    )
