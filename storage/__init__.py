"""SQLite storage: the only code in konomi that writes SQL."""

from storage.db import (
    DatabaseBusy,
    DatabaseUnusable,
    busy_message,
    is_busy,
    latest_version,
    migrate,
    open_database,
    transaction,
)

__all__ = [
    "DatabaseBusy",
    "DatabaseUnusable",
    "busy_message",
    "is_busy",
    "latest_version",
    "migrate",
    "open_database",
    "transaction",
]
