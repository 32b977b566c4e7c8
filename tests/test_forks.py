"""A fork's pull request runs CI here under a branch named like ours: its results never move the gate.

Only commits on the tracked branch of the repository itself count (the branch's head or its history),
and a fork's pull request is never asked for a review nor taken for the tracked branch's.
"""

from __future__ import annotations

import pytest

from bot.testing.deliveries import (
    check_run_completed,
    check_suite_completed,
    pushed,
    workflow_run_completed,
)
from tests.harness import BRANCH, INSTALLATION_ID, ISSUE, REPO, BotHarness, sha_of, summary

FORK = "stranger/backend"
PERFECT = summary(0, 227, 0)  # 100%: far above the >90% gate
COMPARE = f"/repos/{REPO}/compare/"


def fork_commit(bot: BotHarness, label: str) -> str:
    """A commit of the fork that a pull request brought into the repository's network."""
    bot.fake.add_fork(FORK, of=REPO)
    sha = sha_of(label)
    bot.fake.add_commit(REPO, sha, branch=None)
    bot.fake.add_pull_request(REPO, "main", sha, head_repository=FORK, user="stranger", number=9)
    return sha


async def fork_completes(bot: BotHarness, sha: str, event: str) -> None:
    """CI of the fork's pull request finished, its runs naming the fork's branch ``main``."""
    if event == "workflow_run":
        run = bot.fake.add_workflow_run(REPO, sha, head_branch=BRANCH, head_repository=FORK)
        job = bot.fake.add_check_run(
            REPO, sha, "tests", head_branch=BRANCH, check_suite_id=run["check_suite_id"]
        )
        bot.fake.add_job_log(REPO, job["id"], PERFECT)
        payload = workflow_run_completed(bot.repository, run, installation_id=INSTALLATION_ID)
    else:
        output = {"title": "pytest", "summary": PERFECT}
        job = bot.fake.add_check_run(REPO, sha, "tests", output=output, head_branch=BRANCH)
        if event == "check_run":
            payload = check_run_completed(
                bot.repository, job, installation_id=INSTALLATION_ID, head_branch=BRANCH
            )
        else:
            payload = check_suite_completed(
                bot.repository, sha=sha, head_branch=BRANCH, installation_id=INSTALLATION_ID
            )
    assert await bot.send(event, payload) == 202


def nothing_asked(bot: BotHarness) -> bool:
    return (
        bot.fake.requested_reviewers(REPO, 9) == {"users": [], "teams": []}
        and bot.fake.issue(REPO, ISSUE)["assignees"] == []
    )


@pytest.mark.parametrize("event", ["check_run", "check_suite", "workflow_run"])
async def test_a_forks_run_on_a_branch_named_main_is_not_recorded(bot: BotHarness, event: str) -> None:
    body = bot.body
    await fork_completes(bot, fork_commit(bot, "fork-1"), event)
    assert bot.body == body  # no 100% recorded, no gate line ticked
    assert [c for c in bot.comments if "review_ready" in c] == []
    assert nothing_asked(bot)
    assert bot.failed_deliveries == 0


async def test_a_forks_commit_stays_out_after_the_branch_moves_on(bot: BotHarness) -> None:
    sha = fork_commit(bot, "fork-1")
    await bot.ci_completed("c1", {"tests": summary(84, 143)})  # main moves on; the fork's commit is not in it
    body = bot.body
    await fork_completes(bot, sha, "check_suite")
    assert bot.body == body and "63.0%" in body


async def test_the_branchs_own_commits_count_and_each_is_asked_about_once(bot: BotHarness) -> None:
    # c0 arrives by a push first: a pushed commit is known to be on the branch without asking.
    before = bot.fake.head(REPO)
    bot.fake.add_commit(REPO, sha_of("c0"), branch=BRANCH)
    push = pushed(
        bot.repository,
        branch=BRANCH,
        before=before,
        after=sha_of("c0"),
        paths=["a.py"],
        installation_id=INSTALLATION_ID,
    )
    assert await bot.send("push", push) == 202
    await bot.ci_completed("c0", {"tests": summary(90, 137)})
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(40, 187)})
    assert "82.4%" in bot.body
    # c1's suite completes late: an ancestor of main's head still counts, and c2 is not asked about again.
    await bot.ci_completed("c1", {}, event="check_suite")
    await bot.ci_completed("c2", {}, event="check_suite")
    asked = [call.path for call in bot.fake.calls("GET", COMPARE)]
    assert asked == [f"{COMPARE}{sha_of('c1')}...main", f"{COMPARE}{sha_of('c2')}...main"]
    assert bot.failed_deliveries == 0


async def test_a_forks_pull_request_is_never_asked_for_review_even_at_the_same_commit(
    bot: BotHarness,
) -> None:
    bot.fake.add_fork(FORK, of=REPO)
    bot.fake.add_commit(REPO, sha_of("c1"), branch=BRANCH)
    # The fork's branch is also called main and points at the very commit the gate is met on.
    bot.fake.add_pull_request(REPO, "main", sha_of("c1"), head_repository=FORK, user="stranger", number=9)
    await bot.ci_completed("c1", {"tests": summary(13, 214)})
    handover = [c for c in bot.comments if "review_ready" in c]
    assert len(handover) == 1 and "#9" not in handover[0]
    assert bot.fake.requested_reviewers(REPO, 9) == {"users": [], "teams": []}
    assert [a["login"] for a in bot.fake.issue(REPO, ISSUE)["assignees"]] == ["octocat"]
