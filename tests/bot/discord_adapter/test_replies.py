"""konomi's views on the real discord.py client and the emulator: a view that timed out
leaves no live-looking button behind."""

import asyncio

import discord
import yarl
from discord import app_commands

from bot.discord_adapter.replies import KonomiView, answers_first

TOKEN = "replies-test-token"


class Confirm(KonomiView):
    @discord.ui.button(label="Yes", custom_id="test:yes")
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(content="done", view=None)


class Asker(discord.Client):
    def __init__(self, guild_id: int) -> None:
        super().__init__(intents=discord.Intents(guilds=True))
        self.tree = app_commands.CommandTree(self)
        self.guild_id = guild_id

    async def setup_hook(self) -> None:
        class Commands(app_commands.Group):
            @app_commands.command(name="ask", description="A question with a button")
            @answers_first
            async def ask(self, interaction: discord.Interaction) -> None:
                await Confirm(timeout=0.5).send(interaction, "Sure?")

        self.tree.add_command(Commands(name="test", description="test"))
        await self.tree.sync(guild=None)


async def test_buttons_disable_themselves_when_their_view_times_out(discord_server):
    fake = discord_server
    guild = fake.create_guild()
    alice = guild.add_member("alice")
    discord.http.Route.BASE = fake.api_base_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    client = Asker(guild.id)
    task = asyncio.create_task(client.start(TOKEN))
    try:
        await asyncio.wait_for(client.wait_until_ready(), 20)
        asked = await alice.invoke("test ask")
        message = await fake.wait_for(
            lambda: asked.original and asked.original.buttons() and asked.original
        )
        assert asked.deferred and message.ephemeral and not message.buttons()[0].get("disabled")
        await fake.wait_for(lambda: message.buttons()[0].get("disabled"), 10)
    finally:
        await client.close()
        await asyncio.wait_for(task, 10)
