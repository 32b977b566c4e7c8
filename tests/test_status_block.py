"""The status block: trend chart, and GitHub's 65,536-character limit met by thinning history, never by
cutting human text."""

from __future__ import annotations

from bot.results.counts import TestCounts
from bot.tracking.body import BLOCK_BEGIN, BLOCK_END, human_text, replace_block
from bot.tracking.state import MAX_HISTORY, RunRecord, TrackerState
from bot.updating.tracker import MAX_BODY_CHARS
from tests.harness import ISSUE, REPO, BotHarness, summary

SCOPE = f"{REPO}#{ISSUE}"


def block_of(body: str) -> str:
    return body[body.index(BLOCK_BEGIN) : body.index(BLOCK_END)]


def seeded_history(runs: int) -> TrackerState:
    state = TrackerState()
    for n in range(runs):
        counts = TestCounts(passed=143 + n // 2, failed=84 - n // 2, skipped=7)
        run = RunRecord(f"{n:040x}", counts, f"2025-08-{1 + n // 24:02d}T{n % 24:02d}:00:00Z")
        state = state.with_run(run, counts.pass_rate)
    return state


def body_with_history(bot: BotHarness, human: str, state: TrackerState) -> str:
    marker = bot.codec.encode(state, SCOPE)
    return replace_block(human, f"(an older rendering)\n{marker}")


async def test_the_trend_chart_draws_the_rate_over_the_gate_and_the_baseline(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    assert "```mermaid" not in bot.body  # one point is no trend
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    block = block_of(bot.body)
    assert '```mermaid\n%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": ' in block
    # The baseline is the first recorded run's rate: the grey line, then the gate, then the rate on top.
    assert "  line [63.0, 63.0]\n  line [90.0, 90.0]\n  line [63.0, 94.3]" in block
    assert "63.0% → 94.3% (gate >90%)" in block


async def test_a_long_history_is_thinned_keeping_the_baseline(bot: BotHarness, canonical_body: str) -> None:
    bot.fake.edit_issue_body(REPO, ISSUE, body_with_history(bot, canonical_body, seeded_history(MAX_HISTORY)))
    await bot.ci_completed("c-new", {"tests": summary(13, 214)})
    state = bot.state
    assert state is not None
    assert len(state.runs) == MAX_HISTORY
    assert state.runs[0].sha == f"{0:040x}"  # the baseline run
    assert state.baseline_rate is not None and round(state.baseline_rate, 3) == 0.630


async def test_a_body_near_the_limit_shows_less_history_and_keeps_all_human_text(bot: BotHarness) -> None:
    human = "- [ ] >90% test pass rate achieved\n" + ("Notes from the team. " * 2_950)
    bot.fake.edit_issue_body(REPO, ISSUE, body_with_history(bot, human, seeded_history(MAX_HISTORY)))
    await bot.ci_completed("c-new", {"tests": summary(13, 214)})
    body = bot.body
    assert len(body) <= MAX_BODY_CHARS
    assert human_text(body).endswith(human.replace("- [ ]", "- [x]"))
    state = bot.codec.decode(body, SCOPE)
    assert state is not None
    assert 1 < len(state.runs) < MAX_HISTORY
    assert state.runs[0].sha == f"{0:040x}" and "**Pass rate: 94.3%**" in body


async def test_human_text_alone_at_the_limit_gets_one_comment_and_no_write(bot: BotHarness) -> None:
    bot.fake.edit_issue_body(REPO, ISSUE, "x" * (MAX_BODY_CHARS - 100))
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    assert bot.fake.calls("PATCH") == []
    limit_comments = [c for c in bot.comments if "issue-status-bot:body-limit" in c]
    assert len(limit_comments) == 1
    assert "65,436 characters" in limit_comments[0]


async def test_a_tests_rule_without_per_test_results_is_left_alone_and_the_block_says_why(
    bot: BotHarness, canonical_body: str
) -> None:
    config = (
        "trackers:\n  - issue: 2\n    rules:\n      - line: All security fixes preserved\n"
        "        tests: '*security*'\n"
    )
    bot.fake.put_file(REPO, ".github/issue-status.yml", config)
    ticked = canonical_body.replace(
        "- [ ] All security fixes preserved", "- [x] All security fixes preserved"
    )
    bot.fake.edit_issue_body(REPO, ISSUE, ticked)
    await bot.ci_completed(
        "c1", {"tests": summary(13, 214)}
    )  # counts from the check run: no per-test results
    body = bot.body
    assert "- [x] All security fixes preserved" in human_text(body)  # left as the human set it
    block = block_of(body)
    assert "**Criteria:**" in block
    assert "- ❔ All security fixes preserved: " in block
    assert "- ✅ \\>90% test pass rate achieved" in block
