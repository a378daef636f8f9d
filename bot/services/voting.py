"""Voting: which pair to show, and what a reaction means for the vote it records.

The cog turns Discord's reaction events into these calls (in arrival order, through
its one writer); every rule of a vote lives here and in storage: latest remaining
reaction wins, removal withdraws, a forgotten person's old reactions never count.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import aiosqlite
import numpy as np

from bot.config import Settings
from bot.i18n import Text, msg, t
from bot.services import render
from bot.services.errors import EveryPairSeen, ImportRefused, NotAPair, PoolTooSmall
from bot.services.vote_import import parse_votes, same_vote_key
from model.images import decode_png
from model.pair_choice import most_informative
from model.pairs import Pairs
from model.store import PoolView, pool_view
from storage import guilds, members, models, pool, state, votes
from storage.members import Place
from storage.state import VoteChannel
from storage.votes import Applied, ImportResult, Pair, ReactionEvent, Reconciled

__all__ = [
    "ChosenPair",
    "ImportResult",
    "Pair",
    "Place",
    "ReactionEvent",
    "Reconciled",
    "Recorded",
    "VoteChannel",
    "VotingService",
]

SAMPLING_TRIES = 200  # random draws before listing the unseen pairs outright
VIEWS_KEPT = 64  # guild models' views of their pool kept in memory (a few KB each)


@dataclass(frozen=True)
class Recorded:
    """A reaction applied to a konomi pair."""

    pair: Pair
    vote: float | None  # the member's vote on the pair after it
    first_on_own_pair: bool  # the member's first vote on a pair posted for them


class ChosenPair(NamedTuple):
    a: int
    b: int
    chosen_by: str  # "informative" or "random" (the control arm)


def votes_on(index: dict[int, int], cast: list[votes.Vote]) -> tuple[Pairs, list[votes.Vote]]:
    """The votes whose two faces are both in `index` (face id -> row), as pairs of rows,
    and those votes (faces hidden or removed since drop out)."""
    usable = [v for v in cast if v.face_a in index and v.face_b in index]
    pairs = Pairs.of(
        [index[v.face_a] for v in usable],
        [index[v.face_b] for v in usable],
        [v.outcome for v in usable],
    )
    return pairs, usable


class VotingService:
    def __init__(self, db: aiosqlite.Connection, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._views: dict[int, PoolView] = {}  # guild models' by id, oldest first

    # -- pairs ----------------------------------------------------------------------

    async def choose_pair(self, guild_id: int, user_id: int | None) -> ChosenPair:
        """A pair of visible pool faces this person has not seen together yet: the one,
        of a random sample, that teaches the most (model/pair_choice.py) to the model
        the pair is for (theirs for /vote, the guild's for channel pairs), or, for a
        `[voting] random_pair_share` of pairs (the control arm), a uniformly random one."""
        faces = [face.id for face in await pool.list_faces(self.db, guild_id)]
        if len(faces) < 2:
            raise PoolTooSmall("errors.pool_empty" if not faces else "errors.pool_one_face")
        seen = await votes.seen_pairs(self.db, guild_id, user_id) if user_id else set()
        if len(seen) >= len(faces) * (len(faces) - 1) // 2:
            raise EveryPairSeen("errors.every_pair_seen")
        candidates = _unseen_pairs(faces, seen, self.settings.voting.informative_candidates)
        if random.random() >= self.settings.voting.random_pair_share:
            best = await self._most_informative(guild_id, user_id, faces, candidates)
            if best is not None:
                return ChosenPair(*candidates[best], "informative")
        return ChosenPair(*candidates[0], "random")

    async def _most_informative(
        self,
        guild_id: int,
        user_id: int | None,
        faces: list[int],
        candidates: list[tuple[int, int]],
    ) -> int | None:
        """The candidate that teaches the model the pair is for the most; None when
        that model (or its guild's) has no stored view of the pool to judge by."""
        latest = await models.latest_model(self.db, guild_id, user_id) if user_id else None
        latest = latest or await models.latest_model(self.db, guild_id, None)
        if latest is None:
            return None
        view = self._views.get(latest.id)
        if view is None:
            view = await asyncio.to_thread(pool_view, latest.weights_npz)
            if latest.user_id is None:  # a person's is read each time: /forget leaves no copy
                self._views[latest.id] = view
                while len(self._views) > VIEWS_KEPT:
                    self._views.pop(next(iter(self._views)))
        if not view.scores:
            return None
        index = {face_id: i for i, face_id in enumerate(faces)}
        scores, coordinates = view.arrays(faces)
        training = self.settings.training
        a = np.array([index[x] for x, _ in candidates])
        b = np.array([index[y] for _, y in candidates])
        if user_id:
            pairs, _ = votes_on(index, await votes.user_votes(self.db, guild_id, user_id))
            chosen = most_informative(
                scores,
                coordinates,
                pairs,
                a,
                b,
                1,
                position_prior=training.taste_position_prior,
                offset_prior=training.personal_offset_prior,
            )
        else:
            counts = await votes.face_vote_counts(self.db, guild_id)
            chosen = most_informative(
                scores,
                coordinates,
                Pairs.of([], [], []),
                a,
                b,
                1,
                offset_prior=training.offset_prior,
                vote_counts=np.array([counts.get(f, 0) for f in faces]),
            )
        return int(chosen[0])

    async def pair_image(self, guild_id: int, a: int, b: int, locale: object = None) -> bytes:
        """The PNG people vote on: both faces side by side, labelled A and B, with their
        ids in the reader's language."""
        crops = await pool.face_crops(self.db, guild_id, [a, b])
        return await asyncio.to_thread(
            lambda: render.pair_image(
                decode_png(crops[a]),
                decode_png(crops[b]),
                a,
                b,
                lambda face: t(locale, "image.face", id=face),
            )
        )

    async def remember(
        self,
        message_id: int,
        guild_id: int,
        channel_id: int,
        a: int,
        b: int,
        posted_for: int | None,
        chosen_by: str = "random",
    ) -> None:
        """Store a posted pair the moment its message exists (before its reactions)."""
        await votes.record_pair(
            self.db,
            message_id=message_id,
            guild_id=guild_id,
            channel_id=channel_id,
            face_a=a,
            face_b=b,
            posted_for=posted_for,
            chosen_by=chosen_by,
        )

    async def pair_of(self, message_id: int, guild_id: int) -> Pair:
        pair = await votes.get_pair(self.db, message_id)
        if pair is None or pair.guild_id != guild_id:
            raise NotAPair("errors.not_a_pair")
        return pair

    # -- a member's private place and progress ----------------------------------------

    async def place(self, guild_id: int, user_id: int) -> Place | None:
        return await members.get_place(self.db, guild_id, user_id)

    async def set_place(
        self,
        guild_id: int,
        user_id: int,
        kind: str,
        channel_id: int | None,
        locale: str | None = None,
    ) -> None:
        """Where the member votes, and in which language konomi writes to them there."""
        await members.set_place(self.db, guild_id, user_id, kind, channel_id, locale)

    async def places_channel(self, guild_id: int) -> int | None:
        """The channel an admin chose for members' private threads (None: where /vote
        is used)."""
        record = await guilds.get_guild(self.db, guild_id)
        return record.places_channel_id if record else None

    async def set_places_channel(self, guild_id: int, channel_id: int | None) -> None:
        await guilds.set_places_channel(self.db, guild_id, channel_id)

    async def open_pairs(self, guild_id: int, user_id: int) -> list[Pair]:
        """The member's pairs still waiting for an answer (recent ones: older pairs are
        not watched after downtime either)."""
        since = time.time() - self.settings.voting.catch_up_days * 86400
        return await votes.open_pairs(self.db, guild_id, user_id, since)

    async def skip(self, message_id: int, user_id: int) -> Pair | None:
        """A pass on a pair: no vote. The pair, when it was posted for this member and
        this is their first pass on it (a next pair follows), else None."""
        pair = await votes.skip_pair(self.db, message_id, user_id)
        return pair if pair is not None and pair.posted_for == user_id else None

    async def progress(self, guild_id: int, user_id: int) -> Text:
        """Where a member stands, in one short line: votes so far and what the next
        milestone gives them."""
        worker = self.settings.worker
        count = await votes.count_votes(self.db, guild_id, user_id)
        done = msg("progress.votes", count=count)
        mine = await models.latest_model(self.db, guild_id, user_id)
        if mine is None:
            left = worker.personal_min_votes - count
            if left > 0:
                return msg("progress.before_model", done=done, left=left)
            return msg("progress.model_coming", done=done)
        since = await votes.count_votes(self.db, guild_id, user_id, since=mine.created_at)
        left = worker.user_retrain_votes - since
        if left > 0:
            return msg("progress.before_retrain", done=done, left=left, version=mine.version)
        return msg("progress.retraining", done=done)

    # -- votes from reactions ---------------------------------------------------------

    async def apply(self, events: list[ReactionEvent]) -> list[Recorded | None]:
        """Reaction events in arrival order, written as one group (one transaction).
        A Recorded for each added reaction on a konomi pair of its guild, else None."""
        applied = await votes.apply_reactions(self.db, events)
        return [
            Recorded(done.pair, done.after, _first_on_own(done, event.user_id))
            if done is not None and event.added
            else None
            for event, done in zip(events, applied, strict=True)
        ]

    async def pairs_to_catch_up(
        self, shard_of: Callable[[int], int], shards: set[int]
    ) -> list[Pair]:
        """The pairs whose reactions are checked after downtime (`[voting] catch_up_days`)
        on the gateway shards that were away: a pair's guild says its shard, except in
        DMs, whose reactions come through shard 0."""
        days = self.settings.voting.catch_up_days
        recent = await votes.recent_pairs(self.db, time.time() - days * 86400)
        in_dms = await members.dm_channel_ids(self.db)
        return [
            pair
            for pair in recent
            if (0 if pair.channel_id in in_dms else shard_of(pair.guild_id)) in shards
        ]

    async def reconcile(
        self, pair: Pair, on_discord: dict[int, set[float]], newer: set[int]
    ) -> Reconciled:
        """Make a pair's votes match the reactions on Discord, except for members whose
        live events are newer than the snapshot."""
        return await votes.reconcile(self.db, pair, on_discord, newer)

    async def import_votes(
        self, guild_id: int, text: str, user_id: int | None = None
    ) -> ImportResult:
        """Import votes from CSV (bot/services/vote_import.py says what a good file is):
        the columns `/export` writes (face_a, face_b, outcome, voted_at) and, for an
        admin's import of several members, user_id (else every row is `user_id`'s). All
        rows or none: any bad row refuses the file, each listed with its reason
        (ImportRefused). Votes already stored (the same member, pair and time) are not
        stored again: importing a file twice, or an export back, adds nothing."""
        pool_faces = {
            face.id for face in await pool.list_faces(self.db, guild_id, include_hidden=True)
        }
        rows = parse_votes(text, user_id, pool_faces)
        result = await votes.import_votes(self.db, guild_id, rows, same_vote_key)
        problems = [
            f"member {member} asked konomi to forget them here: their votes are refused"
            for member in sorted(result.forgotten_members)
        ]
        problems += [
            f"face {face} is not in this server's pool" for face in sorted(result.unknown_faces)
        ]
        if problems:
            raise ImportRefused("nothing imported:\n" + "\n".join(problems))
        return result

    # -- scheduled pairs ------------------------------------------------------------

    async def enable_channel(
        self, guild_id: int, channel_id: int, interval_s: float, enabled_by: int
    ) -> None:
        await state.enable_channel(self.db, guild_id, channel_id, interval_s, enabled_by)

    async def disable_channel(self, guild_id: int, channel_id: int) -> bool:
        return await state.disable_channel(self.db, guild_id, channel_id)

    async def channels_due(self, now: float | None = None) -> list[VoteChannel]:
        """Channels whose next scheduled pair is due, each marked posted now (a failed
        post waits for the next interval rather than retrying every few seconds)."""
        now = time.time() if now is None else now
        due = [
            row
            for row in await state.vote_channels(self.db)
            if now - row.last_posted_at >= row.interval_s
        ]
        for row in due:
            await state.mark_posted(self.db, row.channel_id, now)
        return due


def _unseen_pairs(faces: list[int], seen: set[frozenset[int]], count: int) -> list[tuple[int, int]]:
    """Up to `count` distinct random pairs not in `seen` (at least one: the caller
    checked that one exists), each in a random order."""
    found: dict[frozenset[int], tuple[int, int]] = {}
    for _ in range(max(SAMPLING_TRIES, 2 * count)):
        a, b = random.sample(faces, 2)
        if frozenset((a, b)) not in seen:
            found.setdefault(frozenset((a, b)), (a, b))
            if len(found) >= count:
                break
    if found:
        return list(found.values())
    unseen = [
        (a, b) for i, a in enumerate(faces) for b in faces[i + 1 :] if frozenset((a, b)) not in seen
    ]
    return [random.choice(unseen)]


def _first_on_own(applied: Applied, user_id: int) -> bool:
    """The member's first vote on a pair posted for them (a new pair follows it)."""
    return (
        applied.before is None
        and applied.after is not None
        and (applied.pair.posted_for == user_id)
    )
