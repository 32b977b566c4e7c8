"""Results as CI really produces them: job logs, JUnit artifacts, matrices, re-runs, hostile input.

Every test goes through the real HTTP path: the fake GitHub serves check runs, redirects to logs and
archives on its blob origin (which refuses any request carrying a token), and the bot's status block is
read back from the fake issue.
"""

from __future__ import annotations

import asyncio
import io
import tracemalloc
import zipfile
from collections.abc import Iterator

import pytest

from bot.intake.server import TRACKERS
from bot.results.counts import TestCounts
from bot.testing.deliveries import check_run_completed
from tests.conftest import FIXTURES
from tests.harness import (
    INSTALLATION_ID,
    REPO,
    BotHarness,
    actions_log,
    sha_of,
    status_block,
    summary,
    zipped,
)
from tests.test_junit import JUNIT_FIXTURES
from tests.test_runners import RUNNER_FIXTURES

RUNNERS = FIXTURES / "runners"


PYTEST_LOG = (RUNNERS / "pytest" / "default.txt").read_bytes()
# = 1 failed, 6 passed, 1 skipped, 1 xfailed, 1 xpassed, 2 warnings, 1 error in 0.03s =
PYTEST_LINE = "**Pass rate: 75.0%** (6 passed, 1 failed, 1 errors, 1 skipped)"


async def test_counts_come_from_the_job_log_when_the_check_run_output_is_empty(bot: BotHarness) -> None:
    run = bot.workflow("c1", {"tests": actions_log(PYTEST_LOG)})
    assert await bot.workflow_completed(run) == 202
    assert PYTEST_LINE in status_block(bot)
    blob_reads = [r for r in bot.fake.requests if r.origin == "blob"]
    assert [r.headers.get("Range") for r in blob_reads] == ["bytes=-1048576"]
    assert all("Authorization" not in r.headers for r in blob_reads)


async def test_a_storage_server_ignoring_range_is_streamed_to_the_same_counts(bot: BotHarness) -> None:
    bot.fake.world.blobs.honour_ranges = False
    run = bot.workflow("c1", {"tests": actions_log(b"x" * 3_000_000 + b"\n" + PYTEST_LOG)})
    await bot.workflow_completed(run)
    assert PYTEST_LINE in status_block(bot)


@pytest.mark.parametrize("ranges", [True, False], ids=["tail by Range", "streamed whole"])
async def test_a_200_mb_log_is_read_in_bounded_memory(bot: BotHarness, ranges: bool) -> None:
    bot.fake.world.blobs.honour_ranges = ranges
    line = b"2025-08-12T10:00:00.1234567Z tests/test_x.py::test_many PASSED                    [ 50%]\n"
    tail = actions_log(b"= 84 failed, 143 passed, 7 skipped in 41.27s =\n")
    blocks = -(-200 * 1024 * 1024 // (len(line) * 1000))  # whole blocks of 1000 lines, 200 MiB at least

    def generate() -> Iterator[bytes]:
        block = line * 1000
        for _ in range(blocks):
            yield block
        yield tail

    run = bot.fake.add_workflow_run(REPO, sha_of("big"), head_branch="main")
    check_run = bot.fake.add_check_run(
        REPO, sha_of("big"), "tests", head_branch="main", check_suite_id=run["check_suite_id"]
    )
    size = blocks * 1000 * len(line) + len(tail)
    bot.fake.add_generated_job_log(REPO, check_run["id"], size, generate)
    tracemalloc.start()
    try:
        await bot.workflow_completed(run)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 200 * 1024 * 1024
    assert "**Pass rate: 63.0%** (143 passed, 84 failed, 7 skipped)" in status_block(bot)
    # The fake and the bot share this process; both stream, so the peak stays far below the log's size.
    assert peak < 24 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"


class LoopLag:
    """The worst delay of a 5 ms timer while something else runs: how long the event loop was held."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, loop.time() - before - 0.005)

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._tick())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


@pytest.mark.parametrize(
    "filler",
    [b"\n" * 2**20, b"x\n" * 2**18],
    ids=["a MiB of blank lines", "half a MiB of one-letter lines"],
)
async def test_a_hostile_log_never_holds_the_event_loop(bot: BotHarness, filler: bytes) -> None:
    run = bot.workflow("c1", {"tests": filler + PYTEST_LOG})
    async with LoopLag() as lag:
        await bot.workflow_completed(run)
    assert PYTEST_LINE in status_block(bot)
    # Blocking took 3.3 s for the blank lines; scanned in a worker thread, the loop waits a GIL turn at most.
    assert lag.worst < 0.25, f"the event loop was held for {lag.worst:.2f} s"


async def test_a_long_check_run_output_never_holds_the_event_loop(bot: BotHarness) -> None:
    filler = "x\n" * 32_000  # GitHub allows 65,535 characters per output field
    sha = sha_of("c1")
    output = {"title": "tests", "summary": filler, "text": filler + summary(1, 99)}
    run = bot.fake.add_check_run(REPO, sha, "tests", conclusion="success", output=output, head_branch="main")
    payload = check_run_completed(bot.repository, run, installation_id=INSTALLATION_ID, head_branch="main")
    async with LoopLag() as lag:
        await bot.send("check_run", payload)
    assert "**Pass rate: 99.0%**" in status_block(bot)
    assert lag.worst < 0.15, f"the event loop was held for {lag.worst:.2f} s"


async def test_invalid_utf8_and_ansi_colours_in_a_log_do_not_hide_the_summary(bot: BotHarness) -> None:
    noisy = b"\xff\xfe\xc3\x28 garbage \x80\n" + (RUNNERS / "pytest" / "color.txt").read_bytes()
    run = bot.workflow("c1", {"tests": actions_log(noisy)})
    await bot.workflow_completed(run)
    assert PYTEST_LINE in status_block(bot)


async def test_a_truncated_log_without_a_summary_makes_up_no_number(bot: BotHarness) -> None:
    run = bot.workflow("c1", {"tests": actions_log(PYTEST_LOG[: len(PYTEST_LOG) // 2])})
    await bot.workflow_completed(run)
    assert bot.fake.calls("PATCH") == []
    assert bot.failed_deliveries == 0


async def test_a_missing_log_is_named_in_the_status_block(bot: BotHarness) -> None:
    await bot.ci_completed("c0", {"tests": summary(84, 143)}, event="check_suite")
    sha = sha_of("c1")
    run = bot.fake.add_workflow_run(REPO, sha, head_branch="main")
    bot.fake.add_check_run(
        REPO, sha, "tests (3.12)", head_branch="main", check_suite_id=run["check_suite_id"]
    )
    await bot.workflow_completed(run)
    block = status_block(bot)
    assert f"Results unavailable for commit `{sha[:7]}`" in block
    assert "results unavailable for job `tests (3.12)`: its log is not found (404)" in block
    assert "**Pass rate: 63.0%**" in block  # the last real numbers stay; nothing is made up


def junit_fixture(name: str) -> bytes:
    return (RUNNERS / "junit" / name).read_bytes()


async def test_junit_artifacts_give_counts_and_per_test_results(bot: BotHarness) -> None:
    bot.fake.put_file(
        REPO, ".github/issue-status.yml", "trackers:\n  - issue: 2\n    results: {sources: [junit, logs]}\n"
    )
    archive = zipped({"reports/pytest.xml": junit_fixture("pytest-xunit1.xml")})
    run = bot.workflow(
        "c1", {"tests": actions_log(b"no summary here\n")}, artifacts={"test-results": archive}
    )
    await bot.workflow_completed(run)
    results = await bot.app_results("c1")
    assert results.jobs[0].source == "junit"
    assert results.counts == results.jobs[0].counts
    assert {c.outcome for c in results.cases} >= {"passed", "failed", "skipped"}
    assert len(results.cases) == sum(
        getattr(results.counts, f) for f in ("passed", "failed", "errors", "skipped")
    )
    assert "**Pass rate:" in status_block(bot)


async def test_with_junit_first_a_run_whose_artifacts_gave_results_downloads_no_job_log(
    bot: BotHarness,
) -> None:
    bot.fake.put_file(
        REPO, ".github/issue-status.yml", "trackers:\n  - issue: 2\n    results: {sources: [junit, logs]}\n"
    )
    archive = zipped({"reports/pytest.xml": junit_fixture("pytest-xunit1.xml")})
    with_junit = bot.workflow("c1", {"tests": actions_log(PYTEST_LOG)}, artifacts={"test-results": archive})
    await bot.workflow_completed(with_junit)
    logs = [r for r in bot.fake.requests if r.operation_id == "actions/download-job-logs-for-workflow-run"]
    assert logs == []
    assert (await bot.app_results("c1")).jobs[0].source == "junit"

    without = bot.workflow("c2", {"tests": actions_log(PYTEST_LOG)})  # no artifact: the log is the source
    await bot.workflow_completed(without)
    assert PYTEST_LINE in status_block(bot)


def junit_of(cases: int, *, failed: int = 0) -> bytes:
    """One suite of ``cases`` test cases in pytest's layout, the first ``failed`` of them failing."""
    body = "".join(
        f'<testcase classname="tests.test_mod{i // 1000}" name="test_case_{i}" time="0.001">'
        + ("<failure message='boom'/>" if i < failed else "")
        + "</testcase>"
        for i in range(cases)
    )
    return f'<?xml version="1.0"?><testsuite name="pytest">{body}</testsuite>'.encode()


@pytest.fixture
def two_mib_results_cache(monkeypatch: pytest.MonkeyPatch) -> int:
    """A results budget small enough to outgrow in a test (the bot must start after this)."""
    budget = 2 * 1024 * 1024
    monkeypatch.setattr("bot.results.commit.RESULTS_CACHE_BYTES", budget, raising=False)
    return budget


async def test_settled_results_are_kept_within_a_byte_budget(
    two_mib_results_cache: int, bot: BotHarness
) -> None:
    bot.fake.put_file(
        REPO, ".github/issue-status.yml", "trackers:\n  - issue: 2\n    results: {sources: [junit]}\n"
    )
    large = bot.workflow(
        "c1", {"tests": b"build\n"}, artifacts={"junit": zipped({"big.xml": junit_of(30_000, failed=3_000)})}
    )
    small = bot.workflow(
        "c2", {"tests": b"build\n"}, artifacts={"junit": zipped({"small.xml": junit_of(100, failed=2)})}
    )

    tracemalloc.start()
    try:
        await bot.workflow_completed(large)
        held_after_large, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "**Pass rate: 90.0%** (27000 passed, 3000 failed, 0 skipped)" in status_block(bot)
    # 30,000 cases take about 6 MiB: beyond the budget, they are not kept once the delivery is done.
    assert held_after_large < 3 * 1024 * 1024, f"{held_after_large / 2**20:.1f} MiB still held"

    await bot.workflow_completed(small)
    assert "**Pass rate: 98.0%** (98 passed, 2 failed, 0 skipped)" in status_block(bot)
    kept = bot.app[TRACKERS].results.kept_bytes
    assert 0 < kept <= two_mib_results_cache


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<testsuite><testcase name="&lol3;"/></testsuite>"""


def zip_bomb() -> bytes:
    """One entry of 300 MB of zeros: about 300 KB compressed, a ratio near 1000."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open("junit.xml", "w") as entry,
    ):
        chunk = b"\0" * (1024 * 1024)
        for _ in range(300):
            entry.write(chunk)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("archive", "reason"),
    [
        pytest.param(zip_bomb(), "compression ratio too high", id="zip bomb"),
        pytest.param(zipped({"junit.xml": BILLION_LAUGHS}), "declarations refused", id="billion laughs"),
        pytest.param(b"PK\x03\x04 this is not a zip", "not a readable zip archive", id="broken zip"),
        pytest.param(
            zipped({"junit.xml": b"<testsuite><testcase name='a'>"}), "malformed XML", id="truncated"
        ),
    ],
)
async def test_hostile_or_broken_artifacts_are_refused_with_a_reason(
    bot: BotHarness, archive: bytes, reason: str
) -> None:
    run = bot.workflow("c1", {"tests": actions_log(PYTEST_LOG)}, artifacts={"junit-results": archive})
    await bot.workflow_completed(run)
    block = status_block(bot)
    assert PYTEST_LINE in block  # the job's log still counts
    assert "artifact `junit-results`" in block and reason in block
    assert bot.failed_deliveries == 0


async def test_an_expired_artifact_is_reported_as_expired(bot: BotHarness) -> None:
    run = bot.workflow("c1", {"tests": actions_log(PYTEST_LOG)})
    bot.fake.add_artifact(REPO, run["id"], "test-results", zipped({"a.xml": b""}), expired=True)
    await bot.workflow_completed(run)
    assert "artifact `test-results`: expired" in status_block(bot)


async def test_a_matrix_with_a_rerun_and_a_cancelled_job_is_provisional_then_final(bot: BotHarness) -> None:
    sha = sha_of("matrix")
    run = bot.fake.add_workflow_run(REPO, sha, head_branch="main", status="in_progress")
    suite = run["check_suite_id"]

    def job(name: str, log: bytes, conclusion: str = "success") -> dict[str, object]:
        check_run = bot.fake.add_check_run(
            REPO, sha, name, conclusion=conclusion, head_branch="main", check_suite_id=suite
        )
        bot.fake.add_job_log(REPO, check_run["id"], actions_log(log))
        return check_run

    job("tests (3.11)", b"= 10 failed, 40 passed in 1.00s =\n", "failure")
    job("tests (3.12)", b"= 5 failed, 45 passed, 2 skipped in 1.00s =\n", "failure")
    await bot.workflow_completed(run)  # an early delivery: CI still running
    block = status_block(bot)
    assert "**Pass rate: 85.0%** (85 passed, 15 failed, 2 skipped)" in block
    assert "provisional" in block and "(final)" not in block

    job("tests (3.13)", b"= 50 passed in 1.00s =\n")
    job("tests (3.11)", b"= 1 failed, 49 passed in 1.00s =\n", "failure")  # re-run replaces attempt 1
    job("tests (pypy)", b"= 3 failed in 0.10s =\n", "cancelled")
    completed = bot.fake.complete_workflow_run(REPO, run["id"])
    await bot.workflow_completed(completed)
    block = status_block(bot)
    assert "**Pass rate: 96.0%** (144 passed, 6 failed, 2 skipped)" in block
    assert "(final)" in block and "provisional" not in block.split("<details>")[0]
    assert "- [x] >90% test pass rate achieved" in bot.body
    assert len(bot.comments) == 2  # where the numbers come from (said on the first update), the hand-over


async def test_a_provisional_result_never_moves_the_gate(bot: BotHarness) -> None:
    sha = sha_of("early")
    run = bot.fake.add_workflow_run(REPO, sha, head_branch="main", status="in_progress")
    first = bot.fake.add_check_run(
        REPO, sha, "tests (3.11)", head_branch="main", check_suite_id=run["check_suite_id"]
    )
    bot.fake.add_job_log(REPO, first["id"], actions_log(b"= 100 passed in 1.00s =\n"))
    await bot.workflow_completed(run)
    assert "**Pass rate: 100.0%**" in status_block(bot)
    assert "- [ ] >90% test pass rate achieved" in bot.body
    [sources] = bot.comments  # where the numbers come from; no hand-over
    assert "CI is still running" in sources


async def test_worst_job_aggregation_takes_the_weakest_job(bot: BotHarness) -> None:
    bot.fake.put_file(
        REPO, ".github/issue-status.yml", "trackers:\n  - issue: 2\n    results: {aggregate: worst}\n"
    )
    await bot.ci_completed("c1", {"a": summary(1, 99, 0), "b": summary(30, 70, 0)}, event="check_suite")
    assert "**Pass rate: 70.0%** (70 passed, 30 failed, 0 skipped)" in status_block(bot)


async def test_skipped_tests_can_count_against_the_pass_rate(bot: BotHarness) -> None:
    bot.fake.put_file(
        REPO, ".github/issue-status.yml", "trackers:\n  - issue: 2\n    pass_rate: {skipped: include}\n"
    )
    await bot.ci_completed("c1", {"tests": summary(84, 143, 7)}, event="check_suite")
    block = status_block(bot)
    assert "**Pass rate: 61.1%**" in block
    assert "passed ÷ (passed + failed + errors + skipped)" in block


def _first_per_runner(fixtures: list[tuple[str, str, TestCounts]]) -> list[tuple[str, TestCounts]]:
    chosen: dict[str, tuple[str, TestCounts]] = {}
    for fixture, runner, counts in fixtures:
        if counts.executed and runner not in chosen:
            chosen[runner] = (fixture, counts)
    return list(chosen.values())


@pytest.mark.parametrize(("fixture", "counts"), _first_per_runner(RUNNER_FIXTURES))
async def test_each_runners_real_log_gives_exact_counts_through_github(
    bot: BotHarness, fixture: str, counts: TestCounts
) -> None:
    run = bot.workflow("c1", {"tests": actions_log((RUNNERS / fixture).read_bytes())})
    await bot.workflow_completed(run)
    results = await bot.app_results("c1")
    assert [job.source for job in results.jobs] == ["logs"]
    assert results.counts == counts


@pytest.mark.parametrize(("fixture", "counts"), JUNIT_FIXTURES)
async def test_each_producers_junit_artifact_gives_exact_counts_through_github(
    bot: BotHarness, fixture: str, counts: TestCounts
) -> None:
    archive = zipped({f"reports/{fixture}": (RUNNERS / "junit" / fixture).read_bytes()})
    run = bot.workflow("c1", {"tests": actions_log(b"build finished\n")}, artifacts={"junit-report": archive})
    await bot.workflow_completed(run)
    results = await bot.app_results("c1")
    assert [job.source for job in results.jobs] == ["junit"]
    assert results.counts == counts
    assert len(results.cases) == counts.executed + counts.skipped


async def test_a_cargo_log_coloured_through_terminfo_gives_its_counts(bot: BotHarness) -> None:
    """libtest ends colours with ESC ( B ESC [ m when TERM is set; cargo links with OSC 8."""
    run = bot.workflow("c1", {"tests": actions_log((RUNNERS / "cargo" / "color-term.txt").read_bytes())})
    await bot.workflow_completed(run)
    results = await bot.app_results("c1")
    assert results.counts == TestCounts(passed=5, failed=1, skipped=1)
    assert "**Pass rate: 83.3%** (5 passed, 1 failed, 1 skipped)" in status_block(bot)


async def test_the_log_and_the_junit_artifact_of_one_node_run_give_the_same_counts(bot: BotHarness) -> None:
    logged = bot.workflow(
        "c1", {"tests": actions_log((RUNNERS / "node-test" / "todo-spec.txt").read_bytes())}
    )
    await bot.workflow_completed(logged)
    archive = zipped({"junit.xml": junit_fixture("node-test-todo.xml")})
    reported = bot.workflow("c2", {"tests": actions_log(b"build finished\n")}, artifacts={"junit": archive})
    await bot.workflow_completed(reported)

    from_log, from_junit = await bot.app_results("c1"), await bot.app_results("c2")

    assert [job.source for job in from_log.jobs + from_junit.jobs] == ["logs", "junit"]
    assert from_log.counts == from_junit.counts == TestCounts(passed=1, failed=1, skipped=4)


async def test_tox_environments_in_one_job_are_summed(bot: BotHarness) -> None:
    log = (RUNNERS / "tox" / "two-environments.txt").read_bytes()
    run = bot.workflow("c1", {"tests": actions_log(log)})
    await bot.workflow_completed(run)
    assert "**Pass rate: 83.3%** (5 passed, 1 failed, 0 skipped)" in status_block(bot)


async def test_retried_junit_cases_count_once_and_the_flaky_one_is_flagged(bot: BotHarness) -> None:
    archive = zipped({"junit.xml": junit_fixture("gotestsum-rerun-fails.documented.xml")})
    run = bot.workflow("c1", {"tests": actions_log(b"build finished\n")}, artifacts={"junit": archive})
    await bot.workflow_completed(run)
    results = await bot.app_results("c1")
    assert results.counts == TestCounts(passed=2, failed=1, skipped=1)
    assert [case.test_id for case in results.cases if case.flaky] == ["example.com/sample/net::TestFlaky"]


async def test_disabled_tests_and_suites_without_cases_never_count_as_passed(bot: BotHarness) -> None:
    summary_only = b'<testsuite name="integration" tests="4" failures="1" disabled="1"/>'
    archive = zipped({"gtest.xml": junit_fixture("gtest.xml"), "integration.xml": summary_only})
    run = bot.workflow("c1", {"tests": actions_log(b"build finished\n")}, artifacts={"junit": archive})
    await bot.workflow_completed(run)
    results = await bot.app_results("c1")
    assert results.counts == TestCounts(passed=1 + 2, failed=1 + 1, skipped=3 + 1)
    assert "**Pass rate: 60.0%** (3 passed, 2 failed, 4 skipped)" in status_block(bot)
