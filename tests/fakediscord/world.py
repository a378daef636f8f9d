"""The emulated Discord's world: its state, its event record, and the faults a test
can switch on (server errors, rate limits)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakediscord import permissions as perms
from tests.fakediscord.state import Channel, Guild, Interaction, Member, Message, User, snowflake

if TYPE_CHECKING:
    from aiohttp import web

    from tests.fakediscord.gateway import Session


@dataclass
class Rules:
    interaction_deadline_s: float = 3.0
    token_lifetime_s: float = 900.0
    attachment_limit: int = 10 * 1024 * 1024
    enforce_default_permissions: bool = True


@dataclass
class Event:
    kind: str  # message, edit, delete, reaction, callback, followup, commands, ...
    data: dict[str, Any] = field(default_factory=dict)


class World:
    """The emulator's state (users, guilds, channels, messages, commands, files), the
    record of what happened, and the switches tests use to make Discord misbehave."""

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or Rules()
        self.bot_user = User(snowflake(), "konomi-test", bot=True)
        self.application_id = snowflake()
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.interactions: dict[int, Interaction] = {}
        self._by_token: dict[str, Interaction] = {}
        self.global_commands: list[dict] = []
        # (guild, command name) -> roles an admin allowed it for in Server Settings ->
        # Integrations, whatever its default_member_permissions say
        self.command_roles: dict[tuple[int, str], set[int]] = {}
        self.guild_commands: dict[int, list[dict]] = {}
        self.files: dict[str, bytes] = {}  # CDN path -> bytes
        self.events: list[Event] = []
        self.tokens_seen: set[str] = set()
        self.identified = asyncio.Event()
        self.refuse_resume = False  # answer RESUME with INVALID_SESSION (op 9, d: false)
        self.gateway_down = False  # refuse every gateway connection (HTTP 503)
        self.close_identify_with: int | None = None  # close IDENTIFY with this code
        self.shard_count = 1  # what GET /gateway/bot recommends
        self._sessions: list[Session] = []
        self._identified: dict[str, Session] = {}  # session id -> how it identified
        self._rate_limits: list[tuple[str, re.Pattern, int, float]] = []
        self._failures: list[tuple[str, re.Pattern, int, int]] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def api_base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/attachments"

    # -- the world ----------------------------------------------------------------

    def create_guild(
        self, name: str = "Test Server", *, bot_permissions: int | None = None, shard: int = 0
    ) -> Guild:
        """A guild with the bot in it (as a member with its own managed role), whose id
        puts it on `shard` of `shard_count`."""
        owner = User(snowflake(), f"{name}-owner")
        guild = Guild(self, name, owner, shard)
        self.guilds[guild.id] = guild
        guild.create_text_channel("general")
        guild.bot_present = True
        bot_role = guild.create_role(
            "konomi", perms.DEFAULT_EVERYONE if bot_permissions is None else bot_permissions
        )
        guild.add_member(self.bot_user.name, [bot_role], user=self.bot_user)
        guild.add_member(owner.name, user=owner)
        return guild

    def bot_member(self, guild: Guild) -> Member:
        return guild.members[self.bot_user.id]

    def fail(self, method: str, path_pattern: str, status: int = 503, times: int = 1) -> None:
        """Answer the next `times` requests matching METHOD and a path regex with a 5xx
        (503 is not retried by discord.py: it raises DiscordServerError)."""
        self._failures.append((method.upper(), re.compile(path_pattern), times, status))

    def rate_limit(
        self, method: str, path_pattern: str, times: int = 1, retry_after: float = 0.3
    ) -> None:
        """Answer the next `times` requests matching METHOD and a path regex with 429."""
        self._rate_limits.append((method.upper(), re.compile(path_pattern), times, retry_after))

    def record(self, kind: str, **data: Any) -> None:
        self.events.append(Event(kind, data))
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        """Wait until predicate() is truthy (it is checked after every change); returns it."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not (result := predicate()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"timed out after {timeout} s waiting for the bot")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), min(left, 0.25))
        return result

    def commands_for(self, guild: Guild) -> list[dict]:
        return self.guild_commands.get(guild.id, []) + self.global_commands

    async def set_archived(self, thread: Channel, archived: bool = True) -> None:
        """A thread archives itself after its silence (or opens again): THREAD_UPDATE."""
        thread.archived = archived
        self.record("archived" if archived else "unarchived", thread=thread.id)
        await self.dispatch("THREAD_UPDATE", thread.to_json(), thread.guild_id)

    def threads(self, guild: Guild) -> list[Channel]:
        return [c for c in self.channels.values() if c.guild_id == guild.id and c.parent_id]

    def bot_messages(self, channel: Channel | None = None) -> list[Message]:
        return [
            m
            for m in self.messages.values()
            if m.author.id == self.bot_user.id and (channel is None or m.channel is channel)
        ]
