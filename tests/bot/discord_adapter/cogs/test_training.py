import re

import numpy as np

from storage import open_database, votes
from tests.fakediscord.process import BotProcess
from tests.images import lfw_crops


async def give_votes(world, member, count=40, seed=0):
    """`member` votes (through storage) for the darker face, the crowd for the brighter."""
    brightness = [crop.mean() for crop in lfw_crops()[: len(world.face_ids)]]
    rng = np.random.default_rng(seed)
    db = await open_database(world.bot.database)
    try:
        for user, sign in ((member.id, -1), (9001, 1), (9002, 1)):
            pairs = rng.choice(len(world.face_ids), (count, 2))
            await votes.add_votes(
                db,
                world.guild.id,
                user,
                [
                    (
                        world.face_ids[i],
                        world.face_ids[j],
                        float(sign * brightness[i] > sign * brightness[j]),
                    )
                    for i, j in pairs
                    if i != j
                ],
            )
    finally:
        await db.close()


def told(world, member):
    """Messages that told `member` about a finished retraining (followups or mentions)."""
    return [
        m
        for m in world.fake.messages.values()
        if "model" in m.content
        and "is ready" in m.content
        and (f"<@{member.id}>" in m.content or _followup_for(world, m, member))
    ]


def _followup_for(world, message, member):
    interaction = world.fake.interactions.get(message.interaction_id or 0)
    return interaction is not None and interaction.user is member


async def test_retrain_replies_at_once_then_follows_up_with_accuracies(world):
    await give_votes(world, world.alice)
    interaction = await world.alice.invoke("retrain")
    await world.fake.wait_for(interaction.answer)
    assert interaction.deferred and interaction.ephemeral  # answered first
    assert "I'll tell you" in interaction.original.content
    again = await world.alice.invoke("retrain")
    await world.fake.wait_for(again.answer)
    assert "already queued" in again.original.content or "is ready" in str(told(world, world.alice))
    [message] = await world.fake.wait_for(lambda: told(world, world.alice), 180)
    assert message.ephemeral and "Your first model is ready" in message.content
    assert re.search(
        r"Checked on your votes, it (agreed with you on \d+ of \d+ votes it never saw \(\d+%; "
        r"likely between \d+% and \d+%|could be checked on only \d+ of your votes)",
        message.content,
    ), message.content


async def test_too_few_votes_are_refused_at_once_with_the_number_needed(world):
    interaction = await world.alice.invoke("retrain")
    await world.fake.wait_for(interaction.answer)
    assert interaction.ephemeral and interaction.deferred  # answered first
    assert interaction.original.content.startswith(
        "You have 0 votes here; your own model needs 10. Vote 10 more with `/vote`"
    )
    assert await world.query("SELECT COUNT(*) FROM jobs") == [(0,)]


async def test_after_the_token_expired_the_channel_is_told_with_a_mention(discord_server, world):
    discord_server.rules.token_lifetime_s = 0.5
    await give_votes(world, world.alice)
    await world.alice.invoke("retrain")
    [message] = await world.fake.wait_for(lambda: told(world, world.alice), 180)
    assert f"<@{world.alice.id}>" in message.content and not message.ephemeral
    assert (
        any(e.kind == "expired_token" for e in world.fake.events) or message.interaction_id is None
    )


async def test_told_exactly_once_when_the_bot_restarted_before_the_job_finished(world):
    await give_votes(world, world.alice)
    await world.bot.stop()
    # A bot whose worker does not run: the job waits in the queue while the bot is down.
    idle = BotProcess(world.fake, world.bot.folder, "idle", worker={"embedded": False})
    await idle.start()
    interaction = await world.alice.invoke("retrain")
    await world.fake.wait_for(interaction.answer)
    await idle.stop()
    await world.bot.start()  # with its worker again
    await world.fake.wait_for(lambda: told(world, world.alice), 180)
    await world.bot.stop()
    await world.bot.start()
    import asyncio

    await asyncio.sleep(3)
    assert len(told(world, world.alice)) == 1


async def test_a_failed_retrain_is_told_in_the_members_language_without_konomis_internals(
    tmp_path,
):
    """A job konomi refused for the member's reason is told in their language; one that
    failed on konomi's side tells them what to do and gives admins the job to look up,
    never the exception (which may hold paths or a driver's words)."""
    from bot.discord_adapter.cogs.training import completion_text
    from bot.services.errors import NoGuildModel
    from bot.services.training import Finished
    from storage import jobs
    from tests.bot.discord_adapter.test_languages import japanese
    from tests.bot.services.conftest import open_service

    internals = "CUDA_ERROR_OUT_OF_MEMORY in /srv/konomi/model/training.py"
    service = await open_service(tmp_path, faces=4, crowd_votes=0, alice_votes=0)
    try:
        refused, _ = await jobs.enqueue(service.db, 1, 42, requested=True)
        broken, _ = await jobs.enqueue(service.db, 1, 43, requested=True)
        await service.jobs.record(refused, NoGuildModel("errors.no_guild_model_yet"))
        await service.jobs.record(broken, RuntimeError(internals))
        refused, broken = [await jobs.get_job(service.db, j.id) for j in (refused, broken)]
    finally:
        await service.close()
    told = {
        (job.id, locale): completion_text(Finished(job, None, None, None, None), locale)
        for job in (refused, broken)
        for locale in ("en-US", "ja")
    }
    for (job_id, locale), text in told.items():
        print(f"job {job_id}, {locale}: {text}")
    assert refused.state == broken.state == "failed"
    assert internals in broken.error  # the operator keeps the detail
    assert "this server has no guild model yet" in told[refused.id, "en-US"]
    assert "サーバーのモデルがありません" in told[refused.id, "ja"]
    assert japanese(told[refused.id, "ja"]) and japanese(told[broken.id, "ja"])
    for locale, retrain in (("en-US", "`/retrain` again"), ("ja", "`/再学習`")):
        text = told[broken.id, locale]
        assert "CUDA" not in text and "/srv" not in text
        assert retrain in text and f"{broken.id}" in text
