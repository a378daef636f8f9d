"""Attachments people upload: size checked before anything is downloaded."""

from __future__ import annotations

import discord

from bot.i18n import msg


async def download(
    attachments: list[discord.Attachment], limit: int
) -> tuple[list[tuple[str, bytes]], list[tuple[str, object]]]:
    """(filename, bytes) of the attachments within `limit`; (filename, reason) for the others.

    Only Discord's own attachment URLs are read, never links from message text."""
    downloaded, problems = [], []
    for attachment in attachments:
        if attachment.size > limit:
            why = msg("files.too_large", size=attachment.size / 1e6, limit=limit / 1e6)
            problems.append((attachment.filename, why))
            continue
        try:
            downloaded.append((attachment.filename, await attachment.read()))
        except discord.HTTPException:
            problems.append((attachment.filename, msg("files.not_downloaded")))
    return downloaded, problems
