"""The emulated application endpoints: the bot's identity, command sync, and the
interaction callback, followup and @original routes with their deadlines."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.fakediscord.protocol import EPHEMERAL, Callback, DiscordError, InteractionType
from tests.fakediscord.rest import Rest, S
from tests.fakediscord.state import snowflake


class Application(Rest):
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
        if kind == Callback.AUTOCOMPLETE_RESULT:
            if interaction.type != InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE:
                raise DiscordError(400, 50035, "Invalid Form Body: not an autocomplete")
            interaction.choices = list(data.get("choices") or [])
            if len(interaction.choices) > 25:
                raise DiscordError(400, 50035, "Invalid Form Body: more than 25 choices")
        elif kind in (Callback.CHANNEL_MESSAGE, Callback.DEFERRED_CHANNEL_MESSAGE):
            message = self._new_message(interaction.channel, data, files, interaction.id)
            message.flags = int(data.get("flags") or 0)
            interaction.original = message
            response["message"] = message.to_json(self.bot_user.id)
        elif (
            kind in (Callback.DEFERRED_UPDATE_MESSAGE, Callback.UPDATE_MESSAGE)
            and interaction.type == InteractionType.MESSAGE_COMPONENT
        ):
            # A component's response is the message it sits on: 7 edits it now,
            # 6 (deferred update) lets the bot edit it later through @original.
            message = self.messages[int(interaction.payload["message"]["id"])]
            interaction.original = message
            if kind == Callback.UPDATE_MESSAGE:
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
                "response_message_loading": kind == Callback.DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(int(data.get("flags") or 0) & EPHEMERAL),
            },
            "resource": response,
        }

    async def r_followup(self, request, app_id, token):
        interaction = self._interaction(token)
        payload, files = await self._payload(request, interaction.channel)
        if (
            interaction.response_type == Callback.DEFERRED_CHANNEL_MESSAGE
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

    ROUTES = [
        ("GET", re.compile(r"/users/@me"), r_me),
        ("GET", re.compile(r"/oauth2/applications/@me"), r_application),
        ("PUT", re.compile(rf"/applications/{S}/commands"), r_put_commands),
        ("GET", re.compile(rf"/applications/{S}/commands"), r_get_commands),
        ("PUT", re.compile(rf"/applications/{S}/guilds/{S}/commands"), r_put_commands),
        ("GET", re.compile(rf"/applications/{S}/guilds/{S}/commands"), r_get_commands),
        ("POST", re.compile(rf"/interactions/{S}/([^/]+)/callback"), r_callback),
        ("POST", re.compile(rf"/webhooks/{S}/([^/]+)"), r_followup),
        ("GET", re.compile(rf"/webhooks/{S}/([^/]+)/messages/(@original|\d+)"), r_original),
        ("PATCH", re.compile(rf"/webhooks/{S}/([^/]+)/messages/(@original|\d+)"), r_original),
        ("DELETE", re.compile(rf"/webhooks/{S}/([^/]+)/messages/(@original|\d+)"), r_original),
    ]
