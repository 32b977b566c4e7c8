"""What the journal stores and promises, independent of where it stores it.

The server and the workers speak only to ``Journal``: SQLite for one process, PostgreSQL for several
replicas sharing the work; the retry schedule is a pure function so every implementation backs off alike.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

DeliveryStatus = Literal["pending", "done", "failed", "dead"]
STATUSES: tuple[DeliveryStatus, ...] = get_args(DeliveryStatus)
# What the operator can send back to the workers with ``deliveries retry``.
RETRYABLE: frozenset[DeliveryStatus] = frozenset({"failed", "dead"})

# GitHub lets an App redeliver a delivery for 3 days, and a redelivery keeps its X-GitHub-Delivery id:
# forgetting an id sooner would process that delivery twice.
REDELIVERY_WINDOW_SECONDS = 72 * 3600
# The largest per-test memory one tracker may keep: bot/results/test_changes.py bounds what it encodes to
# this (MAX_ENCODED_BYTES) for any suite; a larger value is a bug or an attack, refused before it is stored.
MAX_TEST_MEMORY_BYTES = 64 * 1024 * 1024


class JournalError(Exception):
    """The journal cannot do what was asked (closed, unknown delivery, unreadable file)."""


class UnknownDelivery(JournalError, KeyError):
    """No entry has this delivery id (never recorded, or pruned after the redelivery window)."""


class TestMemoryTooLarge(JournalError, ValueError):
    """A per-test memory over MAX_TEST_MEMORY_BYTES was not stored (the one stored before stays)."""

    __test__ = False  # not a pytest test class


@dataclass(frozen=True)
class JournalEntry:
    """One webhook delivery as received, and how far its processing got."""

    delivery_id: str
    event: str
    action: str | None
    payload: bytes  # the raw JSON body, byte for byte as GitHub sent it
    received_at: float
    status: DeliveryStatus
    attempts: int  # failed processing attempts so far
    next_attempt_at: float
    last_error: str | None
    key: str | None  # deliveries with the same key are processed one at a time, in order

    def describe(self) -> str:
        """A log-friendly name: ``check_run.completed (delivery 72d3...)``."""
        kind = f"{self.event}.{self.action}" if self.action else self.event
        return f"{kind} (delivery {self.delivery_id})"


class Journal(Protocol):
    """Durable intake: a delivery is acknowledged to GitHub only once ``record`` has returned."""

    async def record(
        self, delivery_id: str, event: str, action: str | None, payload: bytes, key: str | None
    ) -> bool:
        """True if newly recorded (durable when this returns); False for a known id (a redelivery)."""
        ...

    async def claim(
        self, limit: int, now: float, *, per_key: int = 1, keys: int | None = None
    ) -> list[JournalEntry]:
        """Ready entries, oldest first, now in progress in this process.

        An entry is ready when pending, or failed with ``next_attempt_at <= now``. A key's entries come
        out in arrival order, at most ``per_key`` of them per call (more lets the caller coalesce a
        burst), never behind an earlier entry of the key that is not ready, and not at all while the key
        has an entry in progress. ``keys`` caps how many keys (an entry without a key counts as one) the
        call takes entries of, so that a caller with that many free workers gets each key's burst whole
        rather than the first entry of every key. Claims are released by ``complete`` or ``fail``.
        """
        ...

    async def complete(self, delivery_id: str) -> None:
        """The delivery's effects are written: it is done."""
        ...

    async def fail(self, delivery_id: str, error: str, now: float, *, park: bool = False) -> JournalEntry:
        """Schedule a retry with backoff, or park the entry as dead once its attempts are used up.

        ``park`` parks it at once: retrying cannot help until an operator acts (``deliveries retry``).
        """
        ...

    async def retry(self, delivery_id: str) -> bool:
        """Operator's retry: a failed or dead entry is pending again now, with a fresh attempt budget."""
        ...

    async def get(self, delivery_id: str) -> JournalEntry | None: ...

    async def list(self, status: DeliveryStatus | None = None, limit: int = 50) -> list[JournalEntry]:
        """Newest first."""
        ...

    async def counts(self) -> dict[str, int]:
        """Entries per status, plus ``in_progress`` (claimed by this process), for /healthz."""
        ...

    async def oldest_unfinished(self) -> float | None:
        """When the oldest entry not done yet (pending, or failed) was received; None when there is none.

        How far behind the workers are, for /metrics: cheap, from the index of unfinished entries.
        """
        ...

    async def tracker_count(self) -> int:
        """How many trackers have a state saved: the trackers the deployment knows, for its start-up line."""
        ...

    async def prune(self, now: float, keep_seconds: float = REDELIVERY_WINDOW_SECONDS) -> int:
        """Forget done entries received more than ``keep_seconds`` ago; never pending, failed or dead."""
        ...

    async def deployment_secret(self, name: str, generate: Callable[[], bytes]) -> bytes:
        """The deployment's secret ``name``: ``generate``'s value from whichever process asked first."""
        ...

    async def tracker_state(self, scope: str) -> str | None:
        """The state marker last saved for ``scope`` ("owner/repo#2"), if any."""
        ...

    async def save_tracker_state(self, scope: str, generation: int, marker: str) -> None:
        """Keep ``marker`` for ``scope`` unless a later generation is kept already."""
        ...

    async def test_memory(self, scope: str) -> bytes | None:
        """The per-test memory last saved for ``scope`` ("owner/repo#2"), as saved; None if there is none."""
        ...

    async def save_test_memory(self, scope: str, data: bytes) -> None:
        """Keep ``data`` as ``scope``'s per-test memory in place of the last; TestMemoryTooLarge (nothing
        stored) when it is over MAX_TEST_MEMORY_BYTES."""
        ...

    def subscribe(self, arrived: Callable[[str | None], None], settled: Callable[[], None]) -> None:
        """Be told when another process may have made work ready for this one.

        ``arrived(key)``: a delivery of ``key`` was recorded (its burst may still be arriving);
        ``settled()``: an entry was settled, so its key may be free. A journal that only one process works
        from never calls them.
        """
        ...

    async def lead(self, task: str, seconds: float) -> bool:
        """True if this process may run the periodic ``task`` now and holds it for ``seconds``.

        Replicas sharing the journal run ``task`` one at a time; the holder renews by asking again, and
        another process takes over once a crashed holder's ``seconds`` have passed.
        """
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed entry comes back: after a backoff, until its attempts are used up and it is parked."""

    max_attempts: int
    base_delay: float
    max_delay: float

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def after_failure(
        self, attempts: int, now: float, jitter: Callable[[], float], *, park: bool
    ) -> tuple[DeliveryStatus, float]:
        """The status and next attempt time of an entry that has failed ``attempts`` times, the last ``now``.

        ``park`` parks it at once; ``jitter`` is drawn only for a retry.
        """
        if park or attempts >= self.max_attempts:
            return "dead", now
        delay = backoff_delay(attempts, base=self.base_delay, cap=self.max_delay, jitter=jitter())
        return "failed", now + delay


def backoff_delay(attempts: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait after the ``attempts``-th failure: exponential, capped, then jittered.

    ``jitter`` is a draw from [0, 1); the delay lands in [half, all] of the exponential step, so retries of
    a burst that failed together (GitHub down for a minute) spread out instead of returning as one burst.
    """
    step = min(cap, base * 2.0 ** (attempts - 1))
    return step * (0.5 + 0.5 * jitter)


def encode_payload(payload: bytes, *, compress: bool) -> tuple[str, bytes]:
    """How a payload is stored: its ``payload_encoding`` and the stored bytes (zlib at its fastest level)."""
    if compress:
        return "zlib", zlib.compress(payload, 1)
    return "identity", payload


def check_test_memory_size(data: bytes) -> None:
    """Refuse a per-test memory over MAX_TEST_MEMORY_BYTES, before either backend stores it."""
    if len(data) > MAX_TEST_MEMORY_BYTES:
        raise TestMemoryTooLarge(f"a per-test memory of {len(data)} bytes is over {MAX_TEST_MEMORY_BYTES}")


def decode_payload(encoding: str, stored: bytes) -> bytes:
    """The payload as received, from what ``encode_payload`` stored."""
    return zlib.decompress(stored) if encoding == "zlib" else stored
