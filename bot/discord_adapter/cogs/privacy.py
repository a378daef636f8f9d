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

from bot.discord_adapter.invite import invite_url
from bot.discord_adapter.replies import KonomiView, answers_first
from bot.services.errors import NotOptedIn
from bot.services.render import held_out

if TYPE_CHECKING:
    from bot.discord_adapter.app import KonomiBot

log = logging.getLogger(__name__)

HELP = """\
**konomi** learns which faces *you* find appealing, from your votes, and ranks new images by it.
**Vote**: `/vote` sends you two faces in your own private thread (only you and the moderators \
see it; `place: my direct messages` sends them to your DMs). React 🅰️ or 🅱️ for the one you \
prefer, 🤝 if equal, ⏭️ to skip; your latest reaction counts, removing it withdraws the vote, and \
a new pair follows each answer. Each pair says how many votes you have and what the next gives.
**Your model**: your first trains by itself at {min_votes} votes (I tell you in your thread, \
with how often it agreed with votes it never saw) and learns again as you vote; `/retrain` \
asks now. Until then the server's model (learned from everyone's votes here) ranks for you.
**Rank**: `/rank` with up to 10 images (or "Rank these images" on a message) orders them by your \
taste: each image's chance to be preferred over a typical pool face, 50% = no preference.
**Yours and others'**: `/mytaste` shows your favourite pool faces beside the server's; `/match` \
compares your taste with another member's, in bands, only if both of you chose `share: True`.
**What is stored**: the face crops of this server's pool; your votes (pair, choice, time); your \
models and their accuracy; training jobs; where you vote. Nothing leaves this server's data.
**Your data**: `/stats`, `/export` (your votes as CSV); `/forget` deletes your votes, models, \
jobs and choices here. Anyone can `/report` a face: it is hidden at once until an admin decides."""


MATCH_BANDS = (  # (lowest rank correlation, name), highest first
    (0.8, "nearly the same"),
    (0.5, "alike"),
    (0.2, "somewhat alike"),
    (-0.2, "different"),
    (-1.0, "opposite"),
)


def match_band(correlation: float) -> str:
    """One of five named bands for how alike two tastes are: never the number, which
    with a few pool faces could hint at someone's answers."""
    return next(name for low, name in MATCH_BANDS if correlation >= low)


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
        text = HELP.format(min_votes=self.bot.settings.worker.personal_min_votes)
        text += (
            f"\n**Add konomi to another server**: <{invite_url(self.bot.application_id)}> "
            "(it asks for exactly what it uses: see the README)."
        )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(name="stats", description="Your votes and how well your model knows you")
    @app_commands.guild_only()
    @answers_first
    async def stats(self, interaction: discord.Interaction) -> None:
        stats = await self.privacy.stats(interaction.guild_id, interaction.user.id)
        lines = [f"Your votes here: {stats.votes}."]
        if stats.metrics is None:
            lines.append(
                f"You have no model of your own yet: vote {stats.votes_needed} more with "
                "`/vote` and it trains by itself. Until then the server's model, learned "
                "from everyone's votes here, ranks for you."
                if stats.votes_needed
                else "Your first model is on its way: I'll tell you in your private place."
            )
        else:
            metrics = stats.metrics
            lines.append(
                f"Your model v{stats.version}: checked on your votes, "
                f"{held_out(metrics.final, metrics.guild_final)}."
            )
            lines.append(
                f"It learns your newest votes after {stats.votes_until_retrain} more "
                "(or now with `/retrain`)."
            )
        embed = discord.Embed(
            title="Your konomi in this server",
            description="\n".join(lines),
            colour=discord.Colour.blurple(),
        )
        embed.set_footer(text="Only you can see this.")
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(
        name="mytaste", description="Your favourite pool faces beside the server's (private)"
    )
    @app_commands.guild_only()
    @answers_first
    async def mytaste(self, interaction: discord.Interaction) -> None:
        await self.bot.models_ready()
        taste = await self.bot.service.ranking.my_taste(interaction.guild_id, interaction.user.id)
        if taste.personal_version is None:
            text = (
                f"The server's favourites (its model v{taste.guild_version}, from everyone's "
                "votes here). You have no model of your own yet: vote with `/vote` and your "
                "own favourites appear above them."
            )
        else:
            text = (
                f"Top row: your {taste.shown} favourite faces (your model "
                f"v{taste.personal_version}); below: the server's (v{taste.guild_version}). "
                f"{taste.shared} of yours are also the server's. Each percentage is the "
                "face's chance to be preferred over a typical face of the pool by that "
                "model (50% = no preference). Only you can see this."
            )
        await interaction.followup.send(
            text, file=discord.File(io.BytesIO(taste.png), "mytaste.png"), ephemeral=True
        )

    @app_commands.command(
        name="match", description="How alike your taste is to another member's (both opt in)"
    )
    @app_commands.describe(
        member="The member to compare tastes with (both of you must have opted in)",
        share="Allow (True) or stop (False) comparisons of your taste with /match",
    )
    @app_commands.guild_only()
    @answers_first
    async def match(
        self,
        interaction: discord.Interaction,
        member: discord.Member | None = None,
        share: bool | None = None,
    ) -> None:
        guild_id, me = interaction.guild_id, interaction.user.id
        lines = []
        if share is not None:
            await self.privacy.set_match_opt_in(guild_id, me, share)
            lines.append(
                "Members you compare with can now see how alike your tastes are (a band, "
                "never your votes)."
                if share
                else "Nobody can compare tastes with you now."
            )
        if member is None:
            if not lines:
                lines.append(
                    "Choose a `member` to compare with, or `share: True` to allow "
                    "comparisons (both of you must)."
                )
            await interaction.followup.send("\n".join(lines), ephemeral=True)
            return
        if member.id == me:
            raise NotOptedIn("Choose another member: your taste matches your own.")
        if not await self.privacy.match_opted_in(guild_id, me):
            raise NotOptedIn(
                "You have not allowed comparisons yet: use `/match share: True` first."
            )
        if not await self.privacy.match_opted_in(guild_id, member.id):
            raise NotOptedIn(
                f"{member.display_name} has not allowed comparisons: only members who "
                "chose `/match share: True` can be compared."
            )
        await self.bot.models_ready()
        alike = await self.bot.service.ranking.taste_match(guild_id, me, member.id)
        lines.append(
            f"Your taste and {member.display_name}'s: **{match_band(alike)}** (how alike "
            "your models order this server's pool; bands, from opposite to nearly the same)."
        )
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @app_commands.command(name="export", description="Your votes (CSV) and model metrics (JSON)")
    @app_commands.guild_only()
    @answers_first
    async def export(self, interaction: discord.Interaction) -> None:
        export = await self.privacy.export(interaction.guild_id, interaction.user.id)
        await interaction.followup.send(
            f"Your {export.votes} votes in this server and your model's metrics.",
            files=[
                discord.File(io.BytesIO(export.votes_csv), "konomi-votes.csv"),
                discord.File(io.BytesIO(export.model_json), "konomi-model.json"),
            ],
            ephemeral=True,
        )

    @app_commands.command(name="forget", description="Delete your votes, models and jobs here")
    @app_commands.guild_only()
    @answers_first
    async def forget(self, interaction: discord.Interaction) -> None:
        await ForgetConfirm(self, interaction.user.id).send(
            interaction,
            "This deletes all your votes, models, training jobs and choices in this server. Sure?",
        )


async def setup(bot: KonomiBot) -> None:
    await bot.add_cog(Privacy(bot))
