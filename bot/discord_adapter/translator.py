"""Command names and descriptions in the reader's language: discord.py asks this
translator for every `locale_str` when it syncs, and Discord shows each client its own."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.app_commands import TranslationContextLocation as Where

from bot.i18n import FALLBACK, catalogue, language_of


def catalogue_key(context: app_commands.TranslationContextTypes) -> str | None:
    """Where a command's words live in the catalogue: `commands.<pool.add>.name`,
    `….options.<parameter>.description`, `choices.<value>`, `menus.<English name>`."""
    data, where = context.data, context.location
    if where in (Where.command_name, Where.group_name):
        if isinstance(data, app_commands.ContextMenu):
            return f"menus.{data.name}"
        return f"commands.{data.qualified_name.replace(' ', '.')}.name"
    if where in (Where.command_description, Where.group_description):
        return f"commands.{data.qualified_name.replace(' ', '.')}.description"
    if where in (Where.parameter_name, Where.parameter_description):
        part = "name" if where == Where.parameter_name else "description"
        command = data.command.qualified_name.replace(" ", ".")
        return f"commands.{command}.options.{data.name}.{part}"
    if where == Where.choice_name:
        return f"choices.{data.value}"
    return None


class CatalogueTranslator(app_commands.Translator):
    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        language = language_of(locale)
        key = catalogue_key(context)
        if language == FALLBACK or key is None:
            return None  # the English in the code
        return catalogue(language).get(key)
