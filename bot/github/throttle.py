"""Pacing of calls for one installation: few in flight, writes one at a time and spaced out.

GitHub's guidance against secondary rate limits: make requests serially, and "if you are making a large
number of POST, PATCH, PUT, or DELETE requests ... wait at least one second between each request". After a
rate-limit answer, every call of the installation waits until the limit resets, not only the one refused.
One throttle per installation is shared by all the clients working for it, and, when replicas share a
PostgreSQL journal, agrees with the other replicas' throttles through it: GitHub's limits are per
installation, not per process.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
DEFAULT_MAX_IN_FLIGHT = 8
DEFAULT_WRITE_INTERVAL = 1.0  # seconds; GitHub's "at least one second between each request"


@dataclass(frozen=True)
class Clock:
    """Where the client reads the time and waits; tests substitute a manual clock."""

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time  # seconds since the epoch, as x-ratelimit-reset counts
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


@runtime_checkable
class SharedPacing(Protocol):
    """What the replicas of a deployment agree on through their shared store (the PostgreSQL journal)."""

    def in_flight_share(self, max_in_flight: int) -> int:
        """This process's part of an installation's cap on calls in flight."""
        ...

    async def reserve_write(self, installation_id: int, interval: float) -> float:
        """Take the installation's next write slot, ``interval`` after the one before; seconds to wait."""
        ...

    def paused_until(self, installation_id: int) -> float:
        """Until when (seconds since the epoch) another replica was told to hold the installation's calls."""
        ...

    async def share_pause(self, installation_id: int, until: float) -> None:
        """Tell the other replicas to hold the installation's calls until ``until`` (epoch seconds)."""
        ...


class PausedBeyondDeadline(Exception):
    """The installation is paused (rate limited) past the caller's deadline: waiting is pointless."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"paused for another {seconds:.0f} s")
        self.seconds = seconds


class InstallationThrottle:
    """Caps concurrent calls and spaces writes for one installation (across replicas, given ``shared``)."""

    def __init__(
        self,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        write_interval: float = DEFAULT_WRITE_INTERVAL,
        clock: Clock | None = None,
        installation_id: int = 0,
        shared: SharedPacing | None = None,
    ) -> None:
        if max_in_flight < 1 or write_interval < 0:
            raise ValueError("max_in_flight must be at least 1 and write_interval not negative")
        self.max_in_flight = max_in_flight
        self.write_interval = write_interval
        self._clock = clock or Clock()
        self._installation_id = installation_id
        self._shared = shared
        self._active = 0  # calls in flight in this process
        self._turns = asyncio.Condition()
        self._writing = asyncio.Lock()
        self._next_write_at = -math.inf
        self._paused_until = -math.inf
        self._telling: set[asyncio.Task[None]] = set()  # pauses on their way to the other replicas

    def pause(self, seconds: float) -> None:
        """Hold every call of the installation for ``seconds`` (GitHub said the limit is reached), here
        and in the other replicas: their calls would only meet the same refusal."""
        self._paused_until = max(self._paused_until, self._clock.monotonic() + seconds)
        if self._shared is not None:
            telling = asyncio.create_task(self._tell(self._shared, self._clock.wall() + seconds))
            self._telling.add(telling)
            telling.add_done_callback(self._telling.discard)

    async def _tell(self, shared: SharedPacing, until: float) -> None:
        try:
            await shared.share_pause(self._installation_id, until)
        except Exception as error:  # the others meet the limit themselves and pause then
            log.warning("cannot tell the other replicas of a rate-limit pause: %s", error)

    def _paused(self) -> float:
        """Until when (monotonic) calls wait: this process's pause or one another replica shared."""
        if self._shared is None:
            return self._paused_until
        shared = self._shared.paused_until(self._installation_id) - self._clock.wall()
        return max(self._paused_until, self._clock.monotonic() + shared) if shared > 0 else self._paused_until

    @asynccontextmanager
    async def slot(self, method: str, *, deadline: float = math.inf) -> AsyncIterator[None]:
        """Held for the duration of one attempt; waits for its turn first.

        Raises ``PausedBeyondDeadline`` at once when a rate-limit pause outlasts ``deadline``.
        """
        if (paused := self._paused()) > deadline:
            raise PausedBeyondDeadline(paused - self._clock.monotonic())
        if method.upper() not in WRITE_METHODS:
            await self._wait_until(self._paused)
            async with self._in_flight():
                yield
            return
        async with self._writing:
            await self._wait_until(lambda: max(self._next_write_at, self._paused()))
            await self._take_shared_write_slot()
            try:
                async with self._in_flight():
                    yield
            finally:
                self._next_write_at = self._clock.monotonic() + self.write_interval

    @asynccontextmanager
    async def _in_flight(self) -> AsyncIterator[None]:
        """One of the calls in flight: at most the cap, or this replica's share of it."""
        limit = self.max_in_flight
        if self._shared is not None:
            limit = self._shared.in_flight_share(self.max_in_flight)
        async with self._turns:
            await self._turns.wait_for(lambda: self._active < limit)
            self._active += 1
        try:
            yield
        finally:
            self._active -= 1
            async with self._turns:
                self._turns.notify_all()

    async def _take_shared_write_slot(self) -> None:
        """Space this write from the other replicas' writes for the installation too."""
        if self._shared is None or self.write_interval == 0:
            return
        try:
            wait = await self._shared.reserve_write(self._installation_id, self.write_interval)
        except Exception as error:  # the store is unreachable: this process's own spacing still holds
            log.warning("cannot agree on write pacing with the other replicas: %s", error)
            return
        if wait > 0:
            await self._clock.sleep(wait)

    async def _wait_until(self, moment: Callable[[], float]) -> None:
        while (wait := moment() - self._clock.monotonic()) > 0:
            await self._clock.sleep(wait)
