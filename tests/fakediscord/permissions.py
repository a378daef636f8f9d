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
MANAGE_THREADS = 1 << 34
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL = (1 << 53) - 1
PRIVATE_THREAD = 12  # the channel type

DEFAULT_EVERYONE = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_APPLICATION_COMMANDS
    | CREATE_PRIVATE_THREADS
    | SEND_MESSAGES_IN_THREADS
)


def base_permissions(guild, member) -> int:
    if member.id == guild.owner_id:
        return ALL
    permissions = guild.roles[guild.id].permissions
    for role_id in member.role_ids:
        permissions |= guild.roles[role_id].permissions
    return ALL if permissions & ADMINISTRATOR else permissions


def channel_permissions(guild, channel, member) -> int:
    """Base permissions, then @everyone's overwrite, the roles' overwrites, the member's.
    A thread has its parent's, with Send Messages in Threads as its Send Messages; a
    private thread is seen only by its members and by those who can Manage Threads."""
    if channel.parent_id is not None:
        permissions = channel_permissions(guild, guild.fake.channels[channel.parent_id], member)
        if not permissions & SEND_MESSAGES_IN_THREADS:
            permissions &= ~SEND_MESSAGES
        if (
            channel.type == PRIVATE_THREAD
            and member.id not in channel.thread_members
            and not permissions & MANAGE_THREADS
        ):
            return 0
        return permissions
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
