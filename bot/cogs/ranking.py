"""/rank and the "Rank these images" message command: order uploads by the caller's taste."""

from __future__ import annotations

import asyncio
import io
import logging

import discord
import numpy as np
from discord import app_commands
from discord.ext import commands

from bot.limits import per_member
from bot.render import ranking_sheet
from bot.uploads import download

log = logging.getLogger(__name__)

MAX_IMAGES = 10


class Ranking(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name="Rank these images", callback=self.rank_message)
        self.menu.guild_only = True
        # Ranking work at once in the whole bot, ahead of the image helpers.
        self.slots = asyncio.Semaphore(bot.settings.limits.concurrent_ranks)

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    @app_commands.command(name="rank", description="Rank up to 10 images by your taste (private)")
    @app_commands.guild_only()
    @per_member("rank")
    @app_commands.describe(public="Show the ranking to the channel (default: only you)")
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
    async def rank_message(
        self, interaction: discord.Interaction, message: discord.Message
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        if not message.attachments:
            await interaction.followup.send(
                "That message has no attached images to rank.", ephemeral=True
            )
            return
        await self.answer(interaction, list(message.attachments[:MAX_IMAGES]))

    async def answer(
        self, interaction: discord.Interaction, attachments: list[discord.Attachment]
    ) -> None:
        async with self.slots:  # downloads included: waiting requests hold no bytes
            await self._answer(interaction, attachments)

    async def _answer(
        self, interaction: discord.Interaction, attachments: list[discord.Attachment]
    ) -> None:
        service = self.bot.service
        limit = min(self.bot.settings.images.max_bytes, interaction.filesize_limit or 1 << 62)
        downloaded, failed = await download(attachments, limit)
        uploads, unreadable = await service.prepare_uploads(downloaded)
        problems = [f"**{name}**: {reason}" for name, reason in failed + unreadable]
        if not uploads:
            await interaction.followup.send(
                "Nothing could be ranked:\n" + "\n".join(problems), ephemeral=True
            )
            return
        crops = np.stack([u.crop for u in uploads])
        names = [u.name for u in uploads]
        notes = ["" if u.face_found else " (no face found: the whole image)" for u in uploads]
        ranking = await service.rank(interaction.guild_id, interaction.user.id, crops)
        if ranking is None:
            await interaction.followup.send(
                "This server has no model yet: vote on some pairs with `/vote`, then an "
                "admin or anyone can `/retrain`.",
                ephemeral=True,
            )
            return
        order = np.argsort(-ranking.scores, kind="stable")
        sheet = await asyncio.to_thread(
            ranking_sheet,
            [crops[i] for i in order],
            [names[i] for i in order],
            [float(ranking.beats_median[i]) for i in order],
        )
        who = (
            f"your model (v{ranking.model.version})"
            if ranking.personal
            else f"the server's model (v{ranking.model.version}) — you have no model of your own "
            "yet: vote with `/vote`, then `/retrain`"
        )
        lines = [f"Ranked by {who}:"]
        lines += [
            f"{place}. {names[i]}{notes[i]} — beats the pool's median face with "
            f"P = {ranking.beats_median[i]:.0%}"
            for place, i in enumerate(order, 1)
        ]
        if problems:
            lines += ["Not ranked:"] + problems
        await interaction.followup.send(
            "\n".join(lines)[:1990], file=discord.File(io.BytesIO(sheet), "ranking.png")
        )


async def setup(bot) -> None:
    await bot.add_cog(Ranking(bot))
