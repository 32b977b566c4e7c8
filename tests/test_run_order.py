"""Which result stands for the tracker when results arrive out of order: a re-run of an older commit, or
an older commit's delivery worked off late (a redelivery, the catch-up after an outage).

The latest result is the one that completed last; an older commit's result updates its own row of the
history and moves neither the gate nor the block's current commit.
"""

from __future__ import annotations

from bot.results.counts import TestCounts
from bot.testing.deliveries import check_run_completed
from bot.tracking.body import checklist_items
from bot.tracking.state import RunRecord, TrackerState
from tests.harness import BRANCH, INSTALLATION_ID, REPO, BotHarness, sha_of, status_block, summary


def run(sha: str, completed_at: str, passed: int = 9) -> RunRecord:
    return RunRecord(sha, TestCounts(passed=passed, failed=10 - passed), completed_at)


def test_a_recorded_commit_is_updated_in_its_place() -> None:
    state = TrackerState().with_run(run("a", "2026-01-01T10:00:00Z"), 0.9)
    state = state.with_run(run("b", "2026-01-01T11:00:00Z"), 0.9)
    state = state.with_run(run("a", "2026-01-01T12:00:00Z", passed=5), 0.5)  # a re-run of a's job
    assert [r.sha for r in state.runs] == ["a", "b"]
    assert state.runs[0].counts.passed == 5


def test_a_new_commit_goes_where_its_completion_time_puts_it() -> None:
    state = TrackerState().with_run(run("a", "2026-01-01T10:00:00Z"), 0.9)
    state = state.with_run(run("c", "2026-01-01T12:00:00Z"), 0.9)
    state = state.with_run(run("b", "2026-01-01T11:00:00Z"), 0.9)  # worked off late
    assert [r.sha for r in state.runs] == ["a", "b", "c"]
    state = state.with_run(run("d", "not a time"), 0.9)  # unknown time: last, as it arrived
    assert [r.sha for r in state.runs] == ["a", "b", "c", "d"]


def gate_ticked(bot: BotHarness) -> bool:
    return next(item for item in checklist_items(bot.body) if "90% test pass rate" in item.text).checked


async def completed(bot: BotHarness, label: str, text: str, at: str) -> None:
    check_run = bot.fake.add_check_run(
        REPO,
        sha_of(label),
        f"tests {at}",
        output={"title": "pytest", "summary": text},
        head_branch=BRANCH,
        completed_at=at,
    )
    payload = check_run_completed(
        bot.repository, check_run, installation_id=INSTALLATION_ID, head_branch=BRANCH
    )
    assert await bot.send("check_run", payload) == 202


async def test_a_re_run_of_an_older_commit_moves_neither_the_gate_nor_the_current_commit(
    bot: BotHarness,
) -> None:
    await completed(bot, "c1", summary(20, 80, 0), "2026-01-01T10:00:00Z")
    await completed(bot, "c2", summary(5, 95, 0), "2026-01-01T11:00:00Z")
    assert gate_ticked(bot)
    await completed(bot, "c1", summary(40, 60, 0), "2026-01-01T12:00:00Z")  # c1's job re-run, worse
    block = status_block(bot)
    assert f"Commit [`{sha_of('c2')[:7]}`]" in block
    assert "**Pass rate: 95.0%**" in block
    assert gate_ticked(bot)
    assert not [c for c in bot.comments if "Quality gate lost" in c]
    state = bot.state
    assert state is not None and [r.sha for r in state.runs] == [sha_of("c1"), sha_of("c2")]
    assert state.runs[0].counts.failed == 60  # both of c1's jobs, the re-run included, in its own row


async def test_an_older_commit_worked_off_late_does_not_pose_as_the_latest(bot: BotHarness) -> None:
    await completed(bot, "c2", summary(5, 95, 0), "2026-01-01T11:00:00Z")
    await completed(bot, "c1", summary(20, 80, 0), "2026-01-01T10:00:00Z")  # delivered after c2's
    block = status_block(bot)
    assert f"Commit [`{sha_of('c2')[:7]}`]" in block
    assert gate_ticked(bot)
    state = bot.state
    assert state is not None and [r.sha for r in state.runs] == [sha_of("c1"), sha_of("c2")]
