"""SQLite storage: the only code in konomi that writes SQL."""

from storage.db import DatabaseUnusable, latest_version, migrate, open_database, transaction

__all__ = ["DatabaseUnusable", "latest_version", "migrate", "open_database", "transaction"]
