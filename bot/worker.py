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


async def run_job(service: KonomiService, job: jobs.Job) -> None:
    """Train one claimed job and record how it ended."""
    try:
        model = await service.training.train_now(job.guild_id, job.user_id, for_job=job)
    except UserError as error:  # too few votes, no guild model, outdated settings
        await jobs.fail(service.db, job.id, str(error))
        log.info("job %d not run: %s", job.id, error)
    except ModelRefused as error:
        await jobs.fail(service.db, job.id, str(error))  # a no-op when forget deleted it
        log.warning("job %d: refused to store its model: %s", job.id, error)
    except Exception as error:
        await jobs.fail(service.db, job.id, f"training failed: {error}")
        log.exception("job %d failed", job.id)
    else:
        log.info("job %d done: model %d", job.id, model.id)


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
            if dispatcher is not None:
                await dispatcher.look()
                job = None
            else:
                job = await jobs.claim_next(db, os.getpid())
            if job is not None:
                log.info(
                    "job %d: %s model, guild %s (attempt %d)",
                    job.id,
                    job.kind,
                    job.guild_id,
                    job.attempts,
                )
                await run_job(service, job)
                jobs_run += 1
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
