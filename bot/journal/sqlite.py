"""The journal in one SQLite file (WAL mode) under BOT_STATE_DIR, written through group commit."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Literal, TypeVar

from bot.journal.checkpoints import Checkpointer
from bot.journal.claiming import ClaimChooser
from bot.journal.model import (
    REDELIVERY_WINDOW_SECONDS,
    RETRYABLE,
    STATUSES,
    DeliveryStatus,
    JournalEntry,
    JournalError,
    RetryPolicy,
    UnknownDelivery,
    check_test_memory_size,
    decode_payload,
    encode_payload,
)
from bot.journal.writer import GroupCommitWriter, Operation

JOURNAL_FILENAME = "journal.sqlite3"

# Each step takes the schema from version i to i + 1 (PRAGMA user_version); append, never edit.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE deliveries (
            seq INTEGER PRIMARY KEY,
            delivery_id TEXT NOT NULL UNIQUE,
            event TEXT NOT NULL,
            action TEXT,
            key TEXT,
            received_at REAL NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed', 'dead')),
            attempts INTEGER NOT NULL,
            next_attempt_at REAL NOT NULL,
            last_error TEXT,
            payload_encoding TEXT NOT NULL CHECK (payload_encoding IN ('identity', 'zlib')),
            payload BLOB NOT NULL
        ) STRICT
        """,
        # What the workers scan: only the unfinished entries, in arrival order.
        "CREATE INDEX deliveries_open ON deliveries (seq, key) WHERE status IN ('pending', 'failed')",
        "CREATE INDEX deliveries_done ON deliveries (received_at) WHERE status = 'done'",
    ),
    (
        # Secrets every process of the deployment shares (the state key), made once by the first to ask.
        "CREATE TABLE deployment_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT",
        # The state marker each tracker was last written with: what the bot knows, whatever the issue says.
        """
        CREATE TABLE tracker_states (
            scope TEXT PRIMARY KEY,
            generation INTEGER NOT NULL,
            marker TEXT NOT NULL
        ) STRICT
        """,
    ),
    (
        # Each tracker's per-test outcomes of its last final runs (bot/results/test_changes.py): too large
        # for the issue body, where only their summary goes.
        "CREATE TABLE test_memories (scope TEXT PRIMARY KEY, data BLOB NOT NULL) STRICT",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)

_ENTRY_COLUMNS = (
    "delivery_id, event, action, key, received_at, status, attempts, next_attempt_at, last_error,"
    " payload_encoding, payload"
)
_INSERT_DELIVERIES = (
    "INSERT INTO deliveries (delivery_id, event, action, key, received_at, status, attempts,"
    " next_attempt_at, payload_encoding, payload) VALUES "
)
_DELIVERY_ROW = "(?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)"
# Rows per statement: 8 parameters each stays under SQLite's oldest limit of 999 parameters.
_ROWS_PER_STATEMENT = 100
Synchronous = Literal["NORMAL", "FULL"]
T = TypeVar("T")


class SQLiteJournal:
    """The embedded journal: one writer thread, one connection, group commit.

    Durability: WAL with ``synchronous=NORMAL``. A commit is in the WAL file, in the operating system's
    page cache, before ``record`` returns, so it survives the process being killed (``kill -9``, OOM)
    at any instant. ``FULL`` adds an fsync of the WAL at every commit, which is what it takes to survive
    power loss or a kernel crash as well; ``NORMAL`` may lose the last commits before a checkpoint in that
    case (never corrupting the file), and the reconcile task heals those trackers from GitHub's truth.
    NORMAL is the default because the process dying is the failure we must absorb on every deploy,
    while group commit makes FULL affordable where the disk's fsync is cheap: pass ``synchronous``.

    Claims are kept in memory, never written: a restart forgets them, so whatever a dead process was
    working on is simply pending again (at-least-once; effects are idempotent elsewhere). Only one
    worker process may claim from a file; others (intake processes, the ``deliveries`` command) may
    record, read and retry, their write transactions taking turns on the writer's lock file.
    """

    def __init__(
        self,
        path: Path,
        *,
        max_attempts: int = 8,
        base_delay: float = 2.0,
        max_delay: float = 600.0,
        synchronous: Synchronous = "NORMAL",
        compress_payloads: bool = True,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._retries = RetryPolicy(max_attempts, base_delay, max_delay)
        self.path = path
        self._compress = compress_payloads
        self._clock = clock
        self._jitter = jitter
        self._claims = _Claims()
        self._writer = GroupCommitWriter(
            partial(_connect, path, synchronous),
            self._claims,
            self._insert_new,
            prepare_row=self._encoded,
            lock_path=path.with_name(path.name + ".lock"),
        )
        self._checkpointer = Checkpointer(path)

    @property
    def commits(self) -> int:
        """Transactions committed so far: compare with records to see group commit at work."""
        return self._writer.commits

    async def record(
        self, delivery_id: str, event: str, action: str | None, payload: bytes, key: str | None
    ) -> bool:
        received_at = self._clock()
        return await self._writer.insert((delivery_id, event, action, key, received_at, payload))

    def _encoded(self, row: tuple[object, ...]) -> tuple[object, ...]:
        """A delivery's row with its payload as stored, made before the batch takes the write lock."""
        *columns, payload = row
        assert isinstance(payload, bytes)
        return (*columns, *encode_payload(payload, compress=self._compress))

    def _insert_new(self, connection: sqlite3.Connection, rows: list[tuple[object, ...]]) -> list[bool]:
        """A batch's deliveries in one statement; False for an id already recorded or earlier in the batch.

        Runs inside the batch's transaction, which holds the write lock: no other process records an id
        between the look-up and the insert (if one did, the insert's conflict rolls the batch back).
        """
        known: set[object] = set()
        for start in range(0, len(rows), _ROWS_PER_STATEMENT):
            ids = [row[0] for row in rows[start : start + _ROWS_PER_STATEMENT]]
            known.update(
                found
                for (found,) in connection.execute(
                    f"SELECT delivery_id FROM deliveries WHERE delivery_id IN ({','.join('?' * len(ids))})",
                    ids,
                )
            )
        new: list[object] = []
        results: list[bool] = []
        for delivery_id, event, action, key, received_at, encoding, stored in rows:
            results.append(delivery_id not in known)
            if delivery_id in known:
                continue
            known.add(delivery_id)
            new += (delivery_id, event, action, key, received_at, received_at, encoding, stored)
        values_per_statement = 8 * _ROWS_PER_STATEMENT
        for start in range(0, len(new), values_per_statement):
            values = new[start : start + values_per_statement]
            connection.execute(_INSERT_DELIVERIES + ", ".join([_DELIVERY_ROW] * (len(values) // 8)), values)
        return results

    async def claim(
        self, limit: int, now: float, *, per_key: int = 1, keys: int | None = None
    ) -> list[JournalEntry]:
        return await self._writer.submit(partial(self._claim, limit, now, per_key, keys), writes=False)

    def _claim(
        self, limit: int, now: float, per_key: int, keys: int | None, connection: sqlite3.Connection
    ) -> list[JournalEntry]:
        # Keys with work in progress are skipped in SQLite, not in Python: during a burst most of the
        # unfinished entries belong to keys being worked on, and this runs after every completion.
        candidates = connection.execute(
            "SELECT seq, delivery_id, key, status, next_attempt_at FROM deliveries"
            " WHERE status IN ('pending', 'failed')"
            " AND (key IS NULL OR key NOT IN (SELECT value FROM json_each(?))) ORDER BY seq",
            (json.dumps(sorted(self._claims.busy_keys())),),
        )
        chooser = ClaimChooser(limit, per_key, keys)
        for seq, delivery_id, key, status, next_attempt_at in candidates:
            if not chooser.wants_more():
                break  # without this, a backlog of other keys would be read to its end for nothing
            ready = (status == "pending" or next_attempt_at <= now) and delivery_id not in self._claims
            chooser.offer(seq, key, ready)
        candidates.close()
        chosen = chooser.chosen
        entries = _select(connection, f"seq IN ({','.join('?' * len(chosen))}) ORDER BY seq", chosen)
        for entry in entries:
            self._claims.take(entry.delivery_id, entry.key)
        return entries

    async def complete(self, delivery_id: str) -> None:
        def mark_done(connection: sqlite3.Connection) -> None:
            cursor = connection.execute(
                "UPDATE deliveries SET status = 'done' WHERE delivery_id = ?", (delivery_id,)
            )
            self._claims.release(delivery_id)
            if cursor.rowcount == 0:
                raise UnknownDelivery(delivery_id)

        await self._writer.submit(mark_done, writes=True)

    async def fail(self, delivery_id: str, error: str, now: float, *, park: bool = False) -> JournalEntry:
        def mark_failed(connection: sqlite3.Connection) -> JournalEntry:
            row = connection.execute(
                "SELECT attempts FROM deliveries WHERE delivery_id = ?", (delivery_id,)
            ).fetchone()
            if row is None:
                raise UnknownDelivery(delivery_id)
            attempts = row[0] + 1
            status, next_attempt_at = self._retries.after_failure(attempts, now, self._jitter, park=park)
            connection.execute(
                "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?"
                " WHERE delivery_id = ?",
                (status, attempts, next_attempt_at, error, delivery_id),
            )
            self._claims.release(delivery_id)
            return _select(connection, "delivery_id = ?", (delivery_id,))[0]

        return await self._writer.submit(mark_failed, writes=True)

    async def retry(self, delivery_id: str) -> bool:
        now = self._clock()
        retryable = ", ".join(f"'{status}'" for status in sorted(RETRYABLE))

        def mark_pending(connection: sqlite3.Connection) -> bool:
            cursor = connection.execute(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?"
                f" WHERE delivery_id = ? AND status IN ({retryable})",
                (now, delivery_id),
            )
            return cursor.rowcount == 1

        return await self._writer.submit(mark_pending, writes=True)

    async def get(self, delivery_id: str) -> JournalEntry | None:
        entries = await self._read(partial(_select, where="delivery_id = ?", parameters=(delivery_id,)))
        return entries[0] if entries else None

    async def list(self, status: DeliveryStatus | None = None, limit: int = 50) -> list[JournalEntry]:
        parameters: tuple[object, ...]
        if status is None:
            where, parameters = "1 ORDER BY seq DESC LIMIT ?", (limit,)
        elif status in STATUSES:
            where, parameters = "status = ? ORDER BY seq DESC LIMIT ?", (status, limit)
        else:
            raise ValueError(f"unknown status {status!r}: expected one of {', '.join(STATUSES)}")
        return await self._read(partial(_select, where=where, parameters=parameters))

    async def counts(self) -> dict[str, int]:
        def count(connection: sqlite3.Connection) -> dict[str, int]:
            counted: dict[str, int] = dict.fromkeys(STATUSES, 0)
            counted.update(connection.execute("SELECT status, count(*) FROM deliveries GROUP BY status"))
            counted["in_progress"] = len(self._claims)
            return counted

        return await self._read(count)

    async def oldest_unfinished(self) -> float | None:
        def oldest(connection: sqlite3.Connection) -> float | None:
            row = connection.execute(
                "SELECT received_at FROM deliveries WHERE status IN ('pending', 'failed')"
                " ORDER BY seq LIMIT 1"
            ).fetchone()
            return None if row is None else float(row[0])

        return await self._read(oldest)

    async def tracker_count(self) -> int:
        def count(connection: sqlite3.Connection) -> int:
            return int(connection.execute("SELECT count(*) FROM tracker_states").fetchone()[0])

        return await self._read(count)

    async def prune(self, now: float, keep_seconds: float = REDELIVERY_WINDOW_SECONDS) -> int:
        def forget(connection: sqlite3.Connection) -> int:
            cursor = connection.execute(
                "DELETE FROM deliveries WHERE status = 'done' AND received_at < ?", (now - keep_seconds,)
            )
            return cursor.rowcount

        return await self._writer.submit(forget, writes=True)

    async def deployment_secret(self, name: str, generate: Callable[[], bytes]) -> bytes:
        candidate = generate()

        def get_or_make(connection: sqlite3.Connection) -> bytes:
            connection.execute(
                "INSERT INTO deployment_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                (name, candidate),
            )
            row = connection.execute(
                "SELECT value FROM deployment_secrets WHERE name = ?", (name,)
            ).fetchone()
            return bytes(row[0])

        return await self._writer.submit(get_or_make, writes=True)

    async def tracker_state(self, scope: str) -> str | None:
        def select(connection: sqlite3.Connection) -> str | None:
            row = connection.execute("SELECT marker FROM tracker_states WHERE scope = ?", (scope,)).fetchone()
            return None if row is None else str(row[0])

        return await self._read(select)

    async def save_tracker_state(self, scope: str, generation: int, marker: str) -> None:
        def upsert(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT INTO tracker_states (scope, generation, marker) VALUES (?, ?, ?)"
                " ON CONFLICT (scope) DO UPDATE"
                " SET generation = excluded.generation, marker = excluded.marker"
                " WHERE excluded.generation >= tracker_states.generation",
                (scope, generation, marker),
            )

        await self._writer.submit(upsert, writes=True)

    async def test_memory(self, scope: str) -> bytes | None:
        def select(connection: sqlite3.Connection) -> bytes | None:
            row = connection.execute("SELECT data FROM test_memories WHERE scope = ?", (scope,)).fetchone()
            return None if row is None else bytes(row[0])

        return await self._read(select)

    async def save_test_memory(self, scope: str, data: bytes) -> None:
        check_test_memory_size(data)

        def upsert(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT INTO test_memories (scope, data) VALUES (?, ?)"
                " ON CONFLICT (scope) DO UPDATE SET data = excluded.data",
                (scope, data),
            )

        await self._writer.submit(upsert, writes=True)

    def subscribe(self, arrived: Callable[[str | None], None], settled: Callable[[], None]) -> None:
        """Only one process works from the file, and the server wakes its own workers."""

    async def lead(self, task: str, seconds: float) -> bool:
        return True  # one server per file: it always leads

    async def close(self) -> None:
        await self._writer.close()
        await self._checkpointer.close()

    async def _read(self, operation: Operation[T]) -> T:
        return await self._writer.submit(operation, writes=False)


class _Claims:
    """Entries in progress in this process, by delivery id, with their keys."""

    def __init__(self) -> None:
        self._keys: dict[str, str | None] = {}
        self._saved: dict[str, str | None] = {}

    def __contains__(self, delivery_id: object) -> bool:
        return delivery_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def busy_keys(self) -> set[str]:
        return {key for key in self._keys.values() if key is not None}

    def take(self, delivery_id: str, key: str | None) -> None:
        self._keys[delivery_id] = key

    def release(self, delivery_id: str) -> None:
        self._keys.pop(delivery_id, None)

    def begin(self) -> None:
        self._saved = dict(self._keys)

    def rollback(self) -> None:
        self._keys = self._saved


def _connect(path: Path, synchronous: Synchronous) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Autocommit mode: the writer issues BEGIN/COMMIT itself, one transaction per batch.
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode != "wal":
            raise JournalError(f"{path}: cannot use WAL mode (got {mode!r}); is it on a network filesystem?")
        connection.execute(f"PRAGMA synchronous = {synchronous}")
        # The deliveries command may hold the write lock briefly while the server runs.
        connection.execute("PRAGMA busy_timeout = 5000")
        # Checkpoints are the Checkpointer's, outside the write lock (bot/journal/checkpoints.py).
        connection.execute("PRAGMA wal_autocheckpoint = 0")
        _migrate(connection, path)
    except BaseException:
        connection.close()
        raise
    return connection


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise JournalError(
            f"{path} has journal schema version {version}, newer than this bot's {SCHEMA_VERSION}:"
            " upgrade the bot or point BOT_STATE_DIR elsewhere"
        )
    for target, statements in enumerate(_MIGRATIONS[version:], start=version + 1):
        connection.execute("BEGIN IMMEDIATE")
        for statement in statements:
            connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {target}")
        connection.execute("COMMIT")


def _select(connection: sqlite3.Connection, where: str, parameters: Sequence[object]) -> list[JournalEntry]:
    rows = connection.execute(f"SELECT {_ENTRY_COLUMNS} FROM deliveries WHERE {where}", parameters)
    return [_entry(*row) for row in rows]


def _entry(
    delivery_id: str,
    event: str,
    action: str | None,
    key: str | None,
    received_at: float,
    status: DeliveryStatus,
    attempts: int,
    next_attempt_at: float,
    last_error: str | None,
    payload_encoding: str,
    payload: bytes,
) -> JournalEntry:
    return JournalEntry(
        delivery_id=delivery_id,
        event=event,
        action=action,
        payload=decode_payload(payload_encoding, payload),
        received_at=received_at,
        status=status,
        attempts=attempts,
        next_attempt_at=next_attempt_at,
        last_error=last_error,
        key=key,
    )
