"""What the emulated Discord knows: guilds, channels, members, roles, messages, interactions.

The objects speak Discord's vocabulary; `alice.invoke("rank", image1=...)` is how a
test makes a person use the bot. Payload builders follow Discord's JSON shapes.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakediscord import permissions as perms

if TYPE_CHECKING:
    from tests.fakediscord.server import FakeDiscord

DISCORD_EPOCH_MS = 1420070400000
_increment = itertools.count()


def snowflake(shard: int = 0, shards: int = 1) -> int:
    """An id minted from the current time, as Discord's are (discord.py reads times from
    them); a guild's id says its shard, `(id >> 22) % shards`, so a test may choose it."""
    milliseconds = int(time.time() * 1000) - DISCORD_EPOCH_MS
    milliseconds -= (milliseconds - shard) % shards
    return (milliseconds << 22) | (1 << 17) | (next(_increment) % 4096)


def shard_of(guild_id: int | None, shards: int) -> int:
    """Discord's rule: a guild's events go to shard (id >> 22) % shards; DMs to shard 0."""
    return 0 if guild_id is None else (guild_id >> 22) % shards


def iso(timestamp: float | None = None) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp or time.time(), UTC).isoformat()


@dataclass
class Role:
    id: int
    name: str
    permissions: int = 0
    position: int = 0

    def to_json(self) -> dict:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class User:
    id: int
    name: str
    bot: bool = False
    accepts_dms: bool = True  # False: refuses DMs from server members (error 50007)
    locale: str = "en-US"  # the language of their Discord client, sent with interactions

    def to_json(self) -> dict:
        return {
            "id": str(self.id),
            "username": self.name,
            "discriminator": "0",
            "global_name": self.name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


@dataclass
class Channel:
    id: int
    name: str
    guild_id: int | None
    type: int = 0  # 0: guild text, 1: DM, 12: private thread
    # target id (role or member) -> (allow, deny)
    overwrites: dict[int, tuple[int, int]] = field(default_factory=dict)
    recipient: User | None = None
    position: int = 0
    # Threads: the channel they sit under, who made them, their members, archived or not.
    parent_id: int | None = None
    owner_id: int | None = None
    thread_members: set[int] = field(default_factory=set)
    archived: bool = False
    auto_archive_duration: int = 1440

    def to_json(self) -> dict:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "last_message_id": None,
        }
        if self.parent_id is not None:
            data.update(
                guild_id=str(self.guild_id),
                parent_id=str(self.parent_id),
                owner_id=str(self.owner_id),
                message_count=0,
                member_count=len(self.thread_members),
                rate_limit_per_user=0,
                flags=0,
                thread_metadata={
                    "archived": self.archived,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": iso(),
                    "locked": False,
                    "invitable": False,
                },
            )
            return data
        if self.guild_id is not None:
            data.update(
                guild_id=str(self.guild_id),
                nsfw=False,
                parent_id=None,
                permission_overwrites=[
                    {"id": str(target), "type": 0, "allow": str(a), "deny": str(d)}
                    for target, (a, d) in self.overwrites.items()
                ],
            )
        if self.recipient is not None:
            data["recipients"] = [self.recipient.to_json()]
        return data

    def overwrite(self, target: Role | Member, allow: int = 0, deny: int = 0) -> None:
        self.overwrites[target.id] = (allow, deny)


@dataclass
class Attachment:
    """A file as a person uploads it: bytes and a name (content type from the name)."""

    filename: str
    data: bytes
    content_type: str | None = None
    declared_size: int | None = None  # what Discord says the size is, if not len(data)

    def guessed_type(self) -> str:
        import mimetypes

        return (
            self.content_type
            or mimetypes.guess_type(self.filename)[0]
            or "application/octet-stream"
        )


@dataclass
class Message:
    id: int
    channel: Channel
    author: User
    content: str = ""
    embeds: list[dict] = field(default_factory=list)
    components: list[dict] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)  # Discord's attachment objects
    files: dict[str, bytes] = field(default_factory=dict)  # filename -> bytes
    flags: int = 0
    reactions: dict[str, list[int]] = field(default_factory=dict)  # emoji -> user ids, in order
    interaction_id: int | None = None
    created: float = field(default_factory=time.time)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & 64)

    def images(self) -> list:
        """The attached files decoded as images (Pillow), in order."""
        import io

        from PIL import Image

        return [Image.open(io.BytesIO(data)).convert("RGB") for data in self.files.values()]

    @property
    def text(self) -> str:
        """Everything a person reads on the message: its content and its embeds."""
        parts = [self.content]
        for embed in self.embeds:
            parts += [embed.get("title", ""), embed.get("description", "")]
            for item in embed.get("fields", []):
                parts += [item["name"], item["value"]]
            parts.append(embed.get("footer", {}).get("text", ""))
        return "\n".join(part for part in parts if part)

    def buttons(self) -> list[dict]:
        return [c for row in self.components for c in row.get("components", [])]

    def to_json(self, me: int | None = None) -> dict:
        data = {
            "id": str(self.id),
            "channel_id": str(self.channel.id),
            "type": 0 if not self.interaction_id else 20,
            "content": self.content,
            "author": self.author.to_json(),
            "timestamp": iso(self.created),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self.attachments,
            "embeds": self.embeds,
            "pinned": False,
            "components": self.components,
            "flags": self.flags,
            "reactions": [
                {
                    "emoji": {"id": None, "name": e},
                    "count": len(u),
                    "me": me in u,
                    "count_details": {"burst": 0, "normal": len(u)},
                    "me_burst": False,
                    "burst_colors": [],
                }
                for e, u in self.reactions.items()
                if u
            ],
        }
        if self.channel.guild_id is not None:
            data["guild_id"] = str(self.channel.guild_id)
        return data


class Member:
    """A person (or the bot) in a guild. The methods act as that person would in the client."""

    def __init__(self, fake: FakeDiscord, guild: Guild, user: User, role_ids: list[int]):
        self.fake, self.guild, self.user, self.role_ids = fake, guild, user, list(role_ids)

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.name

    def permissions_in(self, channel: Channel) -> int:
        return perms.channel_permissions(self.guild, channel, self)

    def can_see(self, channel: Channel) -> bool:
        """Whether this person's client shows the channel (a DM: only to its recipient)."""
        if channel.guild_id is None:
            return channel.recipient is not None and channel.recipient.id == self.id
        return bool(self.permissions_in(channel) & perms.VIEW_CHANNEL)

    def to_json(self, channel: Channel | None = None) -> dict:
        data = {
            "user": self.user.to_json(),
            "roles": [str(r) for r in self.role_ids],
            "joined_at": iso(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "pending": False,
        }
        if channel is not None:
            data["permissions"] = str(self.permissions_in(channel))
        return data

    async def invoke(self, command: str, channel: Channel | None = None, **options) -> Interaction:
        """Use a slash command ("pool add" for a subcommand) with options by name."""
        return await self.fake.invoke(self, command, channel or self.guild.default_channel, options)

    async def autocomplete(
        self, command: str, option: str, typed: str, channel: Channel | None = None
    ) -> Interaction:
        """Type `typed` into a command's option that offers choices as one types."""
        channel = channel or self.guild.default_channel
        return await self.fake.autocomplete(self, command, channel, option, typed)

    async def use_message_command(self, name: str, message: Message) -> Interaction:
        return await self.fake.message_command(self, name, message)

    async def click(self, message: Message, button: str | dict) -> Interaction:
        """Press a button on a message, by its label, custom_id, or the component itself."""
        return await self.fake.click(self, message, button)

    async def react(self, message: Message, emoji: str) -> None:
        self._check_sees(message)
        await self.fake.add_reaction(message, emoji, self)

    async def unreact(self, message: Message, emoji: str) -> None:
        self._check_sees(message)
        await self.fake.remove_reaction(message, emoji, self)

    def _check_sees(self, message: Message) -> None:
        if not self.can_see(message.channel):
            raise PermissionError(f"{self.name} cannot see the channel of message {message.id}")


class Guild:
    def __init__(self, fake: FakeDiscord, name: str, owner: User | None = None, shard: int = 0):
        self.fake, self.name = fake, name
        self.id = snowflake(shard, fake.shard_count)
        self.owner_id = owner.id if owner else 0
        self.roles: dict[int, Role] = {self.id: Role(self.id, "@everyone", perms.DEFAULT_EVERYONE)}
        self.channels: dict[int, Channel] = {}
        self.members: dict[int, Member] = {}
        self.bot_present = False
        self.system_channel_id: int | None = None  # where Discord posts joins, if anywhere
        self.preferred_locale = "en-US"  # Server Settings -> Community -> language

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    @property
    def default_channel(self) -> Channel:
        return next(iter(self.channels.values()))

    def create_text_channel(self, name: str) -> Channel:
        channel = Channel(snowflake(), name, self.id, position=len(self.channels))
        self.channels[channel.id] = channel
        self.fake.channels[channel.id] = channel
        if self.bot_present:
            self.fake.announce("CHANNEL_CREATE", channel.to_json(), self.id)
        return channel

    def create_role(self, name: str, permissions: int = 0) -> Role:
        role = Role(snowflake(), name, permissions, position=len(self.roles))
        self.roles[role.id] = role
        if self.bot_present:
            self.fake.announce(
                "GUILD_ROLE_CREATE", {"guild_id": str(self.id), "role": role.to_json()}, self.id
            )
        return role

    def add_member(self, name: str, roles: list[Role] = (), user: User | None = None) -> Member:
        user = user or User(snowflake(), name)
        member = Member(self.fake, self, user, [r.id for r in roles])
        self.members[user.id] = member
        self.fake.users[user.id] = user
        return member

    def to_json(self) -> dict:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "owner_id": str(self.owner_id),
            "roles": [r.to_json() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "member_count": len(self.members),
            "large": False,
            "unavailable": False,
            "channels": [c.to_json() for c in self.channels.values()],
            "members": [m.to_json() for m in self.members.values()],
            "threads": [
                c.to_json()
                for c in self.fake.channels.values()
                if c.guild_id == self.id and c.parent_id is not None and not c.archived
            ],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "joined_at": iso(),
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "preferred_locale": self.preferred_locale,
            "system_channel_id": str(self.system_channel_id) if self.system_channel_id else None,
            "system_channel_flags": 0,
            "afk_timeout": 300,
        }


@dataclass
class Interaction:
    """One use of a command or button, and everything the bot answered to it."""

    id: int
    token: str
    type: int  # 2: application command, 3: component
    user: Member
    channel: Channel
    name: str
    payload: dict
    created: float = field(default_factory=time.monotonic)
    response_type: int | None = None
    responded_at: float | None = None
    original: Message | None = None
    followups: list[Message] = field(default_factory=list)
    refused: str | None = None  # Discord refused it before it reached the bot (permissions)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    choices: list[dict] | None = None  # an autocomplete's answer

    @property
    def deferred(self) -> bool:
        return self.response_type in (5, 6)

    @property
    def ephemeral(self) -> bool:
        return bool(self.original and self.original.ephemeral)

    def answer(self) -> Message | None:
        """The reply as a person reads it: the original response once it has something
        in it (a deferred response stays empty until its first followup fills it)."""
        message = self.original
        return message if message is not None and (message.text or message.files) else None

    def messages(self) -> list[Message]:
        """The original response (when it has content) and the followups, in order."""
        first = [self.original] if self.original is not None else []
        return first + self.followups
