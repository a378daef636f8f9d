from tests.bot.conftest import eventually
from tests.fakediscord.process import BotProcess

A, B, TIE = "🅰️", "🅱️", "🤝"


async def test_vote_posts_one_public_image_with_three_reactions(world):
    interaction = await world.alice.invoke("vote")
    pair = await world.pair_for(world.alice)
    assert pair is interaction.original and not pair.ephemeral
    assert list(pair.reactions) == [A, B, TIE]
    assert all(users == [world.fake.bot_user.id] for users in pair.reactions.values())
    [image] = pair.images()
    assert image.width > 1.5 * image.height  # two faces side by side
    assert A in pair.content and B in pair.content and TIE in pair.content
    assert await world.votes_of(world.alice) == []  # the bot's own reactions are no votes


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
    await world.alice.invoke("vote")
    pair = await world.pair_for(world.alice)
    await world.bob.react(pair, B)
    await eventually(lambda: world.votes_of(world.bob))
    assert await world.votes_of(world.alice) == []


async def test_votes_count_on_a_pair_posted_before_a_restart(world):
    await world.alice.invoke("vote")
    pair = await world.pair_for(world.alice)
    await world.bot.stop()
    await world.bot.start()
    await world.bob.react(pair, B)
    await eventually(lambda: world.votes_of(world.bob))
    assert await world.votes_of(world.bob) == [(pair.id, 0.0)]


async def test_an_empty_pool_says_how_to_fill_it(discord_server, tmp_path):
    guild = discord_server.create_guild("Empty")
    carol = guild.add_member("carol")
    bot = BotProcess(discord_server, tmp_path)
    await bot.start()
    try:
        interaction = await carol.invoke("vote")
        await discord_server.wait_for(lambda: interaction.original)
        assert interaction.ephemeral and "pool is empty" in interaction.original.content
    finally:
        await bot.stop()
