"""SQLite storage: the only code in konomi that writes SQL."""

from storage.db import latest_version, migrate, open_database, transaction

__all__ = ["latest_version", "migrate", "open_database", "transaction"]
