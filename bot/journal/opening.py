"""Which journal a process opens: PostgreSQL when DATABASE_URL is set, else SQLite under BOT_STATE_DIR.

The one place that knows the backends apart; everything above speaks to ``Journal``.
"""

from __future__ import annotations

from pathlib import Path

from bot.journal.model import Journal
from bot.journal.postgres import DEFAULT_LEASE_SECONDS, PostgresJournal, describe_url
from bot.journal.sqlite import JOURNAL_FILENAME, SQLiteJournal


async def open_journal(
    database_url: str | None,
    state_dir: Path,
    *,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    replica: bool = True,
) -> Journal:
    """The deployment's journal, its schema created or migrated; raises ``JournalError`` if unusable.

    ``replica`` False: a command that only reads and retries, and so takes no share of the replicas' work.
    """
    if database_url:
        return await PostgresJournal.open(database_url, lease_seconds=lease_seconds, replica=replica)
    state_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, at start-up, before serving)
    return SQLiteJournal(state_dir / JOURNAL_FILENAME)


def journal_location(database_url: str | None, state_dir: Path) -> str:
    """Where the journal is, for messages: never a password."""
    if database_url:
        return f"PostgreSQL at {describe_url(database_url)}"
    return str(state_dir / JOURNAL_FILENAME)
