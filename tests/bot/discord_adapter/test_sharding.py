"""Two gateway shards on the loopback emulator: one drops and comes back without its
session, the other serves on, and the votes made in the gap are caught up."""

import asyncio

from tests.bot.conftest import World, populate
from tests.bot.discord_adapter.cogs.test_voting_reliability import (
    A,
    B,
    on_discord,
    post_pairs,
    until_stored_equals,
)
from tests.fakediscord.process import BotProcess


def identifies(fake, shard: int) -> int:
    return sum(
        1
        for e in fake.events
        if e.kind == "identify" and e.data.get("shard") == shard and not e.data["resumed"]
    )


async def test_a_shard_that_drops_is_caught_up_while_the_other_serves(discord_server, tmp_path):
    fake = discord_server
    fake.shard_count = 2  # what GET /gateway/bot recommends; konomi asks it
    guilds = [fake.create_guild(f"Shard {n} Club", shard=n) for n in (0, 1)]
    assert [(g.id >> 22) % 2 for g in guilds] == [0, 1]
    bot = BotProcess(fake, tmp_path)
    for guild in guilds:
        await populate(bot.database, crowd_votes=0, alice_votes=0, guild=guild.id, faces=12)
    await bot.start()
    world = World(fake, guilds[0], guilds[0].default_channel, None, None, bot, [])
    try:
        await fake.wait_for(lambda: identifies(fake, 0) == 1 and identifies(fake, 1) == 1)
        pairs = {n: await post_pairs(world, 2, guild) for n, guild in enumerate(guilds)}
        crowds = {
            n: [g.add_member(f"voter{n}-{i}") for i in range(20)] for n, g in enumerate(guilds)
        }

        fake.refuse_resume = True  # shard 1 comes back with a new session: no replay
        fake.gateway_down = True  # ... and not at once
        await fake.drop_gateway(shard=1)
        for member in crowds[1]:  # nobody receives these
            await member.react(pairs[1][0], A)
            await member.react(pairs[1][1], B)
        for member in crowds[0]:  # shard 0 still serves its guild, live
            await member.react(pairs[0][0], B)
        helped = await crowds[0][0].invoke("help")
        served = on_discord(world, pairs[0])
        await until_stored_equals(world, served, timeout=30)
        answered_meanwhile = helped.answer() is not None
        print(f"while shard 1 was away: shard 0 stored {len(served)} votes live, /help answered")
        assert answered_meanwhile

        fake.gateway_down = False
        expected = on_discord(world, pairs[0] + pairs[1])
        await until_stored_equals(world, expected, timeout=90)
        print(
            f"IDENTIFYs: shard 0 {identifies(fake, 0)}, shard 1 {identifies(fake, 1)}; "
            f"{len(expected) - len(served)} votes made while shard 1 was away caught up"
        )
        assert identifies(fake, 0) == 1 and identifies(fake, 1) == 2
        assert "vote catch-up for shards [1]" in bot.log()
        assert bot.process.poll() is None  # no restart: the process served throughout
    finally:
        try:
            await bot.stop()
        finally:
            bot.kill()
        await asyncio.sleep(0)
        print(bot.log()[-3000:])
