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
from discord.app_commands import locale_str
from discord.ext import commands, tasks

from bot.discord_adapter.cogs.voting import thread_parent
from bot.discord_adapter.limits import per_member
from bot.discord_adapter.loops import InFlight, resilient
from bot.discord_adapter.replies import KonomiView, answers_first
from bot.discord_adapter.uploads import download
from bot.i18n import t
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
    raise NotAModerator()


class NotAModerator(app_commands.CheckFailure):
    """Neither Manage Server nor the moderators role; the error handler says which."""

    key = "errors.needs_moderator"


moderators_only = app_commands.check(moderates)


class PoolGroup(app_commands.Group):
    def __init__(self, cog: PoolAdmin) -> None:
        super().__init__(
            name=locale_str("pool"),
            description=locale_str("Curate this server's face pool (admins)"),
            guild_only=True,
            default_permissions=discord.Permissions(manage_guild=True),
        )
        self.cog = cog

    @app_commands.command(
        name=locale_str("add"),
        description=locale_str("Add the faces in up to 10 images (or zips of images)"),
    )
    @moderators_only
    @app_commands.rename(**{f"image{n}": locale_str(f"image{n}") for n in range(1, 11)})
    @app_commands.describe(
        image1=locale_str(
            "An image with faces (PNG, JPEG, WebP, GIF, TIFF, BMP) or a zip of images"
        ),
        **{f"image{n}": locale_str("Another image or zip of images") for n in range(2, 11)},
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

    @app_commands.command(
        name=locale_str("list"), description=locale_str("The pool's faces, 10 per page, with ids")
    )
    @moderators_only
    @app_commands.rename(page=locale_str("page"))
    @app_commands.describe(page=locale_str("Which page of 10 faces (1 is the first)"))
    @answers_first
    async def list(self, interaction: discord.Interaction, page: int = 1) -> None:
        locale = interaction.locale
        listing = await self.cog.pool.page(interaction.guild_id, page, locale)
        lines = [
            t(locale, "pool.page", page=listing.page, pages=listing.pages, total=listing.total)
        ]
        lines += [
            f"`{f.id}` {f.origin or '?'}" + (t(locale, "pool.hidden_mark") if f.hidden else "")
            for f in listing.faces
        ]
        await interaction.followup.send(
            "\n".join(lines)[:1990],
            file=discord.File(io.BytesIO(listing.sheet), "pool.png"),
            ephemeral=True,
        )

    @app_commands.command(
        name=locale_str("show"), description=locale_str("One face of the pool by id")
    )
    @moderators_only
    @app_commands.rename(face_id=locale_str("face_id"))
    @app_commands.describe(
        face_id=locale_str("The face's id (type to search; /pool list shows them)")
    )
    @answers_first
    async def show(self, interaction: discord.Interaction, face_id: int) -> None:
        shown = await self.cog.pool.face(interaction.guild_id, face_id)
        face = shown.face
        key = "pool.face_hidden" if face.hidden else "pool.face"
        await interaction.followup.send(
            t(interaction.locale, key, id=face.id, origin=face.origin or "?"),
            file=discord.File(io.BytesIO(shown.crop_png), f"face-{face.id}.png"),
            ephemeral=True,
        )

    @app_commands.command(
        name=locale_str("remove"),
        description=locale_str("Delete a face and the votes that name it"),
    )
    @moderators_only
    @app_commands.rename(face_id=locale_str("face_id"))
    @app_commands.describe(
        face_id=locale_str("The face to delete (type to search; /pool list shows ids)")
    )
    @answers_first
    async def remove(self, interaction: discord.Interaction, face_id: int) -> None:
        named = await self.cog.pool.remove_face(interaction.guild_id, face_id)
        await interaction.followup.send(
            t(interaction.locale, "pool.removed", id=face_id, count=named), ephemeral=True
        )

    @app_commands.command(
        name=locale_str("restore"), description=locale_str("Show a reported (hidden) face again")
    )
    @moderators_only
    @app_commands.rename(face_id=locale_str("face_id"))
    @app_commands.describe(face_id=locale_str("The hidden face to show again (type to search)"))
    @answers_first
    async def restore(self, interaction: discord.Interaction, face_id: int) -> None:
        await self.cog.pool.set_hidden(interaction.guild_id, face_id, False)
        await interaction.followup.send(
            t(interaction.locale, "pool.restored", id=face_id), ephemeral=True
        )

    @app_commands.command(
        name=locale_str("hide"), description=locale_str("Hide a face from pairs and rankings")
    )
    @moderators_only
    @app_commands.rename(face_id=locale_str("face_id"))
    @app_commands.describe(
        face_id=locale_str("The face to hide (type to search; /pool restore shows it again)")
    )
    @answers_first
    async def hide(self, interaction: discord.Interaction, face_id: int) -> None:
        await self.cog.pool.set_hidden(interaction.guild_id, face_id, True)
        await interaction.followup.send(
            t(interaction.locale, "pool.hidden", id=face_id), ephemeral=True
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
        super().__init__(
            name=locale_str("channel"), description=locale_str("Scheduled pairs in a channel")
        )
        self.cog = cog

    @app_commands.command(
        name=locale_str("enable"),
        description=locale_str("Post pairs in this channel on a schedule"),
    )
    @admin_only
    @app_commands.rename(every_minutes=locale_str("every_minutes"))
    @app_commands.describe(
        every_minutes=locale_str("Minutes between two pairs (1 to 10080, a week)")
    )
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
        locale = interaction.locale
        missing = _missing_permissions(interaction)
        text = t(locale, "channel.enabled", minutes=every_minutes)
        if missing:
            text += t(locale, "channel.missing", permissions=permission_names(locale, missing))
        await interaction.followup.send(text, ephemeral=True)

    @app_commands.command(
        name=locale_str("disable"), description=locale_str("Stop scheduled pairs in this channel")
    )
    @admin_only
    @answers_first
    async def disable(self, interaction: discord.Interaction) -> None:
        done = await self.cog.bot.service.voting.disable_channel(
            interaction.guild_id, interaction.channel_id
        )
        await interaction.followup.send(
            t(interaction.locale, "channel.disabled" if done else "channel.had_none"),
            ephemeral=True,
        )


class KonomiGroup(app_commands.Group):
    def __init__(self, cog: PoolAdmin) -> None:
        super().__init__(
            name=locale_str("konomi"),
            description=locale_str("Set konomi up in this server (admins)"),
            guild_only=True,
            default_permissions=discord.Permissions(manage_guild=True),
        )
        self.cog = cog
        self.add_command(ChannelGroup(cog))

    @app_commands.command(
        name=locale_str("setup"),
        description=locale_str("Set konomi up step by step: what is missing"),
    )
    @admin_only
    @answers_first
    async def setup(self, interaction: discord.Interaction) -> None:
        view = SetupView(self.cog, interaction.locale)
        await view.send(interaction, embed=await view.embed(interaction))

    @app_commands.command(
        name=locale_str("status"), description=locale_str("Pool, voters, votes, models and queue")
    )
    @moderators_only
    @answers_first
    async def status(self, interaction: discord.Interaction) -> None:
        status = await self.cog.pool.status(interaction.guild_id)
        counts, version, locale = status.counts, status.guild_model_version, interaction.locale
        guild = f"v{version}" if version else t(locale, "common.none_yet")
        embed = discord.Embed(title=t(locale, "status.title"), colour=discord.Colour.blurple())
        for name, value in (
            ("pool", t(locale, "status.pool_value", faces=counts.faces, hidden=counts.hidden)),
            ("votes", t(locale, "status.votes_value", votes=counts.votes, voters=counts.voters)),
            ("models", t(locale, "status.models_value", models=counts.models, guild=guild)),
            (
                "queue",
                t(locale, "status.queue_value", queued=counts.queued, running=counts.running),
            ),
            ("scheduled", t(locale, "status.scheduled_value", channels=status.scheduled_channels)),
        ):
            embed.add_field(name=t(locale, f"status.{name}"), value=value)
        health = self.cog.bot.loop_health.lines(locale)
        embed.add_field(
            name=t(locale, "status.background"),
            value="\n".join(health) or t(locale, "status.nothing_ran"),
            inline=False,
        )
        await interaction.followup.send(embed=embed, ephemeral=True)

    @app_commands.command(
        name=locale_str("reports"), description=locale_str("Send face reports to this channel")
    )
    @moderators_only
    @answers_first
    async def reports(self, interaction: discord.Interaction) -> None:
        await self.cog.pool.set_reports_channel(interaction.guild_id, interaction.channel_id)
        await interaction.followup.send(t(interaction.locale, "admin.reports_here"), ephemeral=True)

    @app_commands.command(
        name=locale_str("moderators"),
        description=locale_str("Let a role manage the pool and the reports"),
    )
    @admin_only
    @app_commands.rename(role=locale_str("role"))
    @app_commands.describe(
        role=locale_str("The role that may use /pool and /konomi status and reports")
    )
    @answers_first
    async def moderators(self, interaction: discord.Interaction, role: discord.Role) -> None:
        await self.cog.set_moderators_role(interaction.guild_id, role.id)
        await interaction.followup.send(
            t(interaction.locale, "admin.moderators", role=role.mention),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(
        name=locale_str("places"),
        description=locale_str("Open members' private voting threads under this channel"),
    )
    @admin_only
    @answers_first
    async def places(self, interaction: discord.Interaction) -> None:
        channel = thread_parent(interaction.channel)
        await self.cog.bot.service.voting.set_places_channel(interaction.guild_id, channel.id)
        have, locale = interaction.app_permissions, interaction.locale
        missing = [
            name
            for name, ok in {
                "create_private_threads": have.create_private_threads,
                "send_messages_in_threads": have.send_messages_in_threads,
            }.items()
            if not ok
        ]
        text = t(locale, "admin.places", channel=channel.mention)
        if missing:
            names = permission_names(locale, missing, joined_by="permissions.and")
            text += t(locale, "admin.places_missing", permissions=names)
        await interaction.followup.send(text, ephemeral=True)


def welcome_embed(first_model_votes: int, locale: object) -> discord.Embed:
    """The three steps to start, in the server's language."""
    embed = discord.Embed(
        title=t(locale, "welcome.title"),
        description=t(locale, "welcome.description"),
        colour=discord.Colour.blurple(),
    )
    for step in ("faces", "places", "members"):
        embed.add_field(
            name=t(locale, f"welcome.{step}"),
            value=t(locale, f"welcome.{step}_how", votes=first_model_votes),
            inline=False,
        )
    embed.set_footer(text=t(locale, "welcome.footer"))
    return embed


def permission_names(
    locale: object, permissions: list[str], joined_by: str = "permissions.separator"
) -> str:
    """Discord's names of permissions (as its settings show them), in the reader's language."""
    return t(locale, joined_by).join(t(locale, f"permissions.{p}") for p in permissions)


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


PAIR_PERMISSIONS = (
    "view_channel",
    "send_messages",
    "attach_files",
    "add_reactions",
    "read_message_history",
)


def _missing_permissions(interaction: discord.Interaction) -> list[str]:
    """What konomi lacks in this channel to post pairs (discord.py's permission names)."""
    have = interaction.app_permissions
    return [name for name in PAIR_PERMISSIONS if not getattr(have, name)]


class SetupView(KonomiView):
    """/konomi setup: the three steps of the welcome, each marked done or what to do,
    with buttons for the two that can be done from here."""

    def __init__(self, cog: PoolAdmin, locale: object) -> None:
        super().__init__(timeout=600)
        self.cog, self.locale = cog, locale
        self.places_here.label = t(locale, "setup.places_button")
        self.reports_here.label = t(locale, "setup.reports_button")
        self.again.label = t(locale, "setup.again_button")

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return bool(interaction.permissions.manage_guild)

    async def embed(self, interaction: discord.Interaction) -> discord.Embed:
        status = await self.cog.pool.status(interaction.guild_id)
        faces = status.counts.faces - status.counts.hidden
        places, reports = status.places_channel_id, status.reports_channel_id
        mine = interaction.app_permissions
        threads_ok = mine.create_private_threads and mine.send_messages_in_threads
        steps = [  # (step, done, what the step's text is filled in with)
            ("faces", faces >= 2, {"count": faces}),
            ("places", places is not None, {"channel": places}),
            ("reports", reports is not None, {"channel": reports}),
        ]
        locale = self.locale
        embed = discord.Embed(
            title=t(locale, "setup.title"),
            colour=discord.Colour.green()
            if all(done for _, done, _ in steps)
            else discord.Colour.orange(),
        )
        for step, done, fields in steps:
            embed.add_field(
                name=f"{'✅' if done else '❌'} {t(locale, f'setup.{step}')}",
                value=t(locale, f"setup.{step}_{'done' if done else 'missing'}", **fields),
                inline=False,
            )
        if not threads_ok:
            embed.add_field(
                name=t(locale, "setup.permissions"),
                value=t(locale, "setup.permissions_missing"),
                inline=False,
            )
        embed.set_footer(text=t(locale, "setup.footer"))
        return embed

    async def _refresh(self, interaction: discord.Interaction) -> None:
        await interaction.edit_original_response(embed=await self.embed(interaction), view=self)

    @discord.ui.button(label="places", style=discord.ButtonStyle.primary)
    async def places_here(
        self, interaction: discord.Interaction, button: discord.ui.Button
    ) -> None:
        await interaction.response.defer()
        parent = thread_parent(interaction.channel)
        await self.cog.bot.service.voting.set_places_channel(interaction.guild_id, parent.id)
        await self._refresh(interaction)

    @discord.ui.button(label="reports", style=discord.ButtonStyle.secondary)
    async def reports_here(
        self, interaction: discord.Interaction, button: discord.ui.Button
    ) -> None:
        await interaction.response.defer()
        await self.cog.pool.set_reports_channel(interaction.guild_id, interaction.channel_id)
        await self._refresh(interaction)

    @discord.ui.button(label="again", style=discord.ButtonStyle.secondary)
    async def again(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.defer()
        await self._refresh(interaction)


class ReportButtons(KonomiView):
    def __init__(self, cog: PoolAdmin, face_a: int, face_b: int, locale: object) -> None:
        super().__init__(timeout=300)
        for letter, face_id in (("A", face_a), ("B", face_b)):
            button = discord.ui.Button(
                label=t(locale, "report.button", letter=letter, id=face_id),
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
        self.menu = app_commands.ContextMenu(
            name=locale_str("Report face"), callback=self.report_menu
        )
        self.menu.guild_only = True
        self.add_menu_command = app_commands.ContextMenu(
            name=locale_str("Add faces to the pool"), callback=self.add_menu
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
            lines = summary.lines(interaction.locale)
            await interaction.followup.send("\n".join(lines)[:1990], ephemeral=True)

    @moderators_only
    @answers_first
    async def add_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        if not message.attachments:
            await interaction.followup.send(
                t(interaction.locale, "pool.no_attachments"), ephemeral=True
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
        guild = interaction.guild
        admins = guild.preferred_locale if guild else None  # the admins' post: the server's
        if report.hidden:
            what = t(admins, "report.hidden")
            restore = t(admins, "report.restore", id=face_id)
        else:
            what = t(admins, "report.not_hidden", limit=report.hide_limit)
            restore = t(admins, "report.end")
        text = t(
            admins,
            "report.to_admins",
            id=face_id,
            reporter=interaction.user.mention,
            what=what,
            restore=restore,
        )
        told = await self._tell_admins(guild, report, text)
        locale = interaction.locale
        if told is None:
            log.warning("a report in guild %s reached no admin", interaction.guild_id)
            where = t(locale, "report.nobody_told")
        else:
            where = t(locale, "report.told", channel=told.mention)
        key = "report.thanks_hidden" if report.hidden else "report.thanks_visible"
        return t(locale, key, id=face_id, where=where)

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

    @app_commands.command(
        name=locale_str("report"), description=locale_str("Report a face: it is hidden at once")
    )
    @app_commands.guild_only()
    @per_member("report")
    @app_commands.rename(face_id=locale_str("face_id"))
    @app_commands.describe(
        face_id=locale_str("The face's id, printed under it on the pair (type to search)")
    )
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
        locale = interaction.locale
        return [
            app_commands.Choice(
                name=(
                    t(locale, "pool.choice_from", id=f.id, origin=f.origin)
                    if admin and f.origin
                    else t(locale, "pool.choice", id=f.id)
                )[:100],
                value=f.id,
            )
            for f in found[:25]
        ]

    @per_member("report")
    @answers_first
    async def report_menu(self, interaction: discord.Interaction, message: discord.Message) -> None:
        pair = await self.bot.service.voting.pair_of(message.id, interaction.guild_id)
        locale = interaction.locale
        await ReportButtons(self, pair.face_a, pair.face_b, locale).send(
            interaction, t(locale, "report.which")
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
            votes = self.bot.settings.worker.personal_min_votes
            await channel.send(embed=welcome_embed(votes, guild.preferred_locale))
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
