"""The bot's side of Celery training: send queued jobs, store the results that come back.

The bot stays the only writer of its database. Each queued job is sent as one
self-contained message (votes, settings, base weights, and its pool by content
hash; the pool itself goes to the broker once per version) and stays 'running'
with its task id. Each look at the sent jobs stores the results that arrived,
in one transaction with the forget check, also for results that arrived while
the bot was down (the broker keeps them `[worker] result_expires_s`). Attempts
are counted in the jobs table: a job seen running on a second worker lost its
first one; a job with no result `[worker] resend_after_s` after it was sent is
revoked and sent again; past `[worker] max_attempts` it fails. Every broker call
blocks, so each runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from dataclasses import dataclass

import redis
from celery import Celery

from bot.config import Settings
from bot.remote.celery_app import POOL_PREFIX, QUEUE, TASK, make_celery
from bot.services import UserError
from bot.services.konomi import KonomiService
from bot.services.training import ModelRefused
from model.wire import WireError, decode_results, encode_job, encode_pool, pool_key
from storage import jobs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskState:
    state: str  # Celery's: PENDING, STARTED, SUCCESS, FAILURE, REVOKED, ...
    worker: str | None = None  # "hostname/pid" while STARTED
    result: object = None  # SUCCESS: the bytes; FAILURE: the error


class Dispatcher:
    def __init__(self, service: KonomiService, settings: Settings) -> None:
        self.service = service
        self.settings = settings.worker
        self.app: Celery = make_celery(settings.worker)
        self.broker = redis.Redis.from_url(settings.worker.broker_url, socket_timeout=10)

    async def look(self) -> None:
        """Send what is queued, then collect what came back."""
        try:
            while (job := await jobs.claim_next(self.service.db, os.getpid())) is not None:
                if not await self._send(job, again=False):
                    break
            await self._collect()
        except (redis.RedisError, OSError) as error:
            log.warning("the broker is unreachable (%s); trying again", type(error).__name__)
        except Exception:  # the bot's side of training must outlive any one bad look
            log.exception("sending or collecting jobs failed; trying again")

    async def _send(self, job: jobs.Job, *, again: bool) -> bool:
        """Send one attempt of a claimed job; False when the broker could not take it."""
        try:
            steps, face_ids = await self.service.training.build_steps(job.guild_id, job.user_id)
        except UserError as error:  # too few votes, no guild model, outdated settings
            await jobs.fail(self.service.db, job.id, str(error))
            log.info("job %d not run: %s", job.id, error)
            return True
        pool = encode_pool(steps[0].crops, steps[0].descriptors)
        key = pool_key(pool)
        payload = encode_job(steps, key, face_ids)
        if len(payload) > self.settings.max_message_bytes:
            await jobs.fail(self.service.db, job.id, "the job is larger than a message may be")
            return True
        task_id = f"konomi-job-{job.id}-{uuid.uuid4().hex[:16]}"
        try:
            await asyncio.to_thread(self._publish, key, pool, payload, task_id)
        except Exception as error:  # kombu and redis raise many kinds when the broker is down
            if not again:
                await jobs.unclaim(self.service.db, job.id, "the broker could not take it")
            log.warning("job %d not sent: %s", job.id, type(error).__name__)
            return False
        await jobs.mark_sent(self.service.db, job.id, task_id, again=again)
        log.info(
            "job %d sent as %s (%d faces, %d bytes)", job.id, task_id, len(face_ids), len(payload)
        )
        return True

    def _publish(self, key: str, pool: bytes, payload: bytes, task_id: str) -> None:
        ttl = int(self.settings.result_expires_s)
        if not self.broker.expire(POOL_PREFIX + key, ttl):  # absent: this version goes once
            self.broker.set(POOL_PREFIX + key, pool, ex=ttl)
            log.info("pool %s sent to the broker (%d bytes)", key[:12], len(pool))
        self.app.send_task(
            TASK,
            args=[payload],
            task_id=task_id,
            queue=QUEUE,
            expires=self.settings.resend_after_s,
            retry=True,
        )

    def _state(self, task_id: str) -> TaskState:
        result = self.app.AsyncResult(task_id)
        state, info = result.state, result.info
        if state == "STARTED" and isinstance(info, dict):
            return TaskState(state, f"{info.get('hostname')}/{info.get('pid')}")
        return TaskState(state, None, info)

    async def _collect(self) -> None:
        sent = await jobs.sent_jobs(self.service.db)
        if not sent:
            return
        states = await asyncio.to_thread(lambda: [self._state(job.task_id) for job in sent])
        for job, task in zip(sent, states, strict=True):
            if task.state == "SUCCESS":
                await self._store(job, task.result)
            elif task.state == "FAILURE":
                await jobs.fail(self.service.db, job.id, f"training failed: {task.result}")
                log.warning("job %d failed on its worker: %s", job.id, task.result)
            else:
                await self._check_progress(job, task)

    async def _check_progress(self, job: jobs.Job, task: TaskState) -> None:
        """Count a new worker as an attempt; resend a job without a result after
        `resend_after_s` (a started one too: its worker may have died with the broker's
        copy lost), or give it up after `max_attempts`."""
        if task.state == "STARTED" and task.worker:
            seen = await jobs.note_task_worker(self.service.db, job.id, task.worker)
            if seen and seen.attempts > self.settings.max_attempts:
                died = seen.attempts - 1
                await self._give_up(seen, f"{died} worker{'s' * (died > 1)} died running it")
                return
            job = seen or job
        overdue = time.time() - (job.sent_at or 0) > self.settings.resend_after_s
        if not overdue and task.state != "REVOKED":
            return
        if job.attempts >= self.settings.max_attempts:
            await self._give_up(job, f"no result after {job.attempts} attempts")
            return
        await asyncio.to_thread(self.app.control.revoke, job.task_id)
        log.warning("job %d: no result from %s; sending it again", job.id, job.task_id)
        await self._send(job, again=True)

    async def _give_up(self, job: jobs.Job, why: str) -> None:
        await asyncio.to_thread(self.app.control.revoke, job.task_id)
        await jobs.fail(self.service.db, job.id, f"training did not finish: {why}")
        log.warning("job %d failed: %s", job.id, why)

    async def _store(self, job: jobs.Job, data: object) -> None:
        """Store a job's models (the guild's first, when the job carried it) and mark it done;
        a refusal, a malformed or oversized result, or a forgotten person fails it."""
        try:
            results, face_ids = decode_results(data, self.settings.max_message_bytes)
            kinds = [result.metrics.kind for _, result in results]
            expected = ["personal"] if job.user_id else ["guild"]
            if kinds not in (expected, ["guild", *expected]):
                raise WireError(f"results of kinds {kinds} for a {expected[0]} job")
        except WireError as error:
            await jobs.fail(self.service.db, job.id, f"its result was refused: {error}")
            log.warning("job %d: result refused: %s", job.id, error)
            return
        try:
            for scorer, result in results:
                personal = result.metrics.kind == "personal"
                await self.service.training.store(
                    job.guild_id,
                    job.user_id if personal else None,
                    scorer,
                    result,
                    face_ids,
                    for_job=job if personal or job.user_id is None else None,
                )
        except ModelRefused as error:
            await jobs.fail(self.service.db, job.id, str(error))  # a no-op when forgotten
            log.warning("job %d: refused to store its model: %s", job.id, error)
        await asyncio.to_thread(self.app.AsyncResult(job.task_id).forget)
