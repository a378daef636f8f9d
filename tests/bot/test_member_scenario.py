"""A member's konomi end to end: private voting, progress, a first model that trains by
itself and is announced once, honest refusals. The real bot on the loopback emulator."""

import random
import re

from tests.bot.conftest import eventually
from tests.fakediscord import permissions as perms

A, B, TIE, SKIP = "🅰️", "🅱️", "🤝", "⏭️"
VOTES_EACH = 15
FIRST_MODEL_NOTICE = "Your first model is ready"


def mentions(message) -> set[int]:
    return {int(found) for found in re.findall(r"<@!?(\d+)>", message.content)}


async def test_three_members_vote_in_private_and_get_their_first_models_unasked(world):
    rng = random.Random(7)
    moderator = world.guild.add_member(
        "moderator", [world.guild.create_role("mods", perms.MANAGE_THREADS)]
    )
    carol = world.guild.add_member("carol")
    voters = [world.alice, world.bob, carol]
    for voter in voters:
        await voter.invoke("vote")
    skipped = await world.pair_for(world.alice)
    await world.alice.react(skipped, SKIP)  # a pass: no vote, the next pair comes
    answered = {voter.id: 0 for voter in voters}
    for round_number in range(1, VOTES_EACH + 1):
        for voter in voters:
            shift = 1 if voter is world.alice else 0  # her first pair was skipped
            pair = await world.pair_for(voter, round_number + shift, timeout=60)
            await voter.react(pair, rng.choice([A, B, TIE]))
            answered[voter.id] += 1

    async def all_votes_stored():
        counts = await world.query("SELECT user_id, COUNT(*) FROM votes GROUP BY user_id")
        return dict(counts) == answered

    await eventually(all_votes_stored, 60)

    async def notices():
        return {
            voter.id: [
                m
                for m in world.fake.bot_messages()
                if FIRST_MODEL_NOTICE in m.content and world._for(m, voter)
            ]
            for voter in voters
        }

    async def everyone_told():
        told = await notices()
        return all(told.values()) and told

    told = await eventually(everyone_told, 300)
    await world.bot.stop()
    await world.bot.start()
    await eventually(lambda: _jobs_notified(world), 30)
    told = await notices()

    places = {voter.id: world.pairs_for(voter)[0].channel for voter in voters}
    pair_messages = [m for voter in voters for m in world.pairs_for(voter)]
    public_pairs = [m for m in world.fake.bot_messages(world.channel) if m.files]
    welcomes = [m for m in world.fake.bot_messages() if mentions(m)]
    later_mentions = [
        m for m in world.fake.bot_messages() if mentions(m) and m not in welcomes[: len(voters)]
    ]
    skips = await world.query(
        "SELECT COUNT(*) FROM votes WHERE message_id = ? AND user_id = ?",
        skipped.id,
        world.alice.id,
    )
    jobs = await world.query(
        "SELECT user_id, COUNT(*), SUM(requested_at IS NOT NULL) FROM jobs"
        " WHERE user_id IS NOT NULL GROUP BY user_id"
    )
    print(
        f"{len(voters)} members, {sum(answered.values())} votes stored of "
        f"{len(voters) * VOTES_EACH}, {len(pair_messages)} pair messages in private places, "
        f"{len(public_pairs)} in the public channel, {len(welcomes)} messages with a mention "
        f"(the welcomes), {len(later_mentions)} after; first-model notices per member: "
        f"{[len(told[v.id]) for v in voters]} (after a restart); personal jobs "
        f"(member, jobs, asked for): {jobs}"
    )
    assert sum(answered.values()) == len(voters) * VOTES_EACH
    assert public_pairs == [] and later_mentions == []
    assert sorted(mentions(m).pop() for m in welcomes) == sorted(v.id for v in voters)
    assert skips == [(0,)]
    assert all(len(told[voter.id]) == 1 for voter in voters)
    for voter in voters:
        place = places[voter.id]
        assert told[voter.id][0].channel is place
        assert all(m.channel is place for m in world.pairs_for(voter))
        assert voter.can_see(place) and moderator.can_see(place)
        assert [other for other in voters if other.can_see(place)] == [voter]
    assert all(asked == 0 for _, _, asked in jobs)  # nobody used /retrain

    dave = world.guild.add_member("dave")
    await dave.invoke("vote")
    for number in range(1, 4):
        await dave.react(await world.pair_for(dave, number), A)
    await eventually(lambda: _count_votes(world, dave, 3))
    refused = await dave.invoke("retrain")
    await world.fake.wait_for(lambda: refused.original and refused.original.content)
    assert refused.ephemeral
    assert "You have 3 votes here; your own model needs 10. Vote 7 more" in (
        refused.original.content
    )
    assert await world.query("SELECT COUNT(*) FROM jobs WHERE user_id = ?", dave.id) == [(0,)]


async def _jobs_notified(world):
    rows = await world.query(
        "SELECT COUNT(*) FROM jobs WHERE notify_channel_id IS NOT NULL AND notified_at IS NULL"
    )
    return rows == [(0,)]


async def _count_votes(world, member, count):
    rows = await world.query("SELECT COUNT(*) FROM votes WHERE user_id = ?", member.id)
    return rows == [(count,)]
