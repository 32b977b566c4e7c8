"""The hidden state round-trips, and anything the bot did not sign itself is rebuilt, not trusted."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from pathlib import Path

import pytest

from bot.journal import JOURNAL_FILENAME, SQLiteJournal
from bot.results.counts import TestCounts
from bot.tracking.keeper import StateKeeper
from bot.tracking.state import MAX_HISTORY, RunRecord, StateCodec, TrackerState

SCOPE = "platform-wrapper/backend#2"


def run(sha: str, passed: int, failed: int, skipped: int = 7) -> RunRecord:
    return RunRecord(
        sha=sha,
        counts=TestCounts(passed=passed, failed=failed, skipped=skipped),
        completed_at="2025-08-12T10:00:00Z",
    )


def recorded(state: TrackerState, *runs: RunRecord) -> TrackerState:
    for record in runs:
        state = state.with_run(record, record.counts.pass_rate)
    return state


STATE_KEY = b"the deployment's own state key"
WEBHOOK_SECRET = b"webhook secret"


@pytest.fixture
def codec() -> StateCodec:
    return StateCodec(STATE_KEY, legacy_secrets=(WEBHOOK_SECRET,))


def test_state_round_trips_through_the_marker(codec: StateCodec) -> None:
    state = recorded(TrackerState(), run("a" * 40, 143, 84), run("b" * 40, 214, 13))
    marker = codec.encode(state, SCOPE)
    assert marker.startswith("<!-- issue-status-bot:state v2 ") and marker.endswith(" -->")
    assert "--" not in marker[4:-3]
    assert codec.decode(f"text before\n{marker}\ntext after", SCOPE) == state


def test_recording_the_same_commit_again_replaces_its_run() -> None:
    state = recorded(TrackerState(), run("a" * 40, 143, 84), run("a" * 40, 150, 77))
    assert [r.counts.passed for r in state.runs] == [150]


def test_baseline_is_the_first_recorded_rate() -> None:
    state = recorded(TrackerState(), run("a" * 40, 143, 84), run("b" * 40, 214, 13))
    assert state.baseline_rate == pytest.approx(143 / 227)


def test_a_provisional_run_never_becomes_the_baseline() -> None:
    early = RunRecord("a" * 40, TestCounts(passed=10), "2025-08-12T10:00:00Z", provisional=True)
    state = recorded(TrackerState(), early, run("a" * 40, 143, 84))
    assert state.baseline_rate == pytest.approx(143 / 227)
    assert [r.provisional for r in state.runs] == [False]


def test_history_is_thinned_keeping_the_baseline_and_the_latest_runs() -> None:
    state = TrackerState()
    for i in range(MAX_HISTORY + 5):
        state = recorded(state, run(f"{i:040x}", i, 1))
    assert len(state.runs) == MAX_HISTORY
    assert state.runs[-1].counts.passed == MAX_HISTORY + 4
    assert state.runs[0].counts.passed == 0  # the baseline run survives thinning


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda m, c: m.replace(m.split(" ")[3][:8], "AAAAAAAA"), id="edited payload"),
        pytest.param(lambda m, c: m[:-68] + "0" * 64 + " -->", id="edited mac"),
        pytest.param(lambda m, c: StateCodec(b"other key").encode(c, SCOPE), id="another deployment's key"),
        pytest.param(
            lambda m, c: StateCodec(WEBHOOK_SECRET).encode(c, SCOPE), id="keyed by the webhook secret"
        ),
        pytest.param(
            lambda m, c: StateCodec(STATE_KEY).encode(c, "other/repo#2"),
            id="copied from another issue",
        ),
        pytest.param(lambda m, c: "<!-- issue-status-bot:state v1 !!! zz -->", id="garbage"),
    ],
)
def test_forged_or_copied_state_is_not_believed(codec: StateCodec, forge: object) -> None:
    state = recorded(TrackerState(gate_met=True), run("a" * 40, 214, 13))
    forged = forge(codec.encode(state, SCOPE), state)  # type: ignore[operator]
    assert codec.decode(forged, SCOPE) is None


def test_missing_block_has_no_state(codec: StateCodec) -> None:
    assert codec.decode(None, SCOPE) is None
    assert codec.decode("a block without state", SCOPE) is None


def test_the_generation_round_trips(codec: StateCodec) -> None:
    state = replace(recorded(TrackerState(), run("a" * 40, 143, 84)), generation=41)
    decoded = codec.decode(codec.encode(state, SCOPE), SCOPE)
    assert decoded is not None and decoded.generation == 41


def legacy_marker(state: TrackerState, secret: bytes, scope: str = SCOPE) -> str:
    """A state as version 1 wrote it: signed with a key derived from the webhook secret, no generation."""
    key = hmac.new(secret, b"issue-status-bot/state/v1", hashlib.sha256).digest()
    marker = StateCodec(b"unused").encode(replace(state, generation=0), scope)
    payload = marker.split(" ")[3]
    mac = hmac.new(key, f"{scope}\n{payload}".encode(), hashlib.sha256).hexdigest()
    return f"<!-- issue-status-bot:state v1 {payload} {mac} -->"


def test_an_upgrade_reads_the_states_version_1_signed_with_the_webhook_secret(codec: StateCodec) -> None:
    state = recorded(TrackerState(gate_met=True), run("a" * 40, 214, 13))
    assert codec.decode(legacy_marker(state, WEBHOOK_SECRET), SCOPE) == state
    assert codec.decode(legacy_marker(state, b"another secret"), SCOPE) is None
    assert StateCodec(STATE_KEY).decode(legacy_marker(state, WEBHOOK_SECRET), SCOPE) is None


async def test_a_states_marker_is_made_once_and_recorded_as_made(codec: StateCodec, tmp_path: Path) -> None:
    """An update asks for one state's marker when it renders the block, when it swaps the marker and when it
    records the state: encoded once (~0.1 ms a time for 100 runs)."""
    journal = SQLiteJournal(tmp_path / JOURNAL_FILENAME)
    keeper = StateKeeper(codec, journal)
    state = recorded(TrackerState(), run("a" * 40, 90, 10))
    try:
        marker = keeper.marker(state, SCOPE)
        assert keeper.marker(state, SCOPE) is marker
        assert keeper.marker(state, "other/repo#2") != marker  # bound to its issue
        again = replace(state, generation=1)
        assert keeper.marker(again, SCOPE) == codec.encode(again, SCOPE) != marker
        await keeper.remember(state, SCOPE)
        assert await journal.tracker_state(SCOPE) == marker == codec.encode(state, SCOPE)
    finally:
        await journal.close()


async def test_the_state_last_written_is_read_from_the_issue_as_the_journal_has_it(
    codec: StateCodec, tmp_path: Path
) -> None:
    """The issue's marker (the block's last, with CRLF endings too) is the one the journal kept: one state."""
    journal = SQLiteJournal(tmp_path / JOURNAL_FILENAME)
    keeper = StateKeeper(codec, journal)
    older, state = TrackerState(generation=1), recorded(TrackerState(generation=2), run("a" * 40, 90, 10))
    marker = codec.encode(state, SCOPE)
    block = f"<!-- issue-status-bot:begin -->\r\n{codec.encode(older, SCOPE)}\r\n{marker}\r\n"
    assert codec.marker_in(block + "<!-- issue-status-bot:end -->\r\n") == marker
    assert codec.marker_in("no marker") is None
    try:
        await keeper.remember(state, SCOPE)
        body = block + "<!-- issue-status-bot:end -->\r\ntext\r\n"
        assert await keeper.read(body, SCOPE) == state
        assert await keeper.read(body.replace(marker, codec.encode(older, SCOPE)), SCOPE) == state
    finally:
        await journal.close()
