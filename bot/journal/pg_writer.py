"""Group commit on PostgreSQL: one task commits whatever writes queued up meanwhile in one transaction.

As with SQLite, the commit (the server's WAL flush) costs the same for one delivery or two hundred, so
under load durability gets cheaper per delivery instead of capping throughput. A lone write commits at
once: nothing waits for a batch to fill. New deliveries, the bulk of the writes, go into a batch's
transaction as one statement rather than one round trip each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.journal.model import JournalError
from bot.journal.writer import Outcome, resolve

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BATCH = 512  # bounds one transaction's row locks and its first request's latency
NOTIFY_CHANNEL = "issue_status_bot_journal"

# A connection of its own or one lent by the pool: both run queries alike.
PgConnection = asyncpg.Connection | PoolConnectionProxy
PgOperation = Callable[[PgConnection], Awaitable[T]]
# Rows of one kind written by one statement; returns one result per row, in order.
BulkInsert = Callable[[PgConnection, list[tuple[Any, ...]]], Awaitable[list[bool]]]


@dataclass(frozen=True)
class _Request:
    operation: PgOperation[Any] | None  # None: ``row`` goes in through the bulk insert
    notify: str | None  # told to every replica once the batch commits
    future: asyncio.Future[Any]
    row: tuple[Any, ...] = ()


class PgGroupCommitWriter:
    """Runs write operations on a pooled connection, batched into shared transactions.

    An operation that raises anything but a PostgreSQL error must do so before it writes: it fails alone
    and the rest of its batch commits. A PostgreSQL error rolls the whole batch back and fails every
    request in it, so no caller is told "durable" for a write that did not commit.
    """

    def __init__(self, pool: asyncpg.Pool, insert: BulkInsert) -> None:
        self.commits = 0
        self._pool = pool
        self._insert = insert
        self._requests: asyncio.Queue[_Request | None] = asyncio.Queue()
        self._closed = False
        self._task = asyncio.create_task(self._serve(), name="journal writer")

    async def submit(self, operation: PgOperation[T], *, notify: str | None = None) -> T:
        """Run ``operation`` in the next batch; returns only after that batch committed."""
        if self._closed:
            raise JournalError("the journal is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._requests.put_nowait(_Request(operation, notify, future))
        return await future

    async def insert(self, row: tuple[Any, ...], *, notify: str | None = None) -> bool:
        """Insert ``row`` with the next batch's other rows in one statement; True if it was new."""
        if self._closed:
            raise JournalError("the journal is closed")
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._requests.put_nowait(_Request(None, notify, future, row))
        return await future

    async def close(self) -> None:
        """Finish every queued request, then stop (the pool is the caller's to close)."""
        if self._closed:
            return
        self._closed = True
        self._requests.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _serve(self) -> None:
        closing = False
        while not closing:
            batch: list[_Request] = []
            request = await self._requests.get()
            while request is not None:
                batch.append(request)
                if len(batch) == MAX_BATCH or self._requests.empty():
                    break
                request = self._requests.get_nowait()
            closing = request is None
            if batch:
                await self._execute(batch)

    async def _execute(self, batch: list[_Request]) -> None:
        outcomes: list[Outcome] = []
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                rows = [request for request in batch if request.operation is None]
                if rows:
                    inserted = await self._insert(connection, [request.row for request in rows])
                    outcomes += [(r.future, new, None) for r, new in zip(rows, inserted, strict=True)]
                for request in batch:
                    if request.operation is None:
                        continue
                    try:
                        outcomes.append((request.future, await request.operation(connection), None))
                    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                        raise
                    except Exception as error:
                        outcomes.append((request.future, None, error))
                notices = sorted({request.notify for request in batch if request.notify})
                if notices:  # one round trip for them all; delivered once the batch commits
                    await connection.execute(
                        "SELECT pg_notify($1, notice) FROM unnest($2::text[]) AS notice",
                        NOTIFY_CHANNEL,
                        notices,
                    )
            self.commits += 1
        except Exception as error:  # the store refused or is unreachable: nothing of the batch committed
            log.error("journal transaction of %d requests rolled back: %s", len(batch), error)
            failure = JournalError(f"journal write failed: {error}")
            failure.__cause__ = error
            outcomes = [(request.future, None, failure) for request in batch]
        resolve(outcomes)
