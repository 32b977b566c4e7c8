"""A commit's CI completions become one recomputation, whatever their event types and arrival timing.

The deliveries go through the real server; the recomputations are counted in what the fake GitHub
received: each one lists the commit's check runs once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from harness import INSTALLATION_ID, REPO, BotHarness, sha_of, summary

from bot.intake.server import JOURNAL, WORKERS
from bot.journal import Journal
from bot.testing.deliveries import (
    check_run_completed,
    check_suite_completed,
    deliver,
    workflow_run_completed,
)


def _recomputations(bot: BotHarness, label: str) -> int:
    return len(bot.fake.calls("GET", f"/repos/{REPO}/commits/{sha_of(label)}/check-runs"))


def _jobs_and_suite(bot: BotHarness, label: str, jobs: int) -> list[tuple[str, dict[str, Any]]]:
    """A workflow run of ``jobs`` check runs: their completions, the suite's and the workflow run's."""
    sha = sha_of(label)
    run = bot.fake.add_workflow_run(REPO, sha, head_branch="main")
    checks = [
        bot.fake.add_check_run(
            REPO,
            sha,
            f"tests ({index})",
            output={"title": "pytest", "summary": summary(1, 99)},
            head_branch="main",
            check_suite_id=run["check_suite_id"],
        )
        for index in range(jobs)
    ]
    repository = bot.repository
    jobs_done = [
        check_run_completed(repository, c, installation_id=INSTALLATION_ID, head_branch="main")
        for c in checks
    ]
    return [
        *(("check_run", payload) for payload in jobs_done),
        (
            "check_suite",
            check_suite_completed(repository, sha=sha, head_branch="main", installation_id=INSTALLATION_ID),
        ),
        ("workflow_run", workflow_run_completed(repository, run, installation_id=INSTALLATION_ID)),
    ]


async def _send(bot: BotHarness, event: str, payload: dict[str, Any]) -> None:
    assert await deliver(bot.session, bot.url, bot.secret, event, payload) == 202


async def _done(bot: BotHarness) -> int:
    async with asyncio.timeout(30):
        await bot.app[WORKERS].drain()
    journal: Journal = bot.app[JOURNAL]
    return (await journal.counts()).get("done", 0)


async def test_jobs_their_suite_and_their_workflow_run_become_one_recomputation(bot: BotHarness) -> None:
    bot.app[WORKERS].coalesce_seconds = 0.5
    deliveries = _jobs_and_suite(bot, "mix", jobs=3)
    # The suite first, then the jobs and the workflow run: arrival order does not matter.
    for event, payload in [deliveries[3], *deliveries[:3], deliveries[4]]:
        await _send(bot, event, payload)
    assert await _done(bot) == 5
    assert _recomputations(bot, "mix") == 1
    assert len(bot.fake.calls("PATCH")) == 1
    assert "**Pass rate: 99.0%** (297 passed, 3 failed, 21 skipped)" in bot.body


async def test_a_burst_claimed_midway_is_still_one_recomputation(bot: BotHarness) -> None:
    """A claim pass paced by the first delivery takes part of the burst; the rest, each within the window
    of the one before, is covered by the same recomputation rather than starting a second one."""
    window = 1.0
    bot.app[WORKERS].coalesce_seconds = window
    deliveries = _jobs_and_suite(bot, "spread", jobs=3)
    for event, payload in deliveries:
        await _send(bot, event, payload)
        await asyncio.sleep(window * 0.6)  # the pass claims after the second; the third comes later
    assert await _done(bot) == 5
    assert _recomputations(bot, "spread") == 1
    assert len(bot.fake.calls("PATCH")) == 1


async def test_a_completion_after_the_window_is_recomputed_again(bot: BotHarness) -> None:
    """A job that finishes once the commit was recomputed changes GitHub's truth: it is not skipped."""
    bot.app[WORKERS].coalesce_seconds = 0.2
    first, late, *_ = _jobs_and_suite(bot, "late job", jobs=2)
    await _send(bot, *first)
    assert await _done(bot) == 1
    await _send(bot, *late)
    assert await _done(bot) == 2
    assert _recomputations(bot, "late job") == 2


async def test_workers_woken_as_they_are_stopped_stop_at_once(bot: BotHarness) -> None:
    """A delivery's wake-up in the same turn as the stop: Python 3.11's ``asyncio.wait_for`` returned the
    wake-up and swallowed the cancellation, and the workers polled on until shutdown's 20 s ran out."""
    workers = bot.app[WORKERS]
    await asyncio.sleep(0.05)  # the workers' loop waits for a wake-up
    workers.wake("octo/repo")
    async with asyncio.timeout(5):
        await workers.stop()
