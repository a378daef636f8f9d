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

from bot.discord_adapter.cogs.voting import thread_parent
from bot.discord_adapter.limits import per_member
from bot.discord_adapter.loops import InFlight, resilient
from bot.discord_adapter.replies import KonomiView, answers_first
from bot.discord_adapter.uploads import download
from bot.services.pool import Report

if TYPE_CHECKING:
    from bot.discord_adapter.app import KonomiBot

log = logging.getLogger(__name__)
admin_only = app_commands.checks.has_permissions(manage_guild=True)


def moderates(interaction: discord.Interaction) -> bool:
    """Manage Server, or the moderators role an admin chose (`/konomi moderators`):
    Discord's default_member_permissions is only a default an admin may change, so the
    bot checks again."""
    if interaction.permissions.manage_guild:
        return True
    cog = interaction.client.get_cog("PoolAdmin")
    role_id = cog.moderator_roles.get(interaction.guild_id) if cog else None
    member = interaction.user
    if role_id and isinstance(member, discord.Member) and member.get_role(role_id):
        return True
    raise app_commands.CheckFailure(
        "This needs the Manage Server permission, or the moderators role an admin chose "
        "with `/konomi moderators`."
    )


moderators_only = app_commands.check(moderates)


class PoolGroup(app_commands.Group):
    def __init__(self, cog: PoolAdmin) -> None:
        super().__init__(
            name="pool",
            description="Curate this server's face pool (admins)",
            guild_only=True,
            default_permissions=discord.Permissions(manage_guild=True),
        )
        self.cog = cog

    @app_commands.command(
        name="add", description="Add the faces in up to 10 images (or zips of images)"
    )
    @moderators_only
    @app_commands.describe(
        image1="An image with faces (PNG, JPEG, WebP, GIF, TIFF, BMP) or a zip of images",
        **{f"image{n}": "Another image or zip of images" for n in range(2, 11)},
    )
    @answers_first
    async def add(
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
    ) -> None:
        uploads = (image1, image2, image3, image4, image5, image6, image7, image8, image9, image10)
        await self.cog.add_faces(interaction, [a for a in uploads if a is not None])

    @app_commands.command(name="list", description="The pool's faces, 10 per page, with ids")
    @moderators_only
    @app_commands.describe(page="Which page of 10 faces (1 is the first)")
    @answers_first
    async def list(self, interaction: discord.Interaction, page: int = 1) -> None:
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
    @moderators_only
    @app_commands.describe(face_id="The face's id (type to search; /pool list shows them)")
    @answers_first
    async def show(self, interaction: discord.Interaction, face_id: int) -> None:
        shown = await self.cog.pool.face(interaction.guild_id, face_id)
        face = shown.face
        await interaction.followup.send(
            f"Face `{face.id}` from {face.origin or '?'}"
            f"{' — hidden (reported)' if face.hidden else ''}.",
            file=discord.File(io.BytesIO(shown.crop_png), f"face-{face.id}.png"),
            ephemeral=True,
        )

    @app_commands.command(name="remove", description="Delete a face and the votes that name it")
    @moderators_only
    @app_commands.describe(face_id="The face to delete (type to search; /pool list shows ids)")
    @answers_first
    async def remove(self, interaction: discord.Interaction, face_id: int) -> None:
        named = await self.cog.pool.remove_face(interaction.guild_id, face_id)
        await interaction.followup.send(
            f"Face `{face_id}` and the {named} votes naming it are deleted; the server's model "
            "will be retrained.",
            ephemeral=True,
        )

    @app_commands.command(name="restore", description="Show a reported (hidden) face again")
    @moderators_only
    @app_commands.describe(face_id="The hidden face to show again (type to search)")
    @answers_first
    async def restore(self, interaction: discord.Interaction, face_id: int) -> None:
        await self.cog.pool.set_hidden(interaction.guild_id, face_id, False)
        await interaction.followup.send(f"Face `{face_id}` is back in the pool.", ephemeral=True)

    @app_commands.command(name="hide", description="Hide a face from pairs and rankings")
    @moderators_only
    @app_commands.describe(
        face_id="The face to hide (type to search; /pool restore shows it again)"
    )
    @answers_first
    async def hide(self, interaction: discord.Interaction, face_id: int) -> None:
        await self.cog.pool.set_hidden(interaction.guild_id, face_id, True)
        await interaction.followup.send(
            f"Face `{face_id}` is hidden from new pairs and rankings; `/pool restore "
            f"{face_id}` shows it again.",
            ephemeral=True,
        )

    @show.autocomplete("face_id")
    @remove.autocomplete("face_id")
    @hide.autocomplete("face_id")
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
    @answers_first
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
        await interaction.followup.send(
            f"Pairs will appear in this channel every {every_minutes:g} minutes.{note}",
            ephemeral=True,
        )

    @app_commands.command(name="disable", description="Stop scheduled pairs in this channel")
    @admin_only
    @answers_first
    async def disable(self, interaction: discord.Interaction) -> None:
        done = await self.cog.bot.service.voting.disable_channel(
            interaction.guild_id, interaction.channel_id
        )
        await interaction.followup.send(
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

    @app_commands.command(name="setup", description="Set konomi up step by step: what is missing")
    @admin_only
    @answers_first
    async def setup(self, interaction: discord.Interaction) -> None:
        view = SetupView(self.cog)
        await view.send(interaction, embed=await view.embed(interaction))

    @app_commands.command(name="status", description="Pool, voters, votes, models and queue")
    @moderators_only
    @answers_first
    async def status(self, interaction: discord.Interaction) -> None:
        status = await self.cog.pool.status(interaction.guild_id)
        counts, version = status.counts, status.guild_model_version
        embed = discord.Embed(title="konomi in this server", colour=discord.Colour.blurple())
        for name, value in (
            ("Pool", f"{counts.faces} faces ({counts.hidden} hidden)"),
            ("Votes", f"{counts.votes} from {counts.voters} members"),
            (
                "Models",
                f"{counts.models} (the server's: {f'v{version}' if version else 'not yet'})",
            ),
            ("Training queue", f"{counts.queued} queued, {counts.running} running"),
            ("Scheduled pairs", f"in {status.scheduled_channels} channels"),
        ):
            embed.add_field(name=name, value=value)
        health = self.cog.bot.loop_health.lines()
        embed.add_field(
            name="Background work", value="\n".join(health) or "nothing ran yet", inline=False
        )
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(name="reports", description="Send face reports to this channel")
    @moderators_only
    @answers_first
    async def reports(self, interaction: discord.Interaction) -> None:
        await self.cog.pool.set_reports_channel(interaction.guild_id, interaction.channel_id)
        await interaction.followup.send("Face reports will be posted here.", ephemeral=True)

    @app_commands.command(
        name="moderators", description="Let a role manage the pool and the reports"
    )
    @admin_only
    @app_commands.describe(role="The role that may use /pool and /konomi status and reports")
    @answers_first
    async def moderators(self, interaction: discord.Interaction, role: discord.Role) -> None:
        await self.cog.set_moderators_role(interaction.guild_id, role.id)
        await interaction.followup.send(
            f"Members with {role.mention} may now use `/pool` and `/konomi status` and "
            "`/konomi reports`. Discord shows these commands to Manage Server only by "
            "default: allow the role under Server Settings → Integrations → konomi.",
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(
        name="places", description="Open members' private voting threads under this channel"
    )
    @admin_only
    @answers_first
    async def places(self, interaction: discord.Interaction) -> None:
        channel = thread_parent(interaction.channel)
        await self.cog.bot.service.voting.set_places_channel(interaction.guild_id, channel.id)
        missing = [
            name
            for name, ok in {
                "Create Private Threads": interaction.app_permissions.create_private_threads,
                "Send Messages in Threads": interaction.app_permissions.send_messages_in_threads,
            }.items()
            if not ok
        ]
        await interaction.followup.send(
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


def welcome_embed(first_model_votes: int) -> discord.Embed:
    embed = discord.Embed(
        title="Thanks for adding konomi",
        description="konomi learns what each member finds appealing in faces, from their "
        "votes on pairs, and ranks new images by it. Three steps to start (admins):",
        colour=discord.Colour.blurple(),
    )
    embed.add_field(
        name="1. Add faces",
        value='`/pool add` with up to 10 images or a zip of them; or "Add faces to the '
        'pool" on any message with images (Apps menu). konomi crops every face it finds.',
        inline=False,
    )
    embed.add_field(
        name="2. Choose where members vote",
        value="`/konomi places` in a channel: members' private voting threads open under "
        "it. `/konomi channel enable` posts public pairs there on a schedule too.",
        inline=False,
    )
    embed.add_field(
        name="3. Tell members about /vote",
        value="Each gets pairs in a private thread, and a model of their own taste after "
        f"{first_model_votes} votes; `/rank` then orders any images by it.",
        inline=False,
    )
    embed.set_footer(text="/konomi setup shows what is still missing · /help for everyone")
    return embed


def _where_admins_read(guild: discord.Guild) -> discord.TextChannel | None:
    """The system channel, else the first text channel konomi may write in."""
    candidates = [guild.system_channel, *sorted(guild.text_channels, key=lambda c: c.position)]
    for channel in candidates:
        if channel is None:
            continue
        mine = channel.permissions_for(guild.me)
        if mine.send_messages and mine.embed_links and mine.view_channel:
            return channel
    return None


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


class SetupView(KonomiView):
    """/konomi setup: the three steps of the welcome, each marked done or what to do,
    with buttons for the two that can be done from here."""

    def __init__(self, cog: PoolAdmin) -> None:
        super().__init__(timeout=600)
        self.cog = cog

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return bool(interaction.permissions.manage_guild)

    async def embed(self, interaction: discord.Interaction) -> discord.Embed:
        status = await self.cog.pool.status(interaction.guild_id)
        faces = status.counts.faces - status.counts.hidden
        places, reports = status.places_channel_id, status.reports_channel_id
        mine = interaction.app_permissions
        threads_ok = mine.create_private_threads and mine.send_messages_in_threads
        steps = [
            (
                "1. Add faces",
                faces >= 2,
                f"{faces} faces in the pool."
                if faces >= 2
                else f"{faces} faces so far; pairs need 2 or more. Use `/pool add` (up to 10 "
                'images or a zip) or "Add faces to the pool" on a message with images.',
            ),
            (
                "2. Where members vote",
                places is not None,
                f"Private voting threads open under <#{places}>."
                if places
                else "Not chosen: press the button below in the channel members should vote "
                "under (their private threads open there).",
            ),
            (
                "3. Where reports go",
                reports is not None,
                f"Reports go to <#{reports}>."
                if reports
                else "Not chosen: press the button below in a channel only moderators read.",
            ),
        ]
        embed = discord.Embed(
            title="konomi setup",
            colour=discord.Colour.green()
            if all(done for _, done, _ in steps)
            else discord.Colour.orange(),
        )
        for name, done, text in steps:
            embed.add_field(name=f"{'✅' if done else '❌'} {name}", value=text, inline=False)
        if not threads_ok:
            embed.add_field(
                name="⚠️ Permissions here",
                value="konomi cannot open private threads in this channel: grant it Create "
                "Private Threads and Send Messages in Threads.",
                inline=False,
            )
        embed.set_footer(text="When all three are done, tell members about /vote.")
        return embed

    async def _refresh(self, interaction: discord.Interaction) -> None:
        await interaction.edit_original_response(embed=await self.embed(interaction), view=self)

    @discord.ui.button(label="Private threads open here", style=discord.ButtonStyle.primary)
    async def places_here(
        self, interaction: discord.Interaction, button: discord.ui.Button
    ) -> None:
        await interaction.response.defer()
        parent = thread_parent(interaction.channel)
        await self.cog.bot.service.voting.set_places_channel(interaction.guild_id, parent.id)
        await self._refresh(interaction)

    @discord.ui.button(label="Reports go here", style=discord.ButtonStyle.secondary)
    async def reports_here(
        self, interaction: discord.Interaction, button: discord.ui.Button
    ) -> None:
        await interaction.response.defer()
        await self.cog.pool.set_reports_channel(interaction.guild_id, interaction.channel_id)
        await self._refresh(interaction)

    @discord.ui.button(label="Check again", style=discord.ButtonStyle.secondary)
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()
        await self._refresh(interaction)


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
        self.add_menu_command = app_commands.ContextMenu(
            name="Add faces to the pool", callback=self.add_menu
        )
        self.add_menu_command.guild_only = True
        self.add_menu_command.default_permissions = discord.Permissions(manage_guild=True)
        self.in_flight = InFlight()
        self.moderator_roles: dict[int, int] = {}  # guild -> role, read at start: checks
        # run before the first response and must not wait on the database

    async def add_faces(
        self, interaction: discord.Interaction, attachments: list[discord.Attachment]
    ) -> None:
        """The faces of uploaded images and zips into the pool; a line for each file
        (and zip entry) that gave none."""
        with self.in_flight.track():
            limit = self.bot.settings.images.max_bytes
            downloaded, failed = await download(attachments, limit)
            summary = await self.pool.add_uploads(interaction.guild_id, downloaded, failed)
            await interaction.followup.send("\n".join(summary.lines())[:1990], ephemeral=True)

    @moderators_only
    @answers_first
    async def add_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        if not message.attachments:
            await interaction.followup.send(
                "That message has no attached images to add.", ephemeral=True
            )
            return
        await self.add_faces(interaction, list(message.attachments[:10]))

    async def set_moderators_role(self, guild_id: int, role_id: int) -> None:
        await self.pool.set_moderators_role(guild_id, role_id)
        self.moderator_roles[guild_id] = role_id

    async def cog_load(self) -> None:
        self.moderator_roles = await self.pool.moderator_roles()
        self.bot.tree.add_command(PoolGroup(self))
        self.bot.tree.add_command(KonomiGroup(self))
        self.bot.tree.add_command(self.menu)
        self.bot.tree.add_command(self.add_menu_command)
        self.purge_departed.start()

    async def cog_unload(self) -> None:
        self.purge_departed.cancel()
        await self.in_flight.abandon()

    async def report(self, interaction: discord.Interaction, face_id: int) -> str:
        """Hide the face at once and tell the admins where they will see it (the reports
        channel, else the server's system channel); returns the reporter's reply, which
        says truthfully whether anyone was told."""
        report = await self.pool.report(interaction.guild_id, face_id, interaction.user.id)
        what = (
            "is hidden from new pairs and rankings"
            if report.hidden
            else f"was NOT hidden: the reporter already hid {report.hide_limit} faces today"
        )
        text = (
            f"Face `{face_id}` was reported by {interaction.user.mention} and {what}. "
            f"Delete it with `/pool remove {face_id}`"
            + (f", or restore it with `/pool restore {face_id}`." if report.hidden else ".")
        )
        told = await self._tell_admins(interaction.guild, report, text)
        if told is None:
            log.warning("a report in guild %s reached no admin", interaction.guild_id)
            where = (
                " No admin was notified: this server has no channel for reports that I can "
                "post in. An admin can choose one with `/konomi reports`."
            )
        else:
            where = f" The admins were told in {told.mention}."
        if not report.hidden:
            return (
                f"Thank you. You have reported many faces today, so face `{face_id}` stays "
                f"visible until an admin decides.{where}"
            )
        return (
            f"Thank you. Face `{face_id}` is hidden from new pairs and rankings until an "
            f"admin decides.{where}"
        )

    async def _tell_admins(
        self, guild: discord.Guild | None, report: Report, text: str
    ) -> discord.abc.Messageable | None:
        """Post a report where admins read them; the channel it went to, or None."""
        chosen = (
            await self.bot.channel(report.reports_channel_id) if report.reports_channel_id else None
        )
        for channel in (chosen, guild.system_channel if guild else None):
            if channel is None:
                continue
            try:
                await channel.send(
                    text,
                    file=discord.File(io.BytesIO(report.crop_png), f"reported-{report.face_id}.png")
                    if report.crop_png
                    else discord.utils.MISSING,
                    allowed_mentions=discord.AllowedMentions.none(),
                )
            except discord.HTTPException as error:
                log.warning("could not post a report in channel %s: %s", channel.id, error)
                continue
            return channel
        return None

    @app_commands.command(name="report", description="Report a face: it is hidden at once")
    @app_commands.guild_only()
    @per_member("report")
    @app_commands.describe(face_id="The face's id, printed under it on the pair (type to search)")
    @answers_first
    async def report_command(self, interaction: discord.Interaction, face_id: int) -> None:
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
    @answers_first
    async def report_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        pair = await self.bot.service.voting.pair_of(message.id, interaction.guild_id)
        await ReportButtons(self, pair.face_a, pair.face_b).send(
            interaction, "Which face do you report?"
        )

    # -- leaving a server ------------------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self.pool.guild_left(guild.id)
        log.info("removed from guild %s: its data goes after the grace period", guild.id)

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        if not await self.pool.guild_joined(guild.id):
            return  # back within the grace period: welcomed before
        channel = _where_admins_read(guild)
        if channel is None:
            log.warning("joined guild %s but may write in none of its channels", guild.id)
            return
        try:
            await channel.send(embed=welcome_embed(self.bot.settings.worker.personal_min_votes))
        except discord.HTTPException as error:
            log.warning("could not welcome guild %s: %s", guild.id, error)

    @tasks.loop(minutes=10)
    @resilient("guild purge")
    async def purge_departed(self) -> None:
        await self.pool.purge_departed({guild.id for guild in self.bot.guilds})

    @purge_departed.before_loop
    async def _wait_ready(self) -> None:
        await self.bot.wait_until_ready()


async def setup(bot: KonomiBot) -> None:
    await bot.add_cog(PoolAdmin(bot))
