"""Trained models, versioned per guild and user (user None: the guild model)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from storage import jobs, privacy
from storage.db import transaction
from storage.guilds import ensure_guild


class ModelRefused(Exception):
    """A trained model that must not be stored; the message says why."""


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
    job_id: int | None = None,
    started_at: float | None = None,
) -> StoredModel:
    """Store a new version atomically: readers see the old model or the whole new one.

    Refused (ModelRefused, nothing written) when the job it was trained for is no
    longer running, or the person asked to be forgotten after training began: a
    model that arrives late must not undo /forget. With a job, the job is marked
    done with this model in the same transaction."""
    async with transaction(db):
        if job_id is not None:
            async with db.execute(
                "SELECT 1 FROM jobs WHERE id = ? AND state = 'running'", (job_id,)
            ) as cursor:
                if await cursor.fetchone() is None:
                    raise ModelRefused(
                        f"job {job_id} is no longer running (cancelled or forgotten)"
                    )
        if user_id is not None and started_at is not None:
            forgotten = await privacy.forgotten_at(db, guild_id, user_id)
            if forgotten is not None and forgotten >= started_at:
                raise ModelRefused("the person asked to be forgotten while it trained")
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
        if job_id is not None:
            await jobs.finish(db, job_id, model_id)
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
