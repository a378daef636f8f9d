"""Voting: which pair to show, and what a reaction means for the vote it records.

The cog turns Discord's reaction events into these calls (in arrival order, through
its one writer); every rule of a vote lives here and in storage: latest remaining
reaction wins, removal withdraws, a forgotten person's old reactions never count.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import aiosqlite

from bot import render
from bot.config import Settings
from bot.services.errors import EveryPairSeen, NotAPair, PoolTooSmall
from model.images import decode_png
from storage import pool, state, votes
from storage.state import VoteChannel
from storage.votes import Pair, Reconciled

__all__ = ["Pair", "Reconciled", "Recorded", "VoteChannel", "VotingService"]

SAMPLING_TRIES = 200  # random draws before listing the unseen pairs outright


@dataclass(frozen=True)
class Recorded:
    """A reaction applied to a konomi pair."""

    pair: Pair
    vote: float | None  # the member's vote on the pair after it
    first_on_own_pair: bool  # the member's first vote on a pair posted for them


class VotingService:
    def __init__(self, db: aiosqlite.Connection, settings: Settings) -> None:
        self.db = db
        self.settings = settings

    # -- pairs ----------------------------------------------------------------------

    async def choose_pair(self, guild_id: int, user_id: int | None) -> tuple[int, int]:
        """A random pair of visible pool faces this person has not seen together yet."""
        faces = [face.id for face in await pool.list_faces(self.db, guild_id)]
        if len(faces) < 2:
            raise PoolTooSmall(
                "The face pool is empty or has a single face: an admin can add faces with "
                "`/pool add` (or `python -m bot ingest`)."
                if not faces
                else "The face pool has only one face: pairs need at least two."
            )
        seen = await votes.seen_pairs(self.db, guild_id, user_id) if user_id else set()
        if len(seen) >= len(faces) * (len(faces) - 1) // 2:
            raise EveryPairSeen("You have voted on every pair in this pool. Thank you!")
        for _ in range(SAMPLING_TRIES):
            a, b = random.sample(faces, 2)
            if frozenset((a, b)) not in seen:
                return a, b
        unseen = [
            (a, b)
            for i, a in enumerate(faces)
            for b in faces[i + 1 :]
            if frozenset((a, b)) not in seen
        ]
        return random.choice(unseen)

    async def pair_image(self, guild_id: int, a: int, b: int) -> bytes:
        """The PNG people vote on: both faces side by side, labelled A and B."""
        crops = await pool.face_crops(self.db, guild_id, [a, b])
        return await asyncio.to_thread(
            lambda: render.pair_image(decode_png(crops[a]), decode_png(crops[b]), a, b)
        )

    async def remember(
        self,
        message_id: int,
        guild_id: int,
        channel_id: int,
        a: int,
        b: int,
        posted_for: int | None,
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
        )

    async def pair_of(self, message_id: int, guild_id: int) -> Pair:
        pair = await votes.get_pair(self.db, message_id)
        if pair is None or pair.guild_id != guild_id:
            raise NotAPair("That message is not a konomi pair. Use `/report` with the face id.")
        return pair

    # -- votes from reactions ---------------------------------------------------------

    async def record(
        self, message_id: int, guild_id: int, user_id: int, outcome: float
    ) -> Recorded | None:
        """A vote reaction was added; None when the message is no pair of this guild."""
        pair = await votes.get_pair(self.db, message_id)
        if pair is None or pair.guild_id != guild_id:
            return None
        before, after = await votes.react(self.db, pair, user_id, outcome)
        first = before is None and after is not None
        return Recorded(pair, after, first and pair.posted_for == user_id)

    async def withdraw(self, message_id: int, guild_id: int, user_id: int, outcome: float) -> None:
        """A vote reaction was removed: the vote falls back to the member's latest
        remaining reaction, or is withdrawn."""
        pair = await votes.get_pair(self.db, message_id)
        if pair is not None and pair.guild_id == guild_id:
            await votes.unreact(self.db, pair, user_id, outcome)

    async def pairs_to_catch_up(self) -> list[Pair]:
        """The pairs whose reactions are checked after downtime (`[voting] catch_up_days`)."""
        days = self.settings.voting.catch_up_days
        return await votes.recent_pairs(self.db, time.time() - days * 86400)

    async def reconcile(
        self, pair: Pair, on_discord: dict[int, set[float]], newer: set[int]
    ) -> Reconciled:
        """Make a pair's votes match the reactions on Discord, except for members whose
        live events are newer than the snapshot."""
        return await votes.reconcile(self.db, pair, on_discord, newer)

    # -- scheduled pairs ------------------------------------------------------------

    async def enable_channel(
        self, guild_id: int, channel_id: int, interval_s: float, enabled_by: int
    ) -> None:
        await state.enable_channel(self.db, guild_id, channel_id, interval_s, enabled_by)

    async def disable_channel(self, guild_id: int, channel_id: int) -> bool:
        return await state.disable_channel(self.db, guild_id, channel_id)

    async def channels(self, guild_id: int) -> list[VoteChannel]:
        return await state.vote_channels(self.db, guild_id)

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
