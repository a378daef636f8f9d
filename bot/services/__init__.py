"""konomi's one way in: every rule of the product, by feature, for the cogs, the CLI
and the worker alike. Imports neither discord nor the cogs; raises UserError (and its
kinds) with the message for the person.

    voting    pair choice, votes from reactions, scheduled channels
    ranking   uploads read in the image helpers, scored; /mytaste
    training  jobs built from storage, trained, stored; the queue people ask through
    pool      faces in and out, reports, the admin's status, a guild's lifecycle
    privacy   stats, export, forget

KonomiService (bot/services/konomi.py) holds them all over one database connection;
this package's top level stays light (no Keras) for the CLI's start-up checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services.errors import UserError
from storage import DatabaseBusy, DatabaseUnusable, busy_message, is_busy, open_database

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = [
    "DatabaseBusy",
    "DatabaseUnusable",
    "UserError",
    "busy_message",
    "check_database",
    "is_busy",
    "open_settings_database",
]


async def open_settings_database(settings: Settings):
    """The configured database, opened (and migrated) with the configured lock wait."""
    return await open_database(
        settings.database_path, busy_timeout_s=settings.storage.busy_timeout_s
    )


async def check_database(settings: Settings) -> None:
    """Open and close the database once: a start-up check that raises DatabaseUnusable
    (light: the CLI runs it before anything imports Keras)."""
    await (await open_settings_database(settings)).close()
