"""The permissions konomi asks for when invited, each for what it does, and the link."""

from __future__ import annotations

import discord

# What konomi needs in a server, and why: see README. The invite asks for exactly these.
INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,  # see the channels it is used in
    send_messages=True,  # pairs, the welcome, reports
    embed_links=True,  # the welcome, /konomi setup and status as embeds
    attach_files=True,  # pair images and ranking sheets
    read_message_history=True,  # reactions on pairs posted before a restart
    add_reactions=True,  # the four voting reactions
    create_private_threads=True,  # each member's private voting thread
    send_messages_in_threads=True,  # pairs inside those threads
)


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(
        application_id,
        permissions=INVITE_PERMISSIONS,
        scopes=("bot", "applications.commands"),
    )
