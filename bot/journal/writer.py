"""Group commit: one thread owns the SQLite connection and commits whatever queued up meanwhile at once.

A commit costs the same whether it carries one delivery or two hundred, so under load the cost of
durability per delivery falls instead of capping throughput. Nothing waits for a batch to fill: the
thread takes what is queued the moment it is free, so a lone request commits immediately.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from bot.journal.model import JournalError

log = logging.getLogger(__name__)

T = TypeVar("T")
# Bounds the time one transaction holds the write lock (and the latency of its first request).
MAX_BATCH = 512

Operation = Callable[[sqlite3.Connection], T]


class TransactionHooks(Protocol):
    """In-memory state changed by operations, kept in step with the database on a rollback."""

    def begin(self) -> None: ...

    def rollback(self) -> None: ...


@dataclass(frozen=True)
class _Request:
    operation: Operation[Any]
    writes: bool
    future: asyncio.Future[Any]


Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]


class GroupCommitWriter:
    """Runs operations on a connection in a dedicated thread, batching the writes into shared transactions.

    An operation that raises anything but ``sqlite3.Error`` must do so before it writes: it fails alone
    and the rest of its batch commits. A ``sqlite3.Error`` rolls the whole batch back and fails every
    request in it, so no caller is told "durable" for a write that did not commit.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], hooks: TransactionHooks) -> None:
        self.commits = 0
        self._hooks = hooks
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._closed = False
        opened: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._serve, args=(connect, opened), name="journal-writer", daemon=True
        )
        self._thread.start()
        opened.result()  # open and migrate before anyone may rely on the journal; errors surface here

    async def submit(self, operation: Operation[T], *, writes: bool) -> T:
        """Run ``operation`` on the writer thread; a write returns only after its batch committed."""
        if self._closed:
            raise JournalError("the journal is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._requests.put(_Request(operation, writes, future))
        return await future

    async def close(self) -> None:
        """Finish every queued request, then close the connection."""
        if self._closed:
            return
        self._closed = True
        self._requests.put(None)
        await asyncio.to_thread(self._thread.join)

    def _serve(self, connect: Callable[[], sqlite3.Connection], opened: Future[None]) -> None:
        try:
            connection = connect()
        except BaseException as error:
            opened.set_exception(error)
            return
        opened.set_result(None)
        try:
            closing = False
            while not closing:
                batch, closing = self._next_batch()
                if batch:
                    self._settle(self._execute(connection, batch))
        finally:
            connection.close()
            self._refuse_stragglers()

    def _next_batch(self) -> tuple[list[_Request], bool]:
        """Everything queued right now (at least one request, or the close signal)."""
        batch: list[_Request] = []
        request = self._requests.get()
        while request is not None:
            batch.append(request)
            if len(batch) == MAX_BATCH:
                return batch, False
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True

    def _execute(self, connection: sqlite3.Connection, batch: list[_Request]) -> list[Outcome]:
        writes = any(request.writes for request in batch)
        outcomes: list[Outcome] = []
        self._hooks.begin()
        try:
            if writes:
                connection.execute("BEGIN IMMEDIATE")
            for request in batch:
                try:
                    outcomes.append((request.future, request.operation(connection), None))
                except sqlite3.Error:
                    raise
                except Exception as error:
                    outcomes.append((request.future, None, error))
            if writes:
                connection.execute("COMMIT")
                self.commits += 1
        except sqlite3.Error as error:
            log.error("journal transaction of %d requests rolled back: %s", len(batch), error)
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            self._hooks.rollback()
            failure = JournalError(f"journal write failed: {error}")
            failure.__cause__ = error
            return [(request.future, None, failure) for request in batch]
        return outcomes

    def _settle(self, outcomes: list[Outcome]) -> None:
        """Hand results back with one wake-up per event loop, not one per request."""
        by_loop: dict[asyncio.AbstractEventLoop, list[Outcome]] = {}
        for outcome in outcomes:
            by_loop.setdefault(outcome[0].get_loop(), []).append(outcome)
        for loop, settled in by_loop.items():
            try:
                loop.call_soon_threadsafe(resolve, settled)
            except RuntimeError:
                log.debug("journal results for a closed event loop dropped")

    def _refuse_stragglers(self) -> None:
        """Requests that raced ``close`` get an error instead of waiting forever."""
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                return
            if request is not None:
                self._settle([(request.future, None, JournalError("the journal is closed"))])


def resolve(outcomes: list[Outcome]) -> None:
    """Hand each caller its result or error (run on the callers' event loop); a cancelled caller gets none."""
    for future, result, error in outcomes:
        if future.done():  # the caller was cancelled; the write stands regardless
            continue
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
