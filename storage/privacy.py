"""Forgetting a person: their votes, models and jobs in a guild go; only the fact stays."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import transaction
from storage.guilds import ensure_guild


async def forgotten_at(db: aiosqlite.Connection, guild_id: int, user_id: int) -> float | None:
    """When this person asked konomi to forget them here, if they did."""
    async with db.execute(
        "SELECT forgotten_at FROM forgotten_users WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    ) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


@dataclass(frozen=True)
class Forgotten:
    """How many rows of each kind went when a person was forgotten."""

    votes: int
    models: int
    jobs: int
    reactions: int


async def forget_user(db: aiosqlite.Connection, guild_id: int, user_id: int) -> Forgotten:
    """Delete everything about a person in a guild."""
    deleted = {}
    async with transaction(db):
        await ensure_guild(db, guild_id)
        for table in ("votes", "models", "jobs"):
            cursor = await db.execute(
                f"DELETE FROM {table} WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
            )
            deleted[table] = cursor.rowcount
        for table in ("member_places", "match_opt_ins", "pair_skips"):
            await db.execute(
                f"DELETE FROM {table} WHERE guild_id = ? AND user_id = ?", (guild_id, user_id)
            )
        cursor = await db.execute(
            "DELETE FROM pair_reactions WHERE user_id = ? AND message_id IN"
            " (SELECT message_id FROM pairs WHERE guild_id = ?)",
            (user_id, guild_id),
        )
        deleted["reactions"] = cursor.rowcount
        await db.execute(
            "UPDATE pairs SET posted_for = NULL WHERE guild_id = ? AND posted_for = ?",
            (guild_id, user_id),
        )
        await db.execute(
            "UPDATE face_reports SET reporter_id = 0 WHERE guild_id = ? AND reporter_id = ?",
            (guild_id, user_id),
        )
        # Channels the person enabled stay enabled, but no longer name them.
        await db.execute(
            "UPDATE vote_channels SET enabled_by = 0 WHERE guild_id = ? AND enabled_by = ?",
            (guild_id, user_id),
        )
        await db.execute(
            "INSERT OR REPLACE INTO forgotten_users (guild_id, user_id) VALUES (?, ?)",
            (guild_id, user_id),
        )
    return Forgotten(**deleted)
