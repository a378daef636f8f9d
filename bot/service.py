"""The service: the whole "vote -> job -> model -> rank" path between storage and model.

Used by the worker, the CLI and the cogs. Imports neither discord nor the cogs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import aiosqlite
import numpy as np

from bot.config import Settings
from bot.imaging import ImageHelpers
from model.faces import resize_square
from model.images import ImageError, decode_png
from model.pairs import Pairs
from model.scorer import ARCHITECTURE
from model.store import LoadedScorer, ScorerCache, load_scorer, pack, unpack
from model.training import Progress, TrainingJob, train
from storage import jobs, models, pool, votes

log = logging.getLogger(__name__)


class NotEnoughVotes(Exception):
    """Training was asked for without the votes it needs; the message says how many more."""


@dataclass(frozen=True)
class Upload:
    """An image prepared for ranking: the crop scored, and what happened to it."""

    name: str
    crop: np.ndarray
    face_found: bool


@dataclass(frozen=True)
class Ranking:
    scores: np.ndarray
    beats_median: np.ndarray  # P(beats the pool's median face)
    model: models.StoredModel
    personal: bool  # False: ranked by the guild model


class KonomiService:
    def __init__(self, db: aiosqlite.Connection, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.scorers = ScorerCache()
        # Every untrusted file is read here, in helper processes started on first use.
        self.images = ImageHelpers.for_settings(settings)

    async def close(self) -> None:
        await asyncio.to_thread(self.images.close)  # waits for the helpers to exit
        await self.db.close()

    # -- training ---------------------------------------------------------------

    async def _pool_crops(self, guild_id: int) -> tuple[list[int], np.ndarray]:
        faces = await pool.list_faces(self.db, guild_id)
        ids = [face.id for face in faces]
        crops = await pool.face_crops(self.db, guild_id, ids)
        size = self.settings.model.input_size
        pixels = await asyncio.to_thread(
            lambda: [resize_square(decode_png(crops[face_id]), size) for face_id in ids]
        )
        return ids, np.stack(pixels) if pixels else np.zeros((0, size, size, 3), np.uint8)

    async def build_job(
        self, guild_id: int, user_id: int | None
    ) -> tuple[TrainingJob, list[int], models.StoredModel | None]:
        """Assemble a training job from storage: the pool's crops and the votes on them.

        Returns the job, the face id of each crop, and the guild model it starts
        from (a person's head sits on it; a guild retrain warm-starts from it).
        """
        personal = user_id is not None
        if personal:
            cast = await votes.user_votes(self.db, guild_id, user_id)
            needed = self.settings.worker.personal_min_votes
        else:
            cast = await votes.guild_votes(self.db, guild_id)
            needed = 2
        if len(cast) < needed:
            who = "you have" if personal else "this server has"
            raise NotEnoughVotes(
                f"{who} {len(cast)} votes; a model needs at least {needed}: "
                f"vote {needed - len(cast)} more"
            )
        base = await models.latest_model(self.db, guild_id, None)
        if personal and base is None:
            raise NotEnoughVotes("this server has no guild model yet")
        face_ids, crops = await self._pool_crops(guild_id)
        index = {face_id: i for i, face_id in enumerate(face_ids)}
        usable = [v for v in cast if v.face_a in index and v.face_b in index]
        pairs = Pairs.of(
            [index[v.face_a] for v in usable],
            [index[v.face_b] for v in usable],
            [v.outcome for v in usable],
        )
        config = self.settings.model
        base_weights = base_offsets = None
        if base is not None and base.config["scorer"] == config.to_json():
            base_weights, offsets = unpack(base.weights_npz)
            if personal:
                base_offsets = np.array([offsets.get(face_id, 0.0) for face_id in face_ids])
        elif personal:
            raise NotEnoughVotes(
                "the guild model was trained with other settings; retrain it first"
            )
        job = TrainingJob(
            kind="personal" if personal else "guild",
            crops=crops,
            pairs=pairs,
            scorer=config,
            settings=self.settings.training,
            base_weights=base_weights,
            base_offsets=base_offsets,
        )
        return job, face_ids, base

    async def train_now(
        self,
        guild_id: int,
        user_id: int | None,
        progress: Progress | None = None,
        for_job: jobs.Job | None = None,
    ) -> models.StoredModel:
        """Train and store a new model version (the guild model first, if a person
        asks before the guild has one). Runs the training in this process.

        Raises models.ModelRefused when the job was cancelled or the person asked
        to be forgotten while it trained."""
        started_at = for_job.started_at if for_job and for_job.started_at else time.time()
        if user_id is not None and await models.latest_model(self.db, guild_id, None) is None:
            await self.train_now(guild_id, None, progress)
        job, face_ids, base = await self.build_job(guild_id, user_id)
        result = await asyncio.to_thread(train, job, progress)
        config = {
            "scorer": job.scorer.to_json(),
            "kind": job.kind,
            "base_model_id": base.id if base and job.kind == "personal" else None,
            "pool_median": float(np.median(result.scores)) if len(result.scores) else 0.0,
        }
        stored = await models.save_model(
            self.db,
            guild_id=guild_id,
            user_id=user_id,
            architecture=ARCHITECTURE,
            config=config,
            weights_npz=pack(result.weights, np.array(face_ids), result.offsets),
            metrics={**result.metrics, "timings": result.timings},
            job_id=for_job.id if for_job else None,
            started_at=started_at,
        )
        log.info(
            "trained %s model v%d for guild %s: held-out accuracy %s",
            job.kind,
            stored.version,
            guild_id,
            result.metrics["final"]["accuracy"],
        )
        return stored

    async def request_training(
        self,
        guild_id: int,
        user_id: int | None,
        *,
        notify_channel_id: int | None = None,
        interaction_token: str | None = None,
        token_expires_at: float | None = None,
    ) -> tuple[jobs.Job, bool, int]:
        """Queue (or join) a job; returns it, whether it is new, and its queue position."""
        job, created = await jobs.enqueue(
            self.db,
            guild_id,
            user_id,
            notify_channel_id=notify_channel_id,
            interaction_token=interaction_token,
            token_expires_at=token_expires_at,
        )
        return job, created, await jobs.queue_position(self.db, job)

    async def remove_face(self, guild_id: int, face_id: int) -> int | None:
        """Delete a pool face and the votes naming it, and queue a guild retrain so the
        server's model forgets it too. Returns how many votes named it (None: no such
        face). `/pool remove` and `python -m bot pool remove` both come here."""
        named = await pool.delete_face(self.db, guild_id, face_id)
        if named is not None:
            await jobs.enqueue(self.db, guild_id, None)
        return named

    async def enqueue_due_retrains(self, now: float | None = None) -> list[tuple[int, int | None]]:
        """Queue the guild and personal retrains that new votes (or time) call for."""
        now = time.time() if now is None else now
        worker = self.settings.worker
        due = []
        for guild_id, user_id, new in await votes.new_vote_counts(self.db):
            if user_id is None:
                latest = await models.latest_model(self.db, guild_id, None)
                stale = latest is None or now - latest.created_at >= worker.guild_retrain_interval_s
                if new >= worker.guild_retrain_votes or (stale and new >= 2):
                    due.append((guild_id, None))
            elif new >= worker.user_retrain_votes:
                due.append((guild_id, user_id))
        for guild_id, user_id in due:
            await jobs.enqueue(self.db, guild_id, user_id)
        return due

    # -- ranking ----------------------------------------------------------------

    async def scorer_for(
        self, guild_id: int, user_id: int | None
    ) -> tuple[LoadedScorer, models.StoredModel, bool] | None:
        """The person's latest model, else the guild's; None when the guild has none."""
        stored = await models.latest_model(self.db, guild_id, user_id) if user_id else None
        personal = stored is not None
        if stored is None:
            stored = await models.latest_model(self.db, guild_id, None)
        if stored is None:
            return None
        base_id = stored.config.get("base_model_id")
        base_npz = None
        if base_id is not None:
            base = await models.get_model(self.db, base_id)
            base_npz = base.weights_npz if base else None
        scorer = await asyncio.to_thread(
            self.scorers.get,
            stored.id,
            lambda: load_scorer(
                stored.architecture, stored.config["scorer"], stored.weights_npz, base_npz
            ),
        )
        return scorer, stored, personal

    async def prepare_uploads(
        self, files: list[tuple[str, bytes]]
    ) -> tuple[list[Upload], list[tuple[str, str]]]:
        """Each file's largest face (the whole image when none) at the model's input size,
        read by the image helpers in parallel; (name, reason) for each file that failed."""

        async def prepare(name: str, data: bytes) -> Upload | ImageError:
            try:
                found = await self.images.read_image(data)
            except ImageError as error:
                return error
            pixels = found.faces[0].pixels if found.faces else found.whole
            return Upload(
                name, resize_square(pixels, self.settings.model.input_size), bool(found.faces)
            )

        results = await asyncio.gather(*(prepare(name, data) for name, data in files))
        uploads = [r for r in results if isinstance(r, Upload)]
        problems = [
            (name, str(r))
            for (name, _), r in zip(files, results, strict=True)
            if isinstance(r, ImageError)
        ]
        return uploads, problems

    async def rank(self, guild_id: int, user_id: int | None, crops: np.ndarray) -> Ranking | None:
        found = await self.scorer_for(guild_id, user_id)
        if found is None:
            return None
        scorer, stored, personal = found
        scores = await asyncio.to_thread(scorer.score_crops, crops)
        median = float(stored.config.get("pool_median", 0.0))
        beats = 1.0 / (1.0 + np.exp(-(scores - median)))
        return Ranking(scores, beats, stored, personal)
