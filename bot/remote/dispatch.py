"""The bot's side of Celery training: send queued jobs, store the results that come back.

The bot stays the only writer of its database. A queued job, or the people of one
guild queued together (trained together there), is sent as one self-contained
message (votes, settings, base weights once, and its pool by content hash; the pool
itself goes to the broker once per version); each job stays 'running' with the
task id. A job that must be sent again goes alone. Each look at the sent jobs
stores the results that arrived, each in one transaction with the forget check,
also for results that arrived while the bot was down (the broker keeps them
`[worker] result_expires_s`). Attempts are counted in the jobs table: a job seen
running on a second worker lost its first one; a job with no result `[worker]
resend_after_s` after it was sent is revoked and sent again; past `[worker]
max_attempts` it fails. Every broker call blocks, so each runs in a thread, off
the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

import redis
from celery import Celery

from bot.config import Settings
from bot.remote.celery_app import POOL_PREFIX, QUEUE, TASK, make_celery
from bot.services import UserError
from bot.services.jobs import Job
from bot.services.konomi import KonomiService
from bot.services.training import ModelRefused
from model.metrics import ModelKind
from model.wire import WireError, decode_results, encode_job, encode_pool, pool_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TaskState:
    state: str  # Celery's: PENDING, STARTED, SUCCESS, FAILURE, REVOKED, ...
    worker: str | None = None  # "hostname/pid" while STARTED
    result: object = None  # SUCCESS: the bytes; FAILURE: the error


class Dispatcher:
    def __init__(self, service: KonomiService, settings: Settings) -> None:
        self.service = service
        self.jobs = service.jobs
        self.settings = settings.worker
        self.app: Celery = make_celery(settings.worker)
        self.broker = redis.Redis.from_url(settings.worker.broker_url, socket_timeout=10)

    async def look(self) -> None:
        """Send what is queued (the people of a guild queued together as one job), then
        collect what came back."""
        try:
            while claimed := await self.jobs.claim():
                if not await self._send(claimed, again=False):
                    break
            await self._collect()
        except (redis.RedisError, OSError) as error:
            log.warning("the broker is unreachable (%s); trying again", type(error).__name__)
        except Exception:  # the bot's side of training must outlive any one bad look
            log.exception("sending or collecting jobs failed; trying again")

    async def _send(self, claimed: list[Job], *, again: bool) -> bool:
        """Send one attempt of claimed jobs of one guild as one task (in job id order,
        the order their results come back in); False when the broker could not take it."""
        claimed = sorted(claimed, key=lambda job: job.id)
        try:
            steps, face_ids, refused = await self.service.training.build_steps(
                claimed[0].guild_id, [job.user_id for job in claimed]
            )
        except UserError as error:  # the guild's step: too few votes
            refused = dict.fromkeys(range(len(claimed)), error)
        for index, error in refused.items():  # too few votes, no guild model, outdated
            await self.jobs.record(claimed[index], error)
        sending = [job for index, job in enumerate(claimed) if index not in refused]
        if not sending:
            return True
        pool = encode_pool(steps[0].crops, steps[0].descriptors)
        key = pool_key(pool)
        payload = encode_job(steps, key, face_ids, [job.id for job in sending])
        if len(payload) > self.settings.max_message_bytes:
            for job in sending:
                await self.jobs.fail(job, "the job is larger than a message may be")
            log.error(
                "jobs %s: %d bytes, more than [remote] max_message_bytes (%d)",
                _ids(sending),
                len(payload),
                self.settings.max_message_bytes,
            )
            return True
        task_id = f"konomi-job-{sending[0].id}-{uuid.uuid4().hex[:16]}"
        try:
            await asyncio.to_thread(self._publish, key, pool, payload, task_id)
        except Exception as error:  # kombu and redis raise many kinds when the broker is down
            if not again:
                for job in sending:
                    await self.jobs.unclaim(job, "the broker could not take it")
            log.warning("jobs %s not sent: %s", _ids(sending), type(error).__name__)
            return False
        for job in sending:
            await self.jobs.mark_sent(job, task_id, again=again)
        log.info(
            "jobs %s sent as %s (%d faces, %d bytes)",
            _ids(sending),
            task_id,
            len(face_ids),
            len(payload),
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
        sent: dict[str, list[Job]] = {}
        for job in await self.jobs.sent():  # in job id order
            sent.setdefault(job.task_id, []).append(job)
        if not sent:
            return
        states = await asyncio.to_thread(lambda: {task: self._state(task) for task in sent})
        for task_id, group in sent.items():
            task = states[task_id]
            if task.state == "SUCCESS":
                await self._store(task_id, group, task.result)
            elif task.state == "FAILURE":
                for job in group:
                    await self.jobs.fail(job, f"training failed: {task.result}")
                log.warning("jobs %s failed on their worker: %s", _ids(group), task.result)
            else:
                for job in group:
                    await self._check_progress(job, task)

    async def _check_progress(self, job: Job, task: TaskState) -> None:
        """Count a new worker as an attempt; resend a job without a result after
        `resend_after_s` (a started one too: its worker may have died with the broker's
        copy lost), or give it up after `max_attempts`."""
        if task.state == "STARTED" and task.worker:
            seen = await self.jobs.note_task_worker(job, task.worker)
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
        await self._send([job], again=True)

    async def _give_up(self, job: Job, why: str) -> None:
        await asyncio.to_thread(self.app.control.revoke, job.task_id)
        await self.jobs.fail(job, f"training did not finish: {why}")
        log.warning("job %d failed: %s", job.id, why)

    async def _store(self, task_id: str, group: list[Job], data: object) -> None:
        """Store a task's models (the guild's first, when it carried it) and mark its jobs
        done; a refusal, a malformed or oversized result fails them all, a forgotten
        person only their own."""
        try:
            results, face_ids, job_ids = decode_results(data, self.settings.max_message_bytes)
            kinds = [result.metrics.kind for _, result in results]
            mine = {job.id: job for job in group}
            if not mine.keys() <= set(job_ids) or len(job_ids) > len(results):
                raise WireError(f"results for jobs {job_ids}, not for {_ids(group)}")
            # None: the job no longer waits on this task (forgotten, or sent again alone)
            sent = [mine.get(job_id) for job_id in job_ids]
            guild_steps = len(results) - len(job_ids)
            expected = [ModelKind.GUILD] * guild_steps + [
                ModelKind.PERSONAL if job is None or job.user_id else ModelKind.GUILD
                for job in sent
            ]
            if kinds != expected or guild_steps > 1:
                raise WireError(f"results of kinds {kinds} for jobs of kinds {expected}")
        except WireError as error:
            for job in group:
                await self.jobs.fail(job, f"its result was refused: {error}")
            log.warning("jobs %s: result refused: %s", _ids(group), error)
            return
        owners = [None] * guild_steps + sent
        for job, (scorer, result) in zip(owners, results, strict=True):
            if job is None and result.metrics.kind == ModelKind.PERSONAL:
                continue
            try:
                await self.service.training.store(
                    group[0].guild_id,
                    job.user_id if job else None,
                    scorer,
                    result,
                    face_ids,
                    for_job=job,
                )
            except ModelRefused as error:  # only a job's own model is ever refused
                await self.jobs.record(job, error)  # a no-op when forgotten
        await asyncio.to_thread(self.app.AsyncResult(task_id).forget)


def _ids(group: list[Job]) -> str:
    return ", ".join(str(job.id) for job in group)
