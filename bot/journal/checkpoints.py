"""Copying SQLite's write-ahead log into the database file, from a thread that no delivery waits on.

SQLite's automatic checkpoint runs inside the commit that takes the log past 1,000 pages: inside the write
lock every writer of the file takes turns on (bot/journal/writer.py), several times a second under load,
making both intake processes wait (the p99 of acknowledgements doubled, bench/README.md). Run in the
writer's thread after the commit instead, it held up that process's next batch for as long as the copy
took (~100 ms for a second of log). So the writers' connections have it off (``wal_autocheckpoint = 0``)
and each process's ``Checkpointer`` runs a PASSIVE checkpoint on a connection of its own every
``CHECKPOINT_SECONDS``: PASSIVE waits for no reader or writer, and writers go on appending meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# At 10,000 deliveries a second the log grows by a few MB in this time: each copy is short, and the log
# is reused from its start once a checkpoint has caught up.
CHECKPOINT_SECONDS = 0.1


class Checkpointer:
    """A thread that checkpoints ``path`` every ``interval`` seconds until closed."""

    def __init__(self, path: Path, interval: float = CHECKPOINT_SECONDS) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal-checkpointer", daemon=True)
        self._thread.start()

    async def close(self) -> None:
        self._stop.set()
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self._path, isolation_level=None)
        except sqlite3.Error as error:
            log.error("the journal's checkpoints cannot run: %s", error)
            return
        try:
            while not self._stop.wait(self._interval):
                self._checkpoint(connection)
        finally:
            connection.close()

    def _checkpoint(self, connection: sqlite3.Connection) -> None:
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as error:  # another process's checkpoint under way: the next one catches up
            log.debug("journal checkpoint skipped: %s", error)
