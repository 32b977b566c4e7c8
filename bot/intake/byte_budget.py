"""A cap on bytes held at once, shared first come, first served: what bounds unverified request bodies.

Anyone who knows the webhook URL can send bodies; until a body's signature is verified it must be held
(it is parsed and journalled once verified), so what all such bodies may hold together is capped. A request
takes its whole declared size before reading, so requests never hold part of what they need while waiting
for the rest (no deadlock), and a large request is not overtaken forever by a stream of small ones. The line
is bounded too: a waiting request's connection still has its first bytes buffered below us.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator


class NoRoom(Exception):
    """The bytes were not free within the wait allowed, or the line was already full."""


class ByteBudget:
    """``capacity`` bytes, taken whole by each holder and given back when it is done."""

    def __init__(self, capacity: int, *, max_waiting: int) -> None:
        self.capacity = capacity
        self.max_waiting = max_waiting
        self.held = 0
        self.peak = 0
        self._waiting: collections.deque[tuple[int, asyncio.Future[None]]] = collections.deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @contextlib.asynccontextmanager
    async def hold(self, size: int, *, wait: float) -> AsyncIterator[None]:
        """Hold ``size`` bytes for the block; NoRoom if they were not free within ``wait`` seconds."""
        if size > self.capacity:
            raise ValueError(f"{size} bytes can never fit a budget of {self.capacity}")
        if self._waiting or self.held + size > self.capacity:
            if len(self._waiting) >= self.max_waiting:
                raise NoRoom(f"{len(self._waiting)} requests are waiting already")
            try:
                async with asyncio.timeout(wait):
                    await self._wait_in_line(size)
            except TimeoutError:
                raise NoRoom(f"no room within {wait:g} s") from None
        else:
            self._take(size)
        try:
            yield
        finally:
            self.held -= size
            self._admit()

    async def _wait_in_line(self, size: int) -> None:
        turn = asyncio.get_running_loop().create_future()
        place = (size, turn)
        self._waiting.append(place)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                # Admitted just as the wait was given up: the bytes were taken for us; give them back.
                self.held -= size
            elif place in self._waiting:
                self._waiting.remove(place)
            self._admit()
            raise

    def _admit(self) -> None:
        while self._waiting:
            size, turn = self._waiting[0]
            if not turn.cancelled() and self.held + size > self.capacity:
                return
            self._waiting.popleft()
            if not turn.cancelled():  # a cancelled wait leaves its place to the next in line
                self._take(size)
                turn.set_result(None)

    def _take(self, size: int) -> None:
        self.held += size
        self.peak = max(self.peak, self.held)
