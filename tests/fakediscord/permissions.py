"""Discord's permission arithmetic: roles, then channel overwrites, as Discord computes it."""

from __future__ import annotations

VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
ADD_REACTIONS = 1 << 6
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
MANAGE_MESSAGES = 1 << 13
USE_APPLICATION_COMMANDS = 1 << 31
ALL = (1 << 53) - 1

DEFAULT_EVERYONE = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_APPLICATION_COMMANDS
)


def base_permissions(guild, member) -> int:
    if member.id == guild.owner_id:
        return ALL
    permissions = guild.roles[guild.id].permissions
    for role_id in member.role_ids:
        permissions |= guild.roles[role_id].permissions
    return ALL if permissions & ADMINISTRATOR else permissions


def channel_permissions(guild, channel, member) -> int:
    """Base permissions, then @everyone's overwrite, the roles' overwrites, the member's."""
    permissions = base_permissions(guild, member)
    if permissions & ADMINISTRATOR:
        return ALL
    overwrites = channel.overwrites
    if guild.id in overwrites:
        allow, deny = overwrites[guild.id]
        permissions = (permissions & ~deny) | allow
    allow_roles = deny_roles = 0
    for role_id in member.role_ids:
        if role_id in overwrites:
            allow, deny = overwrites[role_id]
            allow_roles |= allow
            deny_roles |= deny
    permissions = (permissions & ~deny_roles) | allow_roles
    if member.id in overwrites:
        allow, deny = overwrites[member.id]
        permissions = (permissions & ~deny) | allow
    return permissions
