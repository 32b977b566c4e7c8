"""Durable intake: every acknowledged webhook delivery is committed before GitHub hears 202.

SQLite (one process, the default) or PostgreSQL (several replicas, ``DATABASE_URL``), behind ``Journal``.
"""

from bot.journal.model import (
    REDELIVERY_WINDOW_SECONDS,
    STATUSES,
    DeliveryStatus,
    Journal,
    JournalEntry,
    JournalError,
    UnknownDelivery,
)
from bot.journal.opening import journal_location, open_journal
from bot.journal.postgres import PostgresJournal
from bot.journal.sqlite import JOURNAL_FILENAME, SQLiteJournal

__all__ = [
    "JOURNAL_FILENAME",
    "REDELIVERY_WINDOW_SECONDS",
    "STATUSES",
    "DeliveryStatus",
    "Journal",
    "JournalEntry",
    "JournalError",
    "PostgresJournal",
    "SQLiteJournal",
    "UnknownDelivery",
    "journal_location",
    "open_journal",
]
