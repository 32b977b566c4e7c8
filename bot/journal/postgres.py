"""The journal in PostgreSQL, shared by every replica of a deployment (``DATABASE_URL``).

Any replica records and acknowledges any delivery (202 once the batch's transaction committed); any
replica claims ready work. A claim marks its entries with the replica's id and a lease that the replica
renews while it works, so a replica that dies (``kill -9``, a lost host) holds nothing once its lease
runs out: another replica takes the entries over. Claims lock rows with ``FOR UPDATE SKIP LOCKED``, so
replicas claiming at once never wait on each other nor take the same entry, and a key (a repository) with
an entry claimed anywhere is skipped whole: one replica works on a repository at a time, in order.
Recording and settling notify the other replicas (LISTEN/NOTIFY), which look for work at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import asyncpg

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
from bot.journal.pg_schema import migrate
from bot.journal.pg_writer import NOTIFY_CHANNEL, PgConnection, PgGroupCommitWriter

log = logging.getLogger(__name__)

# A replica that stops renewing (it died) keeps its claims this long; a live one renews every third of it.
DEFAULT_LEASE_SECONDS = 30.0
# A replica not seen for this many renewals is gone, and the others take its share of the caps.
_REPLICA_GONE_AFTER_RENEWALS = 3
# NOTIFY payloads: "arrived:<key>" (the key empty for none), "settled".
_ARRIVED, _SETTLED = "arrived:", "settled"
# "paused:<installation id>:<until, epoch seconds>": GitHub rate-limited the installation.
_PAUSED = "paused:"
_ENTRY_COLUMNS = (
    "seq, delivery_id, event, action, key, received_at, status, attempts, next_attempt_at, last_error,"
    " payload_encoding, payload"
)
_OPEN = "status IN ('pending', 'failed')"
# Unfinished entries in arrival order, without those of keys claimed (under a live lease) anywhere.
_CANDIDATES = f"""
    SELECT seq, key, status, next_attempt_at, claimed_by IS NOT NULL AND lease_until > $1 AS claimed
    FROM deliveries
    WHERE {_OPEN} AND (key IS NULL OR key NOT IN (
        SELECT key FROM deliveries
        WHERE claimed_by IS NOT NULL AND lease_until > $1 AND key IS NOT NULL AND {_OPEN}
    ))
    ORDER BY seq
"""


def describe_url(url: str) -> str:
    """``host:port/database`` of a DATABASE_URL: what logs and errors may show (never the password)."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


class PostgresJournal:
    """The shared journal: group commit for writes, leases for claims, LISTEN/NOTIFY for wake-ups."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        url: str,
        *,
        retries: RetryPolicy,
        compress_payloads: bool,
        lease_seconds: float,
        renew_every: float,
        clock: Callable[[], float],
        jitter: Callable[[], float],
    ) -> None:
        self.replica = uuid.uuid4().hex
        self.where = describe_url(url)
        self._pool = pool
        self._url = url
        self._retries = retries
        self._compress = compress_payloads
        self._lease = lease_seconds
        self._renew_every = renew_every
        self._clock = clock
        self._jitter = jitter
        self._writer = PgGroupCommitWriter(pool, _insert_deliveries)
        self._arrived: Callable[[str | None], None] | None = None
        self._settled: Callable[[], None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._replicas = 1
        self._pauses: dict[int, float] = {}  # installation id -> epoch seconds, as another replica said
        self._renewing: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        max_attempts: int = 8,
        base_delay: float = 2.0,
        max_delay: float = 600.0,
        compress_payloads: bool = True,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        renew_every: float | None = None,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
        pool_size: int = 10,
        replica: bool = True,
    ) -> PostgresJournal:
        """Connect, migrate the schema, and (a ``replica``, not a one-off command) keep its leases alive."""
        retries = RetryPolicy(max_attempts, base_delay, max_delay)  # refused before connecting
        where = describe_url(url)
        try:
            pool = await asyncpg.create_pool(url, min_size=1, max_size=pool_size)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            raise JournalError(f"cannot reach the journal's PostgreSQL at {where}: {error}") from None
        try:
            async with pool.acquire() as connection:
                await migrate(connection, where)
        except BaseException:
            await pool.close()
            raise
        journal = cls(
            pool,
            url,
            retries=retries,
            compress_payloads=compress_payloads,
            lease_seconds=lease_seconds,
            renew_every=lease_seconds / 3 if renew_every is None else renew_every,
            clock=clock,
            jitter=jitter,
        )
        if replica:
            await journal._renew()
            journal._renewing = asyncio.create_task(journal._keep_renewing(), name="journal leases")
        return journal

    @property
    def commits(self) -> int:
        """Transactions committed so far by the writer: compare with records to see group commit at work."""
        return self._writer.commits

    async def record(
        self, delivery_id: str, event: str, action: str | None, payload: bytes, key: str | None
    ) -> bool:
        received_at = self._clock()
        encoding, stored = encode_payload(payload, compress=self._compress)
        row = (delivery_id, event, action, key, received_at, encoding, stored)
        return await self._writer.insert(row, notify=_ARRIVED + (key or ""))

    async def claim(
        self, limit: int, now: float, *, per_key: int = 1, keys: int | None = None
    ) -> list[JournalEntry]:
        lease_now = self._clock()
        async with self._pool.acquire() as connection, connection.transaction():
            chooser = ClaimChooser(limit, per_key, keys)
            key_of: dict[int, str | None] = {}
            async for row in connection.cursor(_CANDIDATES, lease_now, prefetch=256):
                if not chooser.wants_more():
                    break  # without this, a backlog of other keys would be read to its end for nothing
                ready = (row["status"] == "pending" or row["next_attempt_at"] <= now) and not row["claimed"]
                key_of[row["seq"]] = row["key"]
                chooser.offer(row["seq"], row["key"], ready)
            if not chooser.chosen:
                return []
            # Another replica may have claimed some of them since they were read: those are skipped, not
            # waited for, and so is the rest of their key, which must not overtake them.
            locked = {
                row["seq"]
                for row in await connection.fetch(
                    f"SELECT seq FROM deliveries WHERE seq = ANY($1::bigint[]) AND {_OPEN}"
                    " AND (claimed_by IS NULL OR lease_until <= $2) FOR UPDATE SKIP LOCKED",
                    chooser.chosen,
                    lease_now,
                )
            }
            taken: list[int] = []
            lost: set[str] = set()
            for seq in chooser.chosen:
                key = key_of[seq]
                if seq in locked and (key is None or key not in lost):
                    taken.append(seq)
                elif key is not None:
                    lost.add(key)
            rows = await connection.fetch(
                f"UPDATE deliveries SET claimed_by = $1, lease_until = $2 WHERE seq = ANY($3::bigint[])"
                f" RETURNING {_ENTRY_COLUMNS}",
                self.replica,
                lease_now + self._lease,
                taken,
            )
        return [_entry(row) for row in sorted(rows, key=lambda row: int(row["seq"]))]

    async def complete(self, delivery_id: str) -> None:
        async def mark_done(connection: PgConnection) -> None:
            seq = await connection.fetchval(
                "UPDATE deliveries SET status = 'done', claimed_by = NULL, lease_until = NULL"
                " WHERE delivery_id = $1 RETURNING seq",
                delivery_id,
            )
            if seq is None:
                raise UnknownDelivery(delivery_id)

        await self._writer.submit(mark_done, notify=_SETTLED)

    async def fail(self, delivery_id: str, error: str, now: float, *, park: bool = False) -> JournalEntry:
        async def mark_failed(connection: PgConnection) -> JournalEntry:
            attempts = await connection.fetchval(
                "SELECT attempts FROM deliveries WHERE delivery_id = $1", delivery_id
            )
            if attempts is None:
                raise UnknownDelivery(delivery_id)
            attempts += 1
            status, next_attempt_at = self._retries.after_failure(attempts, now, self._jitter, park=park)
            row = await connection.fetchrow(
                "UPDATE deliveries SET status = $1, attempts = $2, next_attempt_at = $3, last_error = $4,"
                f" claimed_by = NULL, lease_until = NULL WHERE delivery_id = $5 RETURNING {_ENTRY_COLUMNS}",
                status,
                attempts,
                next_attempt_at,
                error,
                delivery_id,
            )
            assert row is not None  # read above, in the same transaction
            return _entry(row)

        return await self._writer.submit(mark_failed, notify=_SETTLED)

    async def retry(self, delivery_id: str) -> bool:
        now = self._clock()

        async def mark_pending(connection: PgConnection) -> bool:
            seq = await connection.fetchval(
                "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1"
                " WHERE delivery_id = $2 AND status = ANY($3::text[]) RETURNING seq",
                now,
                delivery_id,
                sorted(RETRYABLE),
            )
            return seq is not None

        return await self._writer.submit(mark_pending, notify=_SETTLED)

    async def get(self, delivery_id: str) -> JournalEntry | None:
        row = await self._pool.fetchrow(
            f"SELECT {_ENTRY_COLUMNS} FROM deliveries WHERE delivery_id = $1", delivery_id
        )
        return None if row is None else _entry(row)

    async def list(self, status: DeliveryStatus | None = None, limit: int = 50) -> list[JournalEntry]:
        if status is None:
            rows = await self._pool.fetch(
                f"SELECT {_ENTRY_COLUMNS} FROM deliveries ORDER BY seq DESC LIMIT $1", limit
            )
        elif status in STATUSES:
            rows = await self._pool.fetch(
                f"SELECT {_ENTRY_COLUMNS} FROM deliveries WHERE status = $1 ORDER BY seq DESC LIMIT $2",
                status,
                limit,
            )
        else:
            raise ValueError(f"unknown status {status!r}: expected one of {', '.join(STATUSES)}")
        return [_entry(row) for row in rows]

    async def counts(self) -> dict[str, int]:
        counted: dict[str, int] = dict.fromkeys(STATUSES, 0)
        async with self._pool.acquire() as connection:
            for row in await connection.fetch("SELECT status, count(*) FROM deliveries GROUP BY status"):
                counted[row[0]] = row[1]
            counted["in_progress"] = await connection.fetchval(
                f"SELECT count(*) FROM deliveries WHERE claimed_by = $1 AND {_OPEN}", self.replica
            )
        return counted

    async def oldest_unfinished(self) -> float | None:
        async with self._pool.acquire() as connection:
            oldest = await connection.fetchval(f"SELECT min(received_at) FROM deliveries WHERE {_OPEN}")
        return None if oldest is None else float(oldest)

    async def tracker_count(self) -> int:
        async with self._pool.acquire() as connection:
            return int(await connection.fetchval("SELECT count(*) FROM tracker_states"))

    async def prune(self, now: float, keep_seconds: float = REDELIVERY_WINDOW_SECONDS) -> int:
        async def forget(connection: PgConnection) -> int:
            deleted = await connection.fetch(
                "DELETE FROM deliveries WHERE status = 'done' AND received_at < $1 RETURNING seq",
                now - keep_seconds,
            )
            return len(deleted)

        return await self._writer.submit(forget)

    async def deployment_secret(self, name: str, generate: Callable[[], bytes]) -> bytes:
        candidate = generate()

        async def get_or_make(connection: PgConnection) -> bytes:
            await connection.execute(
                "INSERT INTO deployment_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                name,
                candidate,
            )
            value = await connection.fetchval("SELECT value FROM deployment_secrets WHERE name = $1", name)
            return bytes(value)

        return await self._writer.submit(get_or_make)

    async def tracker_state(self, scope: str) -> str | None:
        marker = await self._pool.fetchval("SELECT marker FROM tracker_states WHERE scope = $1", scope)
        return None if marker is None else str(marker)

    async def save_tracker_state(self, scope: str, generation: int, marker: str) -> None:
        async def upsert(connection: PgConnection) -> None:
            await connection.execute(
                "INSERT INTO tracker_states (scope, generation, marker) VALUES ($1, $2, $3)"
                " ON CONFLICT (scope) DO UPDATE"
                " SET generation = excluded.generation, marker = excluded.marker"
                " WHERE excluded.generation >= tracker_states.generation",
                scope,
                generation,
                marker,
            )

        await self._writer.submit(upsert)

    async def test_memory(self, scope: str) -> bytes | None:
        data = await self._pool.fetchval("SELECT data FROM test_memories WHERE scope = $1", scope)
        return None if data is None else bytes(data)

    async def save_test_memory(self, scope: str, data: bytes) -> None:
        check_test_memory_size(data)

        async def upsert(connection: PgConnection) -> None:
            await connection.execute(
                "INSERT INTO test_memories (scope, data) VALUES ($1, $2)"
                " ON CONFLICT (scope) DO UPDATE SET data = excluded.data",
                scope,
                data,
            )

        await self._writer.submit(upsert)

    def subscribe(self, arrived: Callable[[str | None], None], settled: Callable[[], None]) -> None:
        self._arrived, self._settled = arrived, settled

    async def lead(self, task: str, seconds: float) -> bool:
        now = self._clock()
        holder = await self._pool.fetchval(
            "INSERT INTO leases (task, holder, until) VALUES ($1, $2, $3)"
            " ON CONFLICT (task) DO UPDATE SET holder = excluded.holder, until = excluded.until"
            " WHERE leases.holder = excluded.holder OR leases.until <= $4 RETURNING holder",
            task,
            self.replica,
            now + seconds,
            now,
        )
        return holder is not None

    def in_flight_share(self, max_in_flight: int) -> int:
        """This replica's part of an installation's concurrency cap: the cap split among live replicas."""
        return max(1, max_in_flight // self._replicas)

    async def reserve_write(self, installation_id: int, interval: float) -> float:
        """Seconds until this replica's next write for the installation may start, the slot now its own."""
        now = self._clock()
        start = await self._pool.fetchval(
            "INSERT INTO write_pacing (installation_id, next_write_at) VALUES ($1, $2::float8 + $3::float8)"
            " ON CONFLICT (installation_id) DO UPDATE"
            " SET next_write_at = GREATEST(write_pacing.next_write_at, $2::float8) + $3::float8"
            " RETURNING next_write_at - $3::float8",
            installation_id,
            now,
            interval,
        )
        return max(0.0, float(start) - self._clock())  # from now, however long the query took

    def paused_until(self, installation_id: int) -> float:
        return self._pauses.get(installation_id, 0.0)

    async def share_pause(self, installation_id: int, until: float) -> None:
        await self._pool.execute(
            "SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, f"{_PAUSED}{installation_id}:{until!r}"
        )

    async def close(self) -> None:
        """Stop, handing this replica's claims back at once so that another replica need not wait."""
        if self._renewing is not None:
            self._renewing.cancel()
            await asyncio.gather(self._renewing, return_exceptions=True)
            self._renewing = None
        await self._writer.close()
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await self._pool.execute(
                "UPDATE deliveries SET claimed_by = NULL, lease_until = NULL WHERE claimed_by = $1",
                self.replica,
            )
            await self._pool.execute("DELETE FROM replicas WHERE id = $1", self.replica)
        if self._listener is not None:
            with contextlib.suppress(OSError, asyncpg.InterfaceError):
                await self._listener.close()
        await self._pool.close()

    async def _keep_renewing(self) -> None:
        while True:
            await asyncio.sleep(self._renew_every)
            try:
                await self._renew()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("cannot renew this replica's leases in %s: %s", self.where, error)

    async def _renew(self) -> None:
        """Extend this replica's claims, say it is alive, count the live ones, and keep listening."""
        now = self._clock()
        async with self._pool.acquire() as connection:
            # Rows being settled right now are skipped, not waited for: waiting on the writer's batch,
            # which locks rows in its own order, could deadlock, and a settled row needs no lease.
            await connection.execute(
                "UPDATE deliveries SET lease_until = $1 WHERE seq IN (SELECT seq FROM deliveries"
                f" WHERE claimed_by = $2 AND {_OPEN} FOR UPDATE SKIP LOCKED)",
                now + self._lease,
                self.replica,
            )
            await connection.execute(
                "INSERT INTO replicas (id, seen_at) VALUES ($1, $2)"
                " ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
                self.replica,
                now,
            )
            gone_before = now - _REPLICA_GONE_AFTER_RENEWALS * self._renew_every
            await connection.execute("DELETE FROM replicas WHERE seen_at < $1", gone_before)
            self._replicas = max(1, await connection.fetchval("SELECT count(*) FROM replicas"))
        if self._listener is None or self._listener.is_closed():
            self._listener = await asyncpg.connect(self._url)
            await self._listener.add_listener(NOTIFY_CHANNEL, self._notified)

    def _notified(self, connection: object, pid: int, channel: str, payload: object) -> None:
        if not isinstance(payload, str):
            return
        if payload.startswith(_PAUSED):
            installation, _, until = payload.removeprefix(_PAUSED).partition(":")
            with contextlib.suppress(ValueError):
                key = int(installation)
                self._pauses[key] = max(self._pauses.get(key, 0.0), float(until))
        elif payload.startswith(_ARRIVED) and self._arrived is not None:
            self._arrived(payload.removeprefix(_ARRIVED) or None)
        elif payload == _SETTLED and self._settled is not None:
            self._settled()


async def _insert_deliveries(connection: PgConnection, rows: list[tuple[Any, ...]]) -> list[bool]:
    """A batch's new deliveries in one statement, in arrival order; for each, whether it was new.

    A delivery id twice in one batch (GitHub's redelivery racing the original) is new only the first time.
    """
    columns = list(zip(*rows, strict=True))
    inserted = {
        row["delivery_id"]
        for row in await connection.fetch(
            "INSERT INTO deliveries (delivery_id, event, action, key, received_at, status, attempts,"
            " next_attempt_at, payload_encoding, payload)"
            " SELECT d, e, a, k, r, 'pending', 0, r, pe, p FROM unnest("
            "$1::text[], $2::text[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::bytea[]"
            ") WITH ORDINALITY AS t(d, e, a, k, r, pe, p, n) ORDER BY n"
            " ON CONFLICT (delivery_id) DO NOTHING RETURNING delivery_id",
            *columns,
        )
    }
    new: list[bool] = []
    for delivery_id, *_ in rows:
        new.append(delivery_id in inserted)
        inserted.discard(delivery_id)
    return new


def _entry(row: asyncpg.Record) -> JournalEntry:
    return JournalEntry(
        delivery_id=row["delivery_id"],
        event=row["event"],
        action=row["action"],
        payload=decode_payload(row["payload_encoding"], bytes(row["payload"])),
        received_at=row["received_at"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        key=row["key"],
    )
