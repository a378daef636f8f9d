"""The training job queue.

A job is claimed by flipping it to 'running' with the worker's pid inside one
IMMEDIATE transaction, so two workers never take the same job. A local worker
that dies leaves 'running' rows behind; `requeue_orphans` puts them back. A job
sent to Celery workers stays 'running' with its task id until its result is
stored (`mark_sent`, `sent_jobs`); the broker, not a pid, holds it meanwhile.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from enum import StrEnum

import aiosqlite

from storage.db import NOW, transaction
from storage.guilds import ensure_guild

log = logging.getLogger(__name__)


class JobKind(StrEnum):
    """What a job trains; stored as its value."""

    GUILD = "guild"  # the guild model, from everyone's votes
    PERSONAL = "personal"  # one person's model, on the guild's


class JobState(StrEnum):
    """Where a job is in its life; stored as its value."""

    QUEUED = "queued"
    RUNNING = "running"  # claimed by a local worker, or sent to Celery (task_id set)
    DONE = "done"  # model_id is the model it stored
    FAILED = "failed"  # error says why (for the operator), refusal what the person reads


@dataclass(frozen=True)
class Job:
    id: int
    guild_id: int
    user_id: int | None
    kind: JobKind
    state: JobState
    attempts: int
    error: str | None
    model_id: int | None
    worker_pid: int | None
    created_at: float
    started_at: float | None
    finished_at: float | None
    notify_channel_id: int | None
    interaction_token: str | None
    token_expires_at: float | None
    notified_at: float | None
    task_id: str | None = None
    sent_at: float | None = None
    task_worker: str | None = None
    refusal: str | None = None  # a refused job: why, as the person who asked reads it

    @classmethod
    def from_row(cls, row: tuple) -> Job:
        job = cls(*row)
        return dataclasses.replace(job, kind=JobKind(job.kind), state=JobState(job.state))


_COLUMNS = ", ".join(Job.__dataclass_fields__)


async def get_job(db: aiosqlite.Connection, job_id: int) -> Job | None:
    async with db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)) as cursor:
        row = await cursor.fetchone()
    return Job.from_row(row) if row else None


async def enqueue(
    db: aiosqlite.Connection,
    guild_id: int,
    user_id: int | None,
    *,
    notify_channel_id: int | None = None,
    interaction_token: str | None = None,
    token_expires_at: float | None = None,
    requested: bool = False,
) -> tuple[Job, bool]:
    """Queue a job, or join the one already queued for this (guild, user), or, for a
    member's own request (`requested`), an automatic one already running.

    Returns the job and whether it is new. Joining refreshes where to tell the
    user, so the latest request is the one answered.
    """
    kind = JobKind.GUILD if user_id is None else JobKind.PERSONAL
    joinable = "state = 'queued'"
    if requested:
        joinable += " OR (state = 'running' AND requested_at IS NULL)"
    async with transaction(db):
        await ensure_guild(db, guild_id)
        async with db.execute(
            f"SELECT id FROM jobs WHERE guild_id = ? AND user_id IS ? AND ({joinable})"
            " ORDER BY state = 'queued' DESC LIMIT 1",
            (guild_id, user_id),
        ) as cursor:
            row = await cursor.fetchone()
        if row is not None:
            job_id, created = row[0], False
            if notify_channel_id is not None:
                await db.execute(
                    "UPDATE jobs SET notify_channel_id = ?, interaction_token = ?,"
                    " token_expires_at = ?, notified_at = NULL WHERE id = ?",
                    (notify_channel_id, interaction_token, token_expires_at, job_id),
                )
            if requested:
                await db.execute(f"UPDATE jobs SET requested_at = {NOW} WHERE id = ?", (job_id,))
        else:
            cursor = await db.execute(
                "INSERT INTO jobs (guild_id, user_id, kind, notify_channel_id, interaction_token,"
                " token_expires_at, requested_at)"
                f" VALUES (?, ?, ?, ?, ?, ?, {NOW if requested else 'NULL'})",
                (guild_id, user_id, kind, notify_channel_id, interaction_token, token_expires_at),
            )
            job_id, created = cursor.lastrowid, True
    job = await get_job(db, job_id)
    assert job is not None
    return job, created


async def pending(db: aiosqlite.Connection) -> set[tuple[int, int | None]]:
    """(guild, user) of every job queued or running: a retrain already on its way."""
    async with db.execute(
        "SELECT DISTINCT guild_id, user_id FROM jobs WHERE state IN ('queued', 'running')"
    ) as cursor:
        return {(row[0], row[1]) for row in await cursor.fetchall()}


async def last_requested_at(db: aiosqlite.Connection, guild_id: int, user_id: int) -> float | None:
    """When this person last asked for a retrain themself (automatic jobs do not count;
    survives restarts)."""
    async with db.execute(
        "SELECT MAX(requested_at) FROM jobs WHERE guild_id = ? AND user_id = ?",
        (guild_id, user_id),
    ) as cursor:
        (created_at,) = await cursor.fetchone()
    return created_at


async def queue_position(db: aiosqlite.Connection, job: Job) -> int:
    """1 for the next job to run; 0 when it is already running or finished."""
    if job.state != JobState.QUEUED:
        return 0
    async with db.execute(
        "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running') AND id <= ?", (job.id,)
    ) as cursor:
        (count,) = await cursor.fetchone()
    return int(count)


async def claim_batch(db: aiosqlite.Connection, worker_pid: int, limit: int) -> list[Job]:
    """Take the oldest queued job and, when it is a person's, the other people's jobs
    queued in the same guild (oldest first, `limit` in all): they train together."""
    async with transaction(db):
        async with db.execute(
            "SELECT id, guild_id, kind FROM jobs WHERE state = 'queued'"
            " ORDER BY created_at, id LIMIT 1"
        ) as cursor:
            first = await cursor.fetchone()
        if first is None:
            return []
        ids = [first[0]]
        if first[2] == JobKind.PERSONAL and limit > 1:
            async with db.execute(
                "SELECT id FROM jobs WHERE state = 'queued' AND kind = 'personal'"
                " AND guild_id = ? AND id != ? ORDER BY created_at, id LIMIT ?",
                (first[1], first[0], limit - 1),
            ) as cursor:
                ids += [row[0] for row in await cursor.fetchall()]
        now = time.time()
        await db.executemany(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker_pid = ?,"
            " started_at = ? WHERE id = ?",
            [(worker_pid, now, job_id) for job_id in ids],
        )
    return [job for job_id in ids if (job := await get_job(db, job_id)) is not None]


async def finish(db: aiosqlite.Connection, job_id: int, model_id: int | None) -> None:
    await db.execute(
        "UPDATE jobs SET state = 'done', model_id = ?, finished_at = ?, error = NULL,"
        " worker_pid = NULL WHERE id = ?",
        (model_id, time.time(), job_id),
    )


async def fail(
    db: aiosqlite.Connection, job_id: int, error: str, refusal: str | None = None
) -> None:
    """A job that cannot succeed (bad data, too few votes): failed at once, error kept;
    `refusal`: why, for the person who asked, when konomi refused it for a reason of
    theirs (None: it failed on konomi's side)."""
    await db.execute(
        "UPDATE jobs SET state = 'failed', error = ?, refusal = ?, finished_at = ?,"
        " worker_pid = NULL WHERE id = ?",
        (error, refusal, time.time(), job_id),
    )


async def requeue_orphans(
    db: aiosqlite.Connection, max_attempts: int, alive_pids: set[int] | frozenset[int] = frozenset()
) -> list[int]:
    """Put back running jobs whose worker is gone; fail those out of attempts.

    A job whose (guild, user) already has a newer queued job is folded into it.
    Returns the ids that were re-queued.
    """
    requeued = []
    async with transaction(db):
        async with db.execute(
            f"SELECT {_COLUMNS} FROM jobs WHERE state = 'running' AND task_id IS NULL"
        ) as cursor:
            running = [Job.from_row(row) for row in await cursor.fetchall()]
        for job in running:
            if job.worker_pid in alive_pids:
                continue
            if job.attempts >= max_attempts:
                why = f"the worker died {job.attempts} times running this job"
                await db.execute(
                    "UPDATE jobs SET state = 'failed', finished_at = ?, worker_pid = NULL,"
                    " error = ? WHERE id = ?",
                    (time.time(), why, job.id),
                )
                log.error("job %d failed: %s", job.id, why)
                continue
            async with db.execute(
                "SELECT id FROM jobs WHERE guild_id = ? AND user_id IS ? AND state = 'queued'",
                (job.guild_id, job.user_id),
            ) as cursor:
                newer = await cursor.fetchone()
            if newer is not None:
                await db.execute(
                    "UPDATE jobs SET state = 'failed', finished_at = ?, worker_pid = NULL,"
                    " error = 'superseded by a newer request', notified_at = ? WHERE id = ?",
                    (time.time(), time.time(), job.id),
                )
                continue
            await db.execute(
                "UPDATE jobs SET state = 'queued', worker_pid = NULL, error = ? WHERE id = ?",
                (f"the worker stopped during attempt {job.attempts}; queued again", job.id),
            )
            requeued.append(job.id)
    return requeued


async def mark_sent(db: aiosqlite.Connection, job_id: int, task_id: str, *, again: bool) -> None:
    """The job's attempt now travels as `task_id`; `again`: a resend, one more attempt."""
    await db.execute(
        "UPDATE jobs SET task_id = ?, sent_at = ?, task_worker = NULL, worker_pid = NULL,"
        " attempts = attempts + ? WHERE id = ? AND state = 'running'",
        (task_id, time.time(), int(again), job_id),
    )


async def unclaim(db: aiosqlite.Connection, job_id: int, error: str) -> None:
    """Back to the queue, the attempt not counted: it never reached a worker."""
    await db.execute(
        "UPDATE jobs SET state = 'queued', attempts = attempts - 1, worker_pid = NULL,"
        " error = ? WHERE id = ? AND state = 'running'",
        (error, job_id),
    )


async def note_task_worker(db: aiosqlite.Connection, job_id: int, worker: str) -> Job | None:
    """Record the worker running a sent job. Another worker than the one seen before means
    that one stopped (the broker handed the job on): one more attempt. Returns the job."""
    await db.execute(
        "UPDATE jobs SET attempts = attempts + (task_worker IS NOT NULL AND task_worker != ?),"
        " task_worker = ? WHERE id = ? AND state = 'running'",
        (worker, worker, job_id),
    )
    return await get_job(db, job_id)


async def sent_jobs(db: aiosqlite.Connection) -> list[Job]:
    """Jobs out with Celery workers, waiting for their results."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE state = 'running' AND task_id IS NOT NULL ORDER BY id"
    ) as cursor:
        return [Job.from_row(row) for row in await cursor.fetchall()]


async def jobs_to_notify(db: aiosqlite.Connection) -> list[Job]:
    """Finished jobs someone asked for and has not been told about yet."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM jobs WHERE state IN ('done', 'failed') AND notified_at IS NULL"
        " AND notify_channel_id IS NOT NULL ORDER BY finished_at"
    ) as cursor:
        return [Job.from_row(row) for row in await cursor.fetchall()]


async def mark_notified(db: aiosqlite.Connection, job_id: int) -> bool:
    """True for the one caller that marks it first: users are told exactly once."""
    cursor = await db.execute(
        "UPDATE jobs SET notified_at = ?, interaction_token = NULL"
        " WHERE id = ? AND notified_at IS NULL",
        (time.time(), job_id),
    )
    return cursor.rowcount > 0


async def count_jobs(db: aiosqlite.Connection, state: str) -> int:
    async with db.execute("SELECT COUNT(*) FROM jobs WHERE state = ?", (state,)) as cursor:
        (count,) = await cursor.fetchone()
    return int(count)


async def running_worker_pids(db: aiosqlite.Connection) -> set[int]:
    async with db.execute(
        "SELECT DISTINCT worker_pid FROM jobs WHERE state = 'running' AND worker_pid IS NOT NULL"
    ) as cursor:
        return {row[0] for row in await cursor.fetchall()}
