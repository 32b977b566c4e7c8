"""A pull request of the tracked branch that comes after the hand-over is asked for the review too, once;
a draft waits until it is ready for review, and a fork's pull request is never asked."""

from __future__ import annotations

from typing import Any

from bot.testing.deliveries import pull_request
from tests.harness import INSTALLATION_ID, ISSUE, REPO, BotHarness, summary

BRANCH = "quality-push"
CONFIG = f"trackers:\n  - issue: 2\n    branch: {BRANCH}\n    review:\n      reviewers: [octocat]\n"
FORK = "stranger/backend"


async def gate_met(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(13, 214)}, branch=BRANCH)  # 94.3% > 90%


async def send(bot: BotHarness, action: str, pull: dict[str, Any], delivery_id: str | None = None) -> None:
    payload = pull_request(action, bot.repository, pull, installation_id=INSTALLATION_ID)
    assert await bot.send("pull_request", payload, delivery_id=delivery_id) == 202


def review_requests(bot: BotHarness, number: int) -> int:
    return len(bot.fake.calls("POST", f"/repos/{REPO}/pulls/{number}/requested_reviewers"))


def late_comments(bot: BotHarness, number: int) -> list[str]:
    return [c for c in bot.comments if f"review-asked #{number} " in c and "came after the hand-over" in c]


async def test_a_pull_request_opened_after_an_assignment_is_asked_once(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    await gate_met(bot)
    assert [a["login"] for a in bot.fake.issue(REPO, ISSUE)["assignees"]] == ["octocat"]  # no PR was open

    pull = bot.fake.add_pull_request(REPO, BRANCH, bot.fake.head(REPO, BRANCH), number=7)
    await send(bot, "opened", pull, delivery_id="opened-7")

    assert bot.fake.requested_reviewers(REPO, 7)["users"] == ["octocat"]
    [comment] = late_comments(bot, 7)
    assert "code review requested from @octocat there" in comment and "94.3%" in comment

    # Redelivered, then reviewed, closed and reopened: asked no second time.
    await send(bot, "opened", pull, delivery_id="opened-7")
    bot.fake.review_submitted(REPO, 7, "octocat")
    bot.fake.set_pull_request(REPO, 7, draft=False, state="closed")
    await send(bot, "reopened", bot.fake.set_pull_request(REPO, 7, draft=False, state="open"))
    assert review_requests(bot, 7) == 1
    assert len(late_comments(bot, 7)) == 1
    assert bot.failed_deliveries == 0


async def test_a_draft_waits_for_ready_for_review_and_one_asked_at_the_hand_over_is_not_asked_again(
    bot: BotHarness,
) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.add_commit(REPO, "a" * 40, branch=BRANCH)
    ready = bot.fake.add_pull_request(REPO, BRANCH, bot.fake.head(REPO, BRANCH), number=5)
    bot.fake.add_pull_request(REPO, BRANCH, bot.fake.head(REPO, BRANCH), number=6)
    draft = bot.fake.set_pull_request(REPO, 6, draft=True)
    await gate_met(bot)
    assert bot.fake.requested_reviewers(REPO, 5)["users"] == ["octocat"]
    assert bot.fake.requested_reviewers(REPO, 6)["users"] == []  # a draft is not asked yet

    await send(bot, "opened", draft)
    assert review_requests(bot, 6) == 0
    await send(bot, "ready_for_review", bot.fake.set_pull_request(REPO, 6, draft=False))
    assert bot.fake.requested_reviewers(REPO, 6)["users"] == ["octocat"]

    bot.fake.review_submitted(REPO, 5, "octocat")
    await send(bot, "reopened", ready)
    assert review_requests(bot, 5) == 1  # the hand-over's request on #5 stands
    assert bot.failed_deliveries == 0


async def test_a_forks_pull_request_or_one_before_the_hand_over_is_not_asked(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    await bot.ci_completed("c0", {"tests": summary(84, 143)}, branch=BRANCH)  # 63%: no hand-over yet
    early = bot.fake.add_pull_request(REPO, BRANCH, bot.fake.head(REPO, BRANCH), number=7)
    await send(bot, "opened", early)
    assert review_requests(bot, 7) == 0 and late_comments(bot, 7) == []

    bot.fake.set_pull_request(REPO, 7, draft=False, state="closed")
    await gate_met(bot)
    bot.fake.add_fork(FORK, of=REPO)
    forked = bot.fake.add_pull_request(
        REPO, BRANCH, bot.fake.head(REPO, BRANCH), head_repository=FORK, user="stranger", number=9
    )
    await send(bot, "opened", forked)
    assert review_requests(bot, 9) == 0 and late_comments(bot, 9) == []

    # The same pull request reopened after the hand-over is asked.
    await send(bot, "reopened", bot.fake.set_pull_request(REPO, 7, draft=False, state="open"))
    assert bot.fake.requested_reviewers(REPO, 7)["users"] == ["octocat"]
    assert bot.failed_deliveries == 0
