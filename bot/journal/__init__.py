"""Durable intake: every acknowledged webhook delivery is on disk before GitHub hears 202."""

from bot.journal.model import (
    REDELIVERY_WINDOW_SECONDS,
    STATUSES,
    DeliveryStatus,
    Journal,
    JournalEntry,
    JournalError,
    UnknownDelivery,
)
from bot.journal.sqlite import JOURNAL_FILENAME, SQLiteJournal

__all__ = [
    "JOURNAL_FILENAME",
    "REDELIVERY_WINDOW_SECONDS",
    "STATUSES",
    "DeliveryStatus",
    "Journal",
    "JournalEntry",
    "JournalError",
    "SQLiteJournal",
    "UnknownDelivery",
]
