"""What konomi knows about you, and making it forget: /stats, /mytaste, /export, /forget, /help.

Every reply here is ephemeral: personal results are private by default.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_adapter.replies import KonomiView
from bot.services.render import percent

if TYPE_CHECKING:
    from bot.discord_adapter.app import KonomiBot

log = logging.getLogger(__name__)

HELP = """\
**konomi** learns which faces *you* find appealing, from your votes, and ranks new images by it.
**Vote**: `/vote` posts two faces; react 🅰️ or 🅱️ for the one you prefer, 🤝 if equal. Your latest \
reaction counts; removing it withdraws the vote. A new pair follows each vote.
**Rank**: `/rank` with up to 10 images (or "Rank these images" on a message) orders them by your \
taste, privately unless you choose `public`.
**Your model**: `/retrain` trains it from your votes; until you have one, the server's model \
(learned from everyone's votes here) ranks for you.
**What is stored**: the face crops of this server's pool; your votes (pair, choice, time); your \
models and their accuracy; training jobs. Nothing leaves this server's data.
**Your data**: `/stats`, `/mytaste`, `/export` (your votes as CSV); `/forget` deletes your votes, \
models and jobs here. Anyone can `/report` a face: it is hidden at once until an admin decides."""


class ForgetConfirm(KonomiView):
    """The one button that deletes a person's data, for that person only."""

    def __init__(self, cog: Privacy, user_id: int) -> None:
        super().__init__(timeout=120)
        self.cog, self.user_id = cog, user_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.user_id

    @discord.ui.button(
        label="Yes, forget me", style=discord.ButtonStyle.danger, custom_id="konomi:forget:confirm"
    )
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()  # deleting may take longer than 3 s
        deleted = await self.cog.bot.service.privacy.forget(interaction.guild_id, self.user_id)
        self.stop()
        await interaction.edit_original_response(
            content=(
                f"Done. Deleted {deleted.votes} votes, {deleted.models} models and "
                f"{deleted.jobs} training jobs in this server. konomi keeps only the "
                "fact that you asked, and when, so old reactions are never counted again."
            ),
            view=None,
        )

    @discord.ui.button(
        label="Cancel", style=discord.ButtonStyle.secondary, custom_id="konomi:forget:cancel"
    )
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing was deleted.", view=None)


class Privacy(commands.Cog):
    def __init__(self, bot: KonomiBot) -> None:
        self.bot = bot
        self.privacy = bot.service.privacy

    @app_commands.command(name="help", description="What konomi does, how to vote, what it stores")
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(HELP, ephemeral=True)

    @app_commands.command(name="stats", description="Your votes and your model's accuracy")
    @app_commands.guild_only()
    async def stats(self, interaction: discord.Interaction) -> None:
        stats = await self.privacy.stats(interaction.guild_id, interaction.user.id)
        lines = [f"Your votes here: {stats.votes}."]
        if stats.metrics is None:
            lines.append(
                "You have no model yet: "
                + (
                    f"vote {stats.votes_needed} more, then `/retrain`."
                    if stats.votes_needed
                    else "`/retrain`."
                )
            )
        else:
            guild = stats.metrics.guild_final
            lines.append(
                f"Your model: v{stats.version}, agrees with your held-out votes "
                f"{percent(stats.metrics.final.accuracy)} of the time; the server's model on "
                f"the same votes: {percent(guild.accuracy if guild else None)}."
            )
            lines.append(f"Votes until the next automatic retrain: {stats.votes_until_retrain}.")
        await interaction.response.send_message("\n".join(lines), ephemeral=True)

    @app_commands.command(
        name="mytaste", description="The pool faces your model likes most (private)"
    )
    @app_commands.guild_only()
    async def mytaste(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        taste = await self.bot.service.ranking.my_taste(interaction.guild_id, interaction.user.id)
        whose = "your model" if taste.personal else "the server's model (you have none yet)"
        await interaction.followup.send(
            f"By {whose} (v{taste.version}): the {taste.shown} faces it likes most, then the "
            f"{taste.shown} it likes least. Only you can see this.",
            file=discord.File(io.BytesIO(taste.png), "mytaste.png"),
            ephemeral=True,
        )

    @app_commands.command(name="export", description="Your votes (CSV) and model metrics (JSON)")
    @app_commands.guild_only()
    async def export(self, interaction: discord.Interaction) -> None:
        export = await self.privacy.export(interaction.guild_id, interaction.user.id)
        await interaction.response.send_message(
            f"Your {export.votes} votes in this server and your model's metrics.",
            files=[
                discord.File(io.BytesIO(export.votes_csv), "konomi-votes.csv"),
                discord.File(io.BytesIO(export.model_json), "konomi-model.json"),
            ],
            ephemeral=True,
        )

    @app_commands.command(name="forget", description="Delete your votes, models and jobs here")
    @app_commands.guild_only()
    async def forget(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "This deletes all your votes, models and training jobs in this server. Sure?",
            view=ForgetConfirm(self, interaction.user.id),
            ephemeral=True,
        )


async def setup(bot: KonomiBot) -> None:
    await bot.add_cog(Privacy(bot))
