"""Slash commands from the people who may steer the bot, and a polite no to everyone else."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.testing.deliveries import issue_comment_created
from bot.updating.commands import Command, parse_command
from tests.harness import INSTALLATION_ID, ISSUE, REPO, BotHarness, summary
from tests.test_state_replay import human_edit


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/status refresh", Command("refresh", "")),
        ("Thanks!\r\n/status baseline 70%\r\n", Command("baseline", "70%")),
        ("  /STATUS review please", Command("review", "please")),
        ("/status baseline current", Command("baseline", "current")),
        ("see /status refresh", None),
        ("/status refreshing", None),
        ("/statusrefresh", None),
    ],
)
def test_commands_are_read_from_the_start_of_a_line(text: str, command: Command | None) -> None:
    assert parse_command(text) == command


HIDDEN_COMMANDS = {
    "fenced-code": "Try this:\n\n```\n/status refresh\n```\n",
    "tilde-fence": "~~~md\n/status baseline 10%\n~~~\n",
    "indented-code": "Try this:\n\n    /status refresh\n",
    "details": "<details><summary>Old notes</summary>\n\n/status review\n\n</details>\n",
    "details-raw-html": "<details>\n/status review\n</details>\n",
    "nested-details": "<details>\n\n<details>\n\n</details>\n\n/status review\n\n</details>\n",
    "html-comment": "<!--\n/status refresh\n-->\n",
    "comment-between-blank-lines": "<!--\n\n/status baseline 10%\n\n-->\n",
    "inline-comment": "Thanks <!--\n/status refresh\n--> a lot\n",
    "raw-html": "<div>\n/status refresh\n</div>\n",
    "pre": "<pre>\n\n/status refresh\n\n</pre>\n",
    "quoted-reply": "> /status baseline 10%\n\nI would not do that.\n",
    "list-item": "- /status refresh\n",
    "multi-line-code-span": "Run `this\n/status refresh` later\n",
    "table-row": "| a |\n|---|\n/status refresh\n",
    "link-text": "[see\n/status refresh](https://example.com)\n",
}


@pytest.mark.parametrize("text", HIDDEN_COMMANDS.values(), ids=HIDDEN_COMMANDS.keys())
def test_commands_github_does_not_show_as_a_line_of_text_do_not_run(text: str) -> None:
    assert parse_command(text) is None
    assert parse_command(text.replace("\n", "\r\n")) is None


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("<details>\n\n/status refresh\n\n</details>\n\n/status review\n", Command("review", "")),
        ("```\n/status refresh\n```\n/status baseline 70%", Command("baseline", "70%")),
        ("<!-- /status refresh -->\n/status review\r\n", Command("review", "")),
        ("> quoted\n\n/status refresh\n", Command("refresh", "")),
        ("Done.  \n/status refresh", Command("refresh", "")),
        ("Done.\\\n/status refresh", Command("refresh", "")),
        ("a\r/status baseline current\r", Command("baseline", "current")),
    ],
    ids=[
        "after-details",
        "after-a-fence",
        "after-a-comment",
        "after-a-quote",
        "after-a-hard-break",
        "after-a-backslash-break",
        "cr-only",
    ],
)
def test_a_visible_command_after_hidden_text_runs(text: str, command: Command) -> None:
    assert parse_command(text) == command


PIECES = [
    "/status refresh",
    "/status baseline 70%",
    "```",
    "    ",
    "> ",
    "- ",
    "<details>",
    "</details>",
    "<!--",
    "-->",
    "`",
    "*",
    "[",
    "](x)",
    "<div>",
    "\n",
    "\r\n",
    "\n\n",
    "|a|\n|-|\n",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=5)), max_size=20).map("".join))
def test_any_comment_yields_a_command_or_none_and_a_command_is_on_a_line_of_its_own(text: str) -> None:
    command = parse_command(text)
    if command is not None:
        lines = [line.strip() for line in text.replace("\r", "\n").split("\n")]
        assert any(line.lower().startswith(f"/status {command.name}") for line in lines)


async def comment(bot: BotHarness, text: str, user: str, sender_type: str = "User") -> int:
    stored = bot.fake.add_comment(REPO, ISSUE, text, user=user)
    issue = bot.fake.issue(REPO, ISSUE)
    payload = issue_comment_created(
        bot.repository, issue, stored, sender_type=sender_type, installation_id=INSTALLATION_ID
    )
    return await bot.send("issue_comment", payload)


async def command(bot: BotHarness, text: str, user: str) -> None:
    """``user`` comments ``text`` on the tracking issue, and the delivery is accepted."""
    assert await comment(bot, text, user) == 202


def reactions(bot: BotHarness) -> list[object]:
    return [c for c in bot.fake.calls("POST") if c.path.endswith("/reactions")]


async def test_refresh_recomputes_from_the_branch_head_without_any_ci_delivery(bot: BotHarness) -> None:
    head = bot.fake.head(REPO, "main")
    bot.fake.add_check_run(REPO, head, "tests", output={"summary": summary(13, 214)}, head_branch="main")
    assert await comment(bot, "/status refresh", "octocat") == 202
    assert "**Pass rate: 94.3%**" in bot.body
    assert [r.json for r in reactions(bot)] == [{"content": "+1"}]


async def test_baseline_can_be_set_to_a_rate_or_to_the_current_one(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(40, 187)})
    await comment(bot, "/status baseline 70%", "octocat")
    assert "Since the baseline: ▲ +12.4 pp (baseline 70.0%)" in bot.body
    await comment(bot, "/status baseline current", "octocat")
    assert "Since the baseline: = 0.0 pp (baseline 82.4%)" in bot.body


async def test_a_bad_baseline_gets_an_explanation(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await comment(bot, "/status baseline soon", "octocat")
    assert "needs a pass rate such as `62%`" in bot.comments[-1]


async def test_review_asks_the_reviewers_now(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await comment(bot, "/status review", "octocat")
    handover = [c for c in bot.comments if "review_ready" in c]
    assert len(handover) == 1 and "@octocat" in handover[0]
    assert bot.fake.issue(REPO, ISSUE)["assignees"][0]["login"] == "octocat"


async def test_someone_without_write_access_gets_one_polite_reply_and_nothing_else(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    body = bot.body
    await comment(bot, "/status review", "passerby")
    await comment(bot, "/status baseline 10%", "passerby")
    replies = [c for c in bot.comments if "only people with write access" in c]
    assert len(replies) == 1 and "@passerby" in replies[0]
    assert reactions(bot) == [] and bot.body == body
    assert bot.fake.calls("POST", f"/repos/{REPO}/issues/{ISSUE}/assignees") == []


@pytest.mark.parametrize("kind", ["fenced-code", "indented-code", "details", "html-comment"])
async def test_a_hidden_command_in_a_comment_changes_nothing(bot: BotHarness, kind: str) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    body = bot.body
    comments = bot.comments
    assert (
        await comment(bot, HIDDEN_COMMANDS[kind].replace("/status refresh", "/status review"), "octocat")
        == 202
    )
    assert reactions(bot) == [] and bot.body == body and bot.comments[len(comments) + 1 :] == []
    assert bot.fake.calls("GET", f"/repos/{REPO}/collaborators") == []


async def test_the_bots_own_comments_are_not_commands(bot: BotHarness) -> None:
    await comment(bot, "/status refresh", "issue-status-bot[bot]", sender_type="Bot")
    assert reactions(bot) == [] and bot.fake.calls("GET", f"/repos/{REPO}/collaborators") == []


async def test_ticking_request_review_now_in_the_block_asks_once_and_unticks(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    before = bot.body
    assert "- [ ] Request review now" in before
    ticked = before.replace("- [ ] Request review now", "- [x] Request review now")
    await human_edit(bot, ticked, "octocat")  # a collaborator with write access
    handovers = [c for c in bot.comments if "/review_ready/" in c]
    assert len(handovers) == 1 and "@octocat" in handovers[0]
    assert "- [ ] Request review now" in bot.body  # unticked again by the bot's write
    assert bot.fake.issue(REPO, ISSUE)["assignees"][0]["login"] == "octocat"
