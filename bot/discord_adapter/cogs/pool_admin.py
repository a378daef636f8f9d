"""Running konomi responsibly: the pool (/pool), channels and status (/konomi), reports,
and what happens when the bot leaves a server.

Admin commands need Manage Server: Discord enforces it through default_member_permissions,
and the bot checks it again (server owners can change command permissions).
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.discord_adapter.limits import per_member
from bot.discord_adapter.loops import InFlight, resilient
from bot.discord_adapter.replies import KonomiView
from bot.discord_adapter.uploads import download

if TYPE_CHECKING:
    from bot.discord_adapter.app import KonomiBot

log = logging.getLogger(__name__)
admin_only = app_commands.checks.has_permissions(manage_guild=True)


class PoolGroup(app_commands.Group):
    def __init__(self, cog: PoolAdmin) -> None:
        super().__init__(
            name="pool",
            description="Curate this server's face pool (admins)",
            guild_only=True,
            default_permissions=discord.Permissions(manage_guild=True),
        )
        self.cog = cog

    @app_commands.command(name="add", description="Add the faces in up to 5 images to the pool")
    @admin_only
    @app_commands.describe(
        image1="An image with faces to add (PNG, JPEG, WebP, GIF, TIFF or BMP; up to 10 MB)",
        image2="Another image with faces to add",
        image3="Another image with faces to add",
        image4="Another image with faces to add",
        image5="Another image with faces to add",
    )
    async def add(
        self,
        interaction: discord.Interaction,
        image1: discord.Attachment,
        image2: discord.Attachment | None = None,
        image3: discord.Attachment | None = None,
        image4: discord.Attachment | None = None,
        image5: discord.Attachment | None = None,
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        attachments = [a for a in (image1, image2, image3, image4, image5) if a is not None]
        with self.cog.in_flight.track():
            limit = self.cog.bot.settings.images.max_bytes
            downloaded, failed = await download(attachments, limit)
            summary = await self.cog.pool.add_uploads(interaction.guild_id, downloaded, failed)
            await interaction.followup.send("\n".join(summary.lines()), ephemeral=True)

    @app_commands.command(name="list", description="The pool's faces, 10 per page, with ids")
    @admin_only
    @app_commands.describe(page="Which page of 10 faces (1 is the first)")
    async def list(self, interaction: discord.Interaction, page: int = 1) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)  # a sheet to render
        listing = await self.cog.pool.page(interaction.guild_id, page)
        lines = [f"Page {listing.page}/{listing.pages} of {listing.total} faces:"]
        lines += [
            f"`{f.id}` {f.origin or '?'}{' (hidden)' if f.hidden else ''}" for f in listing.faces
        ]
        await interaction.followup.send(
            "\n".join(lines)[:1990],
            file=discord.File(io.BytesIO(listing.sheet), "pool.png"),
            ephemeral=True,
        )

    @app_commands.command(name="show", description="One face of the pool by id")
    @admin_only
    @app_commands.describe(face_id="The face's id (type to search; /pool list shows them)")
    async def show(self, interaction: discord.Interaction, face_id: int) -> None:
        shown = await self.cog.pool.face(interaction.guild_id, face_id)
        face = shown.face
        await interaction.response.send_message(
            f"Face `{face.id}` from {face.origin or '?'}"
            f"{' — hidden (reported)' if face.hidden else ''}.",
            file=discord.File(io.BytesIO(shown.crop_png), f"face-{face.id}.png"),
            ephemeral=True,
        )

    @app_commands.command(name="remove", description="Delete a face and the votes that name it")
    @admin_only
    @app_commands.describe(face_id="The face to delete (type to search; /pool list shows ids)")
    async def remove(self, interaction: discord.Interaction, face_id: int) -> None:
        named = await self.cog.pool.remove_face(interaction.guild_id, face_id)
        await interaction.response.send_message(
            f"Face `{face_id}` and the {named} votes naming it are deleted; the server's model "
            "will be retrained.",
            ephemeral=True,
        )

    @app_commands.command(name="restore", description="Show a reported (hidden) face again")
    @admin_only
    @app_commands.describe(face_id="The hidden face to show again (type to search)")
    async def restore(self, interaction: discord.Interaction, face_id: int) -> None:
        await self.cog.pool.set_hidden(interaction.guild_id, face_id, False)
        await interaction.response.send_message(
            f"Face `{face_id}` is back in the pool.", ephemeral=True
        )

    @show.autocomplete("face_id")
    @remove.autocomplete("face_id")
    async def _visible_faces(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[int]]:
        return await self.cog.face_choices(interaction, typed, hidden=False)

    @restore.autocomplete("face_id")
    async def _hidden_faces(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[int]]:
        return await self.cog.face_choices(interaction, typed, hidden=True)


class ChannelGroup(app_commands.Group):
    def __init__(self, cog: PoolAdmin) -> None:
        super().__init__(name="channel", description="Scheduled pairs in a channel")
        self.cog = cog

    @app_commands.command(name="enable", description="Post pairs in this channel on a schedule")
    @admin_only
    @app_commands.describe(every_minutes="Minutes between two pairs (1 to 10080, a week)")
    async def enable(
        self,
        interaction: discord.Interaction,
        every_minutes: app_commands.Range[float, 1, 10080] = 60.0,
    ) -> None:
        await self.cog.bot.service.voting.enable_channel(
            interaction.guild_id,
            interaction.channel_id,
            every_minutes * 60,
            interaction.user.id,
        )
        missing = _missing_permissions(interaction)
        note = (
            f" I am missing: {', '.join(missing)} — grant them or pairs can't appear."
            if missing
            else ""
        )
        await interaction.response.send_message(
            f"Pairs will appear in this channel every {every_minutes:g} minutes.{note}",
            ephemeral=True,
        )

    @app_commands.command(name="disable", description="Stop scheduled pairs in this channel")
    @admin_only
    async def disable(self, interaction: discord.Interaction) -> None:
        done = await self.cog.bot.service.voting.disable_channel(
            interaction.guild_id, interaction.channel_id
        )
        await interaction.response.send_message(
            "Scheduled pairs stopped here." if done else "This channel had no scheduled pairs.",
            ephemeral=True,
        )


class KonomiGroup(app_commands.Group):
    def __init__(self, cog: PoolAdmin) -> None:
        super().__init__(
            name="konomi",
            description="Set konomi up in this server (admins)",
            guild_only=True,
            default_permissions=discord.Permissions(manage_guild=True),
        )
        self.cog = cog
        self.add_command(ChannelGroup(cog))

    @app_commands.command(name="status", description="Pool, voters, votes, models and queue")
    @admin_only
    async def status(self, interaction: discord.Interaction) -> None:
        status = await self.cog.pool.status(interaction.guild_id)
        counts, version = status.counts, status.guild_model_version
        await interaction.response.send_message(
            f"Pool: {counts.faces} faces ({counts.hidden} hidden). "
            f"Voters: {counts.voters}, votes: {counts.votes}. "
            f"Models: {counts.models} (server model "
            f"{f'v{version}' if version else 'not trained yet'}). "
            f"Queue: {counts.queued} queued, {counts.running} running. "
            f"Channels with scheduled pairs: {status.scheduled_channels}.\n"
            + "\n".join(self.cog.bot.loop_health.lines()),
            ephemeral=True,
        )

    @app_commands.command(name="reports", description="Send face reports to this channel")
    @admin_only
    async def reports(self, interaction: discord.Interaction) -> None:
        await self.cog.pool.set_reports_channel(interaction.guild_id, interaction.channel_id)
        await interaction.response.send_message("Face reports will be posted here.", ephemeral=True)

    @app_commands.command(
        name="places", description="Open members' private voting threads under this channel"
    )
    @admin_only
    async def places(self, interaction: discord.Interaction) -> None:
        channel = interaction.channel
        if isinstance(channel, discord.Thread):
            channel = channel.parent
        await self.cog.bot.service.voting.set_places_channel(interaction.guild_id, channel.id)
        missing = [
            name
            for name, ok in {
                "Create Private Threads": interaction.app_permissions.create_private_threads,
                "Send Messages in Threads": interaction.app_permissions.send_messages_in_threads,
            }.items()
            if not ok
        ]
        await interaction.response.send_message(
            f"Members' private voting threads now open under {channel.mention} (threads "
            "already open stay where they are)."
            + (
                f" konomi still needs {' and '.join(missing)} here: until then /vote posts "
                "pairs where it is used."
                if missing
                else ""
            ),
            ephemeral=True,
        )


def _missing_permissions(interaction: discord.Interaction) -> list[str]:
    have = interaction.app_permissions
    needed = {
        "View Channel": have.view_channel,
        "Send Messages": have.send_messages,
        "Attach Files": have.attach_files,
        "Add Reactions": have.add_reactions,
        "Read Message History": have.read_message_history,
    }
    return [name for name, ok in needed.items() if not ok]


class ReportButtons(KonomiView):
    def __init__(self, cog: PoolAdmin, face_a: int, face_b: int) -> None:
        super().__init__(timeout=300)
        for letter, face_id in (("A", face_a), ("B", face_b)):
            button = discord.ui.Button(
                label=f"Report face {letter} ({face_id})",
                style=discord.ButtonStyle.danger,
                custom_id=f"konomi:report:{face_id}",
            )
            button.callback = self._reporter(cog, face_id)
            self.add_item(button)

    @staticmethod
    def _reporter(cog: PoolAdmin, face_id: int):
        async def callback(interaction: discord.Interaction) -> None:
            await interaction.response.defer()  # the report posts a file to the admins
            text = await cog.report(interaction, face_id)
            await interaction.edit_original_response(content=text, view=None)

        return callback


class PoolAdmin(commands.Cog):
    def __init__(self, bot: KonomiBot) -> None:
        self.bot = bot
        self.pool = bot.service.pool
        self.menu = app_commands.ContextMenu(name="Report face", callback=self.report_menu)
        self.menu.guild_only = True
        self.in_flight = InFlight()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(PoolGroup(self))
        self.bot.tree.add_command(KonomiGroup(self))
        self.bot.tree.add_command(self.menu)
        self.purge_departed.start()

    async def cog_unload(self) -> None:
        self.purge_departed.cancel()
        await self.in_flight.abandon()

    async def report(self, interaction: discord.Interaction, face_id: int) -> str:
        """Hide the face at once and tell the admins; returns the reply for the reporter."""
        report = await self.pool.report(interaction.guild_id, face_id, interaction.user.id)
        what = (
            "is hidden from new pairs and rankings"
            if report.hidden
            else f"was NOT hidden: the reporter already hid {report.hide_limit} faces today"
        )
        channel_id = report.reports_channel_id
        channel = await self.bot.channel(channel_id) if channel_id else None
        if channel is not None:
            try:
                await channel.send(
                    f"Face `{face_id}` was reported by {interaction.user.mention} and {what}. "
                    f"Delete it with `/pool remove {face_id}`"
                    + (
                        f", or restore it with `/pool restore {face_id}`." if report.hidden else "."
                    ),
                    file=discord.File(io.BytesIO(report.crop_png), f"reported-{face_id}.png")
                    if report.crop_png
                    else discord.utils.MISSING,
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            except discord.HTTPException as error:
                log.warning("could not post a report in channel %s: %s", channel_id, error)
        else:
            log.warning("guild %s has no reports channel (`/konomi reports`)", interaction.guild_id)
        if not report.hidden:
            return (
                f"Thank you. You have reported many faces today, so face `{face_id}` stays "
                "visible until an admin decides; they have been told."
            )
        return (
            f"Thank you. Face `{face_id}` is hidden from new pairs and rankings until an "
            "admin decides."
        )

    @app_commands.command(name="report", description="Report a face: it is hidden at once")
    @app_commands.guild_only()
    @per_member("report")
    @app_commands.describe(face_id="The face's id, printed under it on the pair (type to search)")
    async def report_command(self, interaction: discord.Interaction, face_id: int) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(await self.report(interaction, face_id), ephemeral=True)

    @report_command.autocomplete("face_id")
    async def _reportable_faces(
        self, interaction: discord.Interaction, typed: str
    ) -> list[app_commands.Choice[int]]:
        return await self.face_choices(interaction, typed, hidden=False)

    async def face_choices(
        self, interaction: discord.Interaction, typed: str, *, hidden: bool
    ) -> list[app_commands.Choice[int]]:
        """Up to 25 faces whose id starts with what was typed (visible or hidden ones);
        where each came from only for those who may manage the server."""
        typed = str(typed or "").strip()
        admin = bool(interaction.permissions and interaction.permissions.manage_guild)
        faces = await self.pool.faces(interaction.guild_id)
        found = [f for f in faces if f.hidden == hidden and str(f.id).startswith(typed)]
        return [
            app_commands.Choice(
                name=(f"face {f.id}" + (f" — {f.origin}" if admin and f.origin else ""))[:100],
                value=f.id,
            )
            for f in found[:25]
        ]

    @per_member("report")
    async def report_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        pair = await self.bot.service.voting.pair_of(message.id, interaction.guild_id)
        await interaction.response.send_message(
            "Which face do you report?",
            view=ReportButtons(self, pair.face_a, pair.face_b),
            ephemeral=True,
        )

    # -- leaving a server ------------------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.pool.guild_left(guild.id)
        log.info("removed from guild %s: its data goes after the grace period", guild.id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.pool.guild_joined(guild.id)

    @tasks.loop(minutes=10)
    @resilient("guild purge")
    async def purge_departed(self) -> None:
        await self.pool.purge_departed({guild.id for guild in self.bot.guilds})

    @purge_departed.before_loop
    async def _wait_ready(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: KonomiBot) -> None:
    await bot.add_cog(PoolAdmin(bot))
