"""Which state of a tracker to believe: the newest one the bot signed, in the issue or in its own record.

The issue carries the state so that a deployment which lost its disk still knows the history, but anyone
who can edit the issue can paste back an older signed state or damage the current one. The journal keeps
the marker of every state the bot wrote; the issue's state wins only when it is at least as new.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Protocol

from bot.tracking.body import split_body
from bot.tracking.state import StateCodec, TrackerState

log = logging.getLogger(__name__)

STATE_KEY_NAME = "state-key"
_STATE_KEY_BYTES = 32
_MARKERS_KEPT = 4


class TrackerStateStore(Protocol):
    """Where the deployment keeps what its processes share (the journal)."""

    async def deployment_secret(self, name: str, generate: Callable[[], bytes]) -> bytes: ...

    async def tracker_state(self, scope: str) -> str | None: ...

    async def save_tracker_state(self, scope: str, generation: int, marker: str) -> None: ...

    async def test_memory(self, scope: str) -> bytes | None: ...

    async def save_test_memory(self, scope: str, data: bytes) -> None: ...


async def deployment_state_key(store: TrackerStateStore, configured: bytes | None) -> bytes:
    """The key that signs tracker states: the configured one, else one made once and kept in ``store``."""
    if configured is not None:
        return configured
    return await store.deployment_secret(STATE_KEY_NAME, lambda: secrets.token_bytes(_STATE_KEY_BYTES))


class StateKeeper:
    def __init__(self, codec: StateCodec, store: TrackerStateStore) -> None:
        self.codec = codec
        self._store = store
        # The markers made last, by state object (states are never changed once made): an update asks for
        # the marker of one state when it renders the block, when it swaps the marker, and when it records it.
        self._markers: tuple[tuple[TrackerState, str, str], ...] = ()

    async def read(self, body: str, scope: str) -> TrackerState:
        """The issue's state, unless the bot's own record is newer or the issue's is unusable."""
        block = split_body(body).block
        in_issue = self.codec.decode(block, scope)
        marker = await self._store.tracker_state(scope)
        if marker is not None and marker == self.codec.marker_in(block):  # the last write's: read once
            return in_issue or TrackerState()
        kept = self.codec.decode(marker, scope) if marker is not None else None
        if kept is None:
            return in_issue or TrackerState()
        if in_issue is None:
            log.warning("%s: the issue's state is missing or damaged; the last state written is used", scope)
            return kept
        if in_issue.generation < kept.generation:
            log.warning(
                "%s: the issue holds an older state (write %d, the last was %d); the last written is used",
                scope,
                in_issue.generation,
                kept.generation,
            )
            return kept
        return in_issue

    def marker(self, state: TrackerState, scope: str) -> str:
        for known, where, marker in self._markers:
            if known is state and where == scope:
                return marker
        marker = self.codec.encode(state, scope)
        self._markers = (*self._markers[-(_MARKERS_KEPT - 1) :], (state, scope, marker))
        return marker

    async def remember(self, state: TrackerState, scope: str) -> None:
        """Record ``state``, just written into the issue, as the last one written."""
        await self._store.save_tracker_state(scope, state.generation, self.marker(state, scope))
