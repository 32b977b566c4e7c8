"""Workers: journalled deliveries in, effects out, in order per repository, bursts coalesced.

A delivery is acknowledged once it is in the journal; from then on it is the workers' job to make it take
effect exactly once. Entries of one repository are processed one batch at a time and in order (the
journal's key), by one process at a time when replicas share the journal; different repositories run
concurrently. The twenty ``check_run.completed`` deliveries
of one commit become one recomputation: each recomputes the whole commit from GitHub's truth, so one
dispatch per commit stands for all of them, and every entry is marked done only after it succeeded.

A commit's jobs, suites and workflow runs complete as a mix of event types, within moments of each other
but not necessarily within one claim: a recomputation waits until its repository has had no delivery for
the coalescing window, and a delivery received before a recomputation of its commit began is covered by
it (done, not dispatched again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github.client import InstallationGone
from bot.journal import Journal, JournalEntry
from bot.journal.delivered import DeliveredEvent
from bot.logs import bind, issue_in
from bot.metrics import Metrics
from bot.updating.tracker import TrackerService

log = logging.getLogger(__name__)

COMMIT_EVENTS = {"check_run": "check_run", "check_suite": "check_suite", "workflow_run": "workflow_run"}
# How long a repository's burst is given to arrive before it is processed as one.
DEFAULT_COALESCE_SECONDS = 1.0
# Failed entries become ready again on their own schedule; this is how often the workers look.
RETRY_POLL_SECONDS = 1.0
CLAIM_BATCH = 200
PRUNE_EVERY_SECONDS = 3600.0
# Repositories worked on at once. Writes are paced per installation (1 s apart), so a repository's burst
# takes seconds of mostly waiting: 8 took 128 s for 200 repositories' bursts, 32 take 37 s and peak at
# 187 MiB (bench/burst.py); GitHub calls of one installation are bounded by its own throttle regardless.
DEFAULT_CONCURRENCY = 32
# A repository that never falls quiet (a delivery every moment) is still recomputed this many windows on.
MAX_COALESCE_WINDOWS = 5
# Commits whose last recomputation's start is remembered, to recognise deliveries it already covered.
REMEMBERED_RECOMPUTATIONS = 4096


def journal_key(payload: dict[str, Any]) -> str | None:
    """Deliveries about one repository are processed in order; others run concurrently."""
    repository = payload.get("repository")
    if isinstance(repository, dict) and isinstance(repository.get("full_name"), str):
        return str(repository["full_name"])
    return None


# A commit as the CI handlers see it: its sha, the branch its CI ran for, and whether the payload says it
# came from another repository (a fork). Completions alike in these coalesce whatever their event type.
Commit = tuple[str, str | None, bool]


def _commit_of(entry: JournalEntry, data: dict[str, Any]) -> Commit | None:
    """The commit a CI completion is about, read where its handler reads it (bot/handlers/results.py)."""
    field = COMMIT_EVENTS.get(entry.event)
    item = data.get(field) if field is not None and entry.action == "completed" else None
    if not isinstance(item, dict) or not isinstance(item.get("head_sha"), str):
        return None
    # A check run names its branch and head repository through its suite.
    where = item.get("check_suite") if entry.event == "check_run" else item
    where = where if isinstance(where, dict) else {}
    branch = where.get("head_branch")
    head = where.get("head_repository")
    repository = data.get("repository")
    foreign = (
        isinstance(head, dict) and isinstance(repository, dict) and head.get("id") != repository.get("id")
    )
    return str(item["head_sha"]), branch if isinstance(branch, str) else None, foreign


@dataclass
class _Dispatch:
    """Deliveries about one commit (or a single delivery), and the event that stands for them."""

    entries: list[JournalEntry]
    event: Event
    commit: Commit | None = None


class DeliveryWorkers:
    """Claims ready journal entries and dispatches them through the router."""

    def __init__(
        self,
        journal: Journal,
        router: Router,
        trackers: TrackerService,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        coalesce_seconds: float = DEFAULT_COALESCE_SECONDS,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.journal = journal
        self._metrics = metrics or Metrics()
        self._router = router
        self._trackers = trackers
        self._concurrency = concurrency
        self.coalesce_seconds = coalesce_seconds
        self._clock = clock
        self._wakeup = asyncio.Event()
        self._last_arrival = -float("inf")  # event-loop time of the latest wake() (a new delivery)
        self._arrivals: dict[str, float] = {}  # key -> event-loop time of its latest delivery
        # (key, commit) -> clock time at which its latest successful recomputation began.
        self._recomputed: OrderedDict[tuple[str | None, Commit], float] = OrderedDict()
        self._running: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._pass_done = asyncio.Event()  # a claim pass found nothing more to start, for drain()
        self._pruned_at = -float("inf")  # clock time of the journal's last pruning
        self.processed = 0
        self.failed = 0

    def wake(self, key: str | None = None) -> None:
        """A delivery was journalled (under ``key``): look for work, once its burst has had time to arrive."""
        self._last_arrival = asyncio.get_running_loop().time()
        if key is not None:
            self._arrivals[key] = self._last_arrival
        self._wakeup.set()

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name="delivery workers")
        self._wakeup.set()  # entries left unfinished by a previous process
        # Deliveries other replicas took, and keys they freed, matter here as much as this one's own.
        self.journal.subscribe(self.wake, self._wakeup.set)

    async def stop(self) -> None:
        """Stop claiming, and let work in flight finish (its entries stay journalled if cut short)."""
        if self._loop_task is not None:
            self._loop_task.cancel()
            await asyncio.gather(self._loop_task, return_exceptions=True)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def drain(self) -> None:
        """Wait until every ready entry has been processed (for the demo, the tests and benchmarks)."""
        while True:
            self._pass_done.clear()
            self._wakeup.set()
            await self._pass_done.wait()
            if self._running:
                await asyncio.gather(*list(self._running), return_exceptions=True)
                continue
            counts = await self.journal.counts()
            if counts.get("pending", 0) == 0 and counts.get("in_progress", 0) == 0:
                return

    async def _loop(self) -> None:
        while True:
            # Not asyncio.wait_for: on Python 3.11 a wake-up in the same turn as a cancellation made it return
            # and swallow the cancellation, and stop() waited out shutdown's grace.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RETRY_POLL_SECONDS):
                    await self._wakeup.wait()
            self._wakeup.clear()
            # A burst gets ``coalesce`` seconds from its latest delivery to arrive (at most that long per
            # pass); entries waiting for a free worker or a retry are long complete and wait no more.
            pause = min(
                self.coalesce_seconds,
                self._last_arrival + self.coalesce_seconds - asyncio.get_running_loop().time(),
            )
            if pause > 0:
                await asyncio.sleep(pause)
            # Only as many keys as there are free workers are claimed, each with its whole burst: a claim
            # of the first entry of every key would split each repository's burst into many dispatches.
            while (free := self._concurrency - len(self._running)) > 0 and (
                entries := await self.journal.claim(
                    CLAIM_BATCH, self._clock(), per_key=CLAIM_BATCH, keys=free
                )
            ):
                by_key: dict[str | None, list[JournalEntry]] = {}
                for entry in entries:
                    by_key.setdefault(entry.key if entry.key is not None else entry.delivery_id, []).append(
                        entry
                    )
                for batch in by_key.values():
                    task = asyncio.create_task(self._process(batch))
                    self._running.add(task)
                    task.add_done_callback(self._finished)
            await self._prune_now_and_then()
            self._pass_done.set()

    async def _prune_now_and_then(self) -> None:
        """Forget done deliveries once GitHub can no longer redeliver them (72 h), about once an hour."""
        now = self._clock()
        if now - self._pruned_at >= PRUNE_EVERY_SECONDS:
            self._pruned_at = now
            forgotten = await self.journal.prune(now)
            if forgotten:
                log.info("forgot %d done deliveries older than GitHub's redelivery window", forgotten)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._wakeup.set()  # a worker and the key are free again: the key's later entries may be ready

    async def _quiet(self, key: str | None, received_at: float) -> None:
        """Wait until ``key`` has had no delivery for the coalescing window, however the claim was timed
        (at most ``MAX_COALESCE_WINDOWS`` windows, so that a repository never quiet is not starved).

        ``received_at`` (clock time) is the newest claimed delivery's: it counts even when word of its
        arrival is still on its way from an intake process (bot/intake/report.py).
        """
        loop = asyncio.get_running_loop()
        latest_start = loop.time() + MAX_COALESCE_WINDOWS * self.coalesce_seconds
        claimed = loop.time() - max(0.0, self._clock() - received_at)
        arrived = max(claimed, self._arrivals.get(key, -float("inf")) if key is not None else -float("inf"))
        while (wait := min(arrived + self.coalesce_seconds, latest_start) - loop.time()) > 0:
            await asyncio.sleep(wait)
            arrived = max(claimed, self._arrivals.get(key, -float("inf")) if key is not None else claimed)
        if key is not None and arrived + self.coalesce_seconds <= loop.time():
            self._arrivals.pop(key, None)

    def _covered(self, key: str | None, commit: Commit, entries: list[JournalEntry]) -> bool:
        """Whether a recomputation of ``commit`` began after every one of ``entries`` was received."""
        began = self._recomputed.get((key, commit))
        return began is not None and all(entry.received_at <= began for entry in entries)

    def _remember_recomputation(self, key: str | None, commit: Commit, began: float) -> None:
        self._recomputed[(key, commit)] = began
        self._recomputed.move_to_end((key, commit))
        while len(self._recomputed) > REMEMBERED_RECOMPUTATIONS:
            self._recomputed.popitem(last=False)

    async def _process(self, batch: list[JournalEntry]) -> None:
        """One repository's claimed entries, in order; a commit's completions dispatch once."""
        dispatches: list[_Dispatch] = []
        by_commit: dict[Commit, _Dispatch] = {}
        for entry in batch:
            try:
                data = orjson.loads(entry.payload)
            except orjson.JSONDecodeError:  # journalled only after it parsed: a corrupt row is a bug
                await self._settle([entry], "payload is not JSON")
                continue
            event = DeliveredEvent(
                data, event=entry.event, delivery_id=entry.delivery_id, received_at=entry.received_at
            )
            commit = _commit_of(entry, data)
            if commit is not None and commit in by_commit:
                # The newest delivery about the commit stands for all of them; only its payload is kept
                # (a burst's parsed payloads would otherwise all stay in memory until it is done).
                dispatch = by_commit[commit]
                dispatch.entries.append(entry)
                dispatch.event = event
                continue
            dispatch = _Dispatch([entry], event, commit)
            dispatches.append(dispatch)
            if commit is not None:
                by_commit[commit] = dispatch
        key = batch[0].key
        if by_commit:
            # The rest of a commit's burst may still be on its way.
            await self._quiet(key, max(entry.received_at for entry in batch))
        for dispatch in dispatches:
            entry = dispatch.entries[-1]
            bind(entry.delivery_id, key, issue_in(dispatch.event.data))  # named by every line logged now
            if dispatch.commit is not None and self._covered(key, dispatch.commit, dispatch.entries):
                log.info("%s: already covered by a recomputation of its commit", entry.describe())
                await self._settle(dispatch.entries, None)
                continue
            began = self._clock()
            try:
                await self._router.dispatch(dispatch.event, self._trackers)
            except InstallationGone as gone:
                # Retrying cannot help until the App is installed again: park it now, with the reason.
                await self._settle(dispatch.entries, f"{type(gone).__name__}: {gone}", park=True)
            except Exception as error:
                log.exception("%s failed", entry.describe())
                await self._settle(dispatch.entries, f"{type(error).__name__}: {error}")
            else:
                if dispatch.commit is not None:
                    self._remember_recomputation(key, dispatch.commit, began)
                await self._settle(dispatch.entries, None)
                if len(dispatch.entries) > 1:
                    log.info(
                        "%s stood for %d deliveries about the same commit",
                        entry.describe(),
                        len(dispatch.entries),
                    )

    async def _settle(self, entries: list[JournalEntry], error: str | None, *, park: bool = False) -> None:
        for entry in entries:
            if error is None:
                await self.journal.complete(entry.delivery_id)
                self.processed += 1
                self._metrics.latency.observe(max(0.0, self._clock() - entry.received_at))
                self._metrics.processed.labels("done").inc()
            else:
                parked = await self.journal.fail(entry.delivery_id, error[:1000], self._clock(), park=park)
                self.failed += 1
                self._metrics.processed.labels(parked.status).inc()
                if parked.status == "dead":
                    log.error(
                        "%s parked as dead after %d attempts: %s", entry.describe(), parked.attempts, error
                    )
