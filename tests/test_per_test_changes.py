"""Per-test changes through the real server: what each final run broke, fixed and left failing, and a gate
that deleting or skipping failing tests cannot lift.

Each commit's CI is a GitHub Actions workflow run whose artifact holds a JUnit file in pytest's layout
(``pytest --junitxml``, xunit2); the bot reads it through the fake GitHub like any artifact.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Mapping

from bot.intake.server import JOURNAL
from bot.journal import SQLiteJournal
from bot.tracking.body import checklist_items
from tests.conftest import FIXTURES
from tests.harness import BRANCH, ISSUE, REPO, BotHarness, sha_of, status_block, summary, zipped

Outcomes = Mapping[str, str]  # test name -> "passed", "failed" or "skipped"


def pytest_junit(outcomes: Outcomes) -> bytes:
    """The file ``pytest --junitxml`` writes for tests of tests/test_app.py with these outcomes."""
    children = {
        "passed": "",
        "failed": '<failure message="assert 0">assert 0</failure>',
        "skipped": '<skipped type="pytest.skip" message="flaky in CI">skipped</skipped>',
    }
    cases = "".join(
        f'<testcase classname="tests.test_app" name="{name}" time="0.001">{children[outcome]}</testcase>'
        for name, outcome in outcomes.items()
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" tests="{len(outcomes)}">'
        f"{cases}</testsuite></testsuites>"
    ).encode()


def suite(
    failing: set[int],
    size: int = 20,
    *,
    skipped: frozenset[int] = frozenset(),
    drop: frozenset[int] = frozenset(),
) -> dict[str, str]:
    """Tests test_0 … test_{size-1}: ``failing`` fail, ``skipped`` are skipped, ``drop`` were deleted."""
    return {
        f"test_{n}": "skipped" if n in skipped else "failed" if n in failing else "passed"
        for n in range(size)
        if n not in drop
    }


def config(extra: str = "") -> str:
    return (
        "trackers:\n  - issue: 2\n    gate: '>90%'\n    results: {sources: [junit]}\n"
        "    escalation: {label: escalation}\n"
        "    review: {reviewers: [octocat]}\n" + extra
    )


async def ci(bot: BotHarness, label: str, outcomes: Outcomes) -> None:
    run = bot.workflow(
        label, {"tests": b"build\n"}, artifacts={"junit": zipped({"junit.xml": pytest_junit(outcomes)})}
    )
    assert await bot.workflow_completed(run) == 202
    assert bot.failed_deliveries == 0


def case_id(n: int) -> str:
    return f"tests.test_app::test_{n}"


async def test_the_block_says_what_each_run_broke_fixed_and_left_failing(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", config())
    await ci(bot, "c1", suite({0, 1, 2, 3}))
    block = status_block(bot)
    assert f"**Tests** at `{sha_of('c1')[:7]}`: 20 with results · 4 failing" in block
    assert "newly failing" not in block  # nothing to compare the first run with

    await ci(bot, "c2", suite({2, 3, 4}))
    block = status_block(bot)
    assert f"since `{sha_of('c1')[:7]}`" in block
    assert "🔴 1 newly failing · 🟢 2 fixed" in block
    assert f"- 🔴 Newly failing: `{case_id(4)}`" in block
    assert f"- 🟢 Fixed: `{case_id(0)}`, `{case_id(1)}`" in block
    assert f"`{case_id(2)}` (2 runs)" in block

    await ci(bot, "c3", suite({3}))
    block = status_block(bot)
    assert f"`{case_id(3)}` (3 runs)" in block
    assert "| Commit | Completed | Tests |" in block


async def test_a_regression_escalation_names_the_tests_that_broke(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", config("    baseline: 0.8\n"))
    await ci(bot, "c1", suite({0, 1}))  # 90 %
    await ci(bot, "c2", suite({0, 1, 7, 8, 9, 10, 11}))  # 65 %: five tests broke
    [escalation] = [c for c in bot.comments if "fell below the baseline" in c]
    assert "Newly failing (5):" in escalation
    for n in (7, 8, 9, 10, 11):
        assert f"- `{case_id(n)}`" in escalation
    assert f"`{case_id(0)}`" not in escalation  # it failed before: not what broke


async def test_the_hand_over_names_what_still_fails(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", config().replace(">90%", ">80%"))
    await ci(bot, "c1", suite(set(range(10))))
    await ci(bot, "c2", suite({5, 6}))  # 90 % > 80 %: hand-over
    [handover] = [c for c in bot.comments if "Quality gate met" in c]
    assert f"Still failing at `{sha_of('c2')[:7]}` (2 tests)" in handover
    assert f"`{case_id(5)}`, `{case_id(6)}`" in handover


async def test_deleting_failing_tests_is_flagged_escalated_once_and_with_min_tests_does_not_meet_the_gate(
    bot: BotHarness,
) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", config("    min_tests: baseline\n"))
    await ci(bot, "c1", suite(set(range(5))))  # 75 %, 20 tests counted
    await ci(bot, "c2", suite(set(), drop=frozenset(range(5))))  # the failing five deleted: 100 % of 15
    block = status_block(bot)
    assert "5 fewer tests counted than in the previous run (20 → 15)" in block
    assert "⚠️ Failed before, gone now:" in block
    assert "❌ not met (15 tests counted, 5 fewer than it requires)" in block
    gate_line = next(i for i in checklist_items(bot.body) if "90% test pass rate" in i.text)
    assert not gate_line.checked
    assert not [c for c in bot.comments if "Quality gate met" in c]  # no hand-over on deleted tests

    escalations = [c for c in bot.comments if "tests stopped counting" in c]
    assert len(escalations) == 1
    assert (
        "5 fewer tests counted than in the previous run (15 now), and 5 tests that failed before"
        in escalations[0]
    )
    assert f"- `{case_id(0)}`" in escalations[0]
    assert "escalation" in [label["name"] for label in bot.fake.issue(REPO, ISSUE)["labels"]]

    await bot.redeliver()  # the same commit again: no second escalation
    assert len([c for c in bot.comments if "tests stopped counting" in c]) == 1


async def test_skipping_failing_tests_is_flagged_and_without_min_tests_the_rate_still_counts(
    bot: BotHarness,
) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", config())
    await ci(bot, "c1", suite({0, 1, 2}))
    await ci(bot, "c2", suite(set(), skipped=frozenset({0, 1, 2})))
    block = status_block(bot)
    assert "⚠️ Failed before, skipped now (the pass rate no longer counts them):" in block
    assert "3 fewer tests counted than in the previous run (20 → 17)" in block
    [escalation] = [c for c in bot.comments if "tests stopped counting" in c]
    assert "Failed before, now skipped or gone (3):" in escalation
    # Without min_tests the gate is the rate's alone, as configured; the block has said what happened.
    assert "quality gate >90%: ✅ met" in block


async def test_hostile_test_names_are_shown_as_inert_code(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", config())
    hostile = {"test_ping @octocat #1 https://x.example ``` -->": "failed", "test_ok": "passed"}
    await ci(bot, "c1", hostile)
    block = status_block(bot)
    # A longer fence than the name's own backticks, and the comment closer broken: no mention, no link, no
    # markup, and nothing that could end a hidden marker.
    assert "````tests.test_app::test_ping @octocat #1 https://x.example ``` --\u200b>````" in block
    assert bot.state is not None  # the bot's marker is intact


async def test_the_state_stays_under_the_body_limit_with_5000_long_test_names(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", config())
    name = "test_" + "x" * 300
    await ci(bot, "c1", {f"{name}_{n}": "passed" for n in range(5000)})
    await ci(bot, "c2", {f"{name}_{n}": "failed" for n in range(5000)})
    assert len(bot.body) <= 65_536
    state = bot.state
    assert state is not None and state.tests is not None
    assert state.tests.newly_failing.total == 5000
    assert "and 4" in status_block(bot)  # "and 49xx more"


async def test_a_test_that_passed_on_a_retry_is_flaky_not_failing(bot: BotHarness) -> None:
    """gotestsum ``--rerun-fails`` lists every attempt: TestFlaky failed once, then passed."""
    bot.fake.put_file(REPO, ".github/issue-status.yml", config())
    report = (FIXTURES / "runners" / "junit" / "gotestsum-rerun-fails.documented.xml").read_bytes()
    run = bot.workflow("c1", {"tests": b"build\n"}, artifacts={"junit": zipped({"report.xml": report})})
    await bot.workflow_completed(run)
    block = status_block(bot)
    assert "4 with results · 1 failing · 🔁 1 flaky" in block
    assert "- 🔁 Flaky (failed, then passed on a retry): `example.com/sample/net::TestFlaky`" in block
    assert "**Failing (1):** `example.com/sample/net::TestAlwaysFails`" in block


async def test_a_provisional_run_is_not_said_to_have_lost_tests(bot: BotHarness) -> None:
    """While a commit's CI runs, its count grows job by job: fewer tests than the last finished run is
    no drop yet. Once every job has finished, a drop is."""
    bot.fake.put_file(REPO, ".github/issue-status.yml", "trackers:\n  - issue: 2\n    gate: '>90%'\n")
    await bot.ci_completed("c1", {"tests (a)": summary(2, 18, 0), "tests (b)": summary(2, 18, 0)})
    bot.fake.add_check_run(
        REPO, sha_of("c2"), "tests (b)", status="in_progress", conclusion=None, head_branch=BRANCH
    )
    await bot.ci_completed("c2", {"tests (a)": summary(0, 20, 0)})
    block = status_block(bot)
    assert "provisional" in block
    assert "fewer tests counted" not in block
    assert not [c for c in bot.comments if "tests stopped counting" in c]


async def test_the_same_run_recomputed_does_not_write_its_per_test_memory_again(bot: BotHarness) -> None:
    """Another delivery about the same final run (its check suite after its workflow run, an edit of the
    issue) recomputes it: its per-test memory, up to megabytes for a large suite, is what the journal holds
    already and is not written again; the next commit's is."""
    bot.fake.put_file(REPO, ".github/issue-status.yml", config())
    await ci(bot, "c1", suite({1, 2}))
    artifacts = {"junit": zipped({"junit.xml": pytest_junit(suite({2}))})}
    run = bot.workflow("c2", {"tests": b"build\n"}, artifacts=artifacts)
    assert await bot.workflow_completed(run) == 202
    journal = bot.app[JOURNAL]
    assert isinstance(journal, SQLiteJournal)
    with contextlib.closing(sqlite3.connect(journal.path)) as audit:
        audit.executescript(
            "CREATE TABLE memory_writes (scope TEXT);"
            "CREATE TRIGGER memory_updated AFTER UPDATE ON test_memories"
            " BEGIN INSERT INTO memory_writes VALUES (NEW.scope); END;"
        )

        def writes() -> int:
            return int(audit.execute("SELECT count(*) FROM memory_writes").fetchone()[0])

        assert await bot.workflow_completed(run) == 202  # a new delivery, the same run
        assert writes() == 0
        await ci(bot, "c3", suite(set()))
        assert writes() == 1
    assert "🟢 1 fixed" in status_block(bot)
