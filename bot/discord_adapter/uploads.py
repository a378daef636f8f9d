"""Attachments people upload: size checked before anything is downloaded."""

from __future__ import annotations

import discord


async def download(
    attachments: list[discord.Attachment], limit: int
) -> tuple[list[tuple[str, bytes]], list[tuple[str, str]]]:
    """(filename, bytes) of the attachments within `limit`; (filename, reason) for the others.

    Only Discord's own attachment URLs are read, never links from message text."""
    downloaded, problems = [], []
    for attachment in attachments:
        if attachment.size > limit:
            problems.append(
                (
                    attachment.filename,
                    f"too large ({attachment.size / 1e6:.1f} MB; "
                    f"the limit is {limit / 1e6:.0f} MB)",
                )
            )
            continue
        try:
            downloaded.append((attachment.filename, await attachment.read()))
        except discord.HTTPException:
            problems.append((attachment.filename, "could not be downloaded from Discord"))
    return downloaded, problems
