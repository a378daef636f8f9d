"""Per-member cooldowns from the [limits] settings, for app commands and context menus."""

from __future__ import annotations

from collections.abc import Callable

import discord
from discord import app_commands


def per_member(name: str) -> Callable:
    """At most `limits.<name>_uses` uses every `limits.<name>_per_s` seconds per member
    and server (discord.py's dynamic cooldown; CommandOnCooldown goes to the tree's
    error handler, which tells the member when to try again)."""

    def cooldown(interaction: discord.Interaction) -> app_commands.Cooldown:
        limits = interaction.client.settings.limits
        return app_commands.Cooldown(
            getattr(limits, f"{name}_uses"), getattr(limits, f"{name}_per_s")
        )

    return app_commands.checks.dynamic_cooldown(
        cooldown, key=lambda interaction: (interaction.guild_id, interaction.user.id)
    )
