"""The emulator itself, driven by a minimal bot defined here (the product bot has its own)."""

import asyncio
import io

import discord
import pytest
import yarl
from discord import app_commands
from discord.ext import commands

from tests.fakediscord import Attachment, FakeDiscord
from tests.fakediscord import permissions as perms
from tests.images import astronaut, encode

TOKEN = "emulator-test-token"


class MiniBot(commands.Bot):
    def __init__(self, guild_id: int) -> None:
        intents = discord.Intents.default()
        super().__init__(command_prefix="!", intents=intents, guild_ready_timeout=0.05)
        self.guild_id = guild_id
        self.raw_reactions: list[discord.RawReactionActionEvent] = []
        self.app_errors: list[Exception] = []
        self.got_reaction = asyncio.Event()

    async def setup_hook(self) -> None:
        guild = discord.Object(self.guild_id)

        @app_commands.command(name="echo", description="Send the image back")
        async def echo(interaction: discord.Interaction, image: discord.Attachment) -> None:
            await interaction.response.defer(thinking=True)
            data = await image.read()
            await interaction.followup.send("here", file=discord.File(io.BytesIO(data), "back.png"))

        @app_commands.command(name="slow", description="Defers too late")
        async def slow(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.6)
            await interaction.response.defer()

        @app_commands.command(name="admin", description="Managers only")
        @app_commands.default_permissions(manage_guild=True)
        async def admin(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("admin ok", ephemeral=True)

        @app_commands.command(name="post", description="Post an image and react")
        async def post(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("posting", ephemeral=True)
            message = await interaction.channel.send(
                "pair", file=discord.File(io.BytesIO(encode(astronaut())), "pair.png")
            )
            for emoji in ("🅰️", "🅱️"):
                await message.add_reaction(emoji)

        @app_commands.command(name="dm", description="DM the caller a file")
        async def dm(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("check your DMs", ephemeral=True)
            await interaction.user.send("private", file=discord.File(io.BytesIO(b"hi"), "a.txt"))

        for command in (echo, slow, admin, post, dm):
            self.tree.add_command(command, guild=guild)
        self.tree.on_error = self.on_app_command_error
        await self.tree.sync(guild=guild)

    async def on_app_command_error(self, interaction, error) -> None:
        self.app_errors.append(error)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self.raw_reactions.append(payload)
        self.got_reaction.set()


async def start_bot(fake: FakeDiscord, guild_id: int) -> tuple[MiniBot, asyncio.Task]:
    discord.http.Route.BASE = fake.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    bot = MiniBot(guild_id)
    task = asyncio.create_task(bot.start(TOKEN))
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({task, ready}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # start-up errors surface here, not as a hang
    assert ready in done, "the bot never became ready"
    return bot, task


async def stop_bot(bot: MiniBot, task: asyncio.Task) -> None:
    await bot.close()
    await asyncio.wait_for(task, 10)


@pytest.fixture
async def world(discord_server):
    guild = discord_server.create_guild("Emulated")
    manager = guild.create_role("Manager", perms.MANAGE_GUILD)
    alice = guild.add_member("alice")
    boss = guild.add_member("boss", [manager])
    bot, task = await start_bot(discord_server, guild.id)
    yield discord_server, guild, alice, boss, bot
    await stop_bot(bot, task)


async def test_login_and_command_sync(world):
    fake, guild, *_ = world
    synced = [e for e in fake.events if e.kind == "commands"]
    assert synced and synced[-1].data["guild"] == guild.id
    assert sorted(synced[-1].data["names"]) == ["admin", "dm", "echo", "post", "slow"]
    echo = next(c for c in fake.commands_for(guild) if c["name"] == "echo")
    assert echo["options"][0]["type"] == 11 and echo["options"][0]["required"]
    assert TOKEN in fake.tokens_seen


async def test_slash_command_with_attachment_defers_then_follows_up_with_a_file(world):
    fake, guild, alice, _, bot = world
    image = encode(astronaut())
    interaction = await alice.invoke("echo", image=Attachment("face.png", image))
    await fake.wait_for(lambda: interaction.original is not None and interaction.original.files)
    assert interaction.response_type == 5
    assert interaction.original.content == "here"
    [picture] = interaction.original.images()
    assert picture.size == (512, 512)
    callback = next(e for e in fake.events if e.kind == "callback")
    assert callback.data["seconds"] < 3


async def test_posting_an_image_and_adding_reactions(world):
    fake, guild, alice, _, bot = world
    interaction = await alice.invoke("post")
    await fake.wait_for(lambda: any(len(m.reactions) == 2 for m in fake.bot_messages()))
    [message] = [m for m in fake.bot_messages() if m.content == "pair"]
    assert interaction.ephemeral and interaction.original.content == "posting"
    assert list(message.reactions) == ["🅰️", "🅱️"]
    assert message.images()[0].size == (512, 512)


async def test_raw_reactions_arrive_for_a_message_posted_before_a_restart(discord_server):
    fake = discord_server
    guild = fake.create_guild()
    alice = guild.add_member("alice")
    bot, task = await start_bot(fake, guild.id)
    await alice.invoke("post")
    message = await fake.wait_for(
        lambda: next(
            (m for m in fake.bot_messages() if m.content == "pair" and len(m.reactions) == 2), None
        )
    )
    await stop_bot(bot, task)

    bot, task = await start_bot(fake, guild.id)
    try:
        await alice.react(message, "🅰️")
        await asyncio.wait_for(bot.got_reaction.wait(), 10)
        [payload] = bot.raw_reactions
        assert (payload.message_id, payload.user_id, str(payload.emoji)) == (
            message.id,
            alice.id,
            "🅰️",
        )
        assert payload.member is not None and payload.member.name == "alice"
    finally:
        await stop_bot(bot, task)


async def test_a_late_defer_reaches_the_error_handler_as_10062(discord_server):
    fake = discord_server
    fake.rules.interaction_deadline_s = 0.3
    guild = fake.create_guild()
    alice = guild.add_member("alice")
    bot, task = await start_bot(fake, guild.id)
    try:
        await alice.invoke("slow")
        await fake.wait_for(lambda: bot.app_errors)
        error = bot.app_errors[0]
        original = getattr(error, "original", error)
        assert isinstance(original, discord.NotFound) and original.code == 10062
    finally:
        await stop_bot(bot, task)


async def test_a_429_on_add_reaction_is_retried(world):
    fake, guild, alice, _, bot = world
    fake.rate_limit("PUT", r"/reactions/.*/@me$", times=1, retry_after=0.2)
    await alice.invoke("post")
    await fake.wait_for(lambda: any(len(m.reactions) == 2 for m in fake.bot_messages()), 15)
    assert any(e.kind == "rate_limited" for e in fake.events)


async def test_default_member_permissions_are_enforced_before_the_bot(world):
    fake, guild, alice, boss, bot = world
    refused = await alice.invoke("admin")
    assert refused.refused == "missing permissions" and refused.response_type is None
    allowed = await boss.invoke("admin")
    await fake.wait_for(lambda: allowed.original is not None)
    assert allowed.original.content == "admin ok" and allowed.ephemeral


async def test_the_bot_missing_a_permission_gets_403_50013(world):
    fake, guild, alice, _, bot = world
    bot_role = next(r for r in guild.roles.values() if r.name == "konomi")
    guild.default_channel.overwrite(bot_role, deny=perms.ADD_REACTIONS)
    await alice.invoke("post")
    await fake.wait_for(lambda: bot.app_errors)
    original = getattr(bot.app_errors[0], "original", None)
    assert isinstance(original, discord.Forbidden) and original.code == 50013


async def test_followups_after_the_token_expired_answer_401_50027(world):
    fake, guild, alice, _, bot = world
    fake.rules.token_lifetime_s = 0.2
    interaction = await alice.invoke("slow")
    await fake.wait_for(lambda: interaction.response_type == 5)
    import aiohttp

    async with aiohttp.ClientSession() as session:
        url = f"{fake.api_base_url}/webhooks/{fake.application_id}/{interaction.token}?wait=1"
        async with session.post(url, json={"content": "too late"}) as response:
            assert response.status == 401 and (await response.json())["code"] == 50027


async def test_attachments_over_the_limit_are_refused_with_413(discord_server):
    fake = discord_server
    fake.rules.attachment_limit = 1000
    guild = fake.create_guild()
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("payload_json", '{"content": "big"}', content_type="application/json")
    form.add_field("files[0]", b"x" * 2000, filename="big.bin")
    async with aiohttp.ClientSession() as session:
        url = f"{fake.api_base_url}/channels/{guild.default_channel.id}/messages"
        async with session.post(url, data=form, headers={"Authorization": "Bot t"}) as response:
            assert response.status == 413 and (await response.json())["code"] == 40005


def test_snowflakes_carry_the_current_time():
    import time

    from tests.fakediscord.state import snowflake

    created = discord.utils.snowflake_time(snowflake()).timestamp()
    assert abs(created - time.time()) < 2


async def test_direct_messages_with_files(world):
    fake, guild, alice, _, bot = world
    await alice.invoke("dm")
    [message] = await fake.wait_for(
        lambda: [m for m in fake.bot_messages() if m.channel.guild_id is None]
    )
    assert message.channel.recipient.id == alice.id and message.files == {"a.txt": b"hi"}


async def test_reaction_lists_page_by_limit_and_after_in_id_order(world):
    fake, guild, alice, _, bot = world
    await alice.invoke("post")
    await fake.wait_for(lambda: any(len(m.reactions) == 2 for m in fake.bot_messages()))
    [message] = [m for m in fake.bot_messages() if m.content == "pair"]
    crowd = [guild.add_member(f"voter{i}") for i in range(130)]
    for member in reversed(crowd):
        await member.react(message, "🅰️")
    channel = bot.get_channel(message.channel.id)
    reaction = discord.utils.get((await channel.fetch_message(message.id)).reactions, emoji="🅰️")
    ids = [user.id async for user in reaction.users(limit=None)]
    pages = [e.data for e in fake.events if e.kind == "reaction list"]
    assert sorted(ids) == sorted([fake.bot_user.id] + [m.id for m in crowd])
    assert [p["limit"] for p in pages] == [100, 31] and pages[1]["after"] > 0
    with pytest.raises(discord.HTTPException):
        await bot.http.get_reaction_users(channel.id, message.id, "🅰️", 101)


async def test_a_refused_resume_makes_the_bot_identify_afresh(world):
    fake, guild, alice, _, bot = world
    readies = []

    async def ready() -> None:
        readies.append(1)

    bot.add_listener(ready, "on_ready")
    fake.refuse_resume = True
    await fake.drop_gateway()
    await fake.wait_for(lambda: readies, 30)
    kinds = [e.kind for e in fake.events]
    assert "resume refused" in kinds
    assert kinds.count("identify") == 2


async def test_private_threads_as_discord_py_reads_them_seen_by_members_and_moderators(world):
    fake, guild, alice, boss, bot = world
    moderator = guild.add_member("moderator", [guild.create_role("mods", perms.MANAGE_THREADS)])
    parent = bot.get_channel(guild.default_channel.id)
    thread = await parent.create_thread(
        name="alice's", type=discord.ChannelType.private_thread, invitable=False
    )
    assert isinstance(thread, discord.Thread) and thread.type is discord.ChannelType.private_thread
    assert thread.parent_id == parent.id and not thread.archived
    await thread.add_user(discord.Object(alice.id))
    emulated = fake.channels[thread.id]
    assert alice.can_see(emulated) and moderator.can_see(emulated)
    assert not boss.can_see(emulated)  # Manage Server is not Manage Threads
    fetched = await bot.fetch_channel(thread.id)
    assert isinstance(fetched, discord.Thread) and fetched.id == thread.id

    await fake.set_archived(emulated)
    with pytest.raises(discord.HTTPException) as archived:
        await thread.add_user(discord.Object(boss.id))
    assert archived.value.code == 50083
    message = await thread.send("pair")  # a message opens an archived thread again
    assert not emulated.archived
    await message.add_reaction("🅰️")
    with pytest.raises(PermissionError):
        await boss.react(fake.messages[message.id], "🅰️")
    await alice.react(fake.messages[message.id], "🅰️")
    await fake.wait_for(lambda: any(r.user_id == alice.id for r in bot.raw_reactions))
    [reaction] = [r for r in bot.raw_reactions if r.user_id == alice.id]
    assert reaction.channel_id == thread.id and reaction.guild_id == guild.id

    no_threads = guild.create_text_channel("locked")
    no_threads.overwrite(fake.bot_member(guild), deny=perms.CREATE_PRIVATE_THREADS)
    locked = await fake.wait_for(lambda: bot.get_channel(no_threads.id))
    with pytest.raises(discord.Forbidden):
        await locked.create_thread(name="x", type=discord.ChannelType.private_thread)


async def test_reactions_in_dms_come_without_a_guild_and_closed_dms_refuse(world):
    fake, guild, alice, boss, bot = world
    channel = await bot.create_dm(discord.Object(alice.id))
    message = await channel.send("pair")
    await alice.react(fake.messages[message.id], "🅱️")
    await fake.wait_for(lambda: any(r.user_id == alice.id for r in bot.raw_reactions))
    [reaction] = [r for r in bot.raw_reactions if r.user_id == alice.id]
    assert reaction.guild_id is None and reaction.channel_id == channel.id
    with pytest.raises(PermissionError):
        await boss.react(fake.messages[message.id], "🅱️")  # a DM is its recipient's alone
    boss.user.accepts_dms = False
    closed = await bot.create_dm(discord.Object(boss.id))
    with pytest.raises(discord.Forbidden) as refused:
        await closed.send("hello")
    assert refused.value.code == 50007
