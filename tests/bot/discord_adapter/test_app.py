"""The bot as a whole process: command sync, shutdown, permissions, guild isolation."""

import os

from tests.bot.conftest import World, eventually, populate, run_cli
from tests.fakediscord import permissions as perms
from tests.fakediscord.process import BotProcess


def syncs(world: World) -> list:
    return [e for e in world.fake.events if e.kind == "commands"]


async def test_commands_are_synced_once_not_at_every_start(world):
    assert len(syncs(world)) == 1
    payload = syncs(world)[0].data["payload"]
    names = {c["name"] for c in payload}
    assert {"vote", "rank", "retrain", "Rank these images"} <= names
    assert all(len(c.get("description", "")) <= 100 for c in payload)
    rank = next(c for c in payload if c["name"] == "rank")
    assert [o["type"] for o in rank["options"]][:10] == [11] * 10
    await world.bot.stop()
    await world.bot.start()
    assert len(syncs(world)) == 1
    assert "commands unchanged since the last sync" in world.bot.log()


async def test_sigterm_stops_the_bot_and_its_worker(world):
    worker_pid = int(world.bot.log().split("started the training worker (pid ")[1].split(")")[0])
    assert await world.bot.stop() == 0
    assert "shutting down" in world.bot.log()
    await eventually(lambda: _gone(worker_pid), timeout=10)


async def test_a_bot_whose_worker_stopped_stops_too_with_one_line(world):
    """Jobs would queue for ever without a worker: the bot says why it stops and exits
    non-zero, so its supervisor restarts both."""
    import signal

    worker_pid = int(world.bot.log().split("started the training worker (pid ")[1].split(")")[0])
    os.kill(worker_pid, signal.SIGKILL)

    async def exited() -> bool:
        return world.bot.process.poll() is not None

    await eventually(exited, timeout=15)
    print(f"worker killed: the bot exited with {world.bot.process.returncode}")
    assert world.bot.process.returncode == 3
    assert "the training worker stopped (exit code -9" in world.bot.log()


async def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # reaped by nobody yet: a zombie is gone too
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] == "Z"
    except FileNotFoundError:
        return True


async def test_a_missing_permission_is_one_clear_message_not_a_crash(world):
    bot_role = next(r for r in world.guild.roles.values() if r.name == "konomi")
    world.channel.overwrite(bot_role, deny=perms.ADD_REACTIONS)
    interaction = await world.alice.invoke("vote")
    reply = await world.fake.wait_for(
        lambda: interaction.original and interaction.original.content and interaction.original
    )
    assert reply.ephemeral and "Add Reactions" in reply.content
    assert world.bot.process.poll() is None
    world.channel.overwrites.clear()
    again = await world.alice.invoke("vote")
    await world.pair_for(world.alice, 1)  # the first pair never got its reactions
    assert again.original is not None


async def test_two_guilds_see_nothing_of_each_other(world):
    other = world.fake.create_guild("Elsewhere")
    dave = other.add_member("dave")
    await world.bot.stop()
    theirs, _ = await populate(
        world.bot.database, crowd_votes=0, alice_votes=0, guild=other.id, faces=4
    )
    await world.bot.start()
    await dave.invoke("vote")
    for round_number in range(1, 4):
        pair = await world.fake.wait_for(lambda n=round_number: _pairs_in(world, other, n))
        a, b = (int(x) for x in next(iter(pair.files)).removesuffix(".png").split("-")[1:])
        assert {a, b} <= set(theirs) and not {a, b} & set(world.face_ids)
        await dave.react(pair, "🤝")
    rows = await world.query("SELECT DISTINCT guild_id FROM votes WHERE user_id = ?", dave.id)
    assert rows == [(other.id,)]


def _pairs_in(world, guild, count):
    found = [
        m
        for m in world.fake.bot_messages()
        if m.channel.guild_id == guild.id and len(m.reactions) == 4
    ]
    return found[count - 1] if len(found) >= count else None


async def test_no_token_at_the_defaults_is_refused_before_connecting(discord_server, tmp_path):
    bot = BotProcess(discord_server, tmp_path)
    result = run_cli("run", "--config", str(bot.config_path))
    assert result.returncode == 2 and "DISCORD_TOKEN" in result.stderr
    assert discord_server.tokens_seen == set()


async def test_the_heartbeat_is_fresh_while_connected_and_gone_once_stopped(
    discord_server, tmp_path
):
    """The container's HEALTHCHECK (`python -m bot health`) follows the gateway connection."""
    bot = BotProcess(discord_server, tmp_path, discord={"heartbeat_interval_s": 0.2})
    await bot.start()
    try:
        heartbeat = tmp_path / "konomi.heartbeat"

        async def written():
            return heartbeat.exists()

        await eventually(written, timeout=10)
        healthy = run_cli("health", "--config", str(bot.config_path))
        assert healthy.returncode == 0 and "healthy" in healthy.stdout
    finally:
        await bot.stop()
    assert not heartbeat.exists()
    stopped = run_cli("health", "--config", str(bot.config_path))
    assert stopped.returncode == 1 and "not connected" in stopped.stdout
    print(healthy.stdout, stopped.stdout)


async def test_the_bot_asks_discord_only_for_the_intents_it_uses(world):
    from tests.fakediscord.protocol import Intent

    [identify] = [e for e in world.fake.events if e.kind == "identify"]
    asked = identify.data["intents"]
    print(f"IDENTIFY intents: {asked:#b}")
    assert asked == (
        Intent.GUILDS | Intent.GUILD_MESSAGE_REACTIONS | Intent.DIRECT_MESSAGE_REACTIONS
    )


async def test_a_fatal_close_code_stops_the_bot_with_one_line_and_no_second_identify(world):
    """Sharding required (4011): no reconnect can mend it, so konomi stops with exit code 2
    instead of spending Discord's daily IDENTIFYs in a restart loop."""
    import time

    import pytest

    await world.bot.stop()
    world.fake.close_identify_with = 4011
    before = len([e for e in world.fake.events if e.kind == "identify"])
    with pytest.raises(AssertionError, match="the bot exited with 2"):
        await world.bot.start()
    exited = time.monotonic()  # within 0.05 s: start() watches the process
    identifies = [e for e in world.fake.events if e.kind == "identify"][before:]
    seconds = exited - identifies[0].data["closed_at"]
    lines = [line for line in world.bot.log().splitlines() if "sharding required" in line]
    print(f"4011: exit 2 {seconds:.1f} s after the close, {len(identifies)} IDENTIFY")
    assert len(identifies) == 1 and len(lines) == 1 and "Traceback" not in world.bot.log()
    assert seconds < 5


async def test_a_bot_without_a_gateway_for_too_long_exits_so_it_is_restarted(world):
    await world.bot.stop()
    world.bot = BotProcess(
        world.fake,
        world.bot.folder,
        "impatient",
        discord={
            "max_disconnected_s": 3.0,
            "heartbeat_interval_s": 0.5,
        },
    )
    await world.bot.start()
    world.fake.gateway_down = True
    await world.fake.drop_gateway()

    async def exited() -> bool:
        return world.bot.process.poll() is not None

    await eventually(exited, timeout=30)
    world.fake.gateway_down = False
    print(f"gateway down: the bot exited with {world.bot.process.returncode}")
    assert world.bot.process.returncode == 3
    assert "no connection to Discord for" in world.bot.log()
