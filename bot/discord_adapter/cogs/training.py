"""/retrain, and telling people when their model is ready — exactly once, also after a restart."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.discord_adapter.loops import resilient
from bot.services.jobs import JobState
from bot.services.render import percent
from bot.services.training import Finished, Job

if TYPE_CHECKING:
    from bot.discord_adapter.app import KonomiBot

log = logging.getLogger(__name__)

TOKEN_LIFETIME_S = 15 * 60


def completion_text(done: Finished) -> str:
    job, metrics = done.job, done.metrics
    if job.state == JobState.FAILED or done.model is None or metrics is None:
        return f"Your retraining did not run: {job.error or 'unknown error'}."
    lines = [
        f"Your model v{done.model.version} is ready. On {metrics.final.votes} of your votes "
        f"it never saw, it agrees with you {percent(metrics.final.accuracy)} of the time"
    ]
    if metrics.guild_final is not None:
        lines.append(
            f"the server's model: {percent(metrics.guild_final.accuracy)} "
            f"on the same votes (konomi uses {metrics.uses or 'personal'} for you)"
        )
    if done.previous is not None:
        lines.append(
            f"your previous version (v{done.previous_version}): "
            f"{percent(done.previous.final.accuracy)}"
        )
    return "; ".join(lines) + "."


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
    async def retrain(self, interaction: discord.Interaction) -> None:
        queued = await self.training.request(
            interaction.guild_id,
            interaction.user.id,
            notify_channel_id=interaction.channel_id,
            interaction_token=interaction.token,
            token_expires_at=interaction.created_at.timestamp() + TOKEN_LIFETIME_S,
        )
        if queued.created:
            text = f"Retraining queued (position {queued.position}). I'll tell you when it's done."
        else:
            text = (
                f"Your retraining is already queued (position {queued.position}); "
                "I'll tell you here when it's done."
            )
        await interaction.response.send_message(text, ephemeral=True)

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
        """By followup while the interaction token lives, else in the channel with a mention."""
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
        try:
            await channel.send(
                f"<@{job.user_id}> {text}", allowed_mentions=discord.AllowedMentions(users=True)
            )
        except discord.HTTPException as error:
            log.warning("could not tell user about job %d: %s", job.id, error)


async def setup(bot: KonomiBot) -> None:
    await bot.add_cog(Training(bot))
