"""Voting: pairs posted as one image with three reactions; votes from raw reaction events.

Raw events (not on_reaction_add) so that votes count on pairs posted before a restart;
a catch-up at start for the reactions made while konomi was away.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
import random
import time

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.limits import per_member
from bot.loops import resilient
from bot.render import pair_image
from model.images import decode_png
from storage import pool, state, votes

log = logging.getLogger(__name__)

A, B, TIE = (
    "\N{NEGATIVE SQUARED LATIN CAPITAL LETTER A}\ufe0f",
    "\N{NEGATIVE SQUARED LATIN CAPITAL LETTER B}\ufe0f",
    "\N{HANDSHAKE}",
)
OUTCOMES = {A: 1.0, B: 0.0, TIE: 0.5}
REACTION_PAGE = 100  # the most users Discord returns per reaction-list request
HOW_TO_VOTE = f"Which face do you find more appealing? {A} for A, {B} for B, {TIE} if equal."


def outcome_of(emoji: discord.PartialEmoji) -> float | None:
    """The vote a reaction means; the variation selector is optional in clients."""
    if emoji.id is not None:
        return None
    name = emoji.name or ""
    return OUTCOMES.get(name, OUTCOMES.get(name + "\ufe0f"))


class NoPair(Exception):
    """Why no pair can be posted; the message is for the user."""


class Voting(commands.Cog):
    """Pairs, votes from raw reaction events, and the catch-up after downtime.

    Reaction events are written by one writer task in arrival order, so the last
    reaction of a member wins even when events come faster than the database.
    Each start, and each gateway session that could not be resumed, begins with a
    catch-up that reconciles the recent pairs with the reactions on Discord.
    """

    def __init__(self, bot) -> None:
        self.bot = bot
        self._pending: set[asyncio.Task] = set()
        self._writes: asyncio.Queue = asyncio.Queue()
        self._writer: asyncio.Task | None = None
        self._arrivals = 0  # reaction events received so far
        # While a catch-up runs: message -> member -> arrival of their latest live event.
        self._live: dict[int, dict[int, int]] | None = None
        self._catching_up: asyncio.Task | None = None
        self._catch_up_again = False

    async def cog_load(self) -> None:
        self._writer = asyncio.create_task(self._write_in_order())
        self.scheduled_pairs.start()

    async def cog_unload(self) -> None:
        self.scheduled_pairs.cancel()
        if self._catching_up is not None:
            self._catching_up.cancel()
        await self._writes.join()  # every reaction received is written before we stop
        if self._writer is not None:
            self._writer.cancel()
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)

    @property
    def db(self):
        return self.bot.db

    async def choose_pair(self, guild_id: int, user_id: int | None) -> tuple[int, int]:
        """A random pair of visible pool faces this user has not seen together yet."""
        faces = [face.id for face in await pool.list_faces(self.db, guild_id)]
        if len(faces) < 2:
            raise NoPair(
                "The face pool is empty or has a single face: an admin can add faces with "
                "`/pool add` (or `python -m bot ingest`)."
                if not faces
                else "The face pool has only one face: pairs need at least two."
            )
        seen = await votes.seen_pairs(self.db, guild_id, user_id) if user_id else set()
        total = len(faces) * (len(faces) - 1) // 2
        if len(seen) >= total:
            raise NoPair("You have voted on every pair in this pool. Thank you!")
        for _ in range(200):
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

    async def render_pair(self, guild_id: int, a: int, b: int) -> discord.File:
        crops = await pool.face_crops(self.db, guild_id, [a, b])
        png = await asyncio.to_thread(
            lambda: pair_image(decode_png(crops[a]), decode_png(crops[b]), a, b)
        )
        return discord.File(io.BytesIO(png), filename=f"pair-{a}-{b}.png")

    async def post_pair(
        self, channel: discord.abc.Messageable, guild_id: int, user: discord.abc.User | None
    ) -> discord.Message:
        """Post a pair, store it the moment it exists, then add the three reactions."""
        a, b = await self.choose_pair(guild_id, user.id if user else None)
        intro = f"{user.mention} " if user else ""
        message = await channel.send(
            intro + HOW_TO_VOTE, file=await self.render_pair(guild_id, a, b)
        )
        await self.remember(message, guild_id, a, b, user)
        await self.add_reactions(message)
        return message

    async def remember(
        self, message: discord.Message, guild_id: int, a: int, b: int, user: discord.abc.User | None
    ) -> None:
        await votes.record_pair(
            self.db,
            message_id=message.id,
            guild_id=guild_id,
            channel_id=message.channel.id,
            face_a=a,
            face_b=b,
            posted_for=user.id if user else None,
        )

    async def add_reactions(self, message: discord.Message) -> None:
        for emoji in (A, B, TIE):
            await message.add_reaction(emoji)

    @app_commands.command(
        name="vote", description="Vote on pairs of faces; a new pair follows each vote"
    )
    @app_commands.guild_only()
    @per_member("vote")
    async def vote(self, interaction: discord.Interaction) -> None:
        try:
            a, b = await self.choose_pair(interaction.guild_id, interaction.user.id)
        except NoPair as reason:
            await interaction.response.send_message(str(reason), ephemeral=True)
            return
        await interaction.response.defer(thinking=True)  # rendering may take longer than 3 s
        file = await self.render_pair(interaction.guild_id, a, b)
        message = await interaction.followup.send(HOW_TO_VOTE, file=file, wait=True)
        await self.remember(message, interaction.guild_id, a, b, interaction.user)
        await self.add_reactions(message)

    # -- votes from reactions ------------------------------------------------------

    def _spawn(self, coroutine) -> None:
        task = asyncio.create_task(coroutine)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        self._receive(payload, added=True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        self._receive(payload, added=False)

    def _receive(self, payload: discord.RawReactionActionEvent, added: bool) -> None:
        """Queue a reaction event for the writer (no await: arrival order is kept)."""
        if payload.user_id == self.bot.user.id or payload.guild_id is None:
            return
        outcome = outcome_of(payload.emoji)
        if outcome is None:
            return
        self._arrivals += 1
        if self._live is not None:
            self._live.setdefault(payload.message_id, {})[payload.user_id] = self._arrivals
        self._writes.put_nowait(functools.partial(self._apply, payload, outcome, added))

    async def _write_in_order(self) -> None:
        """The one writer of votes: reaction events and catch-up results, in order."""
        while True:
            write = await self._writes.get()
            try:
                await write()
            except Exception:
                log.exception("a vote could not be written")
            finally:
                self._writes.task_done()

    async def _apply(
        self, payload: discord.RawReactionActionEvent, outcome: float, added: bool
    ) -> None:
        pair = await votes.get_pair(self.db, payload.message_id)
        if pair is None or pair.guild_id != payload.guild_id:
            return  # not a konomi pair
        if not added:
            await votes.unreact(self.db, pair, payload.user_id, outcome)
            return
        before, after = await votes.react(self.db, pair, payload.user_id, outcome)
        log.debug("vote recorded on pair %s", pair.message_id)
        first = before is None and after is not None
        if first and pair.posted_for == payload.user_id and payload.member is not None:
            self._spawn(self.next_pair(pair, payload.member))

    async def next_pair(self, pair: votes.Pair, member: discord.Member) -> None:
        """A new pair for a member who voted on the one posted for them."""
        channel = await self.bot.channel(pair.channel_id)
        if channel is None or self.bot.is_closed():
            return
        try:
            await self.post_pair(channel, pair.guild_id, member)
        except NoPair as reason:
            await channel.send(f"{member.mention} {reason}")
        except discord.Forbidden:
            log.warning(
                "cannot post the next pair in channel %s: missing permission", pair.channel_id
            )

    # -- catch-up after downtime ----------------------------------------------------

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """At start, and after every gateway session that could not be resumed: Discord
        never replays the reactions made in the gap."""
        if self._catching_up is not None and not self._catching_up.done():
            self._catch_up_again = True
            return
        self._catching_up = asyncio.create_task(self.catch_up())

    async def catch_up(self) -> None:
        """Reconcile the votes of recent pairs with the reactions on Discord (again, if
        another unresumed session began meanwhile)."""
        while True:
            self._catch_up_again = False
            try:
                await self._catch_up_once()
            except Exception:
                log.exception("the vote catch-up failed; it runs again at the next start")
            if not self._catch_up_again:
                return

    async def _catch_up_once(self) -> None:
        days = self.bot.settings.voting.catch_up_days
        pairs = await votes.recent_pairs(self.db, time.time() - days * 86400)
        self._live = {}
        added = changed = withdrawn = unreachable = 0
        try:
            for pair in pairs:
                if self.bot.get_guild(pair.guild_id) is None:
                    continue
                seen_until = self._arrivals
                try:
                    on_discord = await self.reactors(pair)
                except (discord.NotFound, discord.Forbidden):
                    unreachable += 1  # deleted, or the channel is no longer visible
                    continue
                done = asyncio.get_running_loop().create_future()
                self._writes.put_nowait(
                    functools.partial(self._reconcile, pair, on_discord, seen_until, done)
                )
                result = await done
                added += result.added
                changed += result.changed
                withdrawn += result.withdrawn
        finally:
            self._live = None
        log.info(
            "vote catch-up: %d pairs of the last %g days checked (%d no longer reachable): "
            "%d votes added, %d changed, %d withdrawn",
            len(pairs),
            days,
            unreachable,
            added,
            changed,
            withdrawn,
        )

    async def _reconcile(
        self,
        pair: votes.Pair,
        on_discord: dict[int, set[float]],
        seen_until: int,
        done: asyncio.Future,
    ) -> None:
        """In the writer: live events newer than the snapshot win over it."""
        live = (self._live or {}).get(pair.message_id, {})
        newer = {user for user, arrival in live.items() if arrival > seen_until}
        try:
            result = await votes.reconcile(self.db, pair, on_discord, newer)
        except Exception as error:
            if not done.done():  # a catch-up cancelled at shutdown no longer waits
                done.set_exception(error)
            raise
        if not done.done():
            done.set_result(result)

    async def reactors(self, pair: votes.Pair) -> dict[int, set[float]]:
        """Member -> the vote reactions they have on the pair's message, read from
        Discord's reaction lists (pages of 100, discord.py paces the requests)."""
        found: dict[int, set[float]] = {}
        for emoji, outcome in OUTCOMES.items():
            after = None
            while True:
                page = await self.bot.http.get_reaction_users(
                    pair.channel_id, pair.message_id, emoji, REACTION_PAGE, after=after
                )
                for user in page:
                    if int(user["id"]) != self.bot.user.id:
                        found.setdefault(int(user["id"]), set()).add(outcome)
                if len(page) < REACTION_PAGE:
                    break
                after = int(page[-1]["id"])
        return found

    # -- scheduled pairs -----------------------------------------------------------

    @tasks.loop(seconds=5)
    @resilient("scheduled pairs")
    async def scheduled_pairs(self) -> None:
        now = time.time()
        for channel_row in await state.vote_channels(self.db):
            if now - channel_row.last_posted_at < channel_row.interval_s:
                continue
            await state.mark_posted(self.db, channel_row.channel_id, now)
            channel = await self.bot.channel(channel_row.channel_id)
            if channel is None:
                continue
            try:
                await self.post_pair(channel, channel_row.guild_id, None)
            except NoPair:
                continue
            except discord.Forbidden:
                await self.bot.report_missing_permission(channel_row, channel)

    @scheduled_pairs.before_loop
    async def _wait_ready(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot) -> None:
    await bot.add_cog(Voting(bot))


__all__ = ["A", "B", "TIE", "Voting"]
