"""The per-test outcomes a tracker remembers between final runs, kept in the journal, not in the issue.

A suite of 5,000 tests has outcomes worth hundreds of kilobytes; the issue body holds 65,536 characters.
The comparison's bounded summary travels in the signed state (tracking/state.py); the outcomes the next
final run is compared with stay in the deployment's journal, keyed by the tracker. A deployment that lost
its journal compares nothing on its next run and says so, then compares again from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from bot.results.junit import TestCaseResult
from bot.results.test_changes import TestChanges, TestMemory, compare, decode_memory, encode_memory


class PerTestStore(Protocol):
    async def test_memory(self, scope: str) -> bytes | None: ...

    async def save_test_memory(self, scope: str, data: bytes) -> None: ...


class PerTestMemory:
    """Compares a final run's per-test outcomes with the tracker's previous final run, and remembers them."""

    def __init__(self, store: PerTestStore) -> None:
        self._store = store

    async def compare(
        self, scope: str, sha: str, cases: Sequence[TestCaseResult]
    ) -> tuple[TestChanges, TestMemory | None]:
        """The changes of commit ``sha`` and the memory to keep once they are published (``keep``); None
        when it is the memory kept already (the same run recomputed: an edit of the issue, a redelivery),
        which is then not written again.

        Comparing is linear in the tests, but a suite can have 100,000: done off the event loop.
        """
        data = await self._store.test_memory(scope)
        return await asyncio.to_thread(_compare, data, sha, cases)

    async def keep(self, scope: str, memory: TestMemory) -> None:
        data = await asyncio.to_thread(encode_memory, memory)
        await self._store.save_test_memory(scope, data)


def _compare(
    data: bytes | None, sha: str, cases: Sequence[TestCaseResult]
) -> tuple[TestChanges, TestMemory | None]:
    memory = decode_memory(data) if data is not None else None
    changes, kept = compare(memory, sha, cases)
    return changes, None if kept == memory else kept
