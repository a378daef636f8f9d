"""What konomi knows about a person, and forgetting them: stats, export, forget."""

from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass

import aiosqlite

from bot.config import Settings
from model.metrics import ModelMetrics
from storage import members, models, privacy, votes
from storage.privacy import Forgotten

__all__ = ["Export", "Forgotten", "PrivacyService", "Stats"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stats:
    votes: int
    votes_needed: int  # more votes before a first model can be trained (0: enough)
    version: int | None  # the person's model, if any
    metrics: ModelMetrics | None
    votes_until_retrain: int | None  # before the next automatic retrain


@dataclass(frozen=True)
class Export:
    votes: int
    votes_csv: bytes
    model_json: bytes


class PrivacyService:
    def __init__(self, db: aiosqlite.Connection, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    async def stats(self, guild_id: int, user_id: int) -> Stats:
        worker = self.settings.worker
        count = await votes.count_votes(self.db, guild_id, user_id)
        mine = await models.latest_model(self.db, guild_id, user_id)
        if mine is None:
            return Stats(count, max(0, worker.personal_min_votes - count), None, None, None)
        since = await votes.count_votes(self.db, guild_id, user_id, since=mine.created_at)
        return Stats(
            count,
            0,
            mine.version,
            ModelMetrics.from_json(mine.metrics),
            max(0, worker.user_retrain_votes - since),
        )

    async def export(self, guild_id: int, user_id: int) -> Export:
        """The person's votes (hidden faces included) as CSV and their model's metrics."""
        mine = await votes.user_votes(self.db, guild_id, user_id, include_hidden=True)
        table = io.StringIO()
        writer = csv.writer(table)
        writer.writerow(["face_a", "face_b", "outcome", "voted_at"])
        for vote in mine:
            writer.writerow([vote.face_a, vote.face_b, vote.outcome, f"{vote.voted_at:.3f}"])
        model = await models.latest_model(self.db, guild_id, user_id)
        metrics = {
            "model_version": model.version if model else None,
            "metrics": model.metrics if model else None,
        }
        return Export(len(mine), table.getvalue().encode(), json.dumps(metrics, indent=2).encode())

    async def set_match_opt_in(self, guild_id: int, user_id: int, opted_in: bool) -> None:
        """Whether this member agrees to have their taste compared with /match."""
        await members.set_match_opt_in(self.db, guild_id, user_id, opted_in)

    async def match_opted_in(self, guild_id: int, user_id: int) -> bool:
        return await members.opted_in(self.db, guild_id, user_id)

    async def forget(self, guild_id: int, user_id: int) -> Forgotten:
        """Delete the person's votes, reactions, models and jobs in this guild; only the
        fact that they asked, and when, stays (old reactions never count again)."""
        forgotten = await privacy.forget_user(self.db, guild_id, user_id)
        log.info("a user asked to be forgotten in guild %s", guild_id)
        return forgotten
