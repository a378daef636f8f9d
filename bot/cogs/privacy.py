"""What konomi knows about you, and making it forget: /stats, /mytaste, /export, /forget, /help.

Every reply here is ephemeral: personal results are private by default.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging

import discord
import numpy as np
from discord import app_commands
from discord.ext import commands

from bot.render import ranking_sheet
from model.images import decode_png
from storage import models, pool, privacy, votes

log = logging.getLogger(__name__)

HELP = """\
**konomi** learns which faces *you* find appealing, from your votes, and ranks new images by it.
**Vote**: `/vote` posts two faces; react 🅰️ or 🅱️ for the one you prefer, 🤝 if equal. Your latest \
reaction counts; removing it withdraws the vote. A new pair follows each vote.
**Rank**: `/rank` with up to 10 images (or "Rank these images" on a message) orders them by your \
taste, privately unless you choose `public`.
**Your model**: `/retrain` trains it from your votes; until you have one, the server's model \
(learned from everyone's votes here) ranks for you.
**What is stored**: the face crops of this server's pool; your votes (pair, choice, time); your \
models and their accuracy; training jobs. Nothing leaves this server's data.
**Your data**: `/stats`, `/mytaste`, `/export` (your votes as CSV); `/forget` deletes your votes, \
models and jobs here. Anyone can `/report` a face: it is hidden at once until an admin decides."""


class ForgetConfirm(discord.ui.View):
    """The one button that deletes a person's data, for that person only."""

    def __init__(self, cog: Privacy, user_id: int) -> None:
        super().__init__(timeout=120)
        self.cog, self.user_id = cog, user_id

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return interaction.user.id == self.user_id

    @discord.ui.button(
        label="Yes, forget me", style=discord.ButtonStyle.danger, custom_id="konomi:forget:confirm"
    )
    async def confirm(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()  # deleting may take longer than 3 s
        deleted = await privacy.forget_user(self.cog.bot.db, interaction.guild_id, self.user_id)
        self.stop()
        await interaction.edit_original_response(
            content=(
                f"Done. Deleted {deleted['votes']} votes, {deleted['models']} models and "
                f"{deleted['jobs']} training jobs in this server. konomi keeps only the "
                "fact that you asked, and when, so old reactions are never counted again."
            ),
            view=None,
        )
        log.info("a user asked to be forgotten in guild %s", interaction.guild_id)

    @discord.ui.button(
        label="Cancel", style=discord.ButtonStyle.secondary, custom_id="konomi:forget:cancel"
    )
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing was deleted.", view=None)


class Privacy(commands.Cog):
    def __init__(self, bot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What konomi does, how to vote, what it stores")
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(HELP, ephemeral=True)

    @app_commands.command(name="stats", description="Your votes and your model's accuracy")
    @app_commands.guild_only()
    async def stats(self, interaction: discord.Interaction) -> None:
        db, guild, user = self.bot.db, interaction.guild_id, interaction.user.id
        count = await votes.count_votes(db, guild, user)
        mine = await models.latest_model(db, guild, user)
        settings = self.bot.settings
        lines = [f"Your votes here: {count}."]
        if mine is None:
            needed = max(0, settings.worker.personal_min_votes - count)
            lines.append(
                "You have no model yet: "
                + (f"vote {needed} more, then `/retrain`." if needed else "`/retrain`.")
            )
        else:
            metrics = mine.metrics
            since = await votes.count_votes(db, guild, user, since=mine.created_at)
            lines.append(
                f"Your model: v{mine.version}, agrees with your held-out votes "
                f"{_percent(metrics.get('final', {}).get('accuracy'))} of the time; the "
                f"server's model on the same votes: "
                f"{_percent(metrics.get('guild_final', {}).get('accuracy'))}."
            )
            left = max(0, settings.worker.user_retrain_votes - since)
            lines.append(f"Votes until the next automatic retrain: {left}.")
        await interaction.response.send_message("\n".join(lines), ephemeral=True)

    @app_commands.command(
        name="mytaste", description="The pool faces your model likes most (private)"
    )
    @app_commands.guild_only()
    async def mytaste(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        guild, user = interaction.guild_id, interaction.user.id
        found = await self.bot.service.scorer_for(guild, user)
        faces = await pool.list_faces(self.bot.db, guild)
        if found is None or len(faces) < 2:
            await interaction.followup.send(
                "There is nothing to show yet: the server needs faces and a model "
                "(`/vote`, then `/retrain`).",
                ephemeral=True,
            )
            return
        scorer, stored, personal = found
        ids = [face.id for face in faces]
        crops_png = await pool.face_crops(self.bot.db, guild, ids)
        crops = np.stack([decode_png(crops_png[i]) for i in ids])
        scores = await asyncio.to_thread(scorer.score_pool, ids, crops)
        order = np.argsort(-scores, kind="stable")
        shown = min(5, len(ids) // 2)
        picks = list(order[:shown]) + list(order[-shown:])
        chance = 1.0 / (1.0 + np.exp(-(scores - np.median(scores))))
        labels = [
            f"{'most' if n < shown else 'least'} · face {ids[i]}" for n, i in enumerate(picks)
        ]
        sheet = await asyncio.to_thread(
            ranking_sheet, [crops[i] for i in picks], labels, [float(chance[i]) for i in picks]
        )
        whose = "your model" if personal else "the server's model (you have none yet)"
        await interaction.followup.send(
            f"By {whose} (v{stored.version}): the {shown} faces it likes most, then the {shown} "
            "it likes least. Only you can see this.",
            file=discord.File(io.BytesIO(sheet), "mytaste.png"),
            ephemeral=True,
        )

    @app_commands.command(name="export", description="Your votes (CSV) and model metrics (JSON)")
    @app_commands.guild_only()
    async def export(self, interaction: discord.Interaction) -> None:
        db, guild, user = self.bot.db, interaction.guild_id, interaction.user.id
        mine = await votes.user_votes(db, guild, user, include_hidden=True)
        table = io.StringIO()
        writer = csv.writer(table)
        writer.writerow(["face_a", "face_b", "outcome", "voted_at"])
        for vote in mine:
            writer.writerow([vote.face_a, vote.face_b, vote.outcome, f"{vote.voted_at:.3f}"])
        model = await models.latest_model(db, guild, user)
        metrics = {
            "model_version": model.version if model else None,
            "metrics": model.metrics if model else None,
        }
        files = [
            discord.File(io.BytesIO(table.getvalue().encode()), "konomi-votes.csv"),
            discord.File(io.BytesIO(json.dumps(metrics, indent=2).encode()), "konomi-model.json"),
        ]
        await interaction.response.send_message(
            f"Your {len(mine)} votes in this server and your model's metrics.",
            files=files,
            ephemeral=True,
        )

    @app_commands.command(name="forget", description="Delete your votes, models and jobs here")
    @app_commands.guild_only()
    async def forget(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            "This deletes all your votes, models and training jobs in this server. Sure?",
            view=ForgetConfirm(self, interaction.user.id),
            ephemeral=True,
        )


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


async def setup(bot) -> None:
    await bot.add_cog(Privacy(bot))
