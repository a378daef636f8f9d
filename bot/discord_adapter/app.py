"""The Discord bot: a Bot subclass whose setup_hook opens the database, starts the
local worker and loads one cog per feature."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from bot.config import Settings
from bot.discord_adapter.loops import LoopHealth
from bot.discord_adapter.replies import reply_to_error
from bot.discord_adapter.translator import CatalogueTranslator
from bot.i18n import t
from bot.logs import import_keras_quietly, setup_logging
from bot.services.konomi import KonomiService
from bot.services.voting import VoteChannel

log = logging.getLogger(__name__)

COGS = (
    "bot.discord_adapter.cogs.voting",
    "bot.discord_adapter.cogs.ranking",
    "bot.discord_adapter.cogs.training",
    "bot.discord_adapter.cogs.pool_admin",
    "bot.discord_adapter.cogs.privacy",
)


class KonomiTree(app_commands.CommandTree):
    """One error handler for every app command: the user gets a clear, safe reply,
    even when the interaction already expired."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await reply_to_error(interaction, error)


class KonomiBot(commands.AutoShardedBot):
    """Sharded from the start: Discord requires shards past 2,500 servers (close code
    4011), and one process then serves them all (`[discord] shard_count`, 0: as many as
    Discord recommends)."""

    def __init__(self, settings: Settings, *, force_sync: bool = False) -> None:
        super().__init__(
            shard_count=settings.discord.shard_count or None,
            command_prefix=(),  # no prefix commands: on_message does nothing
            intents=INTENTS,
            help_command=None,
            tree_cls=KonomiTree,
            chunk_guilds_at_startup=False,
            guild_ready_timeout=settings.discord.guild_ready_timeout_s,
            allowed_mentions=discord.AllowedMentions(users=True, everyone=False, roles=False),
        )
        self.settings = settings
        self.force_sync = force_sync
        self.service: KonomiService  # from setup_hook on, for the bot's whole life
        self.worker: subprocess.Popen | None = None
        self.config_path: Path | None = None
        self.loop_health = LoopHealth()
        self._shutdown: asyncio.Future | None = None
        self._heartbeat: asyncio.Task | None = None
        self.exit_code = 0  # non-zero when the bot stopped because something it needs did
        self._keras: asyncio.Future | None = None

    async def models_ready(self) -> None:
        """Wait until Keras is loaded: before connecting (`[discord] preload_models`),
        else at the first ranking, which then waits for it."""
        if self._keras is None:
            self._keras = asyncio.ensure_future(asyncio.to_thread(import_keras_quietly))
        await asyncio.shield(self._keras)

    async def setup_hook(self) -> None:
        write_heartbeat(self.settings.heartbeat_path, STARTING)
        if self.settings.discord.preload_models:
            await self.models_ready()
        self.service = await KonomiService.open(self.settings)
        if self.settings.worker.embedded:
            command = [sys.executable, "-m", "bot", "worker"]
            if self.config_path is not None:
                command += ["--config", str(self.config_path)]
            self.worker = subprocess.Popen(command)
            log.info("started the training worker (pid %d)", self.worker.pid)
        for extension in COGS:
            await self.load_extension(extension)
        await self.tree.set_translator(CatalogueTranslator())
        await self.sync_commands()
        self._heartbeat = asyncio.create_task(self.beat())

    def connected(self) -> bool:
        """Every shard has its gateway: a shard stuck away is a bot partly deaf."""
        shards = self.shards.values()
        return (
            self.is_ready()
            and not self.is_closed()
            and bool(shards)
            and not any(shard.is_closed() for shard in shards)
        )

    async def launch_shard(self, gateway: yarl.URL, shard_id: int, *, initial: bool = False):
        """discord.py retries a shard's first connection forever, every 5 s; konomi stops
        retrying once it is closing (after `[discord] max_disconnected_s`, or a signal)."""
        if self.is_closed():
            return None
        return await super().launch_shard(gateway, shard_id, initial=initial)

    async def on_message(self, message: discord.Message) -> None:
        """konomi has no prefix commands (and no message intents): nothing to process."""

    async def beat(self) -> None:
        """Rewrite the heartbeat file while the gateway is connected (the container's
        health; the first beat within a second of being ready), and stop the bot when
        its training worker has stopped or it has had no gateway for `[discord]
        max_disconnected_s`: a bot that exits is one its supervisor restarts (Docker
        restarts no container for being unhealthy)."""
        path, interval = self.settings.heartbeat_path, self.settings.discord.heartbeat_interval_s
        beaten = connected_at = time.monotonic() - interval
        while True:
            now, connected = time.monotonic(), self.connected()
            if connected:
                connected_at = now
            if now - connected_at > self.settings.discord.max_disconnected_s:
                return self._stop_for_restart(
                    f"no connection to Discord for {now - connected_at:.0f} s ([discord] "
                    "max_disconnected_s): konomi stops so that its supervisor starts it afresh"
                )
            if self.worker is not None and (code := self.worker.poll()) is not None:
                return self._stop_for_restart(
                    f"the training worker stopped (exit code {code}; its log is above): "
                    "konomi stops too, so that its supervisor restarts both"
                )
            if connected and now - beaten >= interval:
                write_heartbeat(path, CONNECTED)
                beaten = now
            await asyncio.sleep(min(1.0, interval))

    def _stop_for_restart(self, why: str) -> None:
        """Log why and close with exit code 3: the supervisor starts konomi afresh."""
        log.error(why)
        self.exit_code = 3
        asyncio.ensure_future(self.close())

    async def sync_commands(self) -> bool:
        """Sync only when the command definitions changed since the last sync (or forced)."""
        dev_guild = self.settings.discord.dev_guild_id
        target = discord.Object(dev_guild) if dev_guild else None
        if target is not None:
            self.tree.copy_global_to(guild=target)
        translator = self.tree.translator
        definitions = [  # translations included: a new one syncs again
            await c.get_translated_payload(self.tree, translator)
            if translator
            else c.to_dict(self.tree)
            for c in self.tree.get_commands(guild=target)
        ]
        digest = hashlib.sha256(
            json.dumps([dev_guild, definitions], sort_keys=True).encode()
        ).hexdigest()
        if not self.force_sync and await self.service.command_hash() == digest:
            log.info("commands unchanged since the last sync; not syncing")
            return False
        synced = await self.tree.sync(guild=target)
        await self.service.set_command_hash(digest)
        log.info(
            "synced %d commands %s",
            len(synced),
            f"to guild {dev_guild}" if dev_guild else "globally",
        )
        return True

    async def channel(self, channel_id: int):
        """A channel from the cache, else from the API (None when gone or not visible)."""
        channel = self.get_channel(channel_id)
        if channel is None:
            try:
                channel = await self.fetch_channel(channel_id)
            except discord.HTTPException:
                return None
        return channel

    async def on_ready(self) -> None:
        log.info(
            "konomi is ready as %s in %d guilds on %d shards",
            self.user,
            len(self.guilds),
            self.shard_count or 1,
        )

    def shard_of(self, guild_id: int) -> int:
        """The shard whose gateway carries a guild's events (Discord's rule)."""
        return (guild_id >> 22) % (self.shard_count or 1)

    def guild_locale(self, guild_id: int) -> str | None:
        """The server's preferred language: for what konomi posts where everyone reads."""
        guild = self.get_guild(guild_id)
        return str(guild.preferred_locale) if guild else None

    async def member_locale(self, guild_id: int, user_id: int | None) -> str | None:
        """The language a member last used /vote in (what konomi posts unasked in their
        private place, or tells them of their model), else the server's."""
        place = await self.service.voting.place(guild_id, user_id) if user_id else None
        return place.locale if place and place.locale else self.guild_locale(guild_id)

    async def report_missing_permission(self, row: VoteChannel, channel) -> None:
        """Pause a channel the bot cannot post in and tell the admin who enabled it, once
        (in the server's language)."""
        await self.service.voting.disable_channel(row.guild_id, row.channel_id)
        text = t(
            self.guild_locale(row.guild_id),
            "vote.paused_channel",
            channel=getattr(channel, "name", row.channel_id),
        )
        log.warning("missing permission in channel %s; scheduled pairs paused", row.channel_id)
        if not row.enabled_by:
            return  # the admin who enabled it asked to be forgotten
        try:
            admin = await self.fetch_user(row.enabled_by)
            await admin.send(text)
        except discord.HTTPException:
            log.warning("could not tell the admin (user %s) by DM", row.enabled_by)

    async def close(self) -> None:
        """Idempotent: a SIGTERM handler and the end of start() may both call it."""
        if self._shutdown is None:
            self._shutdown = asyncio.ensure_future(self._close())
        await asyncio.shield(self._shutdown)

    async def _close(self) -> None:
        log.info("shutting down")
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self.settings.heartbeat_path.unlink(missing_ok=True)
        # The gateway first, so no reaction arrives after the cogs stop listening;
        # then the cogs, whose unloading writes every vote already received.
        await discord.Client.close(self)
        await super().close()
        if self.worker is not None and self.worker.poll() is None:
            self.worker.terminate()
            try:
                await asyncio.to_thread(self.worker.wait, 30)
            except subprocess.TimeoutExpired:
                self.worker.kill()
                self.worker.wait()
        if hasattr(self, "service"):  # setup_hook may have failed before opening it
            await self.service.close()
            del self.service


STARTING, CONNECTED = "starting", "connected"

# What konomi uses: servers (joins, leaves, channels, threads) and reactions in them and in
# DMs (members may vote there). Interactions need no intent; messages, members and typing
# are not asked for.
INTENTS = discord.Intents(guilds=True, guild_reactions=True, dm_reactions=True)

# Gateway close codes no reconnect can mend: konomi stops (exit code 2) with the cause,
# instead of a restart loop that spends Discord's daily IDENTIFYs.
FATAL_CLOSE_CODES = {
    4004: "Discord closed the gateway: the token is not valid (4004); check DISCORD_TOKEN "
    "or [discord] token",
    4010: "Discord closed the gateway: invalid shard (4010)",
    4011: "Discord closed the gateway: sharding required (4011): konomi is in more servers "
    "than one gateway connection may serve",
    4012: "Discord closed the gateway: invalid API version (4012)",
    4013: "Discord closed the gateway: invalid intents (4013)",
    4014: "Discord closed the gateway: disallowed intents (4014): enable them for the bot "
    "in the Developer Portal, or remove them from konomi",
}


def write_heartbeat(path: Path, state: str) -> None:
    """The file `python -m bot health` reads: the state, its age is the file's."""
    try:
        partial = path.with_name(path.name + ".partial")
        partial.write_text(f"{state} {time.time():.0f}\n")
        partial.replace(path)
    except OSError as error:
        log.warning("could not write the heartbeat file %s: %s", path, error)


def point_at(settings: Settings) -> None:
    """Use the configured API and gateway (Discord's own by default, or a proxy)."""
    discord.http.Route.BASE = settings.discord.api_base_url.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord.gateway_url)


async def _main(settings: Settings, config_path: Path | None, sync_only: bool) -> int:
    point_at(settings)
    bot = KonomiBot(settings, force_sync=sync_only)
    bot.config_path = config_path
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: asyncio.ensure_future(bot.close()))
    try:
        if sync_only:
            await bot.login(settings.discord.token)  # runs setup_hook, which syncs
            return 0
        await bot.start(settings.discord.token)
    except discord.LoginFailure:
        log.error("Discord refused the token: check DISCORD_TOKEN or [discord] token")
        return 2
    except discord.PrivilegedIntentsRequired:
        log.error(FATAL_CLOSE_CODES[4014])
        return 2
    except discord.ConnectionClosed as error:
        if error.code not in FATAL_CLOSE_CODES:
            raise
        log.error(FATAL_CLOSE_CODES[error.code])
        return 2
    finally:
        await bot.close()  # waits for a shutdown a signal began
    return bot.exit_code


def run_bot(settings: Settings, config_path: Path | None = None, sync_only: bool = False) -> int:
    setup_logging(settings.logging.level, settings.secrets)
    if sync_only:
        settings = _for_sync(settings)
    return asyncio.run(_main(settings, config_path, sync_only))


def _for_sync(settings: Settings) -> Settings:
    """A sync only registers commands: no training worker, and no model library."""
    import dataclasses

    return dataclasses.replace(
        settings,
        worker=dataclasses.replace(settings.worker, embedded=False),
        discord=dataclasses.replace(settings.discord, preload_models=False),
    )
