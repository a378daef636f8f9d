"""/retrain, and telling people when their model is ready — exactly once, also after a restart."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands, tasks

from bot.discord_adapter.cogs.voting import is_private_place
from bot.discord_adapter.loops import resilient
from bot.discord_adapter.replies import answers_first
from bot.i18n import Text, t
from bot.services.jobs import JobState
from bot.services.render import held_out, percent
from bot.services.training import Finished
from model.metrics import ModelKind

if TYPE_CHECKING:
    from bot.discord_adapter.app import KonomiBot

log = logging.getLogger(__name__)

TOKEN_LIFETIME_S = 15 * 60


def completion_text(done: Finished, locale: object) -> str:
    """The notice of a finished retrain, in plain words: how the model did on votes it
    never saw, beside the server's model on the same votes."""
    job, metrics = done.job, done.metrics
    if job.state == JobState.FAILED or done.model is None or metrics is None:
        if job.refusal is None:  # konomi's own failure: its detail is in the log
            return t(locale, "training.failed_on_our_side", job=job.id)
        return t(locale, "training.did_not_run", error=Text.from_json(job.refusal))
    if done.previous is None:
        opening = t(locale, "training.first_ready")
    else:
        opening = t(locale, "training.version_ready", version=done.model.version)
    figures = held_out(metrics.final, metrics.guild_final)
    lines = [t(locale, "training.checked", opening=opening, figures=figures)]
    if metrics.uses == ModelKind.GUILD:
        lines.append(t(locale, "training.guild_better"))
    if done.previous is not None and done.previous.final.accuracy is not None:
        lines.append(
            t(
                locale,
                "training.previous",
                version=done.previous_version,
                accuracy=percent(done.previous.final.accuracy),
            )
        )
    return " ".join(lines)


class Training(commands.Cog):
    def __init__(self, bot: KonomiBot) -> None:
        self.bot = bot
        self.training = bot.service.training

    async def cog_load(self) -> None:
        self.notify_finished.start()

    async def cog_unload(self) -> None:
        self.notify_finished.cancel()

    @app_commands.command(
        name=locale_str("retrain"),
        description=locale_str("Retrain your taste model from your votes"),
    )
    @app_commands.guild_only()
    @answers_first
    async def retrain(self, interaction: discord.Interaction) -> None:
        queued = await self.training.request(
            interaction.guild_id,
            interaction.user.id,
            notify_channel_id=interaction.channel_id,
            interaction_token=interaction.token,
            token_expires_at=interaction.created_at.timestamp() + TOKEN_LIFETIME_S,
        )
        if queued.job.state == JobState.RUNNING:
            key = "training.already_running"
        elif queued.created:
            key = "training.queued"
        else:
            key = "training.already_queued"
        text = t(interaction.locale, key, position=queued.position)
        await interaction.followup.send(text, ephemeral=True)

    @tasks.loop(seconds=2)
    @resilient("retrain notices")
    async def notify_finished(self) -> None:
        async for done in self.training.finished():
            try:
                await self.tell(done)
            except Exception:  # one bad delivery must not stop the others
                log.exception("could not deliver the result of job %d", done.job.id)

    @notify_finished.before_loop
    async def _wait_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def tell(self, done: Finished) -> None:
        """By followup while the interaction token lives, else in the channel: in the
        member's private place as it is, elsewhere with a mention. In the language the
        member last used /vote in, else the server's."""
        job = done.job
        locale = await self.bot.member_locale(job.guild_id, job.user_id)
        text = completion_text(done, locale)
        if job.interaction_token and (job.token_expires_at or 0) > time.time() + 5:
            # The interaction's own followup webhook (type 3), as interaction.followup is.
            webhook = discord.Webhook.from_state(
                {"id": self.bot.application_id, "type": 3, "token": job.interaction_token},
                self.bot._connection,
            )
            try:
                await webhook.send(text, ephemeral=True)
                return
            except discord.HTTPException as error:
                log.info(
                    "followup for job %d failed (%s); telling the channel", job.id, error.status
                )
        channel = await self.bot.channel(job.notify_channel_id)
        if channel is None or job.user_id is None:
            return
        if not is_private_place(channel):
            text = f"<@{job.user_id}> {text}"
        try:
            await channel.send(text, allowed_mentions=discord.AllowedMentions(users=True))
        except discord.HTTPException as error:
            log.warning("could not tell user about job %d: %s", job.id, error)


async def setup(bot: KonomiBot) -> None:
    await bot.add_cog(Training(bot))
