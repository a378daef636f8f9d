import pytest

from tests.bot.conftest import eventually
from tests.fakediscord import permissions as perms
from tests.fakediscord.process import BotProcess

A, B, TIE, SKIP = "🅰️", "🅱️", "🤝", "⏭️"


async def test_vote_sends_pairs_to_a_private_thread_only_the_member_and_moderators_see(world):
    moderator = world.guild.add_member(
        "moderator", [world.guild.create_role("mods", perms.MANAGE_THREADS)]
    )
    interaction = await world.alice.invoke("vote")
    pair = await world.pair_for(world.alice)
    thread = pair.channel
    assert thread.type == perms.PRIVATE_THREAD and thread.parent_id == world.channel.id
    assert world.alice.can_see(thread) and moderator.can_see(thread)
    assert not world.bob.can_see(thread)
    with pytest.raises(PermissionError):
        await world.bob.react(pair, A)
    assert list(pair.reactions) == [A, B, TIE, SKIP]
    assert all(users == [world.fake.bot_user.id] for users in pair.reactions.values())
    [image] = pair.images()
    assert image.width > 1.5 * image.height  # two faces side by side
    assert "0 votes so far · 10 more for your own model" in pair.content
    assert f"<@{world.alice.id}>" not in pair.content
    await world.fake.wait_for(lambda: interaction.original and interaction.original.content)
    assert interaction.ephemeral and thread.name == "konomi · alice"
    assert f"<#{thread.id}>" in interaction.original.content
    assert [m for m in world.fake.bot_messages(world.channel) if not m.ephemeral] == []
    assert await world.votes_of(world.alice) == []  # the bot's own reactions are no votes
    welcome = [m for m in world.fake.bot_messages(thread) if f"<@{world.alice.id}>" in m.content]
    assert len(welcome) == 1  # pinged once, when the thread opened

    await world.alice.react(pair, B)
    second = await world.pair_for(world.alice, 2)
    assert second.channel is thread and "1 vote so far · 9 more" in second.content
    await world.fake.set_archived(thread)  # an hour of silence
    await world.alice.react(second, A)
    third = await world.pair_for(world.alice, 3)
    assert third.channel is thread and not thread.archived
    assert len(world.fake.threads(world.guild)) == 1


async def test_a_skip_stores_no_vote_and_brings_the_next_pair(world):
    await world.alice.invoke("vote")
    first = await world.pair_for(world.alice)
    await world.alice.react(first, SKIP)
    second = await world.pair_for(world.alice, 2)
    await world.alice.unreact(first, SKIP)
    await world.alice.react(first, SKIP)  # a second pass on the same pair: nothing new
    await world.alice.react(second, A)
    await world.pair_for(world.alice, 3)
    await eventually(lambda: world.votes_of(world.alice))
    assert await world.votes_of(world.alice) == [(second.id, 1.0)]
    assert len(world.pairs_for(world.alice)) == 3
    faces = await world.query(
        "SELECT face_a, face_b FROM pairs WHERE posted_for = ?", world.alice.id
    )
    assert len({frozenset(row) for row in faces}) == 3  # the skipped pair is not asked again


async def test_vote_points_to_the_pairs_waiting_instead_of_posting_more(world):
    for _ in range(2):  # [voting] open_pairs_per_member
        await world.alice.invoke("vote")
    await world.pair_for(world.alice, 2)
    again = await world.alice.invoke("vote")
    await world.fake.wait_for(lambda: again.original and again.original.content)
    first = world.pairs_for(world.alice)[0]
    assert again.ephemeral and f"/{first.channel.id}/{first.id}" in again.original.content
    assert len(world.pairs_for(world.alice)) == 2


async def test_pairs_go_to_dms_when_chosen_and_fall_back_where_konomi_may_not(world):
    interaction = await world.alice.invoke("vote", place="dm")
    pair = await world.pair_for(world.alice)
    assert pair.channel.guild_id is None and pair.channel.recipient is world.alice.user
    await world.alice.react(pair, TIE)  # a DM reaction carries no guild
    await eventually(lambda: world.votes_of(world.alice))
    assert await world.votes_of(world.alice) == [(pair.id, 0.5)]
    second = await world.pair_for(world.alice, 2)
    assert second.channel is pair.channel
    assert "Your pair is in your direct messages" in interaction.original.content

    world.bob.user.accepts_dms = False
    refused = await world.bob.invoke("vote", place="dm")
    bobs = await world.pair_for(world.bob)
    assert bobs.channel is world.channel and f"<@{world.bob.id}>" not in bobs.content
    assert refused.ephemeral and "can't send you direct messages" in refused.original.content

    carol = world.guild.add_member("carol")
    world.channel.overwrite(world.fake.bot_member(world.guild), deny=perms.CREATE_PRIVATE_THREADS)
    no_threads = await carol.invoke("vote")
    carols = await world.pair_for(carol)
    assert carols.channel is world.channel
    assert "Create Private Threads" in no_threads.original.content
    assert no_threads.ephemeral


async def test_the_latest_reaction_still_there_is_the_vote(world):
    await world.alice.invoke("vote")
    pair = await world.pair_for(world.alice)
    await world.alice.react(pair, A)
    await eventually(lambda: _votes_are(world, [(pair.id, 1.0)]))
    await world.alice.react(pair, B)
    await eventually(lambda: _votes_are(world, [(pair.id, 0.0)]))
    await world.alice.unreact(pair, B)  # A is still on the message: it counts again
    await eventually(lambda: _votes_are(world, [(pair.id, 1.0)]))
    await world.alice.unreact(pair, A)
    await eventually(lambda: _votes_are(world, []))


async def _votes_are(world, expected):
    return await world.votes_of(world.alice) == expected


async def test_a_vote_brings_the_next_pair_never_repeating_one(world):
    await world.alice.invoke("vote")
    seen = []
    for round_number in range(1, 4):
        pair = await world.pair_for(world.alice, round_number)
        seen.append(pair.files.keys())
        await world.alice.react(pair, TIE)
    await world.pair_for(world.alice, 4)
    names = [next(iter(keys)) for keys in seen]
    assert len(set(names)) == 3
    rows = await world.query(
        "SELECT face_a, face_b FROM pairs WHERE posted_for = ?", world.alice.id
    )
    assert len({frozenset(r) for r in rows}) == len(rows) == 4


async def test_reactions_on_other_messages_are_ignored(world):
    message = await world.fake.post_as(world.bob, world.channel, "hello")
    await world.alice.react(message, A)
    await world.bob.invoke("vote")
    pair = await world.pair_for(world.bob)
    await world.bob.react(pair, B)
    await eventually(lambda: world.votes_of(world.bob))
    assert await world.votes_of(world.alice) == []


async def test_votes_count_on_a_pair_posted_before_a_restart(world):
    await world.alice.invoke("vote")
    pair = await world.pair_for(world.alice)
    await world.bot.stop()
    await world.bot.start()
    await world.alice.react(pair, B)
    await eventually(lambda: world.votes_of(world.alice))
    assert await world.votes_of(world.alice) == [(pair.id, 0.0)]


async def test_an_empty_pool_says_how_to_fill_it(discord_server, tmp_path):
    guild = discord_server.create_guild("Empty")
    carol = guild.add_member("carol")
    bot = BotProcess(discord_server, tmp_path)
    await bot.start()
    try:
        interaction = await carol.invoke("vote")
        await discord_server.wait_for(lambda: interaction.original and interaction.original.content)
        assert interaction.ephemeral and "pool is empty" in interaction.original.content
    finally:
        await bot.stop()
