"""KonomiService: the feature services over one database connection and one set of
image helpers. Ranking, training and the jobs load Keras, so they are built on first
use: a command that needs no model (`votes import`, `pool`, `purge`) never imports it."""

from __future__ import annotations

import asyncio
from functools import cached_property
from typing import TYPE_CHECKING

import aiosqlite

from bot.config import Settings
from bot.services import open_settings_database
from bot.services.imaging import ImageHelpers
from bot.services.pool import PoolService
from bot.services.privacy import PrivacyService
from bot.services.voting import VotingService
from storage import state

if TYPE_CHECKING:
    from bot.services.jobs import JobsService
    from bot.services.ranking import RankingService
    from bot.services.training import TrainingService

__all__ = ["KonomiService"]

COMMAND_HASH_KEY = "command_sync_hash"


class KonomiService:
    """The feature services over one database connection and one set of image helpers
    (started on first use). Exists from the bot's setup_hook to its close."""

    def __init__(self, db: aiosqlite.Connection, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        # Every untrusted file is read here, in helper processes started on first use.
        self.images = ImageHelpers.for_settings(settings)
        self.voting = VotingService(db, settings)
        self.pool = PoolService(db, settings, self.images)
        self.privacy = PrivacyService(db, settings)

    @cached_property
    def ranking(self) -> RankingService:
        from bot.services.ranking import RankingService

        return RankingService(self.db, self.settings, self.images)

    @cached_property
    def training(self) -> TrainingService:
        from bot.services.training import TrainingService

        return TrainingService(self.db, self.settings)

    @cached_property
    def jobs(self) -> JobsService:
        from bot.services.jobs import JobsService

        return JobsService(self.db, self.settings, self.training)

    @classmethod
    async def open(cls, settings: Settings) -> KonomiService:
        """Open (and migrate) the configured database; raises DatabaseUnusable."""
        return cls(await open_settings_database(settings), settings)

    async def close(self) -> None:
        await asyncio.to_thread(self.images.close)  # waits for the helpers to exit
        await self.db.close()

    async def command_hash(self) -> str | None:
        """The hash of the slash commands as last synced with Discord."""
        return await state.get_value(self.db, COMMAND_HASH_KEY)

    async def set_command_hash(self, digest: str) -> None:
        await state.set_value(self.db, COMMAND_HASH_KEY, digest)
