"""Votes per second through the loopback Discord emulator into SQLite: reaction events
written one per transaction (`[voting] write_group = 1`) against in groups (the default,
256), the same bot and the same number of events, in one run; beside them the
emulator's own ceiling: a bare discord.py client that only counts the same events.

    python bench/vote_throughput.py [--members 500] [--pairs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine  # noqa: E402
from bot.discord_adapter.cogs.voting import TIE, A, B  # noqa: E402

COUNTER = """
import sys, time, discord
from bot.discord_adapter.app import point_at
from bot.config import load_settings
point_at(load_settings(sys.argv[1], environ={}))
wanted = int(sys.argv[2])
client = discord.Client(intents=discord.Intents(guilds=True, guild_reactions=True))
seen = 0
@client.event
async def on_ready():
    print("ready", flush=True)
@client.event
async def on_raw_reaction_add(payload):
    global seen
    seen += 1
    if seen == wanted:
        print(f"done {time.time()}", flush=True)
        await client.close()
client.run(sys.argv[3], log_handler=None)
"""


async def post_pairs(fake, guild, bot_member_name: str, count: int) -> list:
    poster = guild.add_member(bot_member_name)
    before = len(fake.bot_messages(guild.default_channel))
    for _ in range(count):
        await poster.invoke("vote")
    await fake.wait_for(
        lambda: (
            len([m for m in fake.bot_messages(guild.default_channel) if len(m.reactions) == 3])
            >= before + count
        ),
        120,
    )
    return [m for m in fake.bot_messages(guild.default_channel) if len(m.reactions) == 3][before:]


async def burst(members, pairs) -> float:
    """Every member reacts once on every pair, as fast as the emulator sends; returns
    the time the first event went out."""
    began = time.time()
    for index, member in enumerate(members):
        for number, pair in enumerate(pairs):
            await member.react(pair, (A, B, TIE)[(index + number) % 3])
    return began


def stored_votes(database: Path, message_ids: list[int]) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30) as db:
        marks = ",".join("?" * len(message_ids))
        return db.execute(
            f"SELECT COUNT(*) FROM votes WHERE message_id IN ({marks})", message_ids
        ).fetchone()[0]


async def through_bot(fake, guild, folder: Path, group: int, members, pair_count: int) -> dict:
    from tests.fakediscord.process import BotProcess

    bot = BotProcess(fake, folder, f"group{group}", voting={"write_group": group})
    await bot.start(timeout=120)
    try:
        pairs = await post_pairs(fake, guild, f"poster{group}", pair_count)
        ids = [p.id for p in pairs]
        expected = len(members) * len(pairs)
        began = await burst(members, pairs)
        sent = time.time()
        while (count := await asyncio.to_thread(stored_votes, bot.database, ids)) < expected:
            if time.time() - began > 600:
                break
            await asyncio.sleep(0.02)
        done = time.time()
    finally:
        await bot.stop()
    return {
        "events": expected,
        "stored": count,
        "send_s": sent - began,
        "seconds": done - began,
        "per_s": count / (done - began),
    }


async def ceiling(fake, guild, folder: Path, members, pairs) -> dict:
    from tests.fakediscord.process import BOT_TOKEN

    config = folder / "counter.toml"
    config.write_text(
        f'[discord]\napi_base_url = "{fake.api_base_url}"\ngateway_url = "{fake.gateway_url}"\n'
    )
    expected = len(members) * len(pairs)
    process = subprocess.Popen(
        [sys.executable, "-c", COUNTER, str(config), str(expected), BOT_TOKEN],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    assert (await asyncio.to_thread(process.stdout.readline)).strip() == "ready"
    began = await burst(members, pairs)
    sent = time.time()
    line = await asyncio.to_thread(process.stdout.readline)
    process.wait(timeout=60)
    done = float(line.split()[1])
    return {
        "events": expected,
        "send_s": sent - began,
        "seconds": done - began,
        "per_s": expected / (done - began),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--pairs", type=int, default=20)
    args = parser.parse_args()

    from tests.bot.conftest import populate
    from tests.fakediscord import FakeDiscord

    fake = FakeDiscord()
    await fake.start()
    guild = fake.create_guild("bench")
    members = [guild.add_member(f"voter{i}") for i in range(args.members)]
    folder = Path(tempfile.mkdtemp())
    await populate(
        folder / "konomi.sqlite3", crowd_votes=0, alice_votes=0, guild=guild.id, faces=12
    )
    results = {}
    for group in (1, 256):
        results[group] = await through_bot(fake, guild, folder, group, members, args.pairs)
    poster = guild.add_member("poster")  # fresh messages: each reaction is new again
    pairs = [await fake.post_as(poster, guild.default_channel, "x") for _ in range(args.pairs)]
    results["ceiling"] = await ceiling(fake, guild, folder, members, pairs)
    await fake.close()

    print(f"machine: {machine()}")
    print(
        f"{args.members} members x {args.pairs} pairs = {args.members * args.pairs} reaction "
        "events per run, sent back to back by the emulator"
    )
    for key, label in ((1, "one transaction per event"), (256, "grouped (write_group 256)")):
        r = results[key]
        print(
            f"{label}: {r['stored']}/{r['events']} stored ({r['events'] - r['stored']} lost) "
            f"in {r['seconds']:.2f} s = {r['per_s']:,.0f} votes/s (emulator sent them in "
            f"{r['send_s']:.2f} s)"
        )
    c = results["ceiling"]
    print(
        f"emulator ceiling (a bare discord.py client counting the events): "
        f"{c['per_s']:,.0f} events/s ({c['seconds']:.2f} s)"
    )
    print(
        f"grouped / one per transaction: {results[256]['per_s'] / results[1]['per_s']:.2f}; "
        f"grouped / emulator ceiling: {results[256]['per_s'] / c['per_s']:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
