"""Pacing of calls for one installation: few in flight, writes one at a time and spaced out.

GitHub's guidance against secondary rate limits: make requests serially, and "if you are making a large
number of POST, PATCH, PUT, or DELETE requests ... wait at least one second between each request". After a
rate-limit answer, every call of the installation waits until the limit resets, not only the one refused.
One throttle per installation is shared by all the clients working for it.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
DEFAULT_MAX_IN_FLIGHT = 8
DEFAULT_WRITE_INTERVAL = 1.0  # seconds; GitHub's "at least one second between each request"


@dataclass(frozen=True)
class Clock:
    """Where the client reads the time and waits; tests substitute a manual clock."""

    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time  # seconds since the epoch, as x-ratelimit-reset counts
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


class PausedBeyondDeadline(Exception):
    """The installation is paused (rate limited) past the caller's deadline: waiting is pointless."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"paused for another {seconds:.0f} s")
        self.seconds = seconds


class InstallationThrottle:
    """Caps concurrent calls and spaces writes for one installation."""

    def __init__(
        self,
        *,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        write_interval: float = DEFAULT_WRITE_INTERVAL,
        clock: Clock | None = None,
    ) -> None:
        if max_in_flight < 1 or write_interval < 0:
            raise ValueError("max_in_flight must be at least 1 and write_interval not negative")
        self.max_in_flight = max_in_flight
        self.write_interval = write_interval
        self._clock = clock or Clock()
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._writing = asyncio.Lock()
        self._next_write_at = -math.inf
        self._paused_until = -math.inf

    def pause(self, seconds: float) -> None:
        """Hold every call of the installation for ``seconds`` (GitHub said the limit is reached)."""
        self._paused_until = max(self._paused_until, self._clock.monotonic() + seconds)

    @asynccontextmanager
    async def slot(self, method: str, *, deadline: float = math.inf) -> AsyncIterator[None]:
        """Held for the duration of one attempt; waits for its turn first.

        Raises ``PausedBeyondDeadline`` at once when a rate-limit pause outlasts ``deadline``.
        """
        if self._paused_until > deadline:
            raise PausedBeyondDeadline(self._paused_until - self._clock.monotonic())
        if method.upper() not in WRITE_METHODS:
            await self._wait_until(lambda: self._paused_until)
            async with self._in_flight:
                yield
            return
        async with self._writing:
            await self._wait_until(lambda: max(self._next_write_at, self._paused_until))
            try:
                async with self._in_flight:
                    yield
            finally:
                self._next_write_at = self._clock.monotonic() + self.write_interval

    async def _wait_until(self, moment: Callable[[], float]) -> None:
        while (wait := moment() - self._clock.monotonic()) > 0:
            await self._clock.sleep(wait)
