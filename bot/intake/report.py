"""What intake tells the rest of the server of each delivery: arrivals for the workers, outcomes for metrics.

In one process these go straight to the workers and the metrics (``LocalReport``). An intake process
(``bot.intake.child``) has neither: it writes them as JSON lines to a pipe of its own (``PipeReport``), and
the serving process reads them (``ReportReader``) into its ``LocalReport``, so that the workers learn of a
repository's delivery the moment it is journalled (the coalescing window counts from it) and /metrics
counts every process's deliveries.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import signal
from collections.abc import Callable
from typing import Protocol

import orjson

from bot.dispatch.workers import DeliveryWorkers
from bot.metrics import Metrics

log = logging.getLogger(__name__)

# A line longer than this is not one an intake process writes (keys and event names are short).
MAX_LINE_BYTES = 64 * 1024
# More deliveries than one intake process answers in a report's interval, by far.
MAX_COUNT = 1_000_000
# What an intake process keeps unsent while the serving process does not read: past it, lines are dropped.
MAX_UNSENT_BYTES = 4 * 1024 * 1024
_READ_BYTES = 64 * 1024
# How long an intake process gathers reports before writing them: small beside the coalescing window
# (the workers also count it from the journal's own receive times, bot/dispatch/workers.py).
REPORT_SECONDS = 0.005


class IntakeReport(Protocol):
    def arrived(self, key: str | None) -> None:
        """A delivery of ``key`` (a repository) was journalled."""

    def delivery(self, event: str, outcome: str) -> None:
        """A delivery was answered: ``acked``, ``duplicate`` or ``ignored``."""

    def refused(self, reason: str) -> None:
        """A request was refused (``refusal_reason``'s label)."""


class LocalReport:
    """Straight to this process's workers and metrics (the workers exist once the server has started)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self.workers: DeliveryWorkers | None = None

    def arrived(self, key: str | None) -> None:
        if self.workers is not None:
            self.workers.wake(key)

    def delivery(self, event: str, outcome: str) -> None:
        self.metrics.delivery(event, outcome)

    def refused(self, reason: str) -> None:
        self.metrics.refused.labels(reason).inc()


class PipeReport:
    """Lines to the serving process, gathered for ``REPORT_SECONDS`` and written at once, never blocking.

    Each repository's arrival once per write and outcomes as counts: one write per few milliseconds, not
    one per delivery (a write per turn of the event loop was 6 % of an intake process under load).
    """

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self._fd = fd
        self._arrived: set[str | None] = set()
        self._counts: collections.Counter[tuple[str, ...]] = collections.Counter()
        self._unsent = bytearray()
        self._flush_scheduled = False
        self._waiting_for_room = False
        self._dropped = 0

    def arrived(self, key: str | None) -> None:
        self._arrived.add(key)
        self._schedule()

    def delivery(self, event: str, outcome: str) -> None:
        self._counts["d", event, outcome] += 1
        self._schedule()

    def refused(self, reason: str) -> None:
        self._counts["r", reason] += 1
        self._schedule()

    def ready(self) -> None:
        """This process listens: the serving process counts it as up."""
        self._unsent += b'["ready"]\n'
        self._flush()

    def _schedule(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_later(REPORT_SECONDS, self._flush)

    def _gathered(self) -> bytes:
        lines = [orjson.dumps(["a", key]) for key in self._arrived]
        lines += [orjson.dumps([*what, count]) for what, count in self._counts.items()]
        self._arrived.clear()
        self._counts.clear()
        return b"\n".join(lines) + b"\n" if lines else b""

    def _flush(self) -> None:
        self._flush_scheduled = False
        gathered = self._gathered()
        if len(self._unsent) + len(gathered) > MAX_UNSENT_BYTES:
            self._dropped += 1
            if self._dropped == 1:
                log.error(
                    "the serving process reads no reports: dropping them (its workers poll the journal)"
                )
        else:
            self._unsent += gathered
        if self._waiting_for_room or not self._unsent:
            return
        self._write()

    def _write(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            written = os.write(self._fd, self._unsent)
        except BlockingIOError:
            written = 0
        except BrokenPipeError:
            # The serving process is gone: this process must not go on acknowledging on its own.
            log.critical("the serving process is gone: this intake process stops")
            self._unsent.clear()
            signal.raise_signal(signal.SIGTERM)
            return
        del self._unsent[:written]
        if self._unsent and not self._waiting_for_room:
            self._waiting_for_room = True
            loop.add_writer(self._fd, self._write)
        elif not self._unsent and self._waiting_for_room:
            self._waiting_for_room = False
            loop.remove_writer(self._fd)
            self._dropped = 0


class ReportReader:
    """Reads one intake process's pipe into ``report``; calls ``ready`` on its first "ready" line."""

    def __init__(self, fd: int, report: IntakeReport, ready: Callable[[], None]) -> None:
        os.set_blocking(fd, False)
        self._fd = fd
        self._report = report
        self._ready = ready
        self._partial = b""
        asyncio.get_running_loop().add_reader(fd, self._read)

    def close(self) -> None:
        if self._fd >= 0:
            asyncio.get_running_loop().remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1

    def _read(self) -> None:
        try:
            data = os.read(self._fd, _READ_BYTES)
        except BlockingIOError:
            return
        if not data:  # the intake process exited; its watcher decides what follows
            self.close()
            return
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        if len(self._partial) > MAX_LINE_BYTES:
            log.error("an intake process wrote a line over %d bytes: dropped", MAX_LINE_BYTES)
            self._partial = b""
        for line in lines:
            self._apply(line)

    def _apply(self, line: bytes) -> None:
        try:
            message = orjson.loads(line)
        except orjson.JSONDecodeError:
            log.error("an intake process wrote a line that is not JSON: dropped")
            return
        match message:
            case ["a", str() | None as key]:
                self._report.arrived(key)
            case ["d", str() as event, str() as outcome, int() as count] if 0 < count <= MAX_COUNT:
                for _ in range(count):
                    self._report.delivery(event, outcome)
            case ["r", str() as reason, int() as count] if 0 < count <= MAX_COUNT:
                for _ in range(count):
                    self._report.refused(reason)
            case ["ready"]:
                self._ready()
            case _:
                log.error("an intake process wrote an unknown report: dropped")
