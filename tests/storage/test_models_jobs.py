import os

from storage import jobs, models


async def save(db, guild=1, user=None):
    return await models.save_model(
        db,
        guild_id=guild,
        user_id=user,
        architecture="cnn",
        config={"a": 1},
        weights_npz=b"npz",
        metrics={"acc": 0.5},
    )


async def test_versions_count_up_per_guild_and_user(db):
    first, second = await save(db), await save(db)
    mine = await save(db, user=9)
    other_guild = await save(db, guild=2)
    assert (first.version, second.version, mine.version, other_guild.version) == (1, 2, 1, 1)
    assert (await models.latest_model(db, 1, None)).id == second.id
    assert (await models.latest_model(db, 1, 9)).config == {"a": 1}
    assert await models.latest_model(db, 2, 9) is None
    assert (await models.previous_model(db, second)).id == first.id


async def test_a_second_request_joins_the_queued_job(db):
    job, created = await jobs.enqueue(db, 1, 9, notify_channel_id=5)
    again, created_again = await jobs.enqueue(db, 1, 9, notify_channel_id=6)
    assert created and not created_again and again.id == job.id
    assert again.notify_channel_id == 6
    other, _ = await jobs.enqueue(db, 1, 10)
    assert await jobs.queue_position(db, other) == 2


async def test_claim_runs_oldest_first_and_a_new_request_queues_behind_a_running_one(db):
    first, _ = await jobs.enqueue(db, 1, None)
    [claimed] = await jobs.claim_batch(db, os.getpid(), 1)
    assert claimed.id == first.id and claimed.state == "running" and claimed.attempts == 1
    queued, created = await jobs.enqueue(db, 1, None)
    assert created and queued.id != first.id
    await jobs.finish(db, first.id, None)
    assert (await jobs.get_job(db, first.id)).state == "done"


async def test_orphaned_jobs_are_requeued_then_failed_after_max_attempts(db):
    job, _ = await jobs.enqueue(db, 1, 9)
    for attempt in (1, 2):
        [claimed] = await jobs.claim_batch(db, 999999, 1)
        assert claimed.attempts == attempt
        assert await jobs.requeue_orphans(db, max_attempts=3) == [job.id]
    await jobs.claim_batch(db, 999999, 1)
    assert await jobs.requeue_orphans(db, max_attempts=3) == []
    failed = await jobs.get_job(db, job.id)
    assert failed.state == "failed" and "died 3 times" in failed.error


async def test_a_live_worker_keeps_its_job(db):
    await jobs.enqueue(db, 1, 9)
    await jobs.claim_batch(db, 4242, 1)
    assert await jobs.requeue_orphans(db, 3, alive_pids={4242}) == []
    assert await jobs.count_jobs(db, "running") == 1


async def test_users_are_told_exactly_once(db):
    job, _ = await jobs.enqueue(db, 1, 9, notify_channel_id=5, interaction_token="tok")
    await jobs.claim_batch(db, 1, 1)
    await jobs.finish(db, job.id, None)
    assert [j.id for j in await jobs.jobs_to_notify(db)] == [job.id]
    assert await jobs.mark_notified(db, job.id)
    assert not await jobs.mark_notified(db, job.id)
    assert await jobs.jobs_to_notify(db) == []
    assert (await jobs.get_job(db, job.id)).interaction_token is None


async def test_a_sent_job_is_the_brokers_not_an_orphan_and_counts_a_new_worker_as_an_attempt(db):
    job, _ = await jobs.enqueue(db, 1, 9)
    await jobs.claim_batch(db, os.getpid(), 1)
    await jobs.mark_sent(db, job.id, "task-1", again=False)
    assert await jobs.requeue_orphans(db, 3, alive_pids=set()) == []  # no pid: not an orphan
    assert [j.task_id for j in await jobs.sent_jobs(db)] == ["task-1"]
    assert (await jobs.note_task_worker(db, job.id, "a/1")).attempts == 1
    assert (await jobs.note_task_worker(db, job.id, "a/1")).attempts == 1  # the same one again
    assert (await jobs.note_task_worker(db, job.id, "b/2")).attempts == 2  # a/1 died
    await jobs.mark_sent(db, job.id, "task-2", again=True)
    resent = await jobs.get_job(db, job.id)
    assert (resent.task_id, resent.attempts, resent.task_worker) == ("task-2", 3, None)
    assert await jobs.pending(db) == {(1, 9)}


async def test_a_job_the_broker_could_not_take_goes_back_uncounted(db):
    job, _ = await jobs.enqueue(db, 1, 9)
    await jobs.claim_batch(db, os.getpid(), 1)
    await jobs.unclaim(db, job.id, "the broker could not take it")
    back = await jobs.get_job(db, job.id)
    assert (back.state, back.attempts, back.task_id) == ("queued", 0, None)
