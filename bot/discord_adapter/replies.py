"""Replies to errors, in one place: a service's refusal (UserError) is sent as written,
Discord's limits are explained, anything else is logged and not shown. Safe after the
interaction expired, as Red-DiscordBot's tree does it."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.services import UserError

log = logging.getLogger(__name__)


class KonomiView(discord.ui.View):
    """Buttons answer their errors as commands do (a view's errors skip the tree)."""

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        await reply_to_error(interaction, error)


async def reply_to_error(interaction: discord.Interaction, error: Exception) -> None:
    """The one place an error becomes a reply: a service's refusal is sent as written,
    Discord's limits are explained, and anything else is logged, not shown."""
    original = getattr(error, "original", error)
    if isinstance(original, UserError):
        text = str(original)
    elif isinstance(error, app_commands.CommandOnCooldown):
        name = interaction.command.name if interaction.command else "this"
        text = (
            f"You're using {name} too often (at most {error.cooldown.rate} every "
            f"{error.cooldown.per:.0f} s): try again in {error.retry_after:.0f} s."
        )
    elif isinstance(error, app_commands.CheckFailure):
        text = str(error) or "You can't use this command here."
    elif isinstance(original, discord.Forbidden) and original.code == 50013:
        text = (
            "I'm missing a permission in this channel (Send Messages, Attach Files, "
            "Add Reactions or Read Message History). Ask an admin to grant it."
        )
        log.warning("missing permission in channel %s: %s", interaction.channel_id, original.text)
    else:
        text = "Something went wrong on my side; it has been logged."
        log.error(
            "command %s failed",
            interaction.command.name if interaction.command else interaction.data,
            exc_info=original,
        )
    await send_safely(interaction, text)


async def send_safely(interaction: discord.Interaction, text: str, **kwargs) -> None:
    """Reply by response, else followup; a dead interaction (expired, 10062/50027) is logged."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, **kwargs)
        else:
            await interaction.response.send_message(text, ephemeral=True, **kwargs)
    except (discord.NotFound, discord.HTTPException) as error:
        log.info("could not answer interaction %s: %s", interaction.id, error)
