"""No vote lost, no forget undone: kills, downtime, fast events and refused resumes,
against the real `python -m bot run` on the loopback emulator."""

import functools
import random
import sqlite3

from storage import open_database, state
from tests.bot.conftest import eventually, run_cli
from tests.bot.discord_adapter.cogs.test_training import give_votes
from tests.fakediscord import permissions as perms
from tests.fakediscord.process import BotProcess

A, B, TIE, SKIP = "🅰️", "🅱️", "🤝", "⏭️"
OUTCOME = {A: 1.0, B: 0.0, TIE: 0.5}


async def post_pairs(world, count: int, guild=None) -> list:
    """`count` public pairs a crowd can vote on: konomi may not open private threads in
    the channel, so a member's /vote pairs are posted there; they skip each for the next."""
    guild = guild or world.guild
    channel = guild.default_channel
    channel.overwrite(world.fake.bot_member(guild), deny=perms.CREATE_PRIVATE_THREADS)
    poster = guild.add_member("poster")
    await poster.invoke("vote")

    def posted(at_least: int) -> list:
        pairs = [m for m in world.fake.bot_messages(channel) if len(m.reactions) == 4]
        return pairs[:at_least] if len(pairs) >= at_least else []

    for number in range(1, count):
        pairs = await world.fake.wait_for(functools.partial(posted, number))
        await poster.react(pairs[-1], SKIP)
    return await world.fake.wait_for(functools.partial(posted, count))


def on_discord(world, pairs) -> dict[tuple[int, int], float]:
    """(message, member) -> the vote their reaction means (members keep one reaction each)."""
    expected = {}
    for pair in pairs:
        for emoji, users in pair.reactions.items():
            if emoji not in OUTCOME:
                continue  # a skip is no vote
            for user in users:
                if user != world.fake.bot_user.id:
                    assert (pair.id, user) not in expected, "a test member kept two reactions"
                    expected[(pair.id, user)] = OUTCOME[emoji]
    return expected


async def stored(world) -> dict[tuple[int, int], float]:
    rows = await world.query(
        "SELECT message_id, user_id, outcome FROM votes WHERE message_id IS NOT NULL"
    )
    return {(message, user): outcome for message, user, outcome in rows}


async def until_stored_equals(world, expected, timeout=120.0) -> dict:
    async def same():
        return await stored(world) == expected

    try:
        await eventually(same, timeout)
    finally:
        now = await stored(world)
        lost = sum(1 for key, vote in expected.items() if now.get(key) != vote)
        extra = sum(1 for key in now if key not in expected)
        print(
            f"reactions on Discord: {len(expected)}, votes stored: {len(now)}, "
            f"lost or wrong: {lost}, stored without a reaction: {extra}"
        )
    return now


def integrity(world) -> str:
    with sqlite3.connect(world.bot.database) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


async def test_a_kill_in_the_middle_of_a_burst_loses_no_vote(world):
    pairs = await post_pairs(world, 10)
    crowd = [world.guild.add_member(f"voter{i}") for i in range(120)]
    rng = random.Random(0)
    burst = [(member, pairs[0], A) for member in crowd]  # 120 reactors: two pages to read
    for member in crowd:
        burst += [(member, pair, rng.choice([A, B, TIE])) for pair in rng.sample(pairs[1:], 8)]
    rng.shuffle(burst)
    for index, (member, pair, emoji) in enumerate(burst):
        if index == len(burst) // 2:
            world.bot.kill()  # SIGKILL, mid-burst, no pacing
        await member.react(pair, emoji)
    await world.bot.start()
    print(
        f"burst of {len(burst)} reactions from {len(crowd)} members, SIGKILL at {len(burst) // 2}"
    )
    await until_stored_equals(world, on_discord(world, pairs))
    assert integrity(world) == "ok"
    pages = [e for e in world.fake.events if e.kind == "reaction list" and e.data["after"]]
    assert pages, "the 120 reactors of one message were read in pages"


async def test_reactions_made_while_the_bot_is_down_are_caught_up(world):
    pairs = await post_pairs(world, 4)
    crowd = [world.guild.add_member(f"voter{i}") for i in range(50)]
    for member in crowd:
        await member.react(pairs[0], A)
    await until_stored_equals(world, on_discord(world, pairs), timeout=30)
    stopping = world.bot.stop()  # SIGTERM; members keep reacting while it shuts down
    for member in crowd:
        await member.react(pairs[3], TIE)
    await stopping
    for member in crowd:  # while down: 100 added, 25 removed, 25 changed
        await member.react(pairs[1], B)
        await member.react(pairs[2], A)
    for member in crowd[:25]:
        await member.unreact(pairs[0], A)
    for member in crowd[25:]:
        await member.unreact(pairs[0], A)
        await member.react(pairs[0], B)
    await world.bot.start()
    now = await until_stored_equals(world, on_discord(world, pairs))
    print(
        f"while down: added {sum((pairs[1].id, m.id) in now for m in crowd)}"
        f"+{sum((pairs[2].id, m.id) in now for m in crowd)} of 100, removed "
        f"{sum((pairs[0].id, m.id) not in now for m in crowd[:25])} of 25, changed "
        f"{sum(now.get((pairs[0].id, m.id)) == 0.0 for m in crowd[25:])} of 25; during "
        f"shutdown {sum((pairs[3].id, m.id) in now for m in crowd)} of 50"
    )
    assert "vote catch-up" in world.bot.log()


async def test_votes_in_private_threads_and_dms_survive_downtime_and_a_kill(world):
    members = [world.guild.add_member(f"member{i}") for i in range(8)]
    for index, member in enumerate(members):  # two waiting pairs each, half of them in DMs
        for _ in range(2):
            await member.invoke("vote", **({"place": "dm"} if index % 2 else {}))
    pairs = {
        member: [await world.pair_for(member, n, timeout=60) for n in (1, 2)] for member in members
    }
    in_dms = sum(pair.channel.guild_id is None for mine in pairs.values() for pair in mine)
    await world.bot.stop()
    for member in members:  # while konomi is down: A, changed to B
        await member.react(pairs[member][0], A)
        await member.unreact(pairs[member][0], A)
        await member.react(pairs[member][0], B)
    await world.bot.start()
    everything = [pair for mine in pairs.values() for pair in mine]
    await until_stored_equals(world, on_discord(world, everything), timeout=60)
    for index, member in enumerate(members):
        if index == len(members) // 2:
            world.bot.kill()  # SIGKILL in the middle
        await member.react(pairs[member][1], TIE)
        await member.unreact(pairs[member][0], B)
    await world.bot.start()
    now = await until_stored_equals(world, on_discord(world, everything))
    print(
        f"{len(members)} members, {len(everything)} pairs ({in_dms} in DMs, the rest in "
        f"private threads): after downtime and a SIGKILL, {len(now)} votes stored"
    )
    assert in_dms == len(everything) // 2 and len(now) == len(members)  # first ones withdrawn
    assert set(now.values()) == {0.5}
    assert integrity(world) == "ok"


async def test_b_then_a_then_removing_a_ends_with_b(world):
    pairs = await post_pairs(world, 2)
    crowd = [world.guild.add_member(f"voter{i}") for i in range(100)]
    for pair in pairs:
        for member in crowd:  # no pause between the three events
            await member.react(pair, B)
            await member.react(pair, A)
            await member.unreact(pair, A)
    now = await until_stored_equals(world, on_discord(world, pairs))
    print(
        f"{len(crowd) * len(pairs)} sequences B, A, remove A: "
        f"{sum(v == 1.0 for v in now.values())} votes for A"
    )
    assert set(now.values()) == {0.0}


async def test_a_refused_resume_is_caught_up_without_a_restart(world):
    pairs = await post_pairs(world, 2)
    crowd = [world.guild.add_member(f"voter{i}") for i in range(30)]
    pid = world.bot.process.pid
    world.fake.refuse_resume = True
    await world.fake.drop_gateway()
    for member in crowd:  # nobody is connected: these events reach no one
        await member.react(pairs[0], B)
        await member.react(pairs[1], TIE)
    await until_stored_equals(world, on_discord(world, pairs), timeout=60)
    assert [e for e in world.fake.events if e.kind == "resume refused"]
    assert world.bot.process.pid == pid and world.bot.process.poll() is None
    assert world.bot.log().count("vote catch-up") >= 2


async def test_a_forget_while_the_retrain_runs_stays_final(world):
    await give_votes(world, world.alice, count=40)
    trained = run_cli(
        "train", "--config", str(world.bot.config_path), "--guild", str(world.guild.id)
    )
    assert trained.returncode == 0, trained.stderr
    await world.bot.stop()
    world.bot = BotProcess(
        world.fake, world.bot.folder, "slow", training={"max_epochs": 60, "patience": 60}
    )
    await world.bot.start()
    pairs = await post_pairs(world, 1)
    await world.alice.react(pairs[0], A)
    await eventually(lambda: world.votes_of(world.alice))
    db = await open_database(world.bot.database)
    await state.enable_channel(db, world.guild.id, world.channel.id, 3600.0, world.alice.id)
    await db.close()

    await world.alice.invoke("retrain")
    me = world.alice.id

    async def running():
        return await world.query("SELECT id FROM jobs WHERE user_id = ? AND state = 'running'", me)

    await eventually(running, 120)
    asked = await world.alice.invoke("forget")
    message = await world.fake.wait_for(asked.answer)
    await world.alice.click(message, "Yes, forget me")
    await world.fake.wait_for(lambda: "Deleted" in message.content)
    assert await running() == []  # the forget came while the job was running

    await world.fake.wait_for(lambda: "refused to store its model" in world.bot.log(), 300)
    refused = world.bot.log().count("refused to store its model")
    naming = {}
    for (table,) in await world.query("SELECT name FROM sqlite_master WHERE type = 'table'"):
        if table == "forgotten_users":
            continue
        columns = [row[1] for row in await world.query(f"PRAGMA table_info({table})")]
        for column in {"user_id", "posted_for", "enabled_by"} & set(columns):
            [(count,)] = await world.query(f"SELECT COUNT(*) FROM {table} WHERE {column} = ?", me)
            naming[f"{table}.{column}"] = count
    print(f"refused model saves: {refused}; rows naming the forgotten person: {naming}")
    assert refused >= 1 and naming and not any(naming.values())
    stats = await world.alice.invoke("stats")
    reply = await world.fake.wait_for(lambda: stats.original and stats.original.text)
    assert "Your votes here: 0" in reply and "v1" not in reply
    world.bot.kill()  # its worker may be deep in a slow guild retrain: no need to wait
