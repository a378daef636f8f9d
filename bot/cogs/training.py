"""/retrain, and telling people when their model is ready — exactly once, also after a restart."""

from __future__ import annotations

import logging
import time

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.loops import resilient
from storage import jobs, models

log = logging.getLogger(__name__)

TOKEN_LIFETIME_S = 15 * 60


def _accuracy(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def completion_text(
    job: jobs.Job, model: models.StoredModel | None, previous: models.StoredModel | None
) -> str:
    if job.state == "failed" or model is None:
        return f"Your retraining did not run: {job.error or 'unknown error'}."
    metrics = model.metrics
    final = metrics.get("final", {})
    lines = [
        f"Your model v{model.version} is ready. On {final.get('votes', 0)} of your votes "
        f"it never saw, it agrees with you {_accuracy(final.get('accuracy'))} of the time"
    ]
    if "guild_final" in metrics:
        lines.append(
            f"the server's model: {_accuracy(metrics['guild_final'].get('accuracy'))} "
            f"on the same votes (konomi uses {metrics.get('uses', 'personal')} for you)"
        )
    if previous is not None:
        lines.append(
            f"your previous version (v{previous.version}): "
            f"{_accuracy(previous.metrics.get('final', {}).get('accuracy'))}"
        )
    return "; ".join(lines) + "."


class Training(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot

    async def cog_load(self) -> None:
        self.notify_finished.start()

    async def cog_unload(self) -> None:
        self.notify_finished.cancel()

    @app_commands.command(name="retrain", description="Retrain your taste model from your votes")
    @app_commands.guild_only()
    async def retrain(self, interaction: discord.Interaction) -> None:
        cooldown = self.bot.settings.worker.retrain_cooldown_s
        last = await jobs.last_requested_at(self.bot.db, interaction.guild_id, interaction.user.id)
        if cooldown and last and (left := last + cooldown - time.time()) > 0:
            raise app_commands.CommandOnCooldown(app_commands.Cooldown(1, cooldown), left)
        job, created, position = await self.bot.service.request_training(
            interaction.guild_id,
            interaction.user.id,
            notify_channel_id=interaction.channel_id,
            interaction_token=interaction.token,
            token_expires_at=interaction.created_at.timestamp() + TOKEN_LIFETIME_S,
        )
        if created:
            text = f"Retraining queued (position {position}). I'll tell you when it's done."
        else:
            text = (
                f"Your retraining is already queued (position {position}); "
                "I'll tell you here when it's done."
            )
        await interaction.response.send_message(text, ephemeral=True)

    @tasks.loop(seconds=2)
    @resilient("retrain notices")
    async def notify_finished(self) -> None:
        for job in await jobs.jobs_to_notify(self.bot.db):
            if not await jobs.mark_notified(self.bot.db, job.id):
                continue  # someone else told them
            model = await models.get_model(self.bot.db, job.model_id) if job.model_id else None
            previous = await models.previous_model(self.bot.db, model) if model else None
            try:
                await self.tell(job, completion_text(job, model, previous))
            except Exception:  # one bad delivery must not stop the others
                log.exception("could not deliver the result of job %d", job.id)

    @notify_finished.before_loop
    async def _wait_ready(self) -> None:
        await self.bot.wait_until_ready()

    async def tell(self, job: jobs.Job, text: str) -> None:
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


async def setup(bot) -> None:
    await bot.add_cog(Training(bot))
