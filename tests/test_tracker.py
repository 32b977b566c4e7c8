"""End to end: signed deliveries in, and what the bot then sent to (the fake) GitHub."""

from __future__ import annotations

import logging
import re

import pytest

from bot.tracking.body import BLOCK_BEGIN, BLOCK_END
from tests.harness import INSTALLATION_ID, ISSUE, REPO, BotHarness, sha_of, summary

GATE_LINE = "- [ ] >90% test pass rate achieved"
GATE_LINE_TICKED = "- [x] >90% test pass rate achieved"


def human_text(body: str) -> str:
    """The body without the bot's block and the blank line it inserted after it."""
    start, end = body.index(BLOCK_BEGIN), body.index(BLOCK_END) + len(BLOCK_END)
    rest = body[end:]
    for newline in ("\r\n", "\n"):
        if rest.startswith(newline * 2):
            return body[:start] + rest[2 * len(newline) :]
    return body[:start] + rest


def block(body: str) -> str:
    return body[body.index(BLOCK_BEGIN) : body.index(BLOCK_END)]


def announced(bot: BotHarness) -> list[str]:
    """The kinds of milestone and escalation comments, in order, from their hidden keys."""
    return [m for c in bot.comments for m in re.findall(r"issue-status-bot:event \d+/\w+/(\w+)", c)]


def writes(bot: BotHarness, suffix: str, method: str = "POST") -> list[object]:
    return [c for c in bot.fake.calls(method) if c.path.endswith(suffix)]


async def test_first_run_puts_the_status_block_on_top_and_keeps_every_human_byte(
    bot: BotHarness, canonical_body: str
) -> None:
    assert await bot.ci_completed("c1", {"tests": summary(84, 143)}) == 202
    body = bot.body
    assert body.startswith(BLOCK_BEGIN)
    assert human_text(body) == canonical_body
    status = block(body)
    assert "**Pass rate: 63.0%** (143 passed, 84 failed, 7 skipped)" in status
    assert "quality gate >90%: ❌ not met" in status
    assert f"/commit/{sha_of('c1')}" in status
    assert GATE_LINE in body
    [sources] = bot.comments  # the first update says once where its numbers come from; nothing else
    assert "Where these numbers come from" in sources and "`tests`" in sources


async def test_changes_since_previous_run_and_baseline_are_signed_points(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(51, 176)})
    await bot.ci_completed("c3", {"tests": summary(60, 167)})
    status = block(bot.body)
    assert "**Pass rate: 73.6%**" in status
    assert "Since the previous run: ▼ -4.0 pp (was 77.5%)" in status
    assert "Since the baseline: ▲ +10.6 pp (baseline 63.0%)" in status
    assert status.count("| `") == 3  # three runs in the history table


async def test_counts_are_summed_over_the_commits_matching_jobs(bot: BotHarness) -> None:
    bot.fake.put_file(
        REPO, ".github/issue-status.yml", "trackers:\n  - issue: 2\n    checks: ['tests (*)']\n"
    )
    await bot.ci_completed(
        "c1",
        {
            "tests (3.11)": summary(40, 70, 3),
            "tests (3.12)": summary(44, 73, 4),
            "lint": "1 failed, 0 passed",
        },
    )
    assert "**Pass rate: 63.0%** (143 passed, 84 failed, 7 skipped)" in bot.body


async def test_gate_crossing_up_down_up_hands_over_twice_not_on_every_run(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    assert GATE_LINE in bot.body
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    assert GATE_LINE_TICKED in bot.body
    await bot.ci_completed("c3", {"tests": summary(12, 215)})
    assert len(bot.comments) == 2  # where the numbers come from, then the one hand-over
    await bot.ci_completed("c4", {"tests": summary(40, 187)})
    assert GATE_LINE in bot.body and GATE_LINE_TICKED not in bot.body
    bot.fake.unassign_all(REPO, ISSUE)  # the reviewer had handed the issue back
    await bot.ci_completed("c5", {"tests": summary(10, 217)})
    assert GATE_LINE_TICKED in bot.body

    # Crossing up hands over; falling back is announced; crossing up again hands over again.
    assert announced(bot) == ["review_ready", "gate_lost", "review_ready"]
    handovers = [c for c in bot.comments if "/review_ready -->" in c]
    assert all("Quality gate met" in c for c in handovers)
    # No pull request has the tracked branch as head: the reviewer is assigned and mentioned instead.
    assignments = writes(bot, f"/issues/{ISSUE}/assignees")
    assert [c.json for c in assignments] == [{"assignees": ["octocat"]}] * 2
    assert [c.count("@octocat") for c in handovers] == [1, 1]
    assert bot.fake.issue(REPO, ISSUE)["assignees"][0]["login"] == "octocat"


async def test_a_reviewer_still_assigned_is_not_asked_again(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(13, 214)})
    await bot.ci_completed("c2", {"tests": summary(40, 187)})
    await bot.ci_completed("c3", {"tests": summary(10, 217)})
    # The first run is the baseline, so falling back is also an escalation below it.
    assert announced(bot) == ["review_ready", "gate_lost", "below_baseline", "review_ready"]
    assert len(writes(bot, f"/issues/{ISSUE}/assignees")) == 1


async def test_gate_met_requests_review_on_the_open_pull_request_of_the_tracked_branch(
    bot: BotHarness,
) -> None:
    config = "trackers:\n  - issue: 2\n    branch: fix/infra\n    review:\n      reviewers: [octocat]\n"
    bot.fake.put_file(REPO, ".github/issue-status.yml", config)
    bot.fake.add_pull_request(REPO, head_ref="fix/infra", head_sha=sha_of("c1"), number=3)
    bot.fake.add_pull_request(REPO, head_ref="other", head_sha=sha_of("x"), number=4)
    await bot.ci_completed("c1", {"tests": summary(84, 143)}, branch="fix/infra")
    assert writes(bot, "/requested_reviewers") == []
    await bot.ci_completed("c2", {"tests": summary(5, 222)}, branch="fix/infra")

    requests = writes(bot, "/requested_reviewers")
    assert [(c.path, c.json) for c in requests] == [
        (f"/repos/{REPO}/pulls/3/requested_reviewers", {"reviewers": ["octocat"]})
    ]
    assert bot.fake.requested_reviewers(REPO, 3)["users"] == ["octocat"]
    assert bot.fake.requested_reviewers(REPO, 4)["users"] == []
    assert "Code review requested from @octocat on #3" in bot.comments[-1]
    assert writes(bot, "/assignees") == []


async def test_check_suite_completed_updates_the_issue_too(bot: BotHarness) -> None:
    assert await bot.ci_completed("c1", {"tests": summary(13, 214)}, event="check_suite") == 202
    assert "**Pass rate: 94.3%**" in bot.body
    assert GATE_LINE_TICKED in bot.body


async def test_runs_on_other_branches_change_nothing(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)}, branch="feature")
    await bot.ci_completed("c2", {"tests": summary(84, 143)}, branch=None)
    assert bot.fake.calls("PATCH") == []


async def test_a_check_run_without_counts_writes_nothing(bot: BotHarness) -> None:
    # GitHub's own published example: a linter app's check run whose output is all null.
    await bot.ci_completed("c1", {"Octocoders-linter": ""}, app_slug="octocoders-linter")
    assert bot.fake.calls("PATCH") == []
    assert bot.failed_deliveries == 0


async def test_the_same_results_delivered_twice_write_once(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(13, 214)})
    body = bot.body
    assert await bot.redeliver() == 202
    assert await bot.ci_completed("c1", {}, event="check_suite") == 202  # the suite's own completion
    assert len(bot.fake.calls("PATCH")) == 1
    assert len(bot.comments) == 2  # where the numbers come from, and the hand-over
    assert bot.body == body


async def test_crlf_body_comes_through_intact(bot: BotHarness, canonical_body: str) -> None:
    crlf = canonical_body.replace("\n", "\r\n")
    bot.fake.edit_issue_body(REPO, ISSUE, crlf)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    body = bot.body
    assert "\r\n" in block(body) and "\n" not in block(body).replace("\r\n", "")
    assert human_text(body) == crlf.replace(GATE_LINE, GATE_LINE_TICKED)
    assert human_text(body).count(GATE_LINE_TICKED) == 1


async def test_lookalike_checkbox_in_a_code_fence_is_not_ticked(bot: BotHarness, canonical_body: str) -> None:
    fenced = "```markdown\n- [ ] >90% test pass rate achieved\n```\n"
    bot.fake.edit_issue_body(REPO, ISSUE, fenced + canonical_body)
    await bot.ci_completed("c1", {"tests": summary(13, 214)})
    assert human_text(bot.body) == fenced + canonical_body.replace(GATE_LINE, GATE_LINE_TICKED)


async def test_unicode_and_a_human_edit_between_runs_survive(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    edited = bot.body.replace(
        "## Risk Assessment", "## Risk Assessment\n\nÜbersicht 🔄 ⏳ ✅ — مرحبا e\u0301"
    )
    edited += "\n- [ ] a line Zoe added after the first run\n"
    bot.fake.edit_issue_body(REPO, ISSUE, edited)
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    assert human_text(bot.body) == human_text(edited).replace(GATE_LINE, GATE_LINE_TICKED)


async def test_one_installation_token_serves_many_deliveries(bot: BotHarness) -> None:
    for n in range(8):
        await bot.ci_completed(f"c{n}", {"tests": summary(84 - n, 143 + n)})
    assert bot.fake.tokens_minted[INSTALLATION_ID] == 1
    assert bot.tokens_minted == 1


async def test_an_expired_token_is_minted_again_after_a_401(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    bot.fake.expire_tokens()
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    assert bot.fake.tokens_minted[INSTALLATION_ID] == 2
    assert "**Pass rate: 94.3%**" in bot.body
    assert bot.failed_deliveries == 0


async def test_a_closed_tracking_issue_is_left_alone(bot: BotHarness) -> None:
    bot.fake.set_issue_state(REPO, ISSUE, "closed")
    await bot.ci_completed("c1", {"tests": summary(13, 214)})
    assert bot.fake.calls("PATCH") == [] and bot.comments == []


async def test_without_a_config_file_nothing_is_written(bot: BotHarness) -> None:
    bot.fake.delete_file(REPO, ".github/issue-status.yml")
    await bot.ci_completed("c1", {"tests": summary(13, 214)})
    assert [c.method for c in bot.fake.requests if c.method != "GET" and "access_tokens" not in c.path] == []


@pytest.mark.parametrize(
    ("config", "location", "phrase"),
    [
        ("trackers:\n  - issue: 2\n    gate: '>150%'\n", "trackers[0].gate", "150"),
        ("trackers:\n  - issue: 2\n    reviewrs: [octocat]\n", "trackers[0].reviewrs", "reviewers"),
        ("trackers:\n  - issue: 2\n    checks: lint\n", "trackers[0].checks", "list"),
        ("trackers:\n  - issue: 2\n    gate: [unclosed\n", "(file)", "line"),
    ],
)
async def test_an_invalid_config_gets_one_comment_per_revision_and_no_other_change(
    bot: BotHarness, config: str, location: str, phrase: str
) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", config)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    assert len(bot.comments) == 1
    assert ".github/issue-status.yml" in bot.comments[0]
    assert location in bot.comments[0] and phrase in bot.comments[0]
    assert bot.fake.calls("PATCH") == []

    bot.fake.put_file(REPO, ".github/issue-status.yml", config + "# another revision\n")
    await bot.ci_completed("c3", {"tests": summary(13, 214)})
    assert len(bot.comments) == 2
    assert bot.failed_deliveries == 0


async def test_no_secret_reaches_the_logs(
    bot: BotHarness, caplog: pytest.LogCaptureFixture, private_key_pem: bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    bot.fake.expire_tokens()  # a 401, a re-mint: the paths most likely to log a token
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    logged = caplog.text
    assert "ghs_" not in logged  # installation tokens
    assert bot.secret.decode() not in logged
    assert "PRIVATE KEY" not in logged and private_key_pem.decode().splitlines()[1] not in logged
    assert "minted an installation token" in logged  # the log was captured at all
