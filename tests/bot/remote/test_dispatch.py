"""Training through a real Redis and real Celery workers: the faults a deployment meets."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.config import load_settings
from bot.remote.celery_app import make_celery
from bot.services.konomi import KonomiService
from storage import jobs, models, open_database
from tests.bot.conftest import ALICE, CROWD, GUILD, populate, write_config
from tests.bot.discord_adapter.cogs.test_training import give_votes, told
from tests.bot.remote.conftest import CELERY
from tests.fakediscord.process import BotProcess

BOB = CROWD[0]


class BotSide:
    """The bot's side of Celery training (`python -m bot worker` with backend "celery"),
    and a service on the same database to ask for jobs and read what was stored."""

    def __init__(self, config: str, folder) -> None:
        self.config, self.log_path = config, folder / "dispatcher.log"
        self.process: subprocess.Popen | None = None
        self.service: KonomiService | None = None

    async def open(self) -> BotSide:
        db = await open_database(self.log_path.parent / "k.sqlite3")
        self.service = KonomiService(db, load_settings(self.config, environ={}))
        return self

    def start(self) -> None:
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker", "--config", self.config],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def request(self, user_id: int | None = ALICE) -> int:
        return (await self.service.training.request(GUILD, user_id)).job.id

    async def job(self, job_id: int) -> jobs.Job | None:
        return await jobs.get_job(self.service.db, job_id)

    async def wait(self, check, what: str, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := await check():
                return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"{what} within {timeout} s; dispatcher log:\n{self.log()[-4000:]}")

    async def finished(self, job_id: int, timeout: float = 120) -> jobs.Job:
        async def check():
            job = await self.job(job_id)
            return job if job is None or job.state in ("done", "failed") else None

        return await self.wait(check, f"job {job_id} did not finish", timeout)

    async def started(self, job_id: int) -> jobs.Job:
        async def check():
            job = await self.job(job_id)
            return job if job and job.task_worker else None

        return await self.wait(check, f"job {job_id} never started on a worker")

    async def models_of(self, user_id: int | None) -> list[models.StoredModel]:
        rows = await self.service.db.execute_fetchall(
            "SELECT id FROM models WHERE guild_id = ? AND user_id IS ?", (GUILD, user_id)
        )
        return [await models.get_model(self.service.db, row[0]) for row in rows]

    async def close(self) -> None:
        self.kill()
        await self.service.db.close()
        print(f"--- dispatcher\n{self.log()[-4000:]}")


@pytest.fixture(scope="module")
def trained_database(tmp_path_factory) -> Path:
    """A pool of 24 faces, votes and a trained guild model, made once: the jobs tests send
    are personal ones, a few seconds each."""
    folder = tmp_path_factory.mktemp("trained")

    async def make():
        await populate(folder / "k.sqlite3", faces=24)
        settings = load_settings(write_config(folder), environ={})
        service = KonomiService(await open_database(folder / "k.sqlite3"), settings)
        await service.training.train_now(GUILD, None)
        await service.db.close()

    asyncio.run(make())
    return folder / "k.sqlite3"


@pytest.fixture
async def bot_side(tmp_path, celery_config, trained_database):
    shutil.copy(trained_database, tmp_path / "k.sqlite3")
    side = await BotSide(celery_config, tmp_path).open()
    yield side
    await side.close()


async def test_a_worker_killed_mid_job_the_job_completes_on_a_second_worker_once(
    bot_side, celery_workers
):
    first = celery_workers("first")
    bot_side.start()
    job_id = await bot_side.request()
    started = await bot_side.started(job_id)
    assert started.task_worker.startswith("first@konomi/")
    first.kill()  # SIGKILL mid-job: nothing acknowledged, the broker still holds it
    second = celery_workers("second")
    done = await bot_side.finished(job_id, timeout=180)
    assert done.state == "done", done.error
    assert done.task_worker.startswith("second@konomi/") and done.attempts == 2
    assert len(await bot_side.models_of(ALICE)) == 1
    assert second.log().count(f"{done.task_id}] succeeded") == 1
    assert f"{done.task_id}] succeeded" not in first.log()
    print(f"job {job_id}: attempts {done.attempts}, stored once by {done.task_worker}")


async def test_a_job_whose_workers_keep_dying_fails_after_max_attempts(
    bot_side, celery_workers, celery_config
):
    """A job that kills its worker must not go round the workers for ever: with
    max_attempts = 1 the bot fails it when a second worker picks it up, and revokes it."""
    with open(celery_config, "a") as config:
        config.write("max_attempts = 1\n")  # [worker] is the file's last table
    first = celery_workers("first")
    bot_side.start()
    job_id = await bot_side.request()
    await bot_side.started(job_id)
    first.kill()
    celery_workers("second")
    failed = await bot_side.finished(job_id, timeout=180)
    assert failed.state == "failed" and "1 worker died running it" in failed.error
    assert await bot_side.models_of(ALICE) == []
    print(f"job {job_id}: {failed.error} after {failed.attempts} attempts")


async def test_the_broker_restarted_with_a_job_queued_runs_it(
    bot_side, celery_workers, redis_server
):
    bot_side.start()
    job_id = await bot_side.request()

    async def sent():
        job = await bot_side.job(job_id)
        return job.task_id

    await bot_side.wait(sent, "the job was not sent")
    redis_server.stop()
    redis_server.start()  # the append-only file brings the queued job back
    celery_workers("after-restart")
    done = await bot_side.finished(job_id)
    assert done.state == "done", done.error
    assert done.attempts == 1 and len(await bot_side.models_of(ALICE)) == 1


async def test_a_job_the_broker_lost_is_sent_again_after_resend_after_s(
    bot_side, celery_workers, redis_server
):
    """A broker that lost its data (no append-only file, a flushed queue) never delivers
    the job: the bot sends it again once `resend_after_s` passed without a result."""
    bot_side.start()
    job_id = await bot_side.request()

    async def sent():
        return (await bot_side.job(job_id)).task_id

    lost = await bot_side.wait(sent, "the job was not sent")
    assert redis_server.client().delete("train") == 1  # the queued message is gone
    celery_workers("w")
    done = await bot_side.finished(job_id, timeout=180)
    assert done.state == "done", done.error
    assert done.task_id != lost and done.attempts == 2
    assert "sending it again" in bot_side.log()


async def test_results_that_arrive_while_the_bot_is_down_are_stored_after_it_restarts(
    bot_side, celery_workers
):
    """Alice's model is stored after the restart; Bob asked to be forgotten while his job
    trained, so his result, arriving late, is refused in the transaction that would store it."""
    worker = celery_workers("w")
    bot_side.start()
    alice, bob = await bot_side.request(ALICE), await bot_side.request(BOB)
    await bot_side.started(alice)

    async def sent():
        return (await bot_side.job(bob)).task_id

    await bot_side.wait(sent, "Bob's job was not sent")
    tasks = {(await bot_side.job(job)).task_id for job in (alice, bob)}  # one when together
    bot_side.kill()
    await bot_side.service.privacy.forget(GUILD, BOB)

    async def both_trained():
        return worker.log().count("trained in") >= len(tasks)

    await bot_side.wait(both_trained, "the worker did not finish both jobs")
    assert (await bot_side.job(alice)).state == "running"
    assert await bot_side.models_of(ALICE) == []
    bot_side.start()
    done = await bot_side.finished(alice)
    assert done.state == "done", done.error
    assert len(await bot_side.models_of(ALICE)) == 1
    assert await bot_side.models_of(BOB) == [] and await bot_side.job(bob) is None


async def test_malformed_oversized_and_pickled_messages_are_refused_both_ways(
    bot_side, celery_workers, celery_config, tmp_path
):
    app = make_celery(load_settings(celery_config, environ={}).worker)
    # The bot's side: a forged result for a job it sent fails that job with the reason.
    bot_side.start()
    forged = await bot_side.request()

    async def sent():
        return (await bot_side.job(forged)).task_id

    app.backend.store_result(await bot_side.wait(sent, "not sent"), b"\x93junk", "SUCCESS")
    refused = await bot_side.finished(forged)
    assert refused.state == "failed" and "its result was refused" in refused.error
    # The workers' side: each bad job is answered with its reason, never trained; a pickled
    # message is not even unpickled; then a real job still trains.
    worker = celery_workers("w")
    marker = tmp_path / "unpickled"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    answers = {
        "malformed": app.send_task("konomi.train", args=[b"\x93not a konomi job"]),
        "oversized": app.send_task("konomi.train", args=[b"x" * 4_000_001]),
    }
    app.send_task("konomi.train", args=[Evil()], serializer="pickle")
    refusals = {name: result.get(timeout=60) for name, result in answers.items()}
    assert b"not valid msgpack" in refusals["malformed"]
    assert b"over the limit" in refusals["oversized"]
    done = await bot_side.finished(await bot_side.request(BOB))
    assert done.state == "done", done.error
    assert not marker.exists()
    assert "Refusing to deserialize untrusted content of type pickle" in worker.log()
    # Two jobs on one pool: it went to the broker once and was read from it once.
    assert bot_side.log().count("sent to the broker") == 1
    assert worker.log().count("read from the broker") == 1
    print(f"refused: {refusals}; forged result: {refused.error}")


async def test_retrain_through_redis_and_a_celery_worker_end_to_end(
    discord_server, tmp_path, redis_server, celery_workers
):
    """/retrain on the real discord.py client, trained by a Celery worker; the guild's model
    travels first in the same job, as the guild has none yet."""
    guild = discord_server.create_guild("Konomi Club")
    alice = guild.add_member("alice")
    bot = BotProcess(discord_server, tmp_path, worker={**CELERY, "broker_url": redis_server.url})
    face_ids, _ = await populate(
        bot.database, crowd_votes=0, alice_votes=0, guild=guild.id, faces=12
    )
    world = SimpleNamespace(fake=discord_server, guild=guild, bot=bot, face_ids=face_ids)
    await give_votes(world, alice)
    celery_workers("gpu")
    await bot.start()
    try:
        interaction = await alice.invoke("retrain")
        await discord_server.wait_for(interaction.answer)
        assert "I'll tell you" in interaction.original.content
        [message] = await discord_server.wait_for(lambda: told(world, alice), 180)
        assert "Checked on your votes, it" in message.content
    finally:
        await bot.stop()
        print(bot.log()[-4000:])
    db = await open_database(bot.database)
    try:
        [(state, task_id)] = await db.execute_fetchall(
            "SELECT state, task_id FROM jobs WHERE user_id = ?", (alice.id,)
        )
        guild_jobs = await db.execute_fetchall("SELECT id FROM jobs WHERE user_id IS NULL")
        kinds = await db.execute_fetchall("SELECT user_id IS NULL FROM models ORDER BY id")
    finally:
        await db.close()
    assert state == "done" and task_id.startswith("konomi-job-")
    assert [row[0] for row in kinds] == [1, 0]  # the guild's model, then Alice's
    assert not guild_jobs  # her task trained the guild's model: no second retrain queued


async def test_people_queued_together_travel_as_one_task_and_train_together(
    bot_side, celery_workers, redis_server
):
    """Three people queued before the bot's side looks: one message (the guild model's
    weights in it once), one pass on the worker, a model each with its own metrics. With
    `jobs_per_process = 3` the worker then stops by itself (exit 0, for its supervisor
    to start a fresh one), its task acknowledged: nothing is left to redeliver."""
    with open(bot_side.config, "a") as config:
        config.write("jobs_per_process = 3\n")  # the [worker] table is the file's last
    people = [ALICE, BOB, CROWD[1]]
    queued = [await bot_side.request(user) for user in people]
    worker = celery_workers("w")
    bot_side.start()
    done = [await bot_side.finished(job_id) for job_id in queued]
    assert [job.state for job in done] == ["done"] * 3, [job.error for job in done]
    assert len({job.task_id for job in done}) == 1
    for user in people:
        [model] = await bot_side.models_of(user)
        assert model.metrics["timings"]["trained_together"] == 3
    assert worker.log().count("trained in") == 1
    assert await asyncio.to_thread(worker.process.wait, 60) == 0
    assert "recycling: 3 models trained" in worker.log()
    assert redis_server.client().llen("train") == 0
    print(f"3 jobs sent as {done[0].task_id}; the worker then exited 0")
