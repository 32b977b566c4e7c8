"""A push that changes the configuration (or the templates) on the default branch re-evaluates the
repository's trackers at once, from the newest commit with results: no CI run needs to follow."""

from __future__ import annotations

from bot.testing.deliveries import pushed
from tests.harness import BRANCH, INSTALLATION_ID, REPO, BotHarness, summary

CONFIG_PATH = ".github/issue-status.yml"
RAISED = "trackers:\n  - issue: 2\n    gate: '>95%'\n    review:\n      reviewers: [octocat]\n"
TWO_TRACKERS = (
    "trackers:\n  - issue: 2\n    gate: '>90%'\n    review:\n      reviewers: [octocat]\n"
    "  - issue: 5\n    gate: '>99%'\n"
)
INVALID = "trackers:\n  - issue: 2\n    gate: 'ninety'\n"
WITH_TEMPLATES = "templates: .github/issue-status\ntrackers:\n  - issue: 2\n"
OWN_BLOCK = "## Our build health: {{ report.rate | percent }}\n{{ state_marker }}\n"
GATE_LINE = "- [ ] >90% test pass rate achieved"
GATE_LINE_TICKED = "- [x] >90% test pass rate achieved"


async def push_files(bot: BotHarness, files: dict[str, str], branch: str = BRANCH) -> int:
    """Commit ``files`` to ``branch`` and deliver the push, as GitHub does (no CI follows here)."""
    before = bot.fake.head(REPO, branch) if branch in bot.fake.world.repository(REPO).branches else "0" * 40
    for path, content in files.items():
        bot.fake.put_file(REPO, path, content, ref=branch)
    payload = pushed(
        bot.repository,
        branch=branch,
        before=before,
        after=bot.fake.head(REPO, branch),
        paths=list(files),
        installation_id=INSTALLATION_ID,
    )
    return await bot.send("push", payload)


def check_runs_read(bot: BotHarness) -> int:
    return len(bot.fake.calls("GET", f"/repos/{REPO}/commits/"))


async def test_a_raised_gate_unticks_the_gate_line_at_once(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(13, 214)})  # 94.3%: the >90% gate is met
    assert GATE_LINE_TICKED in bot.body
    read = check_runs_read(bot)
    # Other files, or the file on another branch: nothing is re-evaluated.
    assert await push_files(bot, {"app/main.py": "print('hi')\n"}) == 202
    assert await push_files(bot, {CONFIG_PATH: RAISED}, branch="experiment") == 202
    assert check_runs_read(bot) == read and GATE_LINE_TICKED in bot.body

    assert await push_files(bot, {CONFIG_PATH: RAISED}) == 202

    assert GATE_LINE in bot.body and GATE_LINE_TICKED not in bot.body
    assert "quality gate >95%: ❌ not met" in bot.body
    assert "**Pass rate: 94.3%**" in bot.body  # the same commit's numbers, judged against the new gate
    assert bot.failed_deliveries == 0


async def test_a_new_tracker_is_initialised_at_once(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(13, 214)})
    bot.fake.add_issue(REPO, "Reach 99%", "- [ ] >99% test pass rate achieved\n", number=5)

    assert await push_files(bot, {CONFIG_PATH: TWO_TRACKERS}) == 202

    body = str(bot.fake.issue(REPO, 5)["body"])
    assert "**Pass rate: 94.3%**" in body and "quality gate >99%: ❌ not met" in body
    [sources] = [c["body"] for c in bot.fake.comments(REPO, 5)]
    assert "Where these numbers come from" in sources


async def test_an_invalid_file_gets_its_one_comment_and_its_fix_takes_effect_at_once(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(13, 214)})
    body = bot.body

    assert await push_files(bot, {CONFIG_PATH: INVALID}) == 202
    assert await bot.redeliver() == 202
    assert await push_files(bot, {CONFIG_PATH: INVALID, "app/main.py": "x = 1\n"}) == 202  # same revision

    errors = [c for c in bot.comments if "cannot use `.github/issue-status.yml`" in c]
    assert len(errors) == 1 and "trackers[0].gate" in errors[0]
    assert bot.body == body

    assert await push_files(bot, {CONFIG_PATH: RAISED}) == 202
    assert "quality gate >95%: ❌ not met" in bot.body and GATE_LINE in bot.body
    assert bot.failed_deliveries == 0


async def test_a_changed_template_restyles_the_block_at_once(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, CONFIG_PATH, WITH_TEMPLATES)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})

    assert await push_files(bot, {".github/issue-status/status_block.md.j2": OWN_BLOCK}) == 202

    assert "## Our build health: 63.0%" in bot.body
