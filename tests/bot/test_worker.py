import asyncio
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from bot.config import load_settings
from bot.services.errors import NotEnoughVotes
from bot.services.konomi import KonomiService
from storage import jobs, models, open_database, votes
from tests.bot.conftest import ALICE, CROWD, GUILD, populate, write_config


def start_worker(config: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "--config", config],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def wait_for_state(db, job_id: int, states: set[str], timeout: float = 120) -> jobs.Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = await jobs.get_job(db, job_id)
        if job.state in states:
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id} never reached {states}: {job}")


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


async def test_a_job_goes_queued_running_done_and_requests_coalesce(tmp_path):
    config = write_config(tmp_path, worker={"retrain_cooldown_s": 0})
    await populate(tmp_path / "k.sqlite3")
    db = await open_database(tmp_path / "k.sqlite3")
    service = KonomiService(db, load_settings(config, environ={}))
    try:
        first = await service.training.request(GUILD, ALICE, notify_channel_id=5)
        again = await service.training.request(GUILD, ALICE, notify_channel_id=6)
        job = first.job
        assert first.created and not again.created and again.job.id == job.id
        assert first.position == 1
        worker = start_worker(config)
        try:
            await wait_for_state(db, job.id, {"running"})
            done = await wait_for_state(db, job.id, {"done", "failed"})
        finally:
            output = stop(worker)
        assert done.state == "done", (done.error, output)
        personal = await models.get_model(db, done.model_id)
        assert personal.user_id == ALICE and personal.config["base_model_id"] is not None
        assert personal.metrics["held_out_votes"] > 0 and "guild_final" in personal.metrics
        assert await models.latest_model(db, GUILD, None) is not None  # trained first
        assert worker.returncode == 0
    finally:
        await db.close()


async def test_a_worker_killed_mid_job_leaves_it_queued_and_no_partial_model(tmp_path):
    config = write_config(tmp_path, max_epochs=200, patience=200)
    await populate(tmp_path / "k.sqlite3", crowd_votes=150)
    db = await open_database(tmp_path / "k.sqlite3")
    try:
        job, _ = await jobs.enqueue(db, GUILD, None)
        worker = start_worker(config)
        await wait_for_state(db, job.id, {"running"})
        await asyncio.sleep(1.0)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        killed = await jobs.get_job(db, job.id)
        assert killed.state == "running" and killed.attempts == 1
        assert await models.latest_model(db, GUILD, None) is None

        # Restarted with a short schedule, the worker re-queues it and completes it.
        quick = write_config(tmp_path)
        worker = start_worker(quick)
        try:
            done = await wait_for_state(db, job.id, {"done", "failed"})
        finally:
            output = stop(worker)
        assert done.state == "done" and done.attempts == 2, output
        assert (await models.latest_model(db, GUILD, None)).version == 1
    finally:
        await db.close()


async def test_too_few_votes_is_a_clear_message(tmp_path):
    await populate(tmp_path / "k.sqlite3", alice_votes=3)
    db = await open_database(tmp_path / "k.sqlite3")
    try:
        service = KonomiService(db, load_settings(write_config(tmp_path), environ={}))
        with pytest.raises(
            NotEnoughVotes, match=r"you have \d votes; .* at least 10: vote \d+ more"
        ):
            await service.training.build_job(GUILD, ALICE)
    finally:
        await db.close()


async def test_new_votes_schedule_retrains(tmp_path):
    await populate(tmp_path / "k.sqlite3", alice_votes=60)
    db = await open_database(tmp_path / "k.sqlite3")
    try:
        service = KonomiService(db, load_settings(write_config(tmp_path), environ={}))
        due = await service.training.enqueue_due_retrains()
        assert (GUILD, None) in due and (GUILD, ALICE) in due
        assert await jobs.count_jobs(db, "queued") == len(due)
    finally:
        await db.close()


async def test_votes_dated_in_the_future_are_trained_on_once_not_after_every_retrain(tmp_path):
    """60 votes dated 30 days ahead (as an older konomi imported them): the schedule
    queues the guild's and the member's retrain once; after those models are stored,
    five more looks queue nothing (it counts votes by when konomi stored them)."""
    await populate(tmp_path / "k.sqlite3", crowd_votes=0, alice_votes=0, faces=8)
    db = await open_database(tmp_path / "k.sqlite3")
    try:
        service = KonomiService(db, load_settings(write_config(tmp_path), environ={}))
        faces = [face.id for face in await service.pool.faces(GUILD)]
        ahead = time.time() + 30 * 86400
        rows = [
            votes.ImportedVote(ALICE, faces[i % 8], faces[(i + 1) % 8], 1.0, ahead + i)
            for i in range(60)
        ]
        await votes.import_votes(db, GUILD, rows, lambda vote: vote)
        queued = []
        for _ in range(6):
            due = await service.training.enqueue_due_retrains()
            queued += due
            for job in await jobs.claim_batch(db, os.getpid(), 10):  # "trained": stored
                await models.save_model(
                    db,
                    guild_id=GUILD,
                    user_id=job.user_id,
                    architecture="test",
                    config={},
                    weights_npz=b"",
                    metrics={},
                    job_id=job.id,
                )
            await asyncio.sleep(0.01)
        print(f"6 looks at the schedule queued {queued}")
        assert sorted(queued, key=str) == sorted([(GUILD, None), (GUILD, ALICE)], key=str)
    finally:
        await db.close()


async def test_no_guild_retrain_is_queued_beside_a_personal_job_that_trains_it_first(tmp_path):
    """The guild has no model yet and Alice's /retrain is queued: her job trains the
    guild's model first (locally, or as the first step of her Celery task), so the
    schedule must not queue a second guild retrain beside it."""
    await populate(tmp_path / "k.sqlite3", alice_votes=60)
    db = await open_database(tmp_path / "k.sqlite3")
    try:
        service = KonomiService(db, load_settings(write_config(tmp_path), environ={}))
        await jobs.enqueue(db, GUILD, ALICE)
        due = await service.training.enqueue_due_retrains()
        assert (GUILD, None) not in due and due, due
        assert await jobs.pending(db) == {(GUILD, ALICE), *due}
    finally:
        await db.close()


async def test_a_hundred_jobs_in_batches_with_recycling_keep_the_workers_memory_flat(tmp_path):
    """The guild job, then 100 people in batches of 10, the worker replacing itself
    (same process id) after 30 jobs: every job done, and the resident memory after the
    last batch within 100 MB of the first's."""
    config = write_config(
        tmp_path,
        worker={"retrain_cooldown_s": 0, "jobs_per_process": 30, "batch_people": 10},
    )
    face_ids, _ = await populate(tmp_path / "k.sqlite3", faces=24)
    db = await open_database(tmp_path / "k.sqlite3")
    try:
        rng = np.random.default_rng(3)
        people = [ALICE, *CROWD, *range(1000, 1089)]
        for user in people[11:]:
            pairs = rng.choice(face_ids, size=(12, 2))
            await votes.add_votes(
                db, GUILD, user, [(int(a), int(b), 1.0) for a, b in pairs if a != b]
            )
        queued = [(await jobs.enqueue(db, GUILD, None))[0]]
        queued += [(await jobs.enqueue(db, GUILD, user))[0] for user in people]
        worker = start_worker(config)
        try:
            done = [await wait_for_state(db, job.id, {"done", "failed"}, 300) for job in queued]
            assert worker.poll() is None  # the same process, exec'd in place
        finally:
            output = stop(worker)
        assert [job.state for job in done] == ["done"] * 101, output
        logged = re.finditer(r"(\d+) jobs run by this process; resident memory (\d+) MB", output)
        memory = [(int(m[1]), float(m[2])) for m in logged]
        recycled = [line for line in output.splitlines() if "recycling the worker" in line]
        print(f"jobs run, resident MB: {memory}; {len(recycled)} recycles")
        assert len(recycled) == 3, output
        first, last = memory[0][1], memory[-1][1]
        assert abs(last - first) <= 100, memory
    finally:
        await db.close()
