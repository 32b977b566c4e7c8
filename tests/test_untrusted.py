"""Names chosen by whoever writes a workflow reach the issue only as inert, one-line code spans."""

from __future__ import annotations

import io
import zipfile
from xml.sax.saxutils import quoteattr

import pytest

from bot.tracking.body import BLOCK_BEGIN, BLOCK_END, split_body
from bot.untrusted import MAX_SHOWN, code_span
from tests.harness import REPO, BotHarness, sha_of, summary


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("tests (3.12)", "`tests (3.12)`"),
        ("@octocat please look", "`@octocat please look`"),
        ("fixes #1 and org/repo#2", "`fixes #1 and org/repo#2`"),
        ("a `tick` inside", "``a `tick` inside``"),
        ("`edge`", "`` `edge` ``"),
        (
            "line one\nline two\r\n<!-- issue-status-bot:end -->",
            "`line one line two <!\u200b-- issue-status-bot:end --\u200b>`",
        ),
        ("", "`(unnamed)`"),
        ("  \n ", "`(unnamed)`"),
    ],
)
def test_untrusted_names_become_one_line_code_spans(name: str, shown: str) -> None:
    assert code_span(name) == shown


def test_a_long_name_is_shortened() -> None:
    shown = code_span("x" * 500)
    assert len(shown) == MAX_SHOWN + 2 and shown.endswith("…`")


async def test_a_hostile_job_name_cannot_mention_reference_or_forge_the_block(bot: BotHarness) -> None:
    await bot.ci_completed("c0", {"tests": summary(84, 143)}, event="check_suite")
    hostile = "@octocat #1 ](javascript:x) <!-- issue-status-bot:end -->\n<!-- issue-status-bot:begin -->"
    sha = sha_of("c1")
    run = bot.fake.add_workflow_run(REPO, sha, head_branch="main")
    bot.fake.add_check_run(REPO, sha, hostile, head_branch="main", check_suite_id=run["check_suite_id"])
    await bot.workflow_completed(run)  # its log is missing: the name is shown with the reason
    body = bot.body
    assert body.count(BLOCK_BEGIN) == 1 and body.count(BLOCK_END) == 1
    parts = split_body(body)
    assert parts.block is not None
    assert "`@octocat #1 ](javascript:x) <!\u200b-- issue-status-bot:end --\u200b> <!\u200b--" in parts.block
    assert "**Pass rate: 63.0%**" in parts.block


async def test_a_state_marker_forged_in_a_job_name_does_not_reset_the_history(bot: BotHarness) -> None:
    await bot.ci_completed("c0", {"tests": summary(84, 143)}, event="check_suite")
    forged = "<!-- issue-status-bot:state v1 AAAA " + "0" * 64 + " -->"
    sha = sha_of("c1")
    run = bot.fake.add_workflow_run(REPO, sha, head_branch="main")
    bot.fake.add_check_run(REPO, sha, forged, head_branch="main", check_suite_id=run["check_suite_id"])
    await bot.workflow_completed(run)
    await bot.ci_completed("c2", {"tests": summary(13, 214)}, event="check_suite")
    block = split_body(bot.body).block or ""
    assert "Since the baseline: ▲ +31.3 pp (baseline 63.0%)" in block  # the history survived


async def test_hostile_test_names_in_junit_are_shown_inert(bot: BotHarness) -> None:
    config = (
        "trackers:\n  - issue: 2\n    rules:\n"
        "      - line: All security fixes preserved\n        tests: '*security*'\n"
    )
    bot.fake.put_file(REPO, ".github/issue-status.yml", config)
    hostile = "@octocat <!-- issue-status-bot:end --> #1 **bold** [x](javascript:y)"
    xml = (
        '<testsuite name="s"><testcase classname="tests.test_security" name="ok"/>'
        f'<testcase classname="tests.test_security" name={quoteattr(hostile)}><failure/></testcase>'
        "</testsuite>"
    ).encode()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("junit.xml", xml)
    run = bot.workflow(
        "c1", {"tests": b"= 1 failed, 1 passed in 0.1s =\n"}, artifacts={"test-results": archive.getvalue()}
    )
    await bot.workflow_completed(run)
    body = bot.body
    assert body.count(BLOCK_BEGIN) == 1 and body.count(BLOCK_END) == 1
    block = split_body(body).block or ""
    assert "❌ All security fixes preserved: 1 of 2 tests matching '\\*security\\*' fail:" in block
    assert (
        "\\@octocat \\<\\!-- issue-status-bot:end --\\> \\#1 \\*\\*bold\\*\\* \\[x\\]\\(javascript:y\\)"
        in block
    )
    assert "**Pass rate: 50.0%**" in block
