"""A repository may restyle the block and the comments with its own templates, in a sandbox that cannot
escape, grow without bound, or break the issue; a broken override falls back to the built-in one."""

from __future__ import annotations

import pytest

from bot.testing.deliveries import issue_comment_created
from bot.tracking.body import BLOCK_BEGIN, BLOCK_END
from tests.harness import INSTALLATION_ID, ISSUE, REPO, BotHarness, summary

CONFIG = "templates: .github/issue-status\ntrackers:\n  - issue: 2\n    review:\n      reviewers: [octocat]\n"
OWN_BLOCK = "## Our build health: {{ report.rate | percent }}\n{{ state_marker }}\n"


def block_of(body: str) -> str:
    return body[body.index(BLOCK_BEGIN) : body.index(BLOCK_END)]


async def test_an_override_replaces_the_built_in_block(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.put_file(REPO, ".github/issue-status/status_block.md.j2", OWN_BLOCK)
    bot.fake.put_file(REPO, ".github/issue-status/notes.md", "not a template")
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    assert "## Our build health: 94.3%" in block_of(bot.body)
    assert "Quality gate met" in bot.comments[0]  # comments keep their built-in templates


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "SecurityError"),
        ("{{ 'x' * 10000000 }}", "repetition too large"),
        ("{% set x = [] %}{{ x.append(1) }}", "SecurityError"),
        ("{% for i in range(100000) %}{{ i }} {% endfor %}", "more than 30,000 characters"),
        ("{{ report.rate | percent", "TemplateSyntaxError"),
        ("{{ no_such_thing.at_all }}", "UndefinedError"),
        ("x" * 20_000, "larger than 16 KiB"),
    ],
    ids=[
        "attribute escape",
        "huge repetition",
        "mutation",
        "huge loop",
        "syntax error",
        "undefined",
        "too large",
    ],
)
async def test_a_broken_or_hostile_override_falls_back_and_is_reported_once(
    bot: BotHarness, source: str, problem: str
) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.put_file(REPO, ".github/issue-status/status_block.md.j2", source)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(80, 147)})
    assert "**Pass rate: 64.8%**" in block_of(bot.body)  # the built-in block
    reports = [c for c in bot.comments if "could not use the template `status_block.md.j2`" in c]
    assert len(reports) == 1 and problem in reports[0]
    assert bot.failed_deliveries == 0


async def test_without_the_templates_key_no_folder_is_looked_up(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status/status_block.md.j2", OWN_BLOCK)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    assert "Our build health" not in bot.body
    assert bot.fake.calls("GET", f"/repos/{REPO}/contents/.github/issue-status/") == []
    assert [c.path for c in bot.fake.calls("GET", f"/repos/{REPO}/contents")] == [
        f"/repos/{REPO}/contents/.github/issue-status.yml"
    ]


async def test_comment_templates_can_be_overridden_too(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.put_file(
        REPO, ".github/issue-status/command_reply.md.j2", "Sorry {{ user }}, maintainers only.\n{{ marker }}"
    )
    stored = bot.fake.add_comment(REPO, ISSUE, "/status refresh", user="passerby")
    payload = issue_comment_created(
        bot.repository, bot.fake.issue(REPO, ISSUE), stored, installation_id=INSTALLATION_ID
    )
    await bot.send("issue_comment", payload)
    assert bot.comments[-1].startswith("Sorry passerby, maintainers only.")
