"""Training: assembling a job from the pool and the votes, training it, storing the model
(refused when the person was forgotten meanwhile), and the queue people ask through."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiosqlite
import numpy as np

from bot.config import Settings
from bot.services.errors import (
    GuildModelOutdated,
    NoGuildModel,
    NotEnoughVotes,
    TooSoon,
    UserError,
)
from bot.services.voting import votes_on
from model.descriptor import DESCRIPTOR_SIZE, stack_descriptors, unpack_descriptor
from model.expression import (
    RAW_SIZE,
    ExpressionPCA,
    stack_expressions,
    unpack_expression,
    with_expression,
)
from model.faces import resize_square
from model.images import decode_png
from model.metrics import ModelKind, ModelMetrics
from model.settings import ScorerConfig
from model.store import HEAD_VERSION, ModelRecord, expression_basis, pack, unpack
from storage import jobs, members, models, pool, votes
from storage.jobs import Job
from storage.models import ModelRefused, StoredModel

if TYPE_CHECKING:  # Keras loads only where a model is trained: queueing needs none
    from model.training import Progress, TrainingJob, TrainingResult

__all__ = ["Finished", "Job", "ModelRefused", "Queued", "TrainingService"]

log = logging.getLogger(__name__)

_GUILDS_CACHED = 4  # guilds whose decoded crops a process keeps (~19 KB a face at 80 px)


@dataclass(frozen=True)
class GuildStart:
    """The guild model jobs start from: `weights` and `offsets` (by face id) are set
    when it is `current` (trained with today's model settings)."""

    model: StoredModel | None
    current: bool
    weights: dict[str, np.ndarray] | None
    offsets: dict[int, float]
    basis: ExpressionPCA | None = None  # what its expression features were projected on


@dataclass(frozen=True)
class PoolFaces:
    """A pool as training reads it: face ids, crops at the CNN's size, descriptors and
    raw expression HOGs (None when the model reads no expression), in one order."""

    ids: list[int]
    crops: np.ndarray
    descriptors: np.ndarray
    expressions: np.ndarray | None

    @functools.cached_property
    def basis(self) -> ExpressionPCA | None:
        """The expression basis a guild model trained on this pool projects on: fitted
        on these faces only, so the same faces always give the same basis."""
        if self.expressions is None:
            return None
        return ExpressionPCA.for_pool(self.descriptors, self.expressions)

    def features(self, basis: ExpressionPCA | None) -> np.ndarray:
        """What the scorer reads beside each crop: the descriptor, then the expression
        HOG projected on `basis` (the guild model's)."""
        if self.expressions is None:
            return self.descriptors
        return with_expression(self.descriptors, self.expressions, basis)


@dataclass(frozen=True)
class Queued:
    job: Job
    created: bool  # False: the person's queued job was joined
    position: int  # 1: runs next


@dataclass(frozen=True)
class Finished:
    """A finished job someone asked for, claimed for telling them (exactly once)."""

    job: Job
    model: StoredModel | None  # None: the job failed (job.error says why)
    metrics: ModelMetrics | None
    previous: ModelMetrics | None  # the person's version before, if any
    previous_version: int | None


class TrainingService:
    def __init__(self, db: aiosqlite.Connection, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        # Decoded crops at the CNN's size, by guild (least recently used first) and face.
        self._crops: dict[int, dict[int, np.ndarray]] = {}
        self.crops_decoded = 0  # PNG crops decoded so far (each face once while cached)
        self._voters_checked_to = 0  # the newest vote id the retrain schedule has seen

    async def pool_faces(self, guild_id: int) -> PoolFaces:
        """The pool's face ids, crops at the CNN's input size, descriptors and raw
        expression HOGs (zeros for a face without them). A face's crop never changes, so
        each is decoded once and kept for the guilds used last; descriptors and HOGs
        (filled in later by `faces describe`) are read every time."""
        faces = await pool.list_faces(self.db, guild_id)
        ids = [face.id for face in faces]
        decoded = self._crops.pop(guild_id, {})
        self._crops[guild_id] = decoded  # now the most recently used
        while len(self._crops) > _GUILDS_CACHED:
            self._crops.pop(next(iter(self._crops)))
        for gone in decoded.keys() - set(ids):
            del decoded[gone]
        missing = [face_id for face_id in ids if face_id not in decoded]
        pngs = await pool.face_crops(self.db, guild_id, missing)
        descriptors, expressions = await self._descriptions(guild_id, ids)
        size = self.settings.model.input_size

        def decode() -> np.ndarray:
            for face_id in missing:
                decoded[face_id] = resize_square(decode_png(pngs[face_id]), size)
            self.crops_decoded += len(missing)
            if not ids:
                return np.zeros((0, size, size, 3), np.uint8)
            return np.stack([decoded[i] for i in ids])

        return PoolFaces(ids, await asyncio.to_thread(decode), descriptors, expressions)

    async def _descriptions(
        self, guild_id: int, ids: list[int]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """These faces' descriptors and raw expression HOGs (None when the model reads
        no expression), zeros for a face without them: 512 bytes and 7.4 KB a face."""
        packed = await pool.face_descriptors(self.db, guild_id, ids)
        reading = self.settings.model.expression_size > 0
        hogs = await pool.face_expressions(self.db, guild_id, ids) if reading else {}

        def unpack_all() -> tuple[np.ndarray, np.ndarray | None]:
            descriptors = np.zeros((len(ids), DESCRIPTOR_SIZE), np.float32)
            if ids:
                descriptors = stack_descriptors([unpack_descriptor(packed.get(i)) for i in ids])
            if not reading:
                return descriptors, None
            expressions = np.zeros((len(ids), RAW_SIZE), np.float32)
            if ids:
                expressions = stack_expressions([unpack_expression(hogs.get(i)) for i in ids])
            return descriptors, expressions

        return await asyncio.to_thread(unpack_all)

    async def guild_start(self, guild_id: int) -> GuildStart:
        """The guild's latest model, its weights (and expression basis) unpacked when it
        is current: read once for every job built on it."""
        model = await models.latest_model(self.db, guild_id, None)
        current = self._is_current(model)
        weights, offsets = unpack(model.weights_npz) if current else (None, {})
        basis = expression_basis(model.weights_npz) if current else None
        return GuildStart(
            model, current, weights, offsets, ExpressionPCA.from_arrays(basis) if basis else None
        )

    def _is_current(self, model: StoredModel | None) -> bool:
        """Whether personal heads may sit on this guild model: trained with today's
        model settings, its head reading its features as today's do."""
        if model is None:
            return False
        record = ModelRecord.from_json(model.config)
        return record.scorer == self.settings.model and record.head_version == HEAD_VERSION

    async def votes_for_model(self, guild_id: int, user_id: int | None) -> list:
        """The votes a model of the person (or of the guild, for None) trains on;
        NotEnoughVotes below `[worker] personal_min_votes` (2 for the guild)."""
        if user_id is not None:
            cast = await votes.user_votes(self.db, guild_id, user_id)
            needed = self.settings.worker.personal_min_votes
        else:
            cast = await votes.guild_votes(self.db, guild_id)
            needed = 2
        if len(cast) < needed:
            raise NotEnoughVotes(
                "errors.guild_model_needs_votes" if user_id is None else "errors.model_needs_votes",
                count=len(cast),
                needed=needed,
                more=needed - len(cast),
            )
        return cast

    async def build_job(
        self,
        guild_id: int,
        user_id: int | None,
        *,
        faces: PoolFaces | None = None,
        start: GuildStart | None = None,
        after_guild_step: bool = False,
    ) -> tuple[TrainingJob, list[int]]:
        """Assemble a training job from storage: the pool's crops and the votes on them.

        Returns the job and the face id of each crop. A person's head sits on the guild
        model, and reads the expression features projected on its basis; a guild
        retrain fits the basis on the pool anew, and warm-starts from the guild model
        when it was trained with the same model settings. `faces` and `start`: the pool
        and the guild model, already read; `after_guild_step`: a personal job that
        starts from the result of a guild job trained just before it (its base weights
        are left empty).
        """
        personal = user_id is not None
        cast = await self.votes_for_model(guild_id, user_id)
        start = start or await self.guild_start(guild_id)
        if personal and start.model is None and not after_guild_step:
            raise NoGuildModel("errors.no_guild_model_yet")
        faces = faces or await self.pool_faces(guild_id)
        basis = start.basis if personal and not after_guild_step else faces.basis
        pairs, usable = votes_on({face_id: i for i, face_id in enumerate(faces.ids)}, cast)
        config = self.settings.model
        base_weights = base_offsets = None
        if start.current and not after_guild_step:
            base_weights = start.weights
            if personal:
                base_offsets = np.array([start.offsets.get(face_id, 0.0) for face_id in faces.ids])
        elif personal and not after_guild_step:
            raise GuildModelOutdated("errors.guild_model_outdated")
        from model.training import TrainingJob

        job = TrainingJob(
            kind=ModelKind.PERSONAL if personal else ModelKind.GUILD,
            crops=faces.crops,
            pairs=pairs,
            scorer=config,
            settings=self.settings.training,
            base_weights=base_weights,
            base_offsets=base_offsets,
            descriptors=faces.features(basis) if config.features_size else None,
            voters=None if personal else np.array([v.user_id for v in usable], np.int64),
        )
        return job, faces.ids

    async def build_steps(
        self, guild_id: int, user_ids: list[int | None]
    ) -> tuple[list[TrainingJob], list[int], dict[int, UserError]]:
        """Self-contained steps for a worker elsewhere: the guild's job (`[None]`), or the
        people's, trained together, after the guild's when the guild has no model trained
        with today's settings (they then start from its result). Returns the steps, the
        pool's face ids in crop order, and why each person left out (by position) has
        no step; a guild step that cannot be built raises."""
        faces = await self.pool_faces(guild_id)
        start = await self.guild_start(guild_id)
        steps = []
        guild_first = user_ids != [None] and not start.current
        if guild_first:
            steps.append((await self.build_job(guild_id, None, faces=faces, start=start))[0])
        refused: dict[int, UserError] = {}
        for index, user_id in enumerate(user_ids):
            try:
                job, _ = await self.build_job(
                    guild_id, user_id, faces=faces, start=start, after_guild_step=guild_first
                )
            except UserError as error:
                if user_id is None:
                    raise
                refused[index] = error
            else:
                steps.append(job)
        return steps, faces.ids, refused

    async def store(
        self,
        guild_id: int,
        user_id: int | None,
        scorer: ScorerConfig,
        result: TrainingResult,
        face_ids: list[int],
        *,
        for_job: Job | None = None,
        started_at: float | None = None,
        base: StoredModel | None = None,
    ) -> StoredModel:
        """Store a trained model as the next version, in one transaction with the checks
        that refuse it (ModelRefused) when its job was cancelled or the person asked to be
        forgotten after it started (`for_job`'s start, else `started_at`). `base`: the
        guild model a personal one sits on (read here when not given). A guild model
        keeps the expression basis its features were projected on: fitted again on its
        faces, which gives the basis its job was built with (`PoolFaces.basis`), also for
        a result that came back from a worker."""
        from model.scorer import ARCHITECTURE

        if for_job and for_job.started_at:
            started_at = for_job.started_at
        if user_id and base is None:
            base = await models.latest_model(self.db, guild_id, None)
        kind = result.metrics.kind
        basis = None
        if kind == ModelKind.GUILD and scorer.expression_size:
            descriptors, expressions = await self._descriptions(guild_id, face_ids)
            fitted = await asyncio.to_thread(ExpressionPCA.for_pool, descriptors, expressions)
            basis = fitted.to_arrays()
        record = ModelRecord(
            scorer,
            kind,
            base.id if base else None,
            float(np.median(result.scores)) if len(result.scores) else 0.0,
        )
        stored = await models.save_model(
            self.db,
            guild_id=guild_id,
            user_id=user_id,
            architecture=ARCHITECTURE,
            config=record.to_json(),
            weights_npz=pack(
                result.weights,
                np.array(face_ids),
                result.offsets,
                scores=result.scores,
                coordinates=result.coordinates,
                expression_basis=basis,
            ),
            metrics=result.metrics.to_json(),
            job_id=for_job.id if for_job else None,
            started_at=started_at or time.time(),
        )
        log.info(
            "trained %s model v%d for guild %s: held-out accuracy %s",
            kind,
            stored.version,
            guild_id,
            result.metrics.final.accuracy,
        )
        return stored

    async def train_now(
        self,
        guild_id: int,
        user_id: int | None,
        progress: Progress | None = None,
        for_job: Job | None = None,
    ) -> StoredModel:
        """Train and store a new model version (the guild model first, if a person asks
        before the guild has one trained with today's settings). Runs the training in
        this process.

        Raises ModelRefused when the job was cancelled or the person asked to be
        forgotten while it trained."""
        started_at = time.time()
        if user_id is None:
            start = await self.guild_start(guild_id)
        else:
            await self.votes_for_model(guild_id, user_id)  # refused: not even the guild trains
            start = await self._current_guild_start(guild_id, progress)
        from model.training import train

        job, face_ids = await self.build_job(guild_id, user_id, start=start)
        result = await asyncio.to_thread(train, job, progress)
        return await self.store(
            guild_id,
            user_id,
            job.scorer,
            result,
            face_ids,
            for_job=for_job,
            started_at=started_at,
            base=start.model,
        )

    async def _current_guild_start(self, guild_id: int, progress: Progress | None) -> GuildStart:
        """The guild model people's heads sit on, trained here first when the guild has
        none trained with today's settings."""
        start = await self.guild_start(guild_id)
        if not start.current:
            await self.train_now(guild_id, None, progress)
            start = await self.guild_start(guild_id)
        return start

    async def train_together(
        self, guild_id: int, claimed: list[Job], progress: Progress | None = None
    ) -> list[StoredModel | UserError | ModelRefused]:
        """Train the personal jobs of one guild in one pass (the guild model first when
        it is not current) and store each person's model with its own checks. Returns
        each job's outcome: its model, or why it has none (too few votes, forgotten)."""
        start = await self._current_guild_start(guild_id, progress)
        faces = await self.pool_faces(guild_id)
        outcomes: dict[int, StoredModel | UserError | ModelRefused] = {}
        built: list[tuple[Job, TrainingJob, list[int]]] = []
        for job in claimed:
            try:
                training_job, face_ids = await self.build_job(
                    guild_id, job.user_id, faces=faces, start=start
                )
            except UserError as error:
                outcomes[job.id] = error
            else:
                built.append((job, training_job, face_ids))
        from model.training import train_personal_batch

        results = await asyncio.to_thread(
            train_personal_batch, [training_job for _, training_job, _ in built], progress
        )
        for (job, training_job, face_ids), result in zip(built, results, strict=True):
            try:
                outcomes[job.id] = await self.store(
                    guild_id,
                    job.user_id,
                    training_job.scorer,
                    result,
                    face_ids,
                    for_job=job,
                    base=start.model,
                )
            except ModelRefused as error:
                outcomes[job.id] = error
        return [outcomes[job.id] for job in claimed]

    async def request(
        self,
        guild_id: int,
        user_id: int,
        *,
        notify_channel_id: int | None = None,
        interaction_token: str | None = None,
        token_expires_at: float | None = None,
    ) -> Queued:
        """Queue a person's retrain, or join the one on its way (queued, or started
        automatically): refused at once below `[worker] personal_min_votes` (no job
        queued), and at most once per `[worker] retrain_cooldown_s` counted from the
        person's own last request (automatic retrains do not count; a restart does not
        reset it)."""
        worker = self.settings.worker
        have = await votes.count_votes(self.db, guild_id, user_id)
        if have < worker.personal_min_votes:
            raise NotEnoughVotes(
                "errors.retrain_needs_votes",
                count=have,
                needed=worker.personal_min_votes,
                more=worker.personal_min_votes - have,
            )
        cooldown = worker.retrain_cooldown_s
        if cooldown:
            last = await jobs.last_requested_at(self.db, guild_id, user_id)
            if last and (left := last + cooldown - time.time()) > 0:
                raise TooSoon(
                    "errors.retrain_too_soon",
                    retry_after=left,
                    ago=round(time.time() - last),
                    cooldown=round(cooldown),
                    left=round(left),
                )
        job, created = await jobs.enqueue(
            self.db,
            guild_id,
            user_id,
            notify_channel_id=notify_channel_id,
            interaction_token=interaction_token,
            token_expires_at=token_expires_at,
            requested=True,
        )
        return Queued(job, created, await jobs.queue_position(self.db, job))

    async def enqueue_due_retrains(self, now: float | None = None) -> list[tuple[int, int | None]]:
        """Queue the guild and personal retrains that new votes (or time) call for: the
        first model of a member who votes in a private place as soon as they have
        `[worker] personal_min_votes` (told there), and a new version after every
        `user_retrain_votes`."""
        now = time.time() if now is None else now
        worker = self.settings.worker
        due: list[tuple[int, int | None, int | None]] = []
        pending = await jobs.pending(self.db)
        latest = await votes.latest_vote_id(self.db)  # read first: later votes count next time
        counts = await votes.new_vote_counts(self.db, self._voters_checked_to)
        self._voters_checked_to = latest
        for guild_id, user_id, new in counts:
            if (guild_id, user_id) in pending:
                continue  # a job sent to Celery workers is 'running' until its result is back
            if user_id is None:
                latest = await models.latest_model(self.db, guild_id, None)
                if not self._is_current(latest) and any(g == guild_id for g, _ in pending):
                    continue  # a queued personal job trains the guild's model first
                stale = latest is None or now - latest.created_at >= worker.guild_retrain_interval_s
                if new >= worker.guild_retrain_votes or (stale and new >= 2):
                    due.append((guild_id, None, None))
            elif new >= worker.user_retrain_votes:
                due.append((guild_id, user_id, None))
            elif new >= worker.personal_min_votes:
                # A member who votes through /vote gets a first model unasked, and is told
                # in their private place; votes only imported or on channel pairs wait
                # for `user_retrain_votes` (or /retrain), as before.
                place = await members.get_place(self.db, guild_id, user_id)
                if (
                    place
                    and place.channel_id
                    and not await models.latest_model(self.db, guild_id, user_id)
                ):
                    due.append((guild_id, user_id, place.channel_id))
        for guild_id, user_id, notify_channel_id in due:
            await jobs.enqueue(self.db, guild_id, user_id, notify_channel_id=notify_channel_id)
        return [(guild_id, user_id) for guild_id, user_id, _ in due]

    async def finished(self) -> AsyncIterator[Finished]:
        """Finished jobs whose requester was not told yet, each claimed as it is yielded:
        another bot process never tells the same person twice."""
        for job in await jobs.jobs_to_notify(self.db):
            if not await jobs.mark_notified(self.db, job.id):
                continue
            model = await models.get_model(self.db, job.model_id) if job.model_id else None
            previous = await models.previous_model(self.db, model) if model else None
            yield Finished(
                job,
                model,
                ModelMetrics.from_json(model.metrics) if model else None,
                ModelMetrics.from_json(previous.metrics) if previous else None,
                previous.version if previous else None,
            )
