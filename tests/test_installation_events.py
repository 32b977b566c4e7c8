"""Installation events through the real server: an installation is useful at once, an uninstall or a
removal forgets the installation's tokens and parks the work still queued for it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.intake.server import JOURNAL
from bot.testing.deliveries import check_run_completed, installation, installation_repositories
from tests.conftest import DEFAULT_CONFIG
from tests.harness import BRANCH, INSTALLATION_ID, ISSUE, REPO, BotHarness, sha_of, summary

OTHER = "platform-wrapper/frontend"
BARE = "platform-wrapper/no-config"


def ci_reported(bot: BotHarness, repository: str, failed: int, passed: int) -> str:
    """CI reported on the branch head before the App could hear of it: no delivery is sent."""
    sha = bot.fake.head(repository, BRANCH)
    output = {"title": "pytest", "summary": summary(failed, passed)}
    bot.fake.add_check_run(repository, sha, "tests", output=output, head_branch=BRANCH)
    return sha


def other_repository(bot: BotHarness) -> dict[str, Any]:
    """A second repository with its own config and tracking issue, and CI results already in."""
    repository = bot.fake.add_repository(OTHER, default_branch=BRANCH)
    bot.fake.put_file(OTHER, ".github/issue-status.yml", DEFAULT_CONFIG)
    bot.fake.add_issue(OTHER, "Reach >90%", "- [ ] >90% test pass rate achieved\n", number=ISSUE)
    ci_reported(bot, OTHER, failed=13, passed=214)
    return repository


def body_of(bot: BotHarness, repository: str) -> str:
    return str(bot.fake.issue(repository, ISSUE)["body"])


async def check_run_delivery(bot: BotHarness, repository: dict[str, Any], label: str) -> str:
    """A CI completion for ``repository``; returns its delivery id."""
    run = bot.fake.add_check_run(
        str(repository["full_name"]),
        sha_of(label),
        "tests",
        output={"title": "pytest", "summary": summary(1, 99)},
        head_branch=BRANCH,
    )
    payload = check_run_completed(repository, run, installation_id=INSTALLATION_ID, head_branch=BRANCH)
    delivery_id = f"delivery-{label}"
    assert await bot.send("check_run", payload, delivery_id=delivery_id) == 202
    return delivery_id


@pytest.mark.parametrize("action", ["created", "new_permissions_accepted"])
async def test_an_installation_brings_its_trackers_up_to_date_without_waiting_for_ci(
    bot: BotHarness, action: str
) -> None:
    bare = bot.fake.add_repository(BARE, default_branch=BRANCH)
    bot.fake.set_installation_repositories(INSTALLATION_ID, [REPO, BARE])
    sha = ci_reported(bot, REPO, failed=84, passed=143)

    payload = installation(action, [bot.repository, bare], installation_id=INSTALLATION_ID)
    assert await bot.send("installation", payload) == 202

    assert "**Pass rate: 63.0%** (143 passed, 84 failed, 7 skipped)" in bot.body
    assert f"/commit/{sha}" in bot.body
    [sources] = bot.comments
    assert "Where these numbers come from" in sources and sha[:7] in sources
    assert "`tests`, the check run's output: `" in sources
    assert bot.failed_deliveries == 0
    assert bot.fake.calls("POST", f"/repos/{BARE}/") == []  # no config there: nothing written


async def test_an_installation_searches_back_for_the_newest_commit_with_results(bot: BotHarness) -> None:
    sha = ci_reported(bot, REPO, failed=13, passed=214)
    bot.fake.add_commit(REPO, sha_of("pushed, CI not started"), branch=BRANCH)

    await bot.send("installation", installation("created", [bot.repository], installation_id=INSTALLATION_ID))

    assert f"/commit/{sha}" in bot.body and "**Pass rate: 94.3%**" in bot.body
    assert "- [x] >90% test pass rate achieved" in bot.body
    assert [a["login"] for a in bot.fake.issue(REPO, ISSUE)["assignees"]] == ["octocat"]


async def test_repositories_added_to_an_installation_are_brought_up_to_date_and_only_they(
    bot: BotHarness,
) -> None:
    other = other_repository(bot)
    bot.fake.set_installation_repositories(INSTALLATION_ID, [REPO, OTHER])
    body = bot.body

    payload = installation_repositories("added", [other], installation_id=INSTALLATION_ID)
    assert await bot.send("installation_repositories", payload) == 202

    assert "**Pass rate: 94.3%**" in body_of(bot, OTHER)
    assert bot.body == body
    assert bot.fake.calls("GET", f"/repos/{REPO}/") == []
    assert bot.failed_deliveries == 0


async def test_an_uninstall_forgets_the_token_and_parks_work_queued_for_it(bot: BotHarness) -> None:
    await check_run_delivery(bot, bot.repository, "before")  # a token is minted and kept
    assert bot.fake.tokens_minted[INSTALLATION_ID] == 1
    bot.fake.uninstall(INSTALLATION_ID)

    deleted = installation("deleted", [bot.repository], installation_id=INSTALLATION_ID)
    assert await bot.send("installation", deleted) == 202
    asked = len(bot.fake.requests)
    queued = await check_run_delivery(bot, bot.repository, "after")

    entry = await bot.app[JOURNAL].get(queued)
    assert entry is not None and entry.status == "dead" and entry.attempts == 1
    assert entry.last_error is not None and "the App was uninstalled" in entry.last_error
    assert len(bot.fake.requests) == asked  # parked without asking GitHub anything

    # Installed again: a fresh token is minted rather than the forgotten one tried first.
    bot.fake.add_installation(INSTALLATION_ID, [REPO])
    await bot.send("installation", installation("created", [bot.repository], installation_id=INSTALLATION_ID))
    assert bot.fake.tokens_minted[INSTALLATION_ID] == 2
    assert [r for r in bot.fake.requests[asked:] if r.status == 401] == []
    assert "**Pass rate:" in bot.body


async def test_a_removed_repository_parks_its_work_and_the_others_go_on(bot: BotHarness) -> None:
    other = other_repository(bot)
    bot.fake.set_installation_repositories(INSTALLATION_ID, [OTHER])
    removed = installation_repositories("removed", [bot.repository], installation_id=INSTALLATION_ID)
    assert await bot.send("installation_repositories", removed) == 202

    asked = len(bot.fake.requests)
    queued = await check_run_delivery(bot, bot.repository, "after removal")
    entry = await bot.app[JOURNAL].get(queued)
    assert entry is not None and entry.status == "dead"
    assert entry.last_error is not None and f"{REPO} was removed from the installation" in entry.last_error
    assert len(bot.fake.requests) == asked

    going_on = await check_run_delivery(bot, other, "other repository")
    entry = await bot.app[JOURNAL].get(going_on)
    assert entry is not None and entry.status == "done"

    # Added back: its trackers are brought up to date, and its deliveries are processed again.
    ci_reported(bot, REPO, failed=84, passed=143)
    bot.fake.set_installation_repositories(INSTALLATION_ID, [REPO, OTHER])
    added = installation_repositories("added", [bot.repository], installation_id=INSTALLATION_ID)
    assert await bot.send("installation_repositories", added) == 202
    assert "**Pass rate: 63.0%**" in bot.body
    again = await check_run_delivery(bot, bot.repository, "added back")
    entry = await bot.app[JOURNAL].get(again)
    assert entry is not None and entry.status == "done"


async def test_installed_again_every_repository_of_it_is_worked_on_again(bot: BotHarness) -> None:
    removed = installation_repositories("removed", [bot.repository], installation_id=INSTALLATION_ID)
    assert await bot.send("installation_repositories", removed) == 202
    ci_reported(bot, REPO, failed=84, passed=143)

    # An installation on "all repositories" need not list them in the event.
    assert await bot.send("installation", installation("created", [], installation_id=INSTALLATION_ID)) == 202

    assert "**Pass rate: 63.0%**" in bot.body
    again = await check_run_delivery(bot, bot.repository, "installed again")
    entry = await bot.app[JOURNAL].get(again)
    assert entry is not None and entry.status == "done"
