"""The embedded training worker: takes jobs from the SQLite queue and trains, one at a time.

It runs in its own process (TensorFlow holds GPU memory for a process's
lifetime): spawned by `python -m bot run`, or alone with `python -m bot worker`.
A worker killed mid-job leaves the job 'running'; the next start re-queues it
(the attempt counted) and nothing half-trained was ever stored, because a model
is written in one transaction after training ends. With `[worker] backend =
"celery"` the same process trains nothing: it sends jobs to Celery workers and
stores what they return (bot/remote/dispatch.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time

import aiosqlite

from bot.config import Settings
from bot.imaging import current_rss
from bot.services import UserError
from bot.services.konomi import KonomiService
from bot.services.training import ModelRefused
from storage import jobs

log = logging.getLogger(__name__)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def run_jobs(service: KonomiService, claimed: list[jobs.Job]) -> None:
    """Train claimed jobs (one, or people of one guild together) and record how each
    ended: a stored model marks its job done; otherwise the job fails with the reason."""
    try:
        if len(claimed) == 1:
            job = claimed[0]
            outcomes: list = [
                await service.training.train_now(job.guild_id, job.user_id, for_job=job)
            ]
        else:
            outcomes = await service.training.train_together(claimed[0].guild_id, claimed)
    except Exception as error:  # the guild step or the training itself failed: all fail
        outcomes = [error] * len(claimed)
    for job, outcome in zip(claimed, outcomes, strict=True):
        await _record(service, job, outcome)


async def _record(service: KonomiService, job: jobs.Job, outcome: object) -> None:
    if isinstance(outcome, UserError):  # too few votes, no guild model, outdated settings
        await jobs.fail(service.db, job.id, str(outcome))
        log.info("job %d not run: %s", job.id, outcome)
    elif isinstance(outcome, ModelRefused):
        await jobs.fail(service.db, job.id, str(outcome))  # a no-op when forget deleted it
        log.warning("job %d: refused to store its model: %s", job.id, outcome)
    elif isinstance(outcome, Exception):
        await jobs.fail(service.db, job.id, f"training failed: {outcome}")
        log.error("job %d failed", job.id, exc_info=outcome)
    else:
        log.info("job %d done: model %d", job.id, outcome.id)


async def run_worker(settings: Settings, *, stop: asyncio.Event | None = None) -> bool:
    """Work the queue until `stop` is set (or SIGTERM / SIGINT arrives). Returns True when
    the local worker ran `[worker] jobs_per_process` jobs and should be replaced by a
    fresh process (`python -m bot worker` then execs itself)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    service = await KonomiService.open(settings)
    db = service.db
    dispatcher = None
    if settings.worker.backend == "celery":
        from bot.remote.dispatch import Dispatcher

        dispatcher = Dispatcher(service, settings)
    try:
        requeued = await _requeue(db, settings)
        if requeued:
            log.info("re-queued %d jobs left running by a stopped worker", len(requeued))
        last_schedule, jobs_run = 0.0, 0
        while not stop.is_set():
            claimed = []
            if dispatcher is not None:
                await dispatcher.look()
            else:
                claimed = await jobs.claim_batch(db, os.getpid(), settings.worker.batch_people)
            if claimed:
                first = claimed[0]
                log.info(
                    "jobs %s: %s model%s, guild %s (attempt %d)",
                    ", ".join(str(job.id) for job in claimed),
                    first.kind,
                    "s trained together" if len(claimed) > 1 else "",
                    first.guild_id,
                    first.attempts,
                )
                await run_jobs(service, claimed)
                jobs_run += len(claimed)
                log.info(
                    "%d jobs run by this process; resident memory %.0f MB",
                    jobs_run,
                    current_rss() / 2**20,
                )
                if jobs_run >= settings.worker.jobs_per_process:
                    log.info(
                        "recycling the worker after %d jobs (resident memory %.0f MB)",
                        jobs_run,
                        current_rss() / 2**20,
                    )
                    return True
                continue
            if time.monotonic() - last_schedule >= settings.worker.poll_interval_s * 10:
                last_schedule = time.monotonic()
                await service.training.enqueue_due_retrains()
                await _requeue(db, settings)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.worker.poll_interval_s)
        return False
    finally:
        await service.close()


async def _requeue(db: aiosqlite.Connection, settings: Settings) -> list[int]:
    """Re-queue jobs whose worker process is gone (this one counts as alive)."""
    pids = await jobs.running_worker_pids(db)
    alive = {pid for pid in pids if pid != os.getpid() and pid_alive(pid)}
    alive.add(os.getpid())
    return await jobs.requeue_orphans(db, settings.worker.max_attempts, alive)
