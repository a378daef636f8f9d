"""Whole-guild lifecycle: leaving, rejoining, and purging everything a guild left behind."""

from __future__ import annotations

import time

import aiosqlite

from storage.db import transaction
from storage.state import get_value, set_value

_LEFT = "left_at:"


async def mark_left(db: aiosqlite.Connection, guild_id: int, at: float | None = None) -> None:
    await set_value(db, f"{_LEFT}{guild_id}", str(time.time() if at is None else at))


async def mark_rejoined(db: aiosqlite.Connection, guild_id: int) -> None:
    await db.execute("DELETE FROM bot_state WHERE key = ?", (f"{_LEFT}{guild_id}",))


async def left_at(db: aiosqlite.Connection, guild_id: int) -> float | None:
    value = await get_value(db, f"{_LEFT}{guild_id}")
    return float(value) if value is not None else None


async def due_for_purge(db: aiosqlite.Connection, grace_s: float, now: float) -> list[int]:
    async with db.execute(
        "SELECT key, value FROM bot_state WHERE key LIKE ?", (f"{_LEFT}%",)
    ) as cursor:
        rows = await cursor.fetchall()
    return [int(k[len(_LEFT) :]) for k, v in rows if now - float(v) >= grace_s]


async def purge_guild(db: aiosqlite.Connection, guild_id: int) -> int:
    """Delete every row of a guild (faces, votes, models, jobs, channels); returns faces gone."""
    async with db.execute("SELECT COUNT(*) FROM faces WHERE guild_id = ?", (guild_id,)) as cur:
        (faces,) = await cur.fetchone()
    async with transaction(db):
        await db.execute("DELETE FROM guild_pools WHERE guild_id = ?", (guild_id,))
        await db.execute(
            "DELETE FROM bot_state WHERE key IN (?, ?)",
            (f"{_LEFT}{guild_id}", f"reports_channel:{guild_id}"),
        )
    return int(faces)
