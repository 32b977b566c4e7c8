"""What a deployment's processes share through the journal: its state key, and each tracker's last state.

Both backends: replicas on PostgreSQL share these exactly as processes on one SQLite file do.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from bot.journal import JOURNAL_FILENAME, SQLiteJournal
from bot.tracking.body import replace_block
from bot.tracking.keeper import StateKeeper, deployment_state_key
from bot.tracking.state import StateCodec, TrackerState
from tests.postgres import JournalStore

SCOPE = "platform-wrapper/backend#2"


async def test_the_state_key_is_made_once_and_kept_across_restarts_and_processes(
    journal_store: JournalStore,
) -> None:
    made = itertools.count()
    first, second = await journal_store.open(), await journal_store.open()
    try:
        key = await first.deployment_secret("state-key", lambda: f"key {next(made)}".encode())
        assert await second.deployment_secret("state-key", lambda: f"key {next(made)}".encode()) == key
    finally:
        await first.close()
        await second.close()
    again = await journal_store.open()
    try:
        assert await deployment_state_key(again, None) == key == b"key 0"
        assert await deployment_state_key(again, b"configured") == b"configured"
    finally:
        await again.close()


async def test_a_generated_state_key_is_random_and_long(tmp_path: Path) -> None:
    keys = []
    for name in ("a", "b"):
        journal = SQLiteJournal(tmp_path / name / JOURNAL_FILENAME)
        try:
            keys.append(await deployment_state_key(journal, None))
        finally:
            await journal.close()
    assert keys[0] != keys[1] and all(len(key) == 32 for key in keys)


async def test_a_saved_state_is_never_replaced_by_an_older_generation(journal_store: JournalStore) -> None:
    journal = await journal_store.open()
    try:
        await journal.save_tracker_state(SCOPE, 3, "three")
        await journal.save_tracker_state(SCOPE, 2, "two")
        assert await journal.tracker_state(SCOPE) == "three"
        await journal.save_tracker_state(SCOPE, 4, "four")
        assert await journal.tracker_state(SCOPE) == "four"
        assert await journal.tracker_state("other/repo#2") is None
    finally:
        await journal.close()


async def test_the_keeper_believes_the_newest_signed_state(journal_store: JournalStore) -> None:
    journal = await journal_store.open()
    codec = StateCodec(b"a deployment's key")
    keeper = StateKeeper(codec, journal)
    older, newer = (
        TrackerState(baseline_rate=0.5, generation=1),
        TrackerState(baseline_rate=0.6, generation=2),
    )
    try:
        body_of = {
            state.generation: replace_block("text", codec.encode(state, SCOPE)) for state in (older, newer)
        }
        assert await keeper.read(body_of[1], SCOPE) == older  # nothing kept yet: the issue's own
        await keeper.remember(newer, SCOPE)
        assert await keeper.read(body_of[1], SCOPE) == newer  # replayed
        assert await keeper.read("no block at all", SCOPE) == newer  # deleted
        assert await keeper.read(body_of[2], SCOPE) == newer
    finally:
        await journal.close()
