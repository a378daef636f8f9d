"""Discord's numbers, named: gateway opcodes, intents, option, interaction and callback
types, and the JSON answers the REST side gives (errors as Discord shapes them)."""

from __future__ import annotations

import json
from enum import IntEnum
from typing import Any

from aiohttp import web


class Op(IntEnum):
    """Gateway opcodes."""

    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    RESUME = 6
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class Intent(IntEnum):
    GUILDS = 1 << 0
    GUILD_MESSAGES = 1 << 9
    GUILD_MESSAGE_REACTIONS = 1 << 10
    DIRECT_MESSAGES = 1 << 12
    DIRECT_MESSAGE_REACTIONS = 1 << 13


# Event -> (the intent that delivers it from a guild, the one from a DM).
EVENT_INTENTS = {
    "MESSAGE_CREATE": (Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES),
    "MESSAGE_UPDATE": (Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES),
    "MESSAGE_DELETE": (Intent.GUILD_MESSAGES, Intent.DIRECT_MESSAGES),
    "MESSAGE_REACTION_ADD": (Intent.GUILD_MESSAGE_REACTIONS, Intent.DIRECT_MESSAGE_REACTIONS),
    "MESSAGE_REACTION_REMOVE": (Intent.GUILD_MESSAGE_REACTIONS, Intent.DIRECT_MESSAGE_REACTIONS),
}


class OptionType(IntEnum):
    SUB_COMMAND = 1
    SUB_COMMAND_GROUP = 2
    STRING = 3
    INTEGER = 4
    BOOLEAN = 5
    USER = 6
    ROLE = 8
    NUMBER = 10
    ATTACHMENT = 11


class CommandType(IntEnum):
    CHAT_INPUT = 1
    MESSAGE = 3


class InteractionType(IntEnum):
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    APPLICATION_COMMAND_AUTOCOMPLETE = 4


class Callback(IntEnum):
    """Interaction response types."""

    CHANNEL_MESSAGE = 4
    DEFERRED_CHANNEL_MESSAGE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    AUTOCOMPLETE_RESULT = 8


EPHEMERAL = 1 << 6  # message flag


class DiscordError(Exception):
    """Raised by a route; answered as Discord answers: status, JSON code and message."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def json_response(status: int, data: Any, headers: dict | None = None) -> web.Response:
    # Exactly "application/json": with a charset discord.py takes the body for text.
    response = web.Response(status=status, body=json.dumps(data).encode(), headers=headers)
    response.headers["Content-Type"] = "application/json"
    return response


def error_response(status: int, code: int, message: str) -> web.Response:
    return json_response(status, {"message": message, "code": code})
