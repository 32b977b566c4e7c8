"""Group commit on PostgreSQL: one task commits whatever writes queued up meanwhile in one transaction.

As with SQLite, the commit (the server's WAL flush) costs the same for one delivery or two hundred, so
under load durability gets cheaper per delivery instead of capping throughput. A lone write commits at
once: nothing waits for a batch to fill.
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

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_BATCH = 512  # bounds one transaction's row locks and its first request's latency
NOTIFY_CHANNEL = "issue_status_bot_journal"

# A connection of its own or one lent by the pool: both run queries alike.
PgConnection = asyncpg.Connection | PoolConnectionProxy
PgOperation = Callable[[PgConnection], Awaitable[T]]


@dataclass(frozen=True)
class _Request:
    operation: PgOperation[Any]
    notify: str | None  # told to every replica once the batch commits
    future: asyncio.Future[Any]


class PgGroupCommitWriter:
    """Runs write operations on a pooled connection, batched into shared transactions.

    An operation that raises anything but a PostgreSQL error must do so before it writes: it fails alone
    and the rest of its batch commits. A PostgreSQL error rolls the whole batch back and fails every
    request in it, so no caller is told "durable" for a write that did not commit.
    """

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.commits = 0
        self._pool = pool
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
        outcomes: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                for request in batch:
                    try:
                        outcomes.append((request.future, await request.operation(connection), None))
                    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                        raise
                    except Exception as error:
                        outcomes.append((request.future, None, error))
                for kind in sorted({request.notify for request in batch if request.notify}):
                    await connection.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, kind)
            self.commits += 1
        except Exception as error:  # the store refused or is unreachable: nothing of the batch committed
            log.error("journal transaction of %d requests rolled back: %s", len(batch), error)
            failure = JournalError(f"journal write failed: {error}")
            failure.__cause__ = error
            outcomes = [(request.future, None, failure) for request in batch]
        for future, result, problem in outcomes:
            if future.done():  # the caller was cancelled; the write stands regardless
                continue
            if problem is None:
                future.set_result(result)
            else:
                future.set_exception(problem)
