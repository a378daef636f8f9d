"""What konomi knows about you, and making it forget: /stats, /mytaste, /export, /forget, /help.

Every reply here is ephemeral: personal results are private by default.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot.discord_adapter.invite import invite_url
from bot.discord_adapter.replies import KonomiView, answers_first
from bot.i18n import Text, msg, t
from bot.services.errors import NotOptedIn
from bot.services.render import held_out

if TYPE_CHECKING:
    from bot.discord_adapter.app import KonomiBot

log = logging.getLogger(__name__)

MATCH_BANDS = (  # (lowest rank correlation, its name in the catalogue), highest first
    (0.8, "match.nearly_the_same"),
    (0.5, "match.alike"),
    (0.2, "match.somewhat_alike"),
    (-0.2, "match.different"),
    (-1.0, "match.opposite"),
)


def match_band(correlation: float) -> Text:
    """One of five named bands for how alike two tastes are: never the number, which
    with a few pool faces could hint at someone's answers."""
    return msg(next(key for low, key in MATCH_BANDS if correlation >= low))


class ForgetConfirm(KonomiView):
    """The one button that deletes a person's data, for that person only."""

    def __init__(self, cog: Privacy, user_id: int, locale: object) -> None:
        super().__init__(timeout=120)
        self.cog, self.user_id = cog, user_id
        self.confirm.label = t(locale, "forget.yes")
        self.cancel.label = t(locale, "forget.cancel")

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
            content=t(
                interaction.locale,
                "forget.done",
                votes=deleted.votes,
                models=deleted.models,
                jobs=deleted.jobs,
            ),
            view=None,
        )

    @discord.ui.button(
        label="Cancel", style=discord.ButtonStyle.secondary, custom_id="konomi:forget:cancel"
    )
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(
            content=t(interaction.locale, "forget.nothing"), view=None
        )


class Privacy(commands.Cog):
    def __init__(self, bot: KonomiBot) -> None:
        self.bot = bot
        self.privacy = bot.service.privacy

    @app_commands.command(
        name=locale_str("help"),
        description=locale_str("What konomi does, how to vote, what it stores"),
    )
    async def help(self, interaction: discord.Interaction) -> None:
        text = t(
            interaction.locale,
            "help.text",
            min_votes=self.bot.settings.worker.personal_min_votes,
            invite=invite_url(self.bot.application_id),
        )
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(
        name=locale_str("stats"),
        description=locale_str("Your votes and how well your model knows you"),
    )
    @app_commands.guild_only()
    @answers_first
    async def stats(self, interaction: discord.Interaction) -> None:
        stats = await self.privacy.stats(interaction.guild_id, interaction.user.id)
        locale = interaction.locale
        lines = [t(locale, "stats.votes", count=stats.votes)]
        if stats.metrics is None and stats.votes_needed:
            lines.append(t(locale, "stats.no_model", more=stats.votes_needed))
        elif stats.metrics is None:
            lines.append(t(locale, "stats.model_coming"))
        else:
            metrics = stats.metrics
            figures = held_out(metrics.final, metrics.guild_final)
            lines.append(t(locale, "stats.model", version=stats.version, figures=figures))
            lines.append(t(locale, "stats.retrain_after", more=stats.votes_until_retrain))
        embed = discord.Embed(
            title=t(locale, "stats.title"),
            description="\n".join(lines),
            colour=discord.Colour.blurple(),
        )
        embed.set_footer(text=t(locale, "common.only_you"))
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(
        name=locale_str("mytaste"),
        description=locale_str("Your favourite pool faces beside the server's (private)"),
    )
    @app_commands.guild_only()
    @answers_first
    async def mytaste(self, interaction: discord.Interaction) -> None:
        await self.bot.models_ready()
        locale = interaction.locale
        taste = await self.bot.service.ranking.my_taste(
            interaction.guild_id, interaction.user.id, locale
        )
        if taste.personal_version is None:
            text = t(locale, "mytaste.servers_only", version=taste.guild_version)
        else:
            text = t(
                locale,
                "mytaste.both",
                shown=taste.shown,
                mine=taste.personal_version,
                guild=taste.guild_version,
                shared=taste.shared,
            )
        await interaction.followup.send(
            text, file=discord.File(io.BytesIO(taste.png), "mytaste.png"), ephemeral=True
        )

    @app_commands.command(
        name=locale_str("match"),
        description=locale_str("How alike your taste is to another member's (both opt in)"),
    )
    @app_commands.rename(member=locale_str("member"), share=locale_str("share"))
    @app_commands.describe(
        member=locale_str("The member to compare tastes with (both of you must have opted in)"),
        share=locale_str("Allow (True) or stop (False) comparisons of your taste with /match"),
    )
    @app_commands.guild_only()
    @answers_first
    async def match(
        self,
        interaction: discord.Interaction,
        member: discord.Member | None = None,
        share: bool | None = None,
    ) -> None:
        guild_id, me, locale = interaction.guild_id, interaction.user.id, interaction.locale
        lines = []
        if share is not None:
            await self.privacy.set_match_opt_in(guild_id, me, share)
            lines.append(t(locale, "match.sharing" if share else "match.not_sharing"))
        if member is None:
            if not lines:
                lines.append(t(locale, "match.choose"))
            await interaction.followup.send("\n".join(lines), ephemeral=True)
            return
        if member.id == me:
            raise NotOptedIn("errors.match_yourself")
        if not await self.privacy.match_opted_in(guild_id, me):
            raise NotOptedIn("errors.match_not_shared")
        if not await self.privacy.match_opted_in(guild_id, member.id):
            raise NotOptedIn("errors.match_other_not_shared", name=member.display_name)
        await self.bot.models_ready()
        alike = await self.bot.service.ranking.taste_match(guild_id, me, member.id)
        band = match_band(alike)
        lines.append(t(locale, "match.result", name=member.display_name, band=band))
        await interaction.followup.send("\n".join(lines), ephemeral=True)

    @app_commands.command(
        name=locale_str("export"),
        description=locale_str("Your votes (CSV) and model metrics (JSON)"),
    )
    @app_commands.guild_only()
    @answers_first
    async def export(self, interaction: discord.Interaction) -> None:
        export = await self.privacy.export(interaction.guild_id, interaction.user.id)
        await interaction.followup.send(
            t(interaction.locale, "export.done", count=export.votes),
            files=[
                discord.File(io.BytesIO(export.votes_csv), "konomi-votes.csv"),
                discord.File(io.BytesIO(export.model_json), "konomi-model.json"),
            ],
            ephemeral=True,
        )

    @app_commands.command(
        name=locale_str("forget"),
        description=locale_str("Delete your votes, models and jobs here"),
    )
    @app_commands.guild_only()
    @answers_first
    async def forget(self, interaction: discord.Interaction) -> None:
        locale = interaction.locale
        await ForgetConfirm(self, interaction.user.id, locale).send(
            interaction, t(locale, "forget.confirm")
        )


async def setup(bot: KonomiBot) -> None:
    await bot.add_cog(Privacy(bot))
