"""Voting: pairs posted as one image with four reactions (A, B, equal, skip) in each
member's private place (their own private thread, or their DMs); votes from raw
reaction events.

Raw events (not on_reaction_add) so that votes count on pairs posted before a restart,
in threads and DMs alike; a catch-up at start for the reactions made while konomi was
away. No pair message mentions anyone: a member is pinged once, when their place opens.
"""

from __future__ import annotations

import asyncio
import functools
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands, tasks

from bot.discord_adapter.limits import per_member
from bot.discord_adapter.loops import resilient
from bot.discord_adapter.replies import answers_first
from bot.i18n import t
from bot.services.errors import UserError
from bot.services.voting import ChosenPair, Pair, ReactionEvent

if TYPE_CHECKING:
    from bot.discord_adapter.app import KonomiBot

log = logging.getLogger(__name__)

A, B, TIE, SKIP = (
    "\N{NEGATIVE SQUARED LATIN CAPITAL LETTER A}\ufe0f",
    "\N{NEGATIVE SQUARED LATIN CAPITAL LETTER B}\ufe0f",
    "\N{HANDSHAKE}",
    "\N{BLACK RIGHT-POINTING DOUBLE TRIANGLE WITH VERTICAL BAR}\ufe0f",
)
OUTCOMES = {A: 1.0, B: 0.0, TIE: 0.5}
REACTION_PAGE = 100  # the most users Discord returns per reaction-list request
PLACE_CHOICES = [
    app_commands.Choice(name=locale_str("my private thread"), value="thread"),
    app_commands.Choice(name=locale_str("my direct messages"), value="dm"),
]
_SKIPPED = -1.0  # what outcome_of says of the skip reaction


@dataclass(frozen=True)
class _Reaction:
    """A vote reaction event waiting for the writer."""

    event: ReactionEvent


def outcome_of(emoji: discord.PartialEmoji) -> float | None:
    """The vote a reaction means (_SKIPPED for a pass, None for any other emoji); the
    variation selector is optional in clients."""
    if emoji.id is not None:
        return None
    name = emoji.name or ""
    for known, outcome in (*OUTCOMES.items(), (SKIP, _SKIPPED)):
        if name in (known, known.removesuffix("\ufe0f")):
            return outcome
    return None


def is_private_place(channel: object) -> bool:
    return isinstance(channel, discord.Thread | discord.DMChannel)


def thread_parent(channel):
    """The channel private threads open under: a thread's parent, else the channel."""
    return channel.parent if isinstance(channel, discord.Thread) else channel


def jump_url(guild_id: int | None, channel_id: int, message_id: int) -> str:
    return f"https://discord.com/channels/{guild_id or '@me'}/{channel_id}/{message_id}"


class Voting(commands.Cog):
    """Pairs, votes from raw reaction events, and the catch-up after downtime.

    Reaction events are written by one writer task in arrival order, so the last
    reaction of a member wins even when events come faster than the database.
    Each start, and each shard's gateway session that could not be resumed, begins with
    a catch-up that reconciles that shard's recent pairs with the reactions on Discord.
    """

    def __init__(self, bot: KonomiBot) -> None:
        self.bot = bot
        self.voting = bot.service.voting
        self._pending: set[asyncio.Task] = set()
        self._writes: asyncio.Queue = asyncio.Queue()
        self._writer: asyncio.Task | None = None
        self._arrivals = 0  # reaction events received so far
        # While a catch-up runs: message -> member -> arrival of their latest live event.
        self._live: dict[int, dict[int, int]] | None = None
        self._catching_up: asyncio.Task | None = None
        self._shards_to_catch_up: set[int] = set()

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

    async def pair_file(self, guild_id: int, a: int, b: int, locale: object) -> discord.File:
        png = await self.voting.pair_image(guild_id, a, b, locale)
        return discord.File(io.BytesIO(png), filename=f"pair-{a}-{b}.png")

    async def post_pair(
        self,
        channel: discord.abc.Messageable | None,
        guild_id: int,
        user_id: int | None,
        locale: object,
        pair: ChosenPair | None = None,
        send: Callable[..., Awaitable[discord.Message]] | None = None,
    ) -> discord.Message:
        """Post a pair in `locale`'s language (with the member's progress when it is in
        their private place), store it the moment it exists, then add the four reactions.
        `pair`: one already chosen; `send`: how to post it when not by `channel` (an
        interaction's followup)."""
        pair = pair or await self.voting.choose_pair(guild_id, user_id)
        content = t(locale, "vote.how_to", a=A, b=B, tie=TIE, skip=SKIP)
        if user_id is not None and is_private_place(channel):
            content += "\n" + (await self.voting.progress(guild_id, user_id)).render(locale)
        file = await self.pair_file(guild_id, pair.a, pair.b, locale)
        message = await (send or channel.send)(content, file=file)
        await self.remember(message, guild_id, pair, user_id)
        await self.add_reactions(message)
        return message

    async def remember(
        self, message: discord.Message, guild_id: int, pair: ChosenPair, user_id: int | None
    ) -> None:
        await self.voting.remember(
            message.id, guild_id, message.channel.id, pair.a, pair.b, user_id, pair.chosen_by
        )

    async def add_reactions(self, message: discord.Message) -> None:
        for emoji in (A, B, TIE, SKIP):
            await message.add_reaction(emoji)

    @app_commands.command(
        name=locale_str("vote"),
        description=locale_str("Vote on pairs of faces in private; a new pair follows each vote"),
    )
    @app_commands.rename(place=locale_str("place"))
    @app_commands.describe(
        place=locale_str(
            "Where your pairs go: your private thread (the default) or your direct "
            "messages; remembered for next time"
        )
    )
    @app_commands.choices(place=PLACE_CHOICES)
    @app_commands.guild_only()
    @per_member("vote")
    @answers_first
    async def vote(
        self, interaction: discord.Interaction, place: app_commands.Choice[str] | None = None
    ) -> None:
        guild_id, member, locale = interaction.guild_id, interaction.user, interaction.locale
        waiting = await self.voting.open_pairs(guild_id, member.id)
        if place is None and len(waiting) >= self.bot.settings.voting.open_pairs_per_member:
            link = await self._link(waiting[0])
            await interaction.followup.send(
                t(locale, "vote.waiting", link=link, skip=SKIP), ephemeral=True
            )
            return
        # Chosen before a place opens: refusals (an empty pool, every pair seen) reach
        # the tree's error handler, and no thread is opened for nothing.
        pair = await self.voting.choose_pair(guild_id, member.id)
        channel, why_not = await self.place_for(interaction, place.value if place else None)
        if channel is None:
            await interaction.followup.send(why_not, ephemeral=True)
            public = functools.partial(interaction.followup.send, wait=True)
            await self.post_pair(None, guild_id, member.id, locale, pair, send=public)
            return
        message = await self.post_pair(channel, guild_id, member.id, locale, pair)
        if isinstance(channel, discord.DMChannel):
            text = t(locale, "vote.posted_in_dms", link=message.jump_url)
        else:
            text = t(locale, "vote.posted_in_thread", thread=channel.mention, link=message.jump_url)
        await interaction.followup.send(text, ephemeral=True)

    async def _link(self, pair: Pair) -> str:
        place = await self.voting.place(pair.guild_id, pair.posted_for or 0)
        in_dm = place is not None and place.kind == "dm" and place.channel_id == pair.channel_id
        return jump_url(None if in_dm else pair.guild_id, pair.channel_id, pair.message_id)

    async def place_for(
        self, interaction: discord.Interaction, kind: str | None
    ) -> tuple[discord.abc.Messageable | None, str]:
        """The member's private place (`kind`, else the one they chose before, else a
        private thread), opened when it does not exist yet; None and what to do when
        konomi may not open it. Remembers the member's language for what konomi posts
        there unasked."""
        guild_id, member, locale = interaction.guild_id, interaction.user, interaction.locale
        stored = await self.voting.place(guild_id, member.id)
        kind = kind or (stored.kind if stored else "thread")
        channel, why_not = None, ""
        if stored is not None and stored.kind == kind and stored.channel_id:
            channel = await self.bot.channel(stored.channel_id)
        if channel is None and kind == "dm":
            channel, why_not = await self._open_dm(member, locale)
        elif channel is None:
            channel, why_not = await self._open_thread(interaction)
        if channel is not None:
            chosen = (kind, channel.id, str(locale))
            if stored is None or (stored.kind, stored.channel_id, stored.locale) != chosen:
                await self.voting.set_place(guild_id, member.id, *chosen)
        return channel, why_not

    async def _open_dm(
        self, member: discord.abc.User, locale: object
    ) -> tuple[discord.DMChannel | None, str]:
        try:
            channel = await member.create_dm()
            await channel.send(t(locale, "vote.dm_opened", skip=SKIP))
        except discord.HTTPException:
            return None, t(locale, "vote.no_dms")
        return channel, ""

    async def _open_thread(
        self, interaction: discord.Interaction
    ) -> tuple[discord.Thread | None, str]:
        chosen = await self.voting.places_channel(interaction.guild_id)
        parent = (await self.bot.channel(chosen)) if chosen else None
        parent = thread_parent(parent or interaction.channel)
        member, locale = interaction.user, interaction.locale
        try:
            thread = await parent.create_thread(
                name=t(locale, "vote.thread_name", name=member.display_name)[:100],
                type=discord.ChannelType.private_thread,
                invitable=False,
                auto_archive_duration=self.bot.settings.voting.thread_archive_minutes,
            )
            await thread.add_user(member)
            await thread.send(
                t(locale, "vote.thread_opened", mention=member.mention),
                allowed_mentions=discord.AllowedMentions(users=True),
            )
        except (discord.Forbidden, AttributeError):
            name = getattr(parent, "mention", None) or t(locale, "vote.this_channel")
            return None, t(locale, "vote.no_thread", channel=name)
        return thread, ""

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
        """Queue a vote reaction event for the writer (no await: arrival order is kept);
        in a DM it carries no guild, and the pair's own is used."""
        if payload.user_id == self.bot.user.id:
            return
        outcome = outcome_of(payload.emoji)
        if outcome is None:
            return
        if outcome == _SKIPPED:
            if added:
                self._spawn(self._skipped(payload.message_id, payload.user_id))
            return
        self._arrivals += 1
        if self._live is not None:
            self._live.setdefault(payload.message_id, {})[payload.user_id] = self._arrivals
        event = ReactionEvent(payload.message_id, payload.guild_id, payload.user_id, outcome, added)
        self._writes.put_nowait(_Reaction(event))

    async def _skipped(self, message_id: int, user_id: int) -> None:
        """A pass: no vote; the next pair follows when it was the member's own pair."""
        pair = await self.voting.skip(message_id, user_id)
        if pair is not None:
            await self.next_pair(pair, user_id)

    async def _write_in_order(self) -> None:
        """The one writer of votes: reaction events and catch-up results, in order.
        Reaction events already waiting are written together, up to `[voting]
        write_group` in one transaction; a catch-up's write waits its turn between them."""
        held = None
        while True:
            item, held = held or await self._writes.get(), None
            group = [item]
            while (
                isinstance(item, _Reaction)
                and len(group) < self.bot.settings.voting.write_group
                and not self._writes.empty()
            ):
                following = self._writes.get_nowait()
                if not isinstance(following, _Reaction):
                    held = following
                    break
                group.append(following)
            try:
                await (self._apply(group) if isinstance(item, _Reaction) else item())
            except Exception:
                log.exception("%d votes could not be written", len(group))
            finally:
                for _ in group:
                    self._writes.task_done()

    async def _apply(self, group: list[_Reaction]) -> None:
        recorded = await self.voting.apply([reaction.event for reaction in group])
        for reaction, result in zip(group, recorded, strict=True):
            if result and result.first_on_own_pair:
                self._spawn(self.next_pair(result.pair, reaction.event.user_id))

    async def next_pair(self, pair: Pair, user_id: int) -> None:
        """A new pair, where the last one was, for a member who answered the one posted
        for them; none while `[voting] open_pairs_per_member` of theirs still wait."""
        waiting = await self.voting.open_pairs(pair.guild_id, user_id)
        if len(waiting) >= self.bot.settings.voting.open_pairs_per_member:
            return
        channel = await self.bot.channel(pair.channel_id)
        if channel is None or self.bot.is_closed():
            return
        locale = await self.bot.member_locale(pair.guild_id, user_id)
        try:
            await self.post_pair(channel, pair.guild_id, user_id, locale)
        except UserError as reason:
            await channel.send(reason.render(locale))
        except discord.Forbidden:
            log.warning(
                "cannot post the next pair in channel %s: missing permission", pair.channel_id
            )

    # -- catch-up after downtime ----------------------------------------------------

    @commands.Cog.listener()
    async def on_shard_ready(self, shard_id: int) -> None:
        """At start, and after every shard's gateway session that could not be resumed
        (the other shards serve on): Discord never replays the reactions made in the gap."""
        self._shards_to_catch_up.add(shard_id)
        if self._catching_up is None or self._catching_up.done():
            self._catching_up = asyncio.create_task(self.catch_up())

    async def catch_up(self) -> None:
        """Reconcile the votes of recent pairs with the reactions on Discord, for the
        shards that asked (and again for any that asked meanwhile)."""
        while self._shards_to_catch_up:
            shards, self._shards_to_catch_up = self._shards_to_catch_up, set()
            try:
                await self._catch_up_once(shards)
            except Exception:
                log.exception("the vote catch-up failed; it runs again at the next start")

    async def _catch_up_once(self, shards: set[int]) -> None:
        days = self.bot.settings.voting.catch_up_days
        pairs = await self.voting.pairs_to_catch_up(self.bot.shard_of, shards)
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
            "vote catch-up for shards %s: %d pairs of the last %g days checked (%d no longer "
            "reachable): %d votes added, %d changed, %d withdrawn",
            sorted(shards),
            len(pairs),
            days,
            unreachable,
            added,
            changed,
            withdrawn,
        )

    async def _reconcile(
        self,
        pair: Pair,
        on_discord: dict[int, set[float]],
        seen_until: int,
        done: asyncio.Future,
    ) -> None:
        """In the writer: live events newer than the snapshot win over it."""
        live = (self._live or {}).get(pair.message_id, {})
        newer = {user for user, arrival in live.items() if arrival > seen_until}
        try:
            result = await self.voting.reconcile(pair, on_discord, newer)
        except Exception as error:
            if not done.done():  # a catch-up cancelled at shutdown no longer waits
                done.set_exception(error)
            raise
        if not done.done():
            done.set_result(result)

    async def reactors(self, pair: Pair) -> dict[int, set[float]]:
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
        for channel_row in await self.voting.channels_due():
            channel = await self.bot.channel(channel_row.channel_id)
            if channel is None:
                continue
            try:
                await self.post_pair(
                    channel, channel_row.guild_id, None, self.bot.guild_locale(channel_row.guild_id)
                )
            except UserError:
                continue  # nothing to post (yet)
            except discord.Forbidden:
                await self.bot.report_missing_permission(channel_row, channel)

    @scheduled_pairs.before_loop
    async def _wait_ready(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: KonomiBot) -> None:
    await bot.add_cog(Voting(bot))


__all__ = ["A", "B", "SKIP", "TIE", "Voting"]
