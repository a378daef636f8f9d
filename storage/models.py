"""Trained models, versioned per guild and user (user None: the guild model)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage.db import transaction
from storage.pool import ensure_guild


@dataclass(frozen=True)
class StoredModel:
    id: int
    guild_id: int
    user_id: int | None
    version: int
    architecture: str
    config: dict[str, Any]
    weights_npz: bytes
    metrics: dict[str, Any]
    created_at: float


def _model(row: aiosqlite.Row) -> StoredModel:
    return StoredModel(
        id=row["id"],
        guild_id=row["guild_id"],
        user_id=row["user_id"],
        version=row["version"],
        architecture=row["architecture"],
        config=json.loads(row["config_json"]),
        weights_npz=row["weights_npz"],
        metrics=json.loads(row["metrics_json"]),
        created_at=row["created_at"],
    )


async def save_model(
    db: aiosqlite.Connection,
    *,
    guild_id: int,
    user_id: int | None,
    architecture: str,
    config: dict[str, Any],
    weights_npz: bytes,
    metrics: dict[str, Any],
) -> StoredModel:
    """Store a new version atomically: readers see the old model or the whole new one."""
    async with transaction(db):
        await ensure_guild(db, guild_id)
        async with db.execute(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE guild_id = ? AND user_id IS ?",
            (guild_id, user_id),
        ) as cursor:
            (version,) = await cursor.fetchone()
        cursor = await db.execute(
            "INSERT INTO models (guild_id, user_id, version, architecture, config_json,"
            " weights_npz, metrics_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                guild_id,
                user_id,
                version,
                architecture,
                json.dumps(config),
                weights_npz,
                json.dumps(metrics),
            ),
        )
        model_id = cursor.lastrowid
    model = await get_model(db, model_id)
    assert model is not None
    return model


async def get_model(db: aiosqlite.Connection, model_id: int) -> StoredModel | None:
    async with db.execute("SELECT * FROM models WHERE id = ?", (model_id,)) as cursor:
        row = await cursor.fetchone()
    return _model(row) if row else None


async def latest_model(
    db: aiosqlite.Connection, guild_id: int, user_id: int | None
) -> StoredModel | None:
    async with db.execute(
        "SELECT * FROM models WHERE guild_id = ? AND user_id IS ? ORDER BY version DESC LIMIT 1",
        (guild_id, user_id),
    ) as cursor:
        row = await cursor.fetchone()
    return _model(row) if row else None


async def previous_model(db: aiosqlite.Connection, model: StoredModel) -> StoredModel | None:
    async with db.execute(
        "SELECT * FROM models WHERE guild_id = ? AND user_id IS ? AND version < ?"
        " ORDER BY version DESC LIMIT 1",
        (model.guild_id, model.user_id, model.version),
    ) as cursor:
        row = await cursor.fetchone()
    return _model(row) if row else None
