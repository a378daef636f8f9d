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
from storage import DatabaseUnusable, open_database

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = ["DatabaseUnusable", "UserError", "check_database"]


async def check_database(settings: Settings) -> None:
    """Open and close the database once: a start-up check that raises DatabaseUnusable
    (light: the CLI runs it before anything imports Keras)."""
    await (await open_database(settings.database_path)).close()
