"""Replies to errors, in one place: a service's refusal (UserError) is sent as written
(in the reader's language),
Discord's limits are explained, anything else is logged and not shown. Safe after the
interaction expired, as Red-DiscordBot's tree does it."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import discord
from discord import app_commands

from bot.i18n import t
from bot.services import UserError

log = logging.getLogger(__name__)


def answers_first(handler: Callable) -> Callable:
    """Defer (ephemeral, "thinking") before the handler touches the database, a file or a
    model: Discord's 3 seconds then never depend on how busy they are. The handler
    answers by followup; a refusal it finds reaches the error handler, which follows up."""

    @functools.wraps(handler)
    async def deferred_first(self, interaction: discord.Interaction, *args, **kwargs) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await handler(self, interaction, *args, **kwargs)

    return deferred_first


class KonomiView(discord.ui.View):
    """Buttons answer their errors as commands do (a view's errors skip the tree), and
    disable themselves when the view times out, so nobody clicks a dead button."""

    message: discord.Message | None = None

    async def send(self, interaction: discord.Interaction, content: str = "", **kwargs) -> None:
        """Send the view by followup (after a defer) and remember its message."""
        self.message = await interaction.followup.send(
            content, view=self, ephemeral=True, wait=True, **kwargs
        )

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button | discord.ui.Select):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self)
            except discord.HTTPException as error:
                log.info("could not disable the buttons of a timed-out view: %s", error)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        await reply_to_error(interaction, error)


async def reply_to_error(interaction: discord.Interaction, error: Exception) -> None:
    """The one place an error becomes a reply: a service's refusal is sent as written,
    Discord's limits are explained, and anything else is logged, not shown."""
    original = getattr(error, "original", error)
    locale = interaction.locale
    if isinstance(original, UserError):
        text = original.render(locale)
    elif isinstance(error, app_commands.CommandOnCooldown):
        text = t(
            locale,
            "errors.cooldown",
            command=f"/{interaction.command.name}" if interaction.command else "/konomi",
            rate=error.cooldown.rate,
            per=round(error.cooldown.per),
            left=round(error.retry_after),
        )
    elif isinstance(error, app_commands.MissingPermissions):
        text = t(locale, "errors.needs_manage_server")
    elif isinstance(error, app_commands.CheckFailure):
        text = t(locale, getattr(error, "key", "errors.not_here"))
    elif isinstance(original, discord.Forbidden) and original.code == 50013:
        text = t(locale, "errors.missing_permission")
        log.warning("missing permission in channel %s: %s", interaction.channel_id, original.text)
    else:
        text = t(locale, "errors.on_my_side")
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
