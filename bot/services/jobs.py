"""The training queue as the workers see it: claim jobs, run them, record how each
ended, count attempts, and put back what a dead worker left.

The local worker (bot/worker.py) and the bot's side of Celery (bot/remote/dispatch.py)
both work the queue through these operations, so a job's life (queued -> running ->
done or failed, with its attempts and the forget check) has one set of rules.
"""

from __future__ import annotations

import logging
import os

import aiosqlite

from bot.config import Settings
from bot.i18n import Text
from bot.services.errors import UserError
from bot.services.training import ModelRefused, TrainingService
from storage import jobs, privacy
from storage.jobs import Job, JobKind, JobState
from storage.models import StoredModel

__all__ = ["Job", "JobKind", "JobState", "JobsService", "pid_alive"]

log = logging.getLogger(__name__)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class JobsService:
    def __init__(
        self, db: aiosqlite.Connection, settings: Settings, training: TrainingService
    ) -> None:
        self.db = db
        self.settings = settings.worker
        self.training = training

    async def claim(self) -> list[Job]:
        """The oldest queued job, with the other people's jobs queued in its guild (up to
        `[worker] batch_people`), now running under this process; [] when none is queued."""
        return await jobs.claim_batch(self.db, os.getpid(), self.settings.batch_people)

    async def run(self, claimed: list[Job]) -> None:
        """Train claimed jobs here (one, or people of one guild together) and record how
        each ended: a stored model marks its job done; otherwise it fails with the reason."""
        training = self.training
        try:
            if len(claimed) == 1:
                job = claimed[0]
                outcomes: list = [await training.train_now(job.guild_id, job.user_id, for_job=job)]
            else:
                outcomes = await training.train_together(claimed[0].guild_id, claimed)
        except Exception as error:  # the guild step or the training itself failed: all fail
            outcomes = [error] * len(claimed)
        for job, outcome in zip(claimed, outcomes, strict=True):
            await self.record(job, outcome)

    async def record(self, job: Job, outcome: StoredModel | Exception) -> None:
        """How a job ended: its model (already stored, the job marked done with it), or
        why it has none. A person forgotten once the job began has their job refused,
        whether the forget came before their votes were read (none left) or after."""
        if isinstance(outcome, UserError) and await self._forgotten_since_claimed(job):
            outcome = ModelRefused("the person asked to be forgotten while it trained")
        if isinstance(outcome, UserError):  # too few votes, no guild model, outdated settings
            await self.fail(job, str(outcome), outcome.text)
            log.info("job %d not run: %s", job.id, outcome)
        elif isinstance(outcome, ModelRefused):
            await self.fail(job, str(outcome))  # a no-op when forget deleted it
            log.warning("job %d: refused to store its model: %s", job.id, outcome)
        elif isinstance(outcome, Exception):
            await self.fail(job, f"training failed: {outcome}")
            log.error("job %d failed", job.id, exc_info=outcome)
        else:
            log.info("job %d done: model %d", job.id, outcome.id)

    async def _forgotten_since_claimed(self, job: Job) -> bool:
        if job.user_id is None:
            return False
        forgotten = await privacy.forgotten_at(self.db, job.guild_id, job.user_id)
        return forgotten is not None and forgotten >= (job.started_at or job.created_at)

    async def fail(self, job: Job, reason: str, refusal: Text | None = None) -> None:
        """`reason` for the operator; `refusal` for the person, when it is theirs to act on."""
        await jobs.fail(self.db, job.id, reason, refusal.to_json() if refusal else None)

    async def requeue_orphans(self) -> list[int]:
        """Put back jobs whose local worker process is gone (this one counts as alive),
        failing those out of attempts; returns the ids re-queued."""
        pids = await jobs.running_worker_pids(self.db)
        alive = {pid for pid in pids if pid != os.getpid() and pid_alive(pid)}
        alive.add(os.getpid())
        return await jobs.requeue_orphans(self.db, self.settings.max_attempts, alive)

    # The bot's side of Celery: a running job travels as a task until its result is back.

    async def mark_sent(self, job: Job, task_id: str, *, again: bool) -> None:
        """The job's attempt now travels as `task_id`; `again`: a resend, one more attempt."""
        await jobs.mark_sent(self.db, job.id, task_id, again=again)

    async def unclaim(self, job: Job, reason: str) -> None:
        """Back to the queue, the attempt not counted: it never reached a worker."""
        await jobs.unclaim(self.db, job.id, reason)

    async def note_task_worker(self, job: Job, worker: str) -> Job | None:
        """Record the worker running a sent job; another worker than the one seen before
        lost it (one more attempt). Returns the job as it now stands."""
        return await jobs.note_task_worker(self.db, job.id, worker)

    async def sent(self) -> list[Job]:
        """Jobs out with Celery workers, waiting for their results (in job id order)."""
        return await jobs.sent_jobs(self.db)
