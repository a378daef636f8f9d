"""The emulated REST API: authentication, injected faults and rate limits, the CDN, and
the routes for messages, reactions, channels, members and guilds."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from dataclasses import dataclass

from aiohttp import web

from tests.fakediscord import permissions as perms
from tests.fakediscord.actions import Actions
from tests.fakediscord.protocol import DiscordError, error_response, json_response
from tests.fakediscord.state import Channel, Interaction, Message, User, snowflake

S = r"(\d+)"  # a snowflake in a route


class Rest(Actions):
    routes: list  # (method, path regex, handler): the two route tables, in FakeDiscord

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + urllib.parse.unquote(request.match_info["path"])
        auth = request.headers.get("Authorization", "")
        if (
            not auth.startswith("Bot ")
            and not path.startswith("/webhooks/")
            and not (path.startswith("/interactions/"))
        ):
            return error_response(401, 0, "401: Unauthorized")
        if auth.startswith("Bot "):
            self.tokens_seen.add(auth.removeprefix("Bot "))
        for index, (method, pattern, times, status) in enumerate(self._failures):
            if method == request.method and pattern.search(path) and times > 0:
                self._failures[index] = (method, pattern, times - 1, status)
                self.record("server error", method=method, path=path, status=status)
                return error_response(status, 0, f"{status}: Service Unavailable")
        for index, (method, pattern, times, retry_after) in enumerate(self._rate_limits):
            if method == request.method and pattern.search(path) and times > 0:
                self._rate_limits[index] = (method, pattern, times - 1, retry_after)
                self.record("rate_limited", method=method, path=path)
                return json_response(
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
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if match and method == request.method:
                try:
                    result = await handler(self, request, *match.groups())
                except DiscordError as error:
                    return error_response(error.status, error.code, error.message)
                if result is None:
                    return web.Response(status=204)
                return json_response(200, result)
        return error_response(404, 0, f"404: Not Found ({request.method} {path})")

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

    async def r_send(self, request, channel_id):
        channel = self._channel(channel_id)
        payload, files = await self._payload(request, channel)
        self._check_bot(
            channel,
            perms.VIEW_CHANNEL | perms.SEND_MESSAGES | (perms.ATTACH_FILES if files else 0),
            "send_message",
        )
        if channel.recipient is not None and not channel.recipient.accepts_dms:
            self.record("forbidden", action="dm", channel=channel.id)
            raise DiscordError(403, 50007, "Cannot send messages to this user")
        if channel.archived:  # a message in an archived (not locked) thread opens it
            await self.set_archived(channel, False)
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

    async def r_create_thread(self, request, channel_id):
        """A thread without a message (type 12: private); the bot that creates it is its
        first member."""
        parent = self._channel(channel_id)
        body = await request.json()
        if body.get("type") != perms.PRIVATE_THREAD:
            raise DiscordError(400, 50035, "Invalid Form Body: only private threads here")
        self._check_bot(
            parent, perms.VIEW_CHANNEL | perms.CREATE_PRIVATE_THREADS, "create_private_thread"
        )
        duration = int(body.get("auto_archive_duration", 4320))
        if duration not in (60, 1440, 4320, 10080):
            raise DiscordError(400, 50035, "Invalid Form Body: auto_archive_duration")
        thread = Channel(
            snowflake(),
            body["name"],
            parent.guild_id,
            type=perms.PRIVATE_THREAD,
            parent_id=parent.id,
            owner_id=self.bot_user.id,
            thread_members={self.bot_user.id},
            auto_archive_duration=duration,
        )
        self.channels[thread.id] = thread
        self.record("thread", id=thread.id, parent=parent.id, name=thread.name)
        data = thread.to_json()
        await self.dispatch("THREAD_CREATE", {**data, "newly_created": True}, parent.guild_id)
        return data

    async def r_add_thread_member(self, request, channel_id, user_id):
        thread = self._channel(channel_id)
        if thread.parent_id is None:
            raise DiscordError(400, 50024, "Cannot execute action on this channel type")
        if thread.archived:
            raise DiscordError(400, 50083, "Thread is archived")
        if int(user_id) not in self.guilds[thread.guild_id].members:
            raise DiscordError(404, 10007, "Unknown Member")
        thread.thread_members.add(int(user_id))
        self.record("thread member", thread=thread.id, user=int(user_id))

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

    async def r_bot_gateway(self, request):
        return self.bot_gateway()

    ROUTES = [
        ("GET", re.compile(r"/gateway/bot"), r_bot_gateway),
        ("POST", re.compile(rf"/channels/{S}/messages"), r_send),
        ("GET", re.compile(rf"/channels/{S}/messages/{S}"), r_get_message),
        ("PATCH", re.compile(rf"/channels/{S}/messages/{S}"), r_edit_message),
        ("DELETE", re.compile(rf"/channels/{S}/messages/{S}"), r_delete_message),
        (
            "PUT",
            re.compile(rf"/channels/{S}/messages/{S}/reactions/([^/]+)/@me"),
            r_add_my_reaction,
        ),
        (
            "DELETE",
            re.compile(rf"/channels/{S}/messages/{S}/reactions/([^/]+)/(@me|\d+)"),
            r_remove_reaction,
        ),
        ("GET", re.compile(rf"/channels/{S}/messages/{S}/reactions/([^/]+)"), r_reactions),
        ("GET", re.compile(rf"/channels/{S}"), r_channel),
        ("POST", re.compile(r"/users/@me/channels"), r_dm),
        ("POST", re.compile(rf"/channels/{S}/threads"), r_create_thread),
        ("PUT", re.compile(rf"/channels/{S}/thread-members/{S}"), r_add_thread_member),
        ("GET", re.compile(rf"/guilds/{S}/members/{S}"), r_member),
        ("GET", re.compile(rf"/guilds/{S}"), r_guild),
    ]


@dataclass
class _DMUser:
    user: User

    @property
    def id(self) -> int:
        return self.user.id

    def to_json(self) -> dict:
        return {"user": self.user.to_json(), "roles": []}
