"""Refusals a person should read: each service raises one of these with the message
for them, and the bot's one error handler sends it as it is (as Red-DiscordBot's
UserFeedbackCheckFailure does). The CLI prints the same message."""

from __future__ import annotations


class UserError(Exception):
    """A request konomi refuses, with the reason written for the person who asked."""


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
        super().__init__(f"There is no face `{face_id}` in this server's pool.")
        self.face_id = face_id


class NotAPair(UserError):
    """The message is not a konomi pair of this guild."""


class NothingToRank(UserError):
    """None of the uploads could be read; the message lists why, file by file."""


class ImportRefused(UserError):
    """A vote file with bad rows; the message lists each with its reason. Nothing was
    imported."""


class TooSoon(UserError):
    """Asked again before the cooldown ran out."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
