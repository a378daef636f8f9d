import asyncio
import time
from dataclasses import dataclass

import pytest

from storage import open_database
from tests.bot.conftest import populate
from tests.fakediscord import Channel, FakeDiscord, Guild, Member, Message
from tests.fakediscord.process import BotProcess


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
            mine = [
                m
                for m in self.fake.bot_messages(self.channel)
                if m.files and len(m.reactions) == 3 and self._for(m, member)
            ]
            return mine[count - 1] if len(mine) >= count else None

        return await self.fake.wait_for(find, timeout)

    def _for(self, message: Message, member: Member) -> bool:
        interaction = self.fake.interactions.get(message.interaction_id or 0)
        return (interaction is not None and interaction.user is member) or (
            f"<@{member.id}>" in message.content
        )


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
    yield World(discord_server, guild, guild.default_channel, alice, bob, bot, face_ids)
    await bot.stop()
    print(bot.log())  # shown by pytest when the test failed
