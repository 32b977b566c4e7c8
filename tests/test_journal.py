"""The journal keeps every acknowledged delivery, once, through crashes, and hands work out in order.

The contract runs against both backends: SQLite, and PostgreSQL (skipped with a message where there is none).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from bot.journal import (
    JOURNAL_FILENAME,
    JournalEntry,
    JournalError,
    PostgresJournal,
    SQLiteJournal,
    UnknownDelivery,
    pg_schema,
)
from bot.journal.model import backoff_delay
from bot.journal.sqlite import SCHEMA_VERSION
from bot.ops.cli import main
from bot.ops.deliveries import add_deliveries_commands, run_deliveries_command
from tests.postgres import AnyJournal, JournalStore

REPO_ROOT = Path(__file__).parents[1]
PAYLOAD = (REPO_ROOT / "bot/testing/payloads/check_run.completed.json").read_bytes()
T0 = 1_700_000_000.0
HOURS = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def journal(journal_store: JournalStore, clock: Clock) -> AsyncIterator[AnyJournal]:
    opened = await journal_store.open(max_attempts=3, clock=clock, jitter=lambda: 0.0)
    yield opened
    await opened.close()


async def record(journal: AnyJournal, delivery_id: str, key: str | None = "octo/repo#2") -> bool:
    return await journal.record(delivery_id, "check_run", "completed", PAYLOAD, key)


def ids(entries: list[JournalEntry]) -> list[str]:
    return [entry.delivery_id for entry in entries]


# Recording


@pytest.mark.parametrize("compress", [True, False], ids=["zlib", "raw"])
async def test_a_recorded_delivery_reads_back_byte_for_byte_as_pending(
    journal_store: JournalStore, compress: bool
) -> None:
    journal = await journal_store.open(compress_payloads=compress, clock=lambda: T0)
    assert await journal.record("d-1", "check_run", "completed", PAYLOAD, "octo/repo#2") is True
    assert await journal.get("d-1") == JournalEntry(
        delivery_id="d-1",
        event="check_run",
        action="completed",
        payload=PAYLOAD,
        received_at=T0,
        status="pending",
        attempts=0,
        next_attempt_at=T0,
        last_error=None,
        key="octo/repo#2",
    )
    await journal.close()


async def test_a_redelivery_with_a_known_id_is_reported_as_duplicate(journal: AnyJournal) -> None:
    assert await record(journal, "d-1") is True
    assert await record(journal, "d-1") is False
    assert await journal.counts() == {"pending": 1, "done": 0, "failed": 0, "dead": 0, "in_progress": 0}


async def test_duplicates_racing_in_one_batch_are_recorded_once(journal: AnyJournal) -> None:
    outcomes = await asyncio.gather(*(record(journal, "d-1") for _ in range(5)))
    assert sorted(outcomes) == [False, False, False, False, True]


async def test_200_concurrent_records_share_few_commits_and_all_survive_a_reopen(
    journal_store: JournalStore,
) -> None:
    journal = await journal_store.open()
    outcomes = await asyncio.gather(*(record(journal, f"d-{n}") for n in range(200)))
    assert all(outcomes)
    assert journal.commits <= 20
    await journal.close()

    reopened = await journal_store.open()
    assert len(await reopened.list(limit=1000)) == 200
    assert all([await reopened.get(f"d-{n}") is not None for n in range(200)])
    await reopened.close()


async def test_records_given_as_the_journal_closes_are_answered_and_true_only_if_kept(
    journal_store: JournalStore,
) -> None:
    journal = await journal_store.open()
    # The records start before close() does, but SQLite hands a turn's records to its writer thread
    # only at the end of the turn, once the journal is closed: they must be refused, not left waiting.
    late = [asyncio.ensure_future(record(journal, f"late-{n}")) for n in range(3)]
    closing = asyncio.ensure_future(journal.close())
    outcomes = await asyncio.wait_for(asyncio.gather(*late, return_exceptions=True), 10)
    await closing
    reopened = await journal_store.open()
    for n, outcome in enumerate(outcomes):
        assert outcome is True or isinstance(outcome, JournalError)
        assert (await reopened.get(f"late-{n}") is not None) == (outcome is True)
    await reopened.close()


async def refuse_poison(store: JournalStore) -> None:
    """A write the store refuses, like a full disk would."""
    await (await store.open()).close()  # creates the schema
    if store.url is None:
        with sqlite3.connect(store.path) as setup:
            setup.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON deliveries WHEN NEW.delivery_id = 'poison'"
                " BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        return
    connection = await asyncpg.connect(store.url)
    await connection.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.delivery_id = 'poison' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$;"
        " CREATE TRIGGER refuse BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION refuse()"
    )
    await connection.close()


async def test_a_failed_commit_fails_every_caller_in_its_batch_and_persists_none_of_them(
    journal_store: JournalStore,
) -> None:
    await refuse_poison(journal_store)
    journal = await journal_store.open()
    outcomes = await asyncio.gather(
        *(record(journal, delivery_id) for delivery_id in ["a", "b", "poison", "c", "d"]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[2], JournalError)
    for delivery_id, outcome in zip(["a", "b", "poison", "c", "d"], outcomes, strict=True):
        assert outcome is True or isinstance(outcome, JournalError)
        assert (await journal.get(delivery_id) is not None) == (outcome is True)
    assert await record(journal, "after") is True
    await journal.close()


def test_acknowledged_records_survive_kill_9_of_the_recording_process(journal_store: JournalStore) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", RECORDING_CHILD, str(journal_store.path), journal_store.url or ""],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    ) as child:
        assert child.stdout is not None
        acknowledged: list[str] = []
        while len(acknowledged) < 500 and (line := child.stdout.readline()):
            acknowledged.append(line.decode().strip())
        os.kill(child.pid, signal.SIGKILL)
        rest = child.stdout.read()  # what the child printed before it died
    assert child.returncode == -signal.SIGKILL
    # A line cut short by the kill was never fully printed, so it was not acknowledged.
    acknowledged += [line.decode() for line in rest.split(b"\n")[:-1]]
    assert len(acknowledged) >= 500

    async def missing() -> list[str]:
        journal = await journal_store.open()
        absent = [delivery_id for delivery_id in acknowledged if await journal.get(delivery_id) is None]
        await journal.close()
        return absent

    assert asyncio.run(missing()) == []


# Prints an id only once `record` returned for it, from 8 concurrent receivers, until killed.
RECORDING_CHILD = """
import asyncio, sys
from pathlib import Path
from bot.journal import open_journal

async def main():
    journal = await open_journal(sys.argv[2] or None, Path(sys.argv[1]).parent)
    async def receiver(n):
        for i in range(1_000_000):
            await journal.record(f"{n}-{i}", "check_run", "completed", b'{"action": "completed"}', None)
            print(f"{n}-{i}", flush=True)
    await asyncio.gather(*(receiver(n) for n in range(8)))

asyncio.run(main())
"""


# Claiming


async def test_claims_come_oldest_first_with_one_entry_per_key(journal: AnyJournal) -> None:
    for delivery_id, key in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("x", None), ("b2", "B"), ("y", None)]:
        await record(journal, delivery_id, key)
    assert ids(await journal.claim(10, T0)) == ["a1", "b1", "x", "y"]


async def test_a_key_with_an_entry_in_progress_is_not_claimed_until_released(journal: AnyJournal) -> None:
    for delivery_id in ["a1", "a2", "a3"]:
        await record(journal, delivery_id, "A")
    assert ids(await journal.claim(10, T0)) == ["a1"]
    assert await journal.claim(10, T0) == []
    await journal.complete("a1")
    assert ids(await journal.claim(10, T0)) == ["a2"]
    await journal.fail("a2", "GitHub answered 502", T0)
    assert ids(await journal.claim(10, T0)) == []  # a2 waits for its backoff and a3 must not overtake it


async def test_per_key_hands_out_a_burst_of_one_key_in_order_for_coalescing(journal: AnyJournal) -> None:
    for delivery_id, key in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("a3", "A")]:
        await record(journal, delivery_id, key)
    assert ids(await journal.claim(10, T0, per_key=20)) == ["a1", "b1", "a2", "a3"]


@pytest.mark.parametrize(
    ("keys", "claimed"),
    [
        (1, ["a1", "a2", "a3"]),
        (2, ["a1", "b1", "a2", "a3", "b2"]),
        (3, ["a1", "b1", "a2", "x", "a3", "b2"]),
        (4, ["a1", "b1", "a2", "x", "a3", "b2", "c1"]),
    ],
)
async def test_keys_caps_the_claim_to_whole_bursts_of_that_many_keys(
    journal: AnyJournal, keys: int, claimed: list[str]
) -> None:
    arrivals = [("a1", "A"), ("b1", "B"), ("a2", "A"), ("x", None), ("a3", "A"), ("b2", "B"), ("c1", "C")]
    for delivery_id, key in arrivals:
        await record(journal, delivery_id, key)
    assert ids(await journal.claim(100, T0, per_key=20, keys=keys)) == claimed


async def test_keys_left_out_of_a_claim_come_out_whole_in_the_next(journal: AnyJournal) -> None:
    for delivery_id, key in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("b2", "B")]:
        await record(journal, delivery_id, key)
    assert ids(await journal.claim(100, T0, per_key=20, keys=1)) == ["a1", "a2"]
    assert ids(await journal.claim(100, T0, per_key=20, keys=1)) == ["b1", "b2"]


@pytest.mark.parametrize("limit", [1, 2, 3])
async def test_claim_hands_out_at_most_limit_entries(journal: AnyJournal, limit: int) -> None:
    for n in range(5):
        await record(journal, f"d-{n}", key=None)
    assert ids(await journal.claim(limit, T0)) == [f"d-{n}" for n in range(limit)]


async def test_entries_in_progress_when_the_process_stopped_are_claimed_again_after_reopen(
    journal_store: JournalStore, clock: Clock
) -> None:
    journal = await journal_store.open(clock=clock, jitter=lambda: 0.0)
    for delivery_id, key in [("a1", "A"), ("b1", "B"), ("c1", "C")]:
        await record(journal, delivery_id, key)
    await journal.complete("c1")
    await journal.fail("b1", "timeout", T0 - 10)
    assert ids(await journal.claim(10, T0)) == ["a1", "b1"]
    assert (await journal.counts())["in_progress"] == 2
    await journal.close()  # no complete(): as if the worker died mid-way

    reopened = await journal_store.open(clock=clock)
    assert [(e.delivery_id, e.status) for e in await reopened.claim(10, T0)] == [
        ("a1", "pending"),
        ("b1", "failed"),
    ]
    await reopened.close()


# Failing, retrying, pruning


@pytest.mark.parametrize(
    ("attempts", "jitter", "expected"),
    [(1, 0.0, 1.0), (1, 0.999, 1.999), (2, 0.0, 2.0), (3, 0.5, 6.0), (10, 0.0, 300.0), (10, 1.0, 600.0)],
)
def test_backoff_doubles_per_attempt_up_to_the_cap_and_jitters_within_the_upper_half(
    attempts: int, jitter: float, expected: float
) -> None:
    assert backoff_delay(attempts, base=2.0, cap=600.0, jitter=jitter) == pytest.approx(expected)


async def test_a_failing_delivery_backs_off_then_is_parked_dead_with_its_reason(
    journal: AnyJournal,
) -> None:
    await record(journal, "d-1")
    await journal.claim(1, T0)
    first = await journal.fail("d-1", "GitHub answered 502", T0)
    assert (first.status, first.attempts, first.next_attempt_at) == ("failed", 1, T0 + 1.0)
    assert await journal.claim(1, T0 + 0.9) == []
    assert ids(await journal.claim(1, T0 + 1.0)) == ["d-1"]

    second = await journal.fail("d-1", "GitHub answered 502", T0 + 1.0)
    assert (second.status, second.attempts, second.next_attempt_at) == ("failed", 2, T0 + 3.0)
    await journal.claim(1, T0 + 3.0)
    third = await journal.fail("d-1", "tracker config is invalid: rules[0].when", T0 + 3.0)
    assert (third.status, third.attempts, third.last_error) == (
        "dead",
        3,
        "tracker config is invalid: rules[0].when",
    )
    assert await journal.claim(1, T0 + 10 * HOURS) == []
    assert await journal.counts() == {"pending": 0, "done": 0, "failed": 0, "dead": 1, "in_progress": 0}


async def test_a_parked_failure_is_dead_at_once_with_its_reason_until_an_operator_retries(
    journal: AnyJournal,
) -> None:
    await record(journal, "d-1")
    await journal.claim(1, T0)
    reason = "InstallationGone: installation 31337 is gone: GitHub answered 404 to minting its token"
    parked = await journal.fail("d-1", reason, T0, park=True)
    assert (parked.status, parked.attempts, parked.last_error) == ("dead", 1, reason)
    assert await journal.claim(1, T0 + 10 * HOURS) == []
    assert await journal.retry("d-1")
    assert ids(await journal.claim(1, T0)) == ["d-1"]


async def test_a_dead_delivery_no_longer_holds_back_its_key(journal: AnyJournal) -> None:
    await record(journal, "a1", "A")
    await record(journal, "a2", "A")
    for attempt in range(3):
        await journal.claim(1, T0 + attempt * HOURS)
        await journal.fail("a1", "boom", T0 + attempt * HOURS)
    assert ids(await journal.claim(10, T0 + 3 * HOURS)) == ["a2"]


async def test_retry_sends_a_dead_delivery_back_with_a_fresh_budget(journal: AnyJournal) -> None:
    await record(journal, "d-1")
    for _ in range(3):
        await journal.fail("d-1", "boom", T0)
    assert await journal.retry("d-1") is True
    entry = await journal.get("d-1")
    assert entry is not None
    assert (entry.status, entry.attempts, entry.last_error) == ("pending", 0, "boom")
    assert ids(await journal.claim(1, T0)) == ["d-1"]


@pytest.mark.parametrize("status", ["pending", "done", "unknown"])
async def test_retry_refuses_deliveries_that_are_not_failed_or_dead(journal: AnyJournal, status: str) -> None:
    if status != "unknown":
        await record(journal, "d-1")
    if status == "done":
        await journal.complete("d-1")
    assert await journal.retry("d-1") is False


@pytest.mark.parametrize("settle", [lambda j: j.complete("nope"), lambda j: j.fail("nope", "boom", T0)])
async def test_settling_an_unknown_delivery_raises(
    journal: AnyJournal, settle: Callable[[AnyJournal], Awaitable[object]]
) -> None:
    with pytest.raises(UnknownDelivery):
        await settle(journal)


async def test_prune_keeps_done_ids_for_72_hours_and_never_drops_unfinished_ones(
    journal: AnyJournal, clock: Clock
) -> None:
    for delivery_id in ["done", "pending", "failed", "dead"]:
        await record(journal, delivery_id, key=None)
    await journal.complete("done")
    await journal.fail("failed", "boom", T0)
    for _ in range(3):
        await journal.fail("dead", "boom", T0)

    assert await journal.prune(T0 + 72 * HOURS - 1) == 0
    assert await record(journal, "done") is False  # a redelivery on day 3 is still recognised
    assert await journal.prune(T0 + 30 * 24 * HOURS) == 1
    assert await journal.get("done") is None
    assert sorted(ids(await journal.list())) == ["dead", "failed", "pending"]


async def test_list_shows_the_newest_first_and_filters_by_status(journal: AnyJournal) -> None:
    for n in range(4):
        await record(journal, f"d-{n}", key=None)
    await journal.complete("d-1")
    assert ids(await journal.list(limit=3)) == ["d-3", "d-2", "d-1"]
    assert ids(await journal.list("done")) == ["d-1"]


# Schema


async def test_the_log_is_checkpointed_into_the_database_file_outside_the_commits(tmp_path: Path) -> None:
    """SQLite's own checkpoint (inside a commit, so inside the write lock) is off; the checkpointer's
    thread copies the log: a delivery reaches the database file proper, not only its write-ahead log."""
    journal = SQLiteJournal(tmp_path / JOURNAL_FILENAME)
    try:
        assert await record(journal, "d1")
        alone = tmp_path / "alone" / JOURNAL_FILENAME  # the database file without its log
        alone.parent.mkdir()
        async with asyncio.timeout(5):
            while True:
                alone.write_bytes((tmp_path / JOURNAL_FILENAME).read_bytes())
                with (
                    contextlib.suppress(sqlite3.DatabaseError),
                    contextlib.closing(sqlite3.connect(alone)) as copy,
                ):
                    if copy.execute("SELECT delivery_id FROM deliveries").fetchall() == [("d1",)]:
                        break
                await asyncio.sleep(0.05)
    finally:
        await journal.close()


async def test_a_new_journal_is_stamped_with_the_schema_version(tmp_path: Path) -> None:
    journal = SQLiteJournal(tmp_path / JOURNAL_FILENAME)
    await journal.close()
    with sqlite3.connect(journal.path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_journal_from_a_newer_bot_is_refused_rather_than_misread(tmp_path: Path) -> None:
    path = tmp_path / JOURNAL_FILENAME
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(JournalError, match="newer than this bot"):
        SQLiteJournal(path)


async def test_a_new_postgresql_journal_is_stamped_with_the_schema_version(database_url: str) -> None:
    await (await PostgresJournal.open(database_url)).close()
    connection = await asyncpg.connect(database_url)
    try:
        assert await connection.fetchval("SELECT version FROM journal_schema") == pg_schema.SCHEMA_VERSION
    finally:
        await connection.close()


async def test_a_postgresql_journal_from_a_newer_bot_is_refused_rather_than_misread(
    database_url: str,
) -> None:
    await (await PostgresJournal.open(database_url)).close()
    connection = await asyncpg.connect(database_url)
    await connection.execute("UPDATE journal_schema SET version = version + 1")
    await connection.close()
    with pytest.raises(JournalError, match="newer than this bot"):
        await PostgresJournal.open(database_url)


async def test_replicas_starting_at_once_on_an_empty_database_migrate_it_once(database_url: str) -> None:
    replicas = await asyncio.gather(*(PostgresJournal.open(database_url) for _ in range(6)))
    try:
        assert await replicas[0].record("d-1", "check_run", "completed", PAYLOAD, None) is True
        assert [await replica.get("d-1") is not None for replica in replicas] == [True] * 6
    finally:
        await asyncio.gather(*(replica.close() for replica in replicas))


async def test_an_unreachable_postgresql_is_named_without_its_password() -> None:
    with pytest.raises(JournalError) as refused:
        await PostgresJournal.open("postgresql://bot:hunter2@127.0.0.1:9/journal")
    assert "127.0.0.1:9/journal" in str(refused.value) and "hunter2" not in str(refused.value)


# The deliveries command


@dataclass(frozen=True)
class Place:
    """Where the command finds the journal: BOT_STATE_DIR, and DATABASE_URL for PostgreSQL."""

    state_dir: Place
    environ: dict[str, str]


def deliveries(place: Place, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="issue-status-bot")
    add_deliveries_commands(parser.add_subparsers(dest="command", required=True))
    return run_deliveries_command(parser.parse_args(["deliveries", *argv]), place.state_dir, place.environ)


@pytest.fixture
def state_dir(journal_store: JournalStore, tmp_path: Path) -> Place:
    async def fill() -> None:
        journal = await journal_store.open(max_attempts=1, clock=lambda: T0)
        await journal.record("72d3162e-cc78-11e3-81ab-4c9367dc0958", "check_run", "completed", PAYLOAD, None)
        await journal.record("dead-1", "check_run", "completed", b'{"action": "completed"}', "octo/repo#2")
        await journal.fail("dead-1", "GitHub answered 422: Validation Failed", T0)
        await journal.close()

    asyncio.run(fill())
    return Place(tmp_path, {"DATABASE_URL": journal_store.url} if journal_store.url else {})


def test_deliveries_list_prints_one_line_per_delivery(
    state_dir: Place, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deliveries(state_dir, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "RECEIVED",
        "(UTC)",
        "STATUS",
        "TRIES",
        "EVENT",
        "KEY",
        "DELIVERY",
        "LAST",
        "ERROR",
    ]
    assert lines[1].split() == [
        "2023-11-14",
        "22:13:20",
        "dead",
        "1",
        "check_run.completed",
        "octo/repo#2",
        "dead-1",
        *["GitHub", "answered", "422:", "Validation", "Failed"],
    ]
    assert lines[2].split()[2:] == [
        "pending",
        "0",
        "check_run.completed",
        "-",
        "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    ]


def test_the_deliveries_command_reads_the_env_file_like_serve(
    state_dir: Place, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal is found where the server's env file points (``register`` writes one), with a blank
    line's spaces around the directory as the server reads them."""
    for name in ("BOT_STATE_DIR", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / "bot.env"
    settings = [f"BOT_STATE_DIR= {state_dir.state_dir} "]
    settings += [f"{name}={value}" for name, value in state_dir.environ.items()]
    env_file.write_text("\n".join(settings) + "\n")
    monkeypatch.chdir(tmp_path.parent)  # no ./var here: found only through the file
    assert main(["deliveries", "--env-file", str(env_file), "list", "--status", "dead"]) == 0
    assert "dead-1" in capsys.readouterr().out


def test_deliveries_list_filters_by_status(state_dir: Place, capsys: pytest.CaptureFixture[str]) -> None:
    assert deliveries(state_dir, "list", "--status", "done") == 0
    assert capsys.readouterr().out == "no deliveries\n"


def test_deliveries_show_prints_state_and_pretty_payload(
    state_dir: Place, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deliveries(state_dir, "show", "dead-1") == 0
    assert capsys.readouterr().out == (
        "delivery:     dead-1\n"
        "event:        check_run.completed\n"
        "key:          octo/repo#2\n"
        "received:     2023-11-14 22:13:20 UTC\n"
        "status:       dead\n"
        "attempts:     1\n"
        "last error:   GitHub answered 422: Validation Failed\n"
        "payload:\n"
        '{\n  "action": "completed"\n}\n'
    )


def test_deliveries_retry_makes_a_dead_delivery_pending(
    state_dir: Place, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deliveries(state_dir, "retry", "dead-1") == 0
    assert deliveries(state_dir, "list", "--status", "pending") == 0
    assert "dead-1" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "nope"], "no delivery nope"),
        (["retry", "nope"], "no delivery nope"),
        (
            ["retry", "72d3162e-cc78-11e3-81ab-4c9367dc0958"],
            "is pending: only failed or dead ones are retried",
        ),
    ],
)
def test_deliveries_exits_1_when_there_is_nothing_to_act_on(
    state_dir: Place, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert deliveries(state_dir, *argv) == 1
    assert message in capsys.readouterr().err


def test_deliveries_exits_1_without_creating_a_journal_where_there_is_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert deliveries(Place(tmp_path, {}), "list") == 1
    assert "no journal at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [["list", "--limit", "0"], ["list", "--status", "stuck"], ["show"], []])
def test_deliveries_exits_2_on_bad_usage(state_dir: Place, argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        deliveries(state_dir, *argv)
    assert exited.value.code == 2
