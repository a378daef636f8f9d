import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
import pytest

from model.faces import phash
from model.images import encode_png
from storage import open_database, pool, votes
from tests.fakediscord import Channel, FakeDiscord, Guild, Member, Message
from tests.fakediscord.process import BotProcess
from tests.images import lfw_crops

GUILD, CROWD, ALICE = 1, range(100, 110), 42


def write_config(tmp_path, worker: dict | None = None, **training) -> str:
    options = {"max_epochs": 6, "patience": 3, **training}
    lines = ["[storage]", 'database = "k.sqlite3"', "[training]"]
    lines += [f"{key} = {value}" for key, value in options.items()]
    lines += ["[worker]"]
    lines += [
        f"{key} = {value}" for key, value in {"poll_interval_s": 0.1, **(worker or {})}.items()
    ]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


async def populate(
    path,
    crowd_votes: int = 40,
    alice_votes: int = 60,
    seed: int = 0,
    guild: int = GUILD,
    alice: int = ALICE,
    crowd=CROWD,
    faces: int | None = None,
):
    """A pool of real LFW faces; a crowd that likes bright faces, Alice who likes dark ones.

    Returns the face ids in pool order and each face's brightness."""
    db = await open_database(path)
    try:
        crops = lfw_crops()[:faces]
        face_ids = []
        for index, crop in enumerate(crops):
            face_ids += await pool.add_source(
                db,
                guild,
                f"hash{index}",
                f"lfw{index}.png",
                [pool.NewFace(encode_png(crop), (0, 0, 80, 80), phash(crop))],
            )
        brightness = np.array([crop.mean() for crop in crops])
        rng = np.random.default_rng(seed)

        def votes_for(taste, count):
            a, b = rng.integers(0, len(crops), count), rng.integers(0, len(crops), count)
            return [
                (face_ids[i], face_ids[j], float(taste[i] > taste[j]))
                for i, j in zip(a, b, strict=True)
                if i != j
            ]

        for user in crowd:
            if crowd_votes:
                await votes.add_votes(db, guild, user, votes_for(brightness, crowd_votes))
        if alice_votes:
            await votes.add_votes(db, guild, alice, votes_for(-brightness, alice_votes))
        return face_ids, brightness
    finally:
        await db.close()


@pytest.fixture
async def db_path(tmp_path):
    return tmp_path / "k.sqlite3"


@dataclass
class World:
    fake: FakeDiscord
    guild: Guild
    channel: Channel
    alice: Member
    bob: Member
    bot: BotProcess
    face_ids: list[int]

    async def query(self, sql: str, *args) -> list[tuple]:
        """Read the bot's database as it is now (a second connection; WAL lets both work)."""
        db = await open_database(self.bot.database)
        try:
            async with db.execute(sql, args) as cursor:
                return [tuple(row) for row in await cursor.fetchall()]
        finally:
            await db.close()

    async def votes_of(self, member: Member) -> list[tuple]:
        return await self.query(
            "SELECT message_id, outcome FROM votes WHERE user_id = ? ORDER BY id", member.id
        )

    async def pair_for(self, member: Member, count: int = 1, timeout: float = 20) -> Message:
        """The `count`-th pair posted for this member, once its three reactions are on."""

        def find():
            mine = self.pairs_for(member)
            return mine[count - 1] if len(mine) >= count else None

        return await self.fake.wait_for(find, timeout)

    def pairs_for(self, member: Member) -> list[Message]:
        """The pairs posted for a member, with their four reactions on: in their private
        thread or DMs, or (where konomi could open neither) answering their /vote."""
        return [
            m
            for m in self.fake.bot_messages()
            if m.files and len(m.reactions) == 4 and self._for(m, member)
        ]

    def _for(self, message: Message, member: Member) -> bool:
        channel = message.channel
        if channel.parent_id is not None:
            return member.id in channel.thread_members
        if channel.guild_id is None:
            return channel.recipient is member.user
        interaction = self.fake.interactions.get(message.interaction_id or 0)
        return interaction is not None and interaction.user is member


async def eventually(check, timeout: float = 20.0, interval: float = 0.1):
    """Await an async check until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {result!r})")
        await asyncio.sleep(interval)


@pytest.fixture
async def world(discord_server, tmp_path):
    guild = discord_server.create_guild("Konomi Club")
    alice, bob = guild.add_member("alice"), guild.add_member("bob")
    bot = BotProcess(discord_server, tmp_path)
    face_ids, _ = await populate(
        bot.database, crowd_votes=0, alice_votes=0, guild=guild.id, faces=12
    )
    await bot.start()
    world = World(discord_server, guild, guild.default_channel, alice, bob, bot, face_ids)
    yield world
    try:
        await world.bot.stop()  # the bot the test left running (it may have started another)
    finally:
        world.bot.kill()
    print(world.bot.log())  # shown by pytest when the test failed


def run_cli(*args, env=None, cwd=None, timeout=300):
    """`python -m bot ARGS...` as a user runs it (without a DISCORD_TOKEN unless given)."""
    environment = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=timeout,
    )
