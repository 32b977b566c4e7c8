"""Each tracker's per-test memory, kept in the journal beside its state: both backends, size bounded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.journal import JOURNAL_FILENAME, SQLiteJournal
from bot.journal.model import MAX_TEST_MEMORY_BYTES, JournalError, TestMemoryTooLarge
from bot.results import test_changes
from bot.results.junit import TestCaseResult
from bot.results.test_changes import compare, decode_memory, encode_memory
from tests.postgres import JournalStore

SCOPE = "platform-wrapper/backend#2"


async def test_a_saved_memory_is_read_back_by_another_process_and_replaced_by_the_next(
    journal_store: JournalStore,
) -> None:
    cases = [
        TestCaseResult(f"tests/test_api.py::test_{n}", "failed" if n % 3 else "passed", "s", None, None)
        for n in range(50)
    ]
    _, first = compare(None, "a" * 40, cases)
    _, second = compare(first, "b" * 40, cases)
    writer, reader = await journal_store.open(), await journal_store.open()
    try:
        assert await reader.test_memory(SCOPE) is None
        await writer.save_test_memory(SCOPE, encode_memory(first))
        await writer.save_test_memory(SCOPE, encode_memory(second))
        stored = await reader.test_memory(SCOPE)
        assert stored is not None and decode_memory(stored) == second
        assert await reader.test_memory("other/repo#2") is None
    finally:
        await writer.close()
        await reader.close()


async def test_a_memory_over_the_bound_is_refused_and_the_last_one_stays(journal_store: JournalStore) -> None:
    journal = await journal_store.open()
    try:
        await journal.save_test_memory(SCOPE, b"kept")
        with pytest.raises(TestMemoryTooLarge) as refused:
            await journal.save_test_memory(SCOPE, bytes(MAX_TEST_MEMORY_BYTES + 1))
        assert isinstance(refused.value, JournalError) and isinstance(refused.value, ValueError)
        assert await journal.test_memory(SCOPE) == b"kept"
        await journal.save_test_memory(SCOPE, bytes(MAX_TEST_MEMORY_BYTES))  # the bound itself is kept
        assert len(await journal.test_memory(SCOPE) or b"") == MAX_TEST_MEMORY_BYTES
    finally:
        await journal.close()


def test_the_journal_bound_is_the_one_the_memory_is_encoded_within() -> None:
    assert test_changes.MAX_ENCODED_BYTES == MAX_TEST_MEMORY_BYTES


async def test_a_journal_made_before_test_memories_gains_the_table_and_keeps_its_states(
    tmp_path: Path,
) -> None:
    path = tmp_path / JOURNAL_FILENAME
    journal = SQLiteJournal(path)
    try:
        await journal.save_tracker_state(SCOPE, 1, "one")
    finally:
        await journal.close()
    with sqlite3.connect(path) as connection:  # as the previous release left it: schema version 2
        connection.execute("DROP TABLE test_memories")
        connection.execute("PRAGMA user_version = 2")
    connection.close()
    journal = SQLiteJournal(path)
    try:
        assert await journal.tracker_state(SCOPE) == "one"
        await journal.save_test_memory(SCOPE, b"memory")
        assert await journal.test_memory(SCOPE) == b"memory"
    finally:
        await journal.close()
