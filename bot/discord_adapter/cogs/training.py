"""/retrain, and telling people when their model is ready — exactly once, also after a restart."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.discord_adapter.cogs.voting import is_private_place
from bot.discord_adapter.loops import resilient
from bot.discord_adapter.replies import answers_first
from bot.services.jobs import JobState
from bot.services.render import held_out, percent
from bot.services.training import Finished, Job
from model.metrics import ModelKind

if TYPE_CHECKING:
    from bot.discord_adapter.app import KonomiBot

log = logging.getLogger(__name__)

TOKEN_LIFETIME_S = 15 * 60


def completion_text(done: Finished) -> str:
    """The notice of a finished retrain, in plain words: how the model did on votes it
    never saw, beside the server's model on the same votes."""
    job, metrics = done.job, done.metrics
    if job.state == JobState.FAILED or done.model is None or metrics is None:
        return f"Your retraining did not run: {job.error or 'unknown error'}."
    first = done.previous is None
    opening = (
        "Your first model is ready: `/rank` now orders images by your own taste."
        if first
        else f"Your model v{done.model.version} is ready."
    )
    lines = [f"{opening} Checked on your votes, {held_out(metrics.final, metrics.guild_final)}."]
    if metrics.uses == ModelKind.GUILD:
        lines.append(
            "For now the server's model predicts your votes better, so konomi keeps ranking "
            "for you with it; more votes change that."
        )
    if done.previous is not None and done.previous.final.accuracy is not None:
        lines.append(
            f"Your previous version (v{done.previous_version}) agreed with "
            f"{percent(done.previous.final.accuracy)} of the votes it was checked on."
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

    @app_commands.command(name="retrain", description="Retrain your taste model from your votes")
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
            text = (
                "konomi is already training your model (it started by itself after your "
                "latest votes): I'll tell you here when it's done."
            )
        elif queued.created:
            text = f"Retraining queued (position {queued.position}). I'll tell you when it's done."
        else:
            text = (
                f"Your retraining is already queued (position {queued.position}); "
                "I'll tell you here when it's done."
            )
        await interaction.followup.send(text, ephemeral=True)

    @tasks.loop(seconds=2)
    @resilient("retrain notices")
    async def notify_finished(self) -> None:
        async for done in self.training.finished():
            try:
                await self.tell(done.job, completion_text(done))
            except Exception:  # one bad delivery must not stop the others
                log.exception("could not deliver the result of job %d", done.job.id)

    @notify_finished.before_loop
    async def _wait_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def tell(self, job: Job, text: str) -> None:
        """By followup while the interaction token lives, else in the channel: in the
        member's private place as it is, elsewhere with a mention."""
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
