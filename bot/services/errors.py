"""Refusals a person should read: each service raises one of these with the message
for them (a catalogue key and its fields), and the bot's one error handler sends it in
the reader's language (as Red-DiscordBot's UserFeedbackCheckFailure is sent). The CLI
prints the same message in English."""

from __future__ import annotations

from typing import Any

from bot.i18n import Text


class UserError(Exception):
    """A request konomi refuses, with the reason written for the person who asked."""

    def __init__(self, key: str, /, **fields: Any) -> None:
        self.text = Text(key, fields)
        super().__init__(str(self.text))

    def render(self, locale: object) -> str:
        return self.text.render(locale)


class PoolTooSmall(UserError):
    """The guild's pool has fewer faces than the request needs."""


class EveryPairSeen(UserError):
    """The person has voted on every pair of the pool."""


class NotEnoughVotes(UserError):
    """A model was asked for without the votes it needs; the message says how many more."""


class NoGuildModel(UserError):
    """The guild has no model yet, so nothing can be ranked or personalised."""


class NoPersonalModel(UserError):
    """Something that needs a member's own model (a taste match) was asked without one."""


class NotOptedIn(UserError):
    """A taste match was asked for with a member who has not agreed to be compared."""


class GuildModelOutdated(UserError):
    """The guild model was trained with other model settings; it must be retrained first."""


class UnknownFace(UserError):
    """No such face in this guild's pool (another guild's id reads the same)."""

    def __init__(self, face_id: int) -> None:
        super().__init__("errors.unknown_face", face_id=face_id)
        self.face_id = face_id


class NotAPair(UserError):
    """The message is not a konomi pair of this guild."""


class NothingToRank(UserError):
    """None of the uploads could be read; the message lists why, file by file."""


class ImportRefused(UserError):
    """A vote file with bad rows; the message lists each with its reason. Nothing was
    imported. Only the command line imports votes: the message is English."""

    def __init__(self, message: str) -> None:
        super().__init__("errors.as_written", message=message)


class TooSoon(UserError):
    """Asked again before the cooldown ran out."""

    def __init__(self, key: str, /, retry_after: float, **fields: Any) -> None:
        super().__init__(key, **fields)
        self.retry_after = retry_after
