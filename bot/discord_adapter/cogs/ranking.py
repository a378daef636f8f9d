"""/rank and the "Rank these images" message command: order uploads by the caller's taste."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str
from discord.ext import commands

from bot.discord_adapter.limits import per_member
from bot.discord_adapter.loops import InFlight
from bot.discord_adapter.replies import answers_first
from bot.discord_adapter.uploads import download
from bot.i18n import FileProblems, t
from bot.services.render import preference

if TYPE_CHECKING:
    from bot.discord_adapter.app import KonomiBot

log = logging.getLogger(__name__)

MAX_IMAGES = 10


class Ranking(commands.Cog):
    """/rank and its message command: download, rank through the service, reply."""

    def __init__(self, bot: KonomiBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(
            name=locale_str("Rank these images"), callback=self.rank_message
        )
        self.menu.guild_only = True
        # Ranking work at once in the whole bot, ahead of the image helpers.
        self.slots = asyncio.Semaphore(bot.settings.limits.concurrent_ranks)
        self.in_flight = InFlight()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
        await self.in_flight.abandon()

    @app_commands.command(
        name=locale_str("rank"),
        description=locale_str("Rank up to 10 images by your taste (private)"),
    )
    @app_commands.guild_only()
    @per_member("rank")
    @app_commands.rename(
        **{f"image{n}": locale_str(f"image{n}") for n in range(1, 11)},
        public=locale_str("public"),
    )
    @app_commands.describe(
        image1=locale_str("An image to rank (its largest face is what counts; up to 10 MB)"),
        **{f"image{n}": locale_str("Another image to rank") for n in range(2, 11)},
        public=locale_str("Show the ranking to the channel (default: only you)"),
    )
    async def rank(
        self,
        interaction: discord.Interaction,
        image1: discord.Attachment,
        image2: discord.Attachment | None = None,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
        image6: discord.Attachment | None = None,
        image7: discord.Attachment | None = None,
        image8: discord.Attachment | None = None,
        image9: discord.Attachment | None = None,
        image10: discord.Attachment | None = None,
        public: bool = False,
    ) -> None:
        # Defer before anything else: downloads and decoding may take longer than 3 s.
        await interaction.response.defer(ephemeral=not public, thinking=True)
        attachments = [
            a
            for a in (
                image1,
                image2,
                image3,
                image4,
                image5,
                image6,
                image7,
                image8,
                image9,
                image10,
            )
            if a is not None
        ]
        await self.answer(interaction, attachments)

    @per_member("rank")
    @answers_first
    async def rank_message(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        if not message.attachments:
            await interaction.followup.send(
                t(interaction.locale, "rank.no_attachments"), ephemeral=True
            )
            return
        await self.answer(interaction, list(message.attachments[:MAX_IMAGES]))

    async def answer(
        self, interaction: discord.Interaction, attachments: list[discord.Attachment]
    ) -> None:
        with self.in_flight.track():
            async with self.slots:  # downloads included: waiting requests hold no bytes
                await self._answer(interaction, attachments)

    async def _answer(
        self, interaction: discord.Interaction, attachments: list[discord.Attachment]
    ) -> None:
        limit = min(self.bot.settings.images.max_bytes, interaction.filesize_limit or 1 << 62)
        began = time.perf_counter()
        downloaded, failed = await download(attachments, limit)
        downloaded_at = time.perf_counter()
        await self.bot.models_ready()
        ranked = await self.bot.service.ranking.rank_files(
            interaction.guild_id, interaction.user.id, downloaded, failed
        )
        ranked_at = time.perf_counter()
        sheet = await asyncio.to_thread(ranked.sheet)
        drawn_at = time.perf_counter()
        locale = interaction.locale  # the asker's language, also when shown to the channel
        who = t(
            locale,
            "rank.by_yours" if ranked.personal else "rank.by_servers",
            version=ranked.version,
        )
        lines = [t(locale, "rank.heading", who=who)]
        lines += [
            t(
                locale,
                "rank.line",
                place=place,
                name=upload.name,
                chance=f"{chance:.0%}",
                words=preference(chance),
            )
            + ("" if upload.face_found else t(locale, "rank.no_face"))
            for place, (upload, chance) in enumerate(
                zip(ranked.uploads, ranked.beats_median, strict=True), 1
            )
        ]
        if ranked.problems:
            lines += [
                t(locale, "rank.not_ranked"),
                FileProblems(tuple(ranked.problems)).render(locale),
            ]
        await interaction.followup.send(
            "\n".join(lines)[:1990], file=discord.File(io.BytesIO(sheet), "ranking.png")
        )
        log.info(
            "ranked %d files (%d not): download %.3f s, helpers %.3f s, scoring %.3f s, "
            "sheet %.3f s, Discord %.3f s",
            len(ranked.uploads),
            len(ranked.problems),
            downloaded_at - began,
            ranked.seconds.get("helpers", 0.0),
            ranked.seconds.get("scoring", 0.0),
            drawn_at - ranked_at,
            time.perf_counter() - drawn_at,
        )


async def setup(bot: KonomiBot) -> None:
    await bot.add_cog(Ranking(bot))
