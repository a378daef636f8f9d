"""What a member chose: where they vote in private, and whether they compare tastes."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.guilds import ensure_guild


@dataclass(frozen=True)
class Place:
    """Where a member's pairs go: their private thread or their DMs (channel_id None
    until konomi opened it)."""

    kind: str  # 'thread' or 'dm'
    channel_id: int | None
    locale: str | None = None  # the member's Discord language at their last /vote


async def get_place(db: aiosqlite.Connection, guild_id: int, user_id: int) -> Place | None:
    async with db.execute(
        "SELECT kind, channel_id, locale FROM member_places WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    ) as cursor:
        row = await cursor.fetchone()
    return Place(*row) if row else None


async def set_place(
    db: aiosqlite.Connection,
    guild_id: int,
    user_id: int,
    kind: str,
    channel_id: int | None,
    locale: str | None = None,
) -> None:
    await ensure_guild(db, guild_id)
    await db.execute(
        "INSERT INTO member_places (guild_id, user_id, kind, channel_id, locale)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id) DO UPDATE SET"
        " kind = excluded.kind, channel_id = excluded.channel_id,"
        " locale = coalesce(excluded.locale, member_places.locale)",
        (guild_id, user_id, kind, channel_id, locale),
    )


async def dm_channel_ids(db: aiosqlite.Connection) -> set[int]:
    """The DM channels members vote in: their reactions come through shard 0, whatever
    the guild's shard."""
    async with db.execute(
        "SELECT channel_id FROM member_places WHERE kind = 'dm' AND channel_id IS NOT NULL"
    ) as cursor:
        return {row[0] for row in await cursor.fetchall()}


async def set_match_opt_in(
    db: aiosqlite.Connection, guild_id: int, user_id: int, opted_in: bool
) -> None:
    await ensure_guild(db, guild_id)
    if opted_in:
        await db.execute(
            "INSERT OR IGNORE INTO match_opt_ins (guild_id, user_id) VALUES (?, ?)",
            (guild_id, user_id),
        )
    else:
        await db.execute(
            "DELETE FROM match_opt_ins WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
        )


async def opted_in(db: aiosqlite.Connection, guild_id: int, user_id: int) -> bool:
    async with db.execute(
        "SELECT 1 FROM match_opt_ins WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
    ) as cursor:
        return await cursor.fetchone() is not None
