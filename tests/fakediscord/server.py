"""A loopback Discord for the real discord.py client: REST, gateway and CDN on 127.0.0.1.

Rules that bite bots in production are kept, each switchable per test: the 3-second
interaction deadline (404, 10062), dead interaction tokens after 15 minutes (401,
50027), 429 with retry_after on a chosen route, the attachment size limit (413, 40005),
missing bot permissions (403, 50013), and default_member_permissions enforced before a
command reaches the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakediscord import permissions as perms
from tests.fakediscord.state import (
    Attachment,
    Channel,
    Guild,
    Interaction,
    Member,
    Message,
    User,
    snowflake,
)

GUILDS, GUILD_MESSAGES, GUILD_MESSAGE_REACTIONS = 1 << 0, 1 << 9, 1 << 10
DIRECT_MESSAGES, DIRECT_MESSAGE_REACTIONS = 1 << 12, 1 << 13
_EVENT_INTENTS = {
    "MESSAGE_CREATE": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_UPDATE": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_DELETE": (GUILD_MESSAGES, DIRECT_MESSAGES),
    "MESSAGE_REACTION_ADD": (GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS),
    "MESSAGE_REACTION_REMOVE": (GUILD_MESSAGE_REACTIONS, DIRECT_MESSAGE_REACTIONS),
}
OPTION_TYPES = {"str": 3, "int": 4, "bool": 5, "float": 10}


class DiscordError(Exception):
    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


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


@dataclass
class _Session:
    ws: web.WebSocketResponse
    id: str
    intents: int = 0
    sequence: int = 0


class FakeDiscord:
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
        self.guild_commands: dict[int, list[dict]] = {}
        self.files: dict[str, bytes] = {}  # CDN path -> bytes
        self.events: list[Event] = []
        self.tokens_seen: set[str] = set()
        self.identified = asyncio.Event()
        self.refuse_resume = False  # answer RESUME with INVALID_SESSION (op 9, d: false)
        self._sessions: list[_Session] = []
        self._rate_limits: list[tuple[str, re.Pattern, int, float]] = []
        self._failures: list[tuple[str, re.Pattern, int, int]] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("GET", "/gateway", self._gateway)
        app.router.add_route("GET", "/attachments/{path:.*}", self._cdn)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        for session in list(self._sessions):
            await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the bot's gateway connections with a close code it may resume after
        (4000: unknown error); events from now until it is back go to no one."""
        sessions, self._sessions = list(self._sessions), []
        for session in sessions:
            await session.ws.close(code=code)
        self.record("dropped", sessions=len(sessions))

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
        self, name: str = "Test Server", *, bot_permissions: int | None = None
    ) -> Guild:
        """A guild with the bot in it (as a member with its own managed role)."""
        owner = User(snowflake(), f"{name}-owner")
        guild = Guild(self, name, owner)
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

    def bot_messages(self, channel: Channel | None = None) -> list[Message]:
        return [
            m
            for m in self.messages.values()
            if m.author.id == self.bot_user.id and (channel is None or m.channel is channel)
        ]

    # -- gateway ----------------------------------------------------------------

    async def dispatch(self, event: str, data: dict, guild_id: int | None = None) -> None:
        for session in list(self._sessions):
            needed = _EVENT_INTENTS.get(event)
            if needed is not None:
                intent = needed[0] if guild_id is not None else needed[1]
                if not session.intents & intent:
                    continue
            session.sequence += 1
            with contextlib.suppress(ConnectionError, RuntimeError):
                await session.ws.send_str(
                    json.dumps({"op": 0, "t": event, "s": session.sequence, "d": data})
                )

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        session = _Session(ws, secrets.token_hex(16))
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 41250}}))
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            op, data = payload.get("op"), payload.get("d")
            if op == 1:
                await ws.send_str(json.dumps({"op": 11}))
            elif op == 6 and self.refuse_resume:
                self.record("resume refused")
                await ws.send_str(json.dumps({"op": 9, "d": False}))
            elif op in (2, 6):
                token = data["token"].removeprefix("Bot ")
                self.tokens_seen.add(token)
                session.intents = int(data.get("intents", 0)) if op == 2 else session.intents
                self._sessions.append(session)
                if op == 6:
                    session.sequence = int(data.get("seq") or 0)
                    await self.dispatch("RESUMED", {})
                else:
                    await self._ready(session)
                self.record("identify", resumed=op == 6)
                self.identified.set()
        if session in self._sessions:
            self._sessions.remove(session)
        self.record("disconnect")
        return ws

    async def _ready(self, session: _Session) -> None:
        present = [g for g in self.guilds.values() if g.bot_present]
        session.sequence += 1
        await session.ws.send_str(
            json.dumps(
                {
                    "op": 0,
                    "t": "READY",
                    "s": session.sequence,
                    "d": {
                        "v": 10,
                        "user": self.bot_user.to_json(),
                        "session_id": session.id,
                        "resume_gateway_url": self.gateway_url,
                        "private_channels": [],
                        "guilds": [{"id": str(g.id), "unavailable": True} for g in present],
                        "application": {"id": str(self.application_id), "flags": 0},
                    },
                }
            )
        )
        for guild in present:
            await self.dispatch("GUILD_CREATE", guild.to_json(), guild.id)

    # -- the people's side ------------------------------------------------------

    def _find_command(self, guild: Guild, name: str, kind: int) -> dict:
        for command in self.commands_for(guild):
            if command["name"] == name and command.get("type", 1) == kind:
                return command
        names = [c["name"] for c in self.commands_for(guild)]
        raise LookupError(f"no command {name!r} synced for this guild (synced: {names})")

    def _allowed(self, member: Member, channel: Channel, command: dict) -> bool:
        needed = command.get("default_member_permissions")
        if needed is None or not self.rules.enforce_default_permissions:
            return True
        return member.permissions_in(channel) & int(needed) == int(needed)

    def _upload(self, channel: Channel, attachment: Attachment) -> dict:
        attachment_id = snowflake()
        path = f"{channel.id}/{attachment_id}/{attachment.filename}"
        self.files[path] = attachment.data
        size = (
            attachment.declared_size
            if attachment.declared_size is not None
            else len(attachment.data)
        )
        url = f"{self.cdn_url}/{path}"
        return {
            "id": str(attachment_id),
            "filename": attachment.filename,
            "size": size,
            "url": url,
            "proxy_url": url,
            "content_type": attachment.guessed_type(),
        }

    def _options(self, command: dict, channel: Channel, values: dict, resolved: dict) -> list:
        specs = {o["name"]: o for o in command.get("options", [])}
        options = []
        for name, value in values.items():
            if name not in specs:
                raise LookupError(f"command {command['name']!r} has no option {name!r}")
            spec = specs[name]
            if isinstance(value, Attachment):
                data = self._upload(channel, value)
                resolved.setdefault("attachments", {})[data["id"]] = data
                options.append({"name": name, "type": 11, "value": data["id"]})
            else:
                options.append({"name": name, "type": spec["type"], "value": value})
        missing = [
            o["name"]
            for o in specs.values()
            if o.get("required") and o["name"] not in values and o["type"] not in (1, 2)
        ]
        if missing:
            raise LookupError(f"required options missing: {missing}")
        return options

    def _interaction_base(self, kind: int, member: Member, channel: Channel) -> dict:
        interaction_id = snowflake()
        return {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "token": f"itok-{interaction_id}-{secrets.token_urlsafe(24)}",
            "version": 1,
            "guild_id": str(channel.guild_id) if channel.guild_id else None,
            "channel_id": str(channel.id),
            "channel": channel.to_json(),
            "member": member.to_json(channel),
            "locale": "en-US",
            "guild_locale": "en-US",
            "app_permissions": str(self.bot_member(member.guild).permissions_in(channel)),
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(channel.guild_id)},
            "context": 0,
            "attachment_size_limit": self.rules.attachment_limit,
        }

    async def _create_interaction(
        self, payload: dict, member: Member, channel: Channel, name: str, refused: str | None = None
    ) -> Interaction:
        interaction = Interaction(
            int(payload["id"]),
            payload["token"],
            payload["type"],
            member,
            channel,
            name,
            payload,
            refused=refused,
        )
        self.interactions[interaction.id] = interaction
        self._by_token[interaction.token] = interaction
        self.record("interaction", id=interaction.id, name=name, user=member.id, refused=refused)
        if refused is None:
            await self.dispatch("INTERACTION_CREATE", payload, channel.guild_id)
        return interaction

    async def invoke(
        self, member: Member, command: str, channel: Channel, values: dict
    ) -> Interaction:
        top, *sub = command.split()
        spec = self._find_command(member.guild, top, 1)
        payload = self._interaction_base(2, member, channel)
        resolved: dict = {}
        target = spec
        chain = []
        for part in sub:
            target = next((o for o in target.get("options", []) if o["name"] == part), None)
            if target is None:
                raise LookupError(f"command {command!r} does not exist")
            chain.append(target)
        options = self._options(target, channel, values, resolved)
        for level in reversed(chain):
            options = [{"name": level["name"], "type": level["type"], "options": options}]
        payload["data"] = {
            "id": spec["id"],
            "name": top,
            "type": 1,
            "options": options,
            "resolved": resolved,
        }
        if channel.guild_id is not None:
            payload["data"]["guild_id"] = str(channel.guild_id)
        refused = None if self._allowed(member, channel, spec) else "missing permissions"
        return await self._create_interaction(payload, member, channel, command, refused)

    async def message_command(self, member: Member, name: str, message: Message) -> Interaction:
        spec = self._find_command(member.guild, name, 3)
        payload = self._interaction_base(2, member, message.channel)
        payload["data"] = {
            "id": spec["id"],
            "name": name,
            "type": 3,
            "target_id": str(message.id),
            "resolved": {"messages": {str(message.id): message.to_json()}},
        }
        refused = None if self._allowed(member, message.channel, spec) else "missing permissions"
        return await self._create_interaction(payload, member, message.channel, name, refused)

    async def click(self, member: Member, message: Message, button: str | dict) -> Interaction:
        if isinstance(button, str):
            found = [b for b in message.buttons() if button in (b.get("label"), b.get("custom_id"))]
            if not found:
                raise LookupError(f"no button {button!r} on the message: {message.buttons()}")
            button = found[0]
        payload = self._interaction_base(3, member, message.channel)
        payload["message"] = message.to_json(self.bot_user.id)
        payload["data"] = {"custom_id": button["custom_id"], "component_type": button["type"]}
        return await self._create_interaction(
            payload, member, message.channel, f"button:{button['custom_id']}"
        )

    async def add_reaction(self, message: Message, emoji: str, member: Member) -> None:
        users = message.reactions.setdefault(emoji, [])
        if member.id not in users:
            users.append(member.id)
            await self._reaction_event(message, emoji, member, added=True)

    async def remove_reaction(self, message: Message, emoji: str, member: Member | User) -> None:
        users = message.reactions.get(emoji, [])
        if member.id in users:
            users.remove(member.id)
            await self._reaction_event(message, emoji, member, added=False)

    async def _reaction_event(self, message: Message, emoji: str, member, added: bool) -> None:
        """Record and dispatch MESSAGE_REACTION_ADD / _REMOVE (`member` only on add)."""
        self.record("reaction", message=message.id, emoji=emoji, user=member.id, added=added)
        data = {
            "user_id": str(member.id),
            "channel_id": str(message.channel.id),
            "message_id": str(message.id),
            "emoji": {"id": None, "name": emoji},
            "type": 0,
            "burst": False,
        }
        if added:
            data.update(burst_colors=[], message_author_id=str(message.author.id))
        if message.channel.guild_id is not None:
            data["guild_id"] = str(message.channel.guild_id)
            if added:
                data["member"] = member.to_json()
        event = "MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE"
        await self.dispatch(event, data, message.channel.guild_id)

    async def post_as(
        self, member: Member, channel: Channel, content: str, attachments: list[Attachment] = ()
    ) -> Message:
        """A person posts a message, with files if given (uploaded to the CDN)."""
        message = Message(
            snowflake(),
            channel,
            member.user,
            content=content,
            attachments=[self._upload(channel, a) for a in attachments],
        )
        self.messages[message.id] = message
        data = message.to_json()
        data["member"] = member.to_json()
        await self.dispatch("MESSAGE_CREATE", data, channel.guild_id)
        return message

    async def delete_message(self, message: Message) -> None:
        self.messages.pop(message.id, None)
        data = {"id": str(message.id), "channel_id": str(message.channel.id)}
        if message.channel.guild_id is not None:
            data["guild_id"] = str(message.channel.guild_id)
        await self.dispatch("MESSAGE_DELETE", data, message.channel.guild_id)

    async def remove_bot(self, guild: Guild) -> None:
        """The bot is kicked from (or leaves) a guild."""
        guild.bot_present = False
        await self.dispatch("GUILD_DELETE", {"id": str(guild.id)}, guild.id)

    async def add_bot(self, guild: Guild) -> None:
        """The bot is (re)added to a guild: a GUILD_CREATE without "unavailable" is a join."""
        guild.bot_present = True
        data = guild.to_json()
        del data["unavailable"]
        await self.dispatch("GUILD_CREATE", data, guild.id)

    def announce(self, event: str, data: dict, guild_id: int | None) -> None:
        """Dispatch from synchronous scripting code (e.g. a channel created mid-test)."""
        # Without a running loop there is no bot yet: it will get it in GUILD_CREATE.
        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(self.dispatch(event, data, guild_id))

    # -- REST ---------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + urllib.parse.unquote(request.match_info["path"])
        auth = request.headers.get("Authorization", "")
        if (
            not auth.startswith("Bot ")
            and not path.startswith("/webhooks/")
            and not (path.startswith("/interactions/"))
        ):
            return _error(401, 0, "401: Unauthorized")
        if auth.startswith("Bot "):
            self.tokens_seen.add(auth.removeprefix("Bot "))
        for index, (method, pattern, times, status) in enumerate(self._failures):
            if method == request.method and pattern.search(path) and times > 0:
                self._failures[index] = (method, pattern, times - 1, status)
                self.record("server error", method=method, path=path, status=status)
                return _error(status, 0, f"{status}: Service Unavailable")
        for index, (method, pattern, times, retry_after) in enumerate(self._rate_limits):
            if method == request.method and pattern.search(path) and times > 0:
                self._rate_limits[index] = (method, pattern, times - 1, retry_after)
                self.record("rate_limited", method=method, path=path)
                return _json(
                    429,
                    {
                        "message": "You are being rate limited.",
                        "retry_after": retry_after,
                        "global": False,
                    },
                    {
                        "Via": "1.1 google",
                        "X-RateLimit-Scope": "user",
                        "Retry-After": str(retry_after),
                    },
                )
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                try:
                    result = await handler(self, request, *match.groups())
                except DiscordError as error:
                    return _error(error.status, error.code, error.message)
                if result is None:
                    return web.Response(status=204)
                return _json(200, result)
        return _error(404, 0, f"404: Not Found ({request.method} {path})")

    async def _cdn(self, request: web.Request) -> web.Response:
        data = self.files.get(urllib.parse.unquote(request.match_info["path"]))
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    async def _payload(self, request: web.Request, channel: Channel) -> tuple[dict, dict]:
        """JSON body, or multipart payload_json + files[n]; files checked against the limit."""
        files: dict[str, bytes] = {}
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            payload = json.loads(form.get("payload_json", "{}"))
            for key, value in form.items():
                if key.startswith("files["):
                    files[value.filename] = value.file.read()
        else:
            payload = await request.json() if request.can_read_body else {}
        if any(len(d) > self.rules.attachment_limit for d in files.values()):
            raise DiscordError(413, 40005, "Request entity too large")
        return payload, files

    def _new_message(
        self,
        channel: Channel,
        payload: dict,
        files: dict[str, bytes],
        interaction_id: int | None = None,
    ) -> Message:
        message = Message(snowflake(), channel, self.bot_user)
        self._apply(message, payload, files)
        message.interaction_id = interaction_id
        self.messages[message.id] = message
        return message

    def _apply(self, message: Message, payload: dict, files: dict[str, bytes]) -> None:
        if "content" in payload:
            message.content = payload["content"] or ""
        if "embeds" in payload:
            message.embeds = payload["embeds"] or []
        if "components" in payload:
            message.components = payload["components"] or []
        if payload.get("flags") is not None:
            message.flags = int(payload["flags"])
        if files or "attachments" in payload:
            kept = {str(a["id"]) for a in payload.get("attachments", []) if "filename" not in a}
            message.attachments = [a for a in message.attachments if a["id"] in kept]
            message.files = {
                k: v
                for k, v in message.files.items()
                if any(a["filename"] == k for a in message.attachments)
            }
            for name, data in files.items():
                path = f"{message.channel.id}/{snowflake()}/{name}"
                self.files[path] = data
                url = f"{self.cdn_url}/{path}"
                message.attachments.append(
                    {
                        "id": path.split("/")[1],
                        "filename": name,
                        "size": len(data),
                        "url": url,
                        "proxy_url": url,
                    }
                )
                message.files[name] = data

    def _check_bot(self, channel: Channel, needed: int, action: str) -> None:
        if channel.guild_id is None:
            return
        guild = self.guilds[channel.guild_id]
        have = self.bot_member(guild).permissions_in(channel)
        if have & needed != needed:
            self.record("forbidden", action=action, channel=channel.id)
            raise DiscordError(403, 50013, "Missing Permissions")

    def _channel(self, channel_id: str) -> Channel:
        channel = self.channels.get(int(channel_id))
        if channel is None:
            raise DiscordError(404, 10003, "Unknown Channel")
        return channel

    def _message(self, channel_id: str, message_id: str) -> Message:
        message = self.messages.get(int(message_id))
        if message is None or message.channel.id != int(channel_id):
            raise DiscordError(404, 10008, "Unknown Message")
        return message

    def _interaction(self, token: str) -> Interaction:
        interaction = self._by_token.get(token)
        if interaction is None:
            raise DiscordError(404, 10015, "Unknown Webhook")
        if time.monotonic() - interaction.created > self.rules.token_lifetime_s:
            self.record("expired_token", id=interaction.id)
            raise DiscordError(401, 50027, "Invalid Webhook Token")
        return interaction

    async def r_me(self, request):
        return self.bot_user.to_json()

    async def r_application(self, request):
        return {
            "id": str(self.application_id),
            "name": "konomi-test",
            "description": "",
            "icon": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": {"id": "1", "username": "owner", "discriminator": "0", "avatar": None},
            "verify_key": "0" * 64,
            "flags": 0,
            "team": None,
        }

    async def r_put_commands(self, request, app_id, guild_id=None):
        commands = await request.json()
        stored = []
        for command in commands:
            if len(command.get("description", "")) > 100:
                raise DiscordError(400, 50035, "Invalid Form Body: description too long")
            stored.append(
                {
                    "description": "",
                    "options": [],
                    **command,
                    "id": str(snowflake()),
                    "application_id": str(self.application_id),
                    "version": str(snowflake()),
                    "guild_id": guild_id,
                    "type": command.get("type", 1),
                }
            )
        if guild_id:
            self.guild_commands[int(guild_id)] = stored
        else:
            self.global_commands = stored
        self.record(
            "commands",
            guild=int(guild_id) if guild_id else None,
            names=[c["name"] for c in stored],
            payload=commands,
        )
        return stored

    async def r_get_commands(self, request, app_id, guild_id=None):
        return self.guild_commands.get(int(guild_id), []) if guild_id else self.global_commands

    async def r_send(self, request, channel_id):
        channel = self._channel(channel_id)
        payload, files = await self._payload(request, channel)
        self._check_bot(
            channel,
            perms.VIEW_CHANNEL | perms.SEND_MESSAGES | (perms.ATTACH_FILES if files else 0),
            "send_message",
        )
        message = self._new_message(channel, payload, files)
        self.record("message", id=message.id, channel=channel.id, content=message.content)
        await self.dispatch("MESSAGE_CREATE", message.to_json(), channel.guild_id)
        return message.to_json(self.bot_user.id)

    async def r_get_message(self, request, channel_id, message_id):
        return self._message(channel_id, message_id).to_json(self.bot_user.id)

    async def r_edit_message(self, request, channel_id, message_id):
        message = self._message(channel_id, message_id)
        payload, files = await self._payload(request, message.channel)
        self._apply(message, payload, files)
        self.record("edit", id=message.id, content=message.content)
        return message.to_json(self.bot_user.id)

    async def r_delete_message(self, request, channel_id, message_id):
        message = self._message(channel_id, message_id)
        self.record("delete", id=message.id)
        await self.delete_message(message)

    async def r_add_my_reaction(self, request, channel_id, message_id, emoji):
        message = self._message(channel_id, message_id)
        self._check_bot(
            message.channel, perms.ADD_REACTIONS | perms.READ_MESSAGE_HISTORY, "add_reaction"
        )
        await self.add_reaction(
            message,
            emoji,
            self.bot_member(self.guilds[message.channel.guild_id])
            if message.channel.guild_id
            else _DMUser(self.bot_user),
        )

    async def r_remove_reaction(self, request, channel_id, message_id, emoji, user):
        message = self._message(channel_id, message_id)
        user_id = self.bot_user.id if user == "@me" else int(user)
        if user_id != self.bot_user.id:
            self._check_bot(message.channel, perms.MANAGE_MESSAGES, "remove_reaction")
        await self.remove_reaction(message, emoji, self.users[user_id])

    async def r_reactions(self, request, channel_id, message_id, emoji):
        """Users who reacted, as Discord pages them: ascending ids after `after`, at most
        `limit` (1..100, default 25)."""
        message = self._message(channel_id, message_id)
        limit = int(request.query.get("limit", 25))
        if not 1 <= limit <= 100:
            raise DiscordError(400, 50035, "Invalid Form Body: limit must be 1..100")
        after = int(request.query.get("after", 0))
        users = sorted(u for u in message.reactions.get(emoji, []) if u > after)
        self.record("reaction list", message=message.id, emoji=emoji, after=after, limit=limit)
        return [self.users[u].to_json() for u in users[:limit]]

    async def r_channel(self, request, channel_id):
        return self._channel(channel_id).to_json()

    async def r_dm(self, request):
        body = await request.json()
        user = self.users[int(body["recipient_id"])]
        for channel in self.channels.values():
            if channel.recipient is user:
                return channel.to_json()
        channel = Channel(snowflake(), "", None, type=1, recipient=user)
        self.channels[channel.id] = channel
        return channel.to_json()

    async def r_member(self, request, guild_id, user_id):
        guild = self.guilds.get(int(guild_id))
        member = guild.members.get(int(user_id)) if guild else None
        if member is None:
            raise DiscordError(404, 10007, "Unknown Member")
        return member.to_json()

    async def r_guild(self, request, guild_id):
        guild = self.guilds.get(int(guild_id))
        if guild is None:
            raise DiscordError(404, 10004, "Unknown Guild")
        return guild.to_json()

    async def r_callback(self, request, interaction_id, token):
        interaction = self.interactions.get(int(interaction_id))
        if interaction is None or interaction.token != token:
            raise DiscordError(404, 10062, "Unknown interaction")
        if interaction.response_type is not None:
            raise DiscordError(400, 40060, "Interaction has already been acknowledged.")
        late = time.monotonic() - interaction.created > self.rules.interaction_deadline_s
        if late:
            self.record("late_callback", id=interaction.id)
            raise DiscordError(404, 10062, "Unknown interaction")
        body, files = await self._payload(request, interaction.channel)
        kind, data = body["type"], body.get("data") or {}
        interaction.response_type = kind
        interaction.responded_at = time.monotonic()
        response: dict[str, Any] = {"type": kind}
        if kind in (4, 5):
            message = self._new_message(interaction.channel, data, files, interaction.id)
            message.flags = int(data.get("flags") or 0)
            interaction.original = message
            response["message"] = message.to_json(self.bot_user.id)
        elif kind in (6, 7) and interaction.type == 3:
            # A component's response is the message it sits on: 7 edits it now,
            # 6 (deferred update) lets the bot edit it later through @original.
            message = self.messages[int(interaction.payload["message"]["id"])]
            interaction.original = message
            if kind == 7:
                self._apply(message, data, files)
                response["message"] = message.to_json(self.bot_user.id)
        self.record(
            "callback",
            id=interaction.id,
            type=kind,
            seconds=interaction.responded_at - interaction.created,
        )
        interaction.done.set()
        return {
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "response_message_id": str(interaction.original.id)
                if interaction.original
                else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & 64),
            },
            "resource": response,
        }

    async def r_followup(self, request, app_id, token):
        interaction = self._interaction(token)
        payload, files = await self._payload(request, interaction.channel)
        if (
            interaction.response_type == 5
            and interaction.original is not None
            and not (
                interaction.original.content
                or interaction.original.files
                or interaction.original.embeds
            )
        ):
            message = interaction.original  # the first followup fills the "thinking" message
            self._apply(message, payload, files)
        else:
            message = self._new_message(interaction.channel, payload, files, interaction.id)
            interaction.followups.append(message)
        self.record("followup", id=interaction.id, message=message.id, content=message.content)
        return message.to_json(self.bot_user.id)

    async def r_original(self, request, app_id, token, message_id):
        interaction = self._interaction(token)
        if message_id == "@original":
            message = interaction.original
        else:
            message = self.messages.get(int(message_id))
        if message is None:
            raise DiscordError(404, 10008, "Unknown Message")
        if request.method == "GET":
            return message.to_json(self.bot_user.id)
        if request.method == "DELETE":
            self.messages.pop(message.id, None)
            return None
        payload, files = await self._payload(request, interaction.channel)
        self._apply(message, payload, files)
        self.record("edit", id=message.id, content=message.content, interaction=interaction.id)
        return message.to_json(self.bot_user.id)

    _S = r"(\d+)"
    _routes = [
        ("GET", re.compile(r"/users/@me"), r_me),
        ("GET", re.compile(r"/oauth2/applications/@me"), r_application),
        ("PUT", re.compile(rf"/applications/{_S}/commands"), r_put_commands),
        ("GET", re.compile(rf"/applications/{_S}/commands"), r_get_commands),
        ("PUT", re.compile(rf"/applications/{_S}/guilds/{_S}/commands"), r_put_commands),
        ("GET", re.compile(rf"/applications/{_S}/guilds/{_S}/commands"), r_get_commands),
        ("POST", re.compile(rf"/channels/{_S}/messages"), r_send),
        ("GET", re.compile(rf"/channels/{_S}/messages/{_S}"), r_get_message),
        ("PATCH", re.compile(rf"/channels/{_S}/messages/{_S}"), r_edit_message),
        ("DELETE", re.compile(rf"/channels/{_S}/messages/{_S}"), r_delete_message),
        (
            "PUT",
            re.compile(rf"/channels/{_S}/messages/{_S}/reactions/([^/]+)/@me"),
            r_add_my_reaction,
        ),
        (
            "DELETE",
            re.compile(rf"/channels/{_S}/messages/{_S}/reactions/([^/]+)/(@me|\d+)"),
            r_remove_reaction,
        ),
        ("GET", re.compile(rf"/channels/{_S}/messages/{_S}/reactions/([^/]+)"), r_reactions),
        ("GET", re.compile(rf"/channels/{_S}"), r_channel),
        ("POST", re.compile(r"/users/@me/channels"), r_dm),
        ("GET", re.compile(rf"/guilds/{_S}/members/{_S}"), r_member),
        ("GET", re.compile(rf"/guilds/{_S}"), r_guild),
        ("POST", re.compile(rf"/interactions/{_S}/([^/]+)/callback"), r_callback),
        ("POST", re.compile(rf"/webhooks/{_S}/([^/]+)"), r_followup),
        ("GET", re.compile(rf"/webhooks/{_S}/([^/]+)/messages/(@original|\d+)"), r_original),
        ("PATCH", re.compile(rf"/webhooks/{_S}/([^/]+)/messages/(@original|\d+)"), r_original),
        ("DELETE", re.compile(rf"/webhooks/{_S}/([^/]+)/messages/(@original|\d+)"), r_original),
    ]


@dataclass
class _DMUser:
    user: User

    @property
    def id(self) -> int:
        return self.user.id

    def to_json(self) -> dict:
        return {"user": self.user.to_json(), "roles": []}


def _json(status: int, data: Any, headers: dict | None = None) -> web.Response:
    # Exactly "application/json": with a charset discord.py takes the body for text.
    response = web.Response(status=status, body=json.dumps(data).encode(), headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response


def _error(status: int, code: int, message: str) -> web.Response:
    return _json(status, {"message": message, "code": code})
