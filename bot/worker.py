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
import signal
import time

from bot.config import Settings
from bot.services.imaging import current_rss
from bot.services.konomi import KonomiService

log = logging.getLogger(__name__)


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
    dispatcher = None
    if settings.worker.backend == "celery":
        from bot.remote.dispatch import Dispatcher

        dispatcher = Dispatcher(service, settings)
    try:
        requeued = await service.jobs.requeue_orphans()
        if requeued:
            log.info("re-queued %d jobs left running by a stopped worker", len(requeued))
        last_schedule, jobs_run = 0.0, 0
        while not stop.is_set():
            claimed = []
            if dispatcher is not None:
                await dispatcher.look()
            else:
                claimed = await service.jobs.claim()
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
                await service.jobs.run(claimed)
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
                await service.jobs.requeue_orphans()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.worker.poll_interval_s)
        return False
    finally:
        await service.close()
