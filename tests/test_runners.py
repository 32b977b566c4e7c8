"""Runner summaries read from real runner output (fixtures made by tests/fixtures/runners/generate.sh)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from bot.results.counts import TestCounts
from bot.results.runners import MAX_LINE, RunnerSummary, SummaryScanner, clean_line, parse_summary

FIXTURES = Path(__file__).parent / "fixtures" / "runners"


def read_fixture(name: str) -> str:
    return (FIXTURES / name).read_bytes().decode("utf-8", errors="replace")


# The sample suite's outcomes: 6 passed (two parametrized), 1 failed, 1 setup error, 1 skipped,
# 1 xfailed, 1 xpassed, 2 warnings from one passing test.
PYTEST_SAMPLE = TestCounts(passed=6, failed=1, errors=1, skipped=1, xfailed=1, xpassed=1, warnings=2)


@pytest.mark.parametrize(
    ("fixture", "counts"),
    [
        ("pytest/default.txt", PYTEST_SAMPLE),
        ("pytest/quiet.txt", PYTEST_SAMPLE),
        ("pytest/verbose.txt", PYTEST_SAMPLE),
        ("pytest/report-all.txt", PYTEST_SAMPLE),
        ("pytest/color.txt", PYTEST_SAMPLE),
        ("pytest/quiet-color.txt", PYTEST_SAMPLE),
        (
            "pytest/deselected.txt",
            TestCounts(
                passed=5, failed=1, errors=1, skipped=1, xfailed=1, xpassed=1, warnings=2, deselected=1
            ),
        ),
        ("pytest/all-deselected.txt", TestCounts(deselected=11)),
        ("pytest/all-pass.txt", TestCounts(passed=3)),
        ("pytest/no-tests-ran.txt", TestCounts()),
        ("pytest/collection-error.txt", TestCounts(errors=1)),
        ("pytest/over-a-minute.txt", TestCounts(passed=1, failed=1)),
        ("pytest/subtests.txt", TestCounts(passed=1, failed=2)),
    ],
)
def test_pytest_output_gives_the_counts_of_its_final_line(fixture: str, counts: TestCounts) -> None:
    summary = parse_summary(read_fixture(fixture))

    assert summary is not None
    assert summary.runner == "pytest"
    assert summary.counts == counts


def test_pytest_summary_line_is_kept_without_colour_codes() -> None:
    summary = parse_summary(read_fixture("pytest/color.txt"))

    assert summary is not None
    assert summary.line == (
        "= 1 failed, 6 passed, 1 skipped, 1 xfailed, 1 xpassed, 2 warnings, 1 error in "
        + summary.line.split(" in ")[1]
    )
    assert "\x1b" not in summary.line


def test_pytest_very_quiet_output_has_no_summary_line() -> None:
    assert parse_summary(read_fixture("pytest/very-quiet.txt")) is None


# What each sample suite in tests/fixtures/runners/sample-suites holds, as each runner counts it.
# Real (or, where named .documented, runner-documented) output of each runner and its exact counts.
RUNNER_FIXTURES: list[tuple[str, str, TestCounts]] = [
    (
        "unittest/failures.txt",
        "unittest",
        TestCounts(passed=2, failed=1, errors=1, skipped=1, xfailed=1, xpassed=1),
    ),
    (
        "unittest/verbose.txt",
        "unittest",
        TestCounts(passed=2, failed=1, errors=1, skipped=1, xfailed=1, xpassed=1),
    ),
    ("unittest/all-pass.txt", "unittest", TestCounts(passed=2, skipped=1)),
    ("unittest/no-tests.txt", "unittest", TestCounts()),
    ("jest/default.txt", "jest", TestCounts(passed=5, failed=1, skipped=2)),
    ("jest/verbose.txt", "jest", TestCounts(passed=5, failed=1, skipped=2)),
    ("jest/ci.txt", "jest", TestCounts(passed=5, failed=1, skipped=2)),
    ("jest/all-pass.txt", "jest", TestCounts(passed=2)),
    ("vitest/default.txt", "vitest", TestCounts(passed=6, failed=1, skipped=2)),
    ("vitest/color.txt", "vitest", TestCounts(passed=6, failed=1, skipped=2)),
    ("vitest/verbose.txt", "vitest", TestCounts(passed=6, failed=1, skipped=2)),
    ("vitest/all-pass.txt", "vitest", TestCounts(passed=2)),
    ("mocha/spec.txt", "mocha", TestCounts(passed=3, failed=2, skipped=2)),
    ("mocha/dot.txt", "mocha", TestCounts(passed=3, failed=2, skipped=2)),
    ("mocha/color.txt", "mocha", TestCounts(passed=3, failed=2, skipped=2)),
    ("mocha/all-pass.txt", "mocha", TestCounts(passed=3)),
    ("mocha/tap.txt", "tap", TestCounts(passed=3, failed=2, skipped=2)),
    ("node-test/tap.txt", "node:test", TestCounts(passed=3, failed=1, skipped=2)),
    ("node-test/spec.txt", "node:test", TestCounts(passed=3, failed=1, skipped=2)),
    # Failing todo tests and a test failing after t.skip() are not failures to node: 3 todo + 1 skipped.
    ("node-test/todo-spec.txt", "node:test", TestCounts(passed=1, failed=1, skipped=4)),
    ("node-test/todo-spec-color.txt", "node:test", TestCounts(passed=1, failed=1, skipped=4)),
    ("node-test/todo-tap.txt", "node:test", TestCounts(passed=1, failed=1, skipped=4)),
    ("tap/perl-test-more.txt", "tap", TestCounts(passed=2, failed=1, skipped=1, xfailed=1, xpassed=1)),
    ("go/verbose.txt", "go", TestCounts(passed=5, failed=3, skipped=1)),
    ("go/verbose-one-package.txt", "go", TestCounts(passed=2)),
    # `go test -v ./calc; go test -v ./...`: two runs, summed (calc counts twice).
    ("go/verbose-twice.txt", "go", TestCounts(passed=8, failed=6, skipped=2)),
    ("go/build-failed.txt", "go", TestCounts(errors=1)),
    ("gotestsum/pkgname.documented.txt", "gotestsum", TestCounts(passed=5, failed=3, skipped=1)),
    (
        "gotestsum/rerun-fails.documented.txt",
        "gotestsum",
        TestCounts(passed=9, failed=2, skipped=1, errors=1),
    ),
    ("cargo/fail-fast.txt", "cargo", TestCounts(passed=2, failed=1, skipped=1)),
    ("cargo/no-fail-fast.txt", "cargo", TestCounts(passed=5, failed=1, skipped=1)),
    ("cargo/filtered.txt", "cargo", TestCounts(passed=1, deselected=6)),
    ("cargo/include-ignored.txt", "cargo", TestCounts(passed=3, failed=1)),
    ("cargo/all-pass.txt", "cargo", TestCounts(passed=2)),
    # TERM set and colour forced: libtest ends colours with ESC ( B ESC [ m, cargo links with OSC 8.
    ("cargo/color-term.txt", "cargo", TestCounts(passed=5, failed=1, skipped=1)),
    ("nextest/no-fail-fast.txt", "nextest", TestCounts(passed=4, failed=1, skipped=1)),
    ("nextest/fail-fast.txt", "nextest", TestCounts(passed=4, failed=1, skipped=1)),
    ("nextest/color.txt", "nextest", TestCounts(passed=5, failed=1)),
    ("nextest/all-pass.txt", "nextest", TestCounts(passed=2)),
    ("maven/two-modules.txt", "maven", TestCounts(passed=4, failed=1, errors=1, skipped=1)),
    ("maven/fail-fast.txt", "maven", TestCounts(passed=2, failed=1, errors=1, skipped=1)),
    ("maven/all-pass.txt", "maven", TestCounts(passed=2)),
    ("gradle/test-failed.documented.txt", "gradle", TestCounts(passed=4, failed=2, skipped=1)),
    ("dotnet/two-assemblies.documented.txt", "dotnet", TestCounts(passed=5, failed=1, skipped=1)),
    ("rspec/progress.txt", "rspec", TestCounts(passed=2, failed=1, skipped=2)),
    ("rspec/documentation.txt", "rspec", TestCounts(passed=2, failed=1, skipped=2)),
    ("rspec/all-pass.txt", "rspec", TestCounts(passed=2)),
    ("phpunit/failures.txt", "phpunit", TestCounts(passed=5, failed=1, errors=1, skipped=2)),
    ("phpunit/all-pass.txt", "phpunit", TestCounts(passed=2)),
    ("phpunit/skipped-only.txt", "phpunit", TestCounts(passed=1, skipped=1)),
    # tox running the same pytest suite in two environments: "old" fails one test, "new" passes all three.
    ("tox/two-environments.txt", "pytest", TestCounts(passed=5, failed=1)),
]


@pytest.mark.parametrize(("fixture", "runner", "counts"), RUNNER_FIXTURES)
def test_each_runner_output_gives_its_exact_counts(fixture: str, runner: str, counts: TestCounts) -> None:
    summary = parse_summary(read_fixture(fixture))

    assert summary is not None
    assert (summary.runner, summary.counts) == (runner, counts)


@pytest.mark.parametrize(
    "fixture",
    [
        # Without -v, go test prints nothing for a passing test: its counts cannot be known.
        "go/plain.txt",
        # node's dot reporter prints no counts.
        "node-test/dot.txt",
        # A passing Gradle build prints no counts.
        "gradle/all-pass.documented.txt",
    ],
)
def test_output_without_counts_gives_no_summary(fixture: str) -> None:
    assert parse_summary(read_fixture(fixture)) is None


def test_summed_runners_keep_every_line_they_summed_as_evidence() -> None:
    summary = parse_summary(read_fixture("maven/two-modules.txt"))

    assert summary is not None
    assert summary.line == (
        "Tests run: 5, Failures: 1, Errors: 1, Skipped: 1\nTests run: 2, Failures: 0, Errors: 0, Skipped: 0"
    )


def test_a_log_with_two_runners_reports_the_one_that_finished_last() -> None:
    log = read_fixture("cargo/no-fail-fast.txt") + read_fixture("jest/default.txt")

    summary = parse_summary(log)

    assert summary is not None
    assert summary.runner == "jest"


def test_a_second_cargo_invocation_is_a_run_of_its_own_added_to_the_first() -> None:
    log = read_fixture("cargo/no-fail-fast.txt") + read_fixture("cargo/all-pass.txt")

    summary = parse_summary(log)

    assert summary is not None
    assert summary.counts == TestCounts(passed=5, failed=1, skipped=1) + TestCounts(passed=2)


def test_a_second_maven_invocation_is_a_run_of_its_own_added_to_the_first() -> None:
    log = read_fixture("maven/two-modules.txt") + read_fixture("maven/all-pass.txt")

    summary = parse_summary(log)

    assert summary is not None
    assert summary.counts == TestCounts(passed=4, failed=1, errors=1, skipped=1) + TestCounts(passed=2)


def test_tox_environments_are_summed_so_a_failure_in_the_first_is_not_hidden() -> None:
    summary = parse_summary(read_fixture("tox/two-environments.txt"))

    assert summary is not None
    assert summary.counts == TestCounts(passed=5, failed=1)
    first, second = summary.line.splitlines()
    assert " 1 failed, 2 passed in " in first and " 3 passed in " in second


@pytest.mark.parametrize(
    "fixture", ["mocha/spec.txt", "vitest/default.txt", "node-test/spec.txt", "maven/two-modules.txt"]
)
def test_a_summary_spread_over_several_lines_is_one_run(fixture: str) -> None:
    """Lines that complete one run's summary revise it; only a run of its own adds to the counts."""
    once = parse_summary(read_fixture(fixture))
    twice = parse_summary(read_fixture(fixture) * 2)

    assert once is not None and twice is not None
    assert twice.counts == once.counts + once.counts


def test_a_go_package_that_passed_without_verbose_output_makes_the_sum_unknown() -> None:
    log = read_fixture("go/verbose-one-package.txt") + "ok  \texample.com/sample/calc\t0.004s\n"

    assert parse_summary(log) is None


def test_github_actions_timestamps_are_ignored() -> None:
    log = "".join(
        f"2024-05-01T12:34:56.1234567Z {line}\n" for line in read_fixture("go/verbose.txt").splitlines()
    )

    summary = parse_summary(log)

    assert summary is not None
    assert summary.counts == TestCounts(passed=5, failed=3, skipped=1)


@pytest.mark.parametrize(
    ("text", "counts"),
    [
        ("84 failed, 143 passed, 7 skipped", TestCounts(passed=143, failed=84, skipped=7)),
        ("143 passed, 7 skipped, 84 failed", TestCounts(passed=143, failed=84, skipped=7)),
        ("Tests: 84 failed, 143 passed, 7 skipped", TestCounts(passed=143, failed=84, skipped=7)),
        ("84 failed, 143 passed, 7 skipped.", TestCounts(passed=143, failed=84, skipped=7)),
        ("2 errors, 1 xpassed, 3 xfailed", TestCounts(errors=2, xpassed=1, xfailed=3)),
        ("1 passed, 1 warning in 0.01s", TestCounts(passed=1, warnings=1)),
        ("==== 2 failed, 3 passed, 4 rerun in 1.20s ====", TestCounts(passed=3, failed=2)),
        ("=== 5 passed in 62.10s (0:01:02) ===", TestCounts(passed=5)),
        ("5 passed in 0:01:02", TestCounts(passed=5)),
        ("5 passed in 0.05 seconds", TestCounts(passed=5)),
        ("== no tests ran in 0.00s ==", TestCounts()),
        ("no tests ran", TestCounts()),
        (
            "\x1b[32m=== \x1b[32m\x1b[1m3 passed\x1b[0m\x1b[32m in 0.01s\x1b[0m\x1b[32m ===\x1b[0m",
            TestCounts(passed=3),
        ),
        ("2024-05-01T12:34:56.1234567Z 7 passed, 1 deselected in 0.3s", TestCounts(passed=7, deselected=1)),
    ],
)
def test_pytest_summary_is_read_in_every_written_form(text: str, counts: TestCounts) -> None:
    summary = parse_summary(text)

    assert summary == RunnerSummary("pytest", counts, clean_line(text))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "collected 11 items / 1 deselected / 10 selected",
        "!!!!!!!! Interrupted: 1 error during collection !!!!!!!!",
        "==== 5 tests collected in 0.01s ====",
        "Check 1 passed",
        "3 passed, and then some",
        "1 passed, 2 bananas",
        "99999999999999999999999 passed",
        "8 " + "1" * 5000 + " passed",
    ],
)
def test_lines_that_only_look_like_a_pytest_summary_are_not_one(text: str) -> None:
    assert parse_summary(text) is None


def test_every_run_of_one_runner_in_a_log_counts() -> None:
    log = "=== 3 failed, 1 passed in 1.00s ===\nre-running\n=== 4 passed in 1.00s ===\nPost job cleanup.\n"

    summary = parse_summary(log)

    assert summary == RunnerSummary(
        "pytest",
        TestCounts(passed=5, failed=3),
        "=== 3 failed, 1 passed in 1.00s ===\n=== 4 passed in 1.00s ===",
    )


def test_the_sum_of_many_runs_keeps_a_bounded_evidence() -> None:
    summary = parse_summary("=== 1 passed in 0.01s ===\n" * 10_000)

    assert summary is not None
    assert summary.counts == TestCounts(passed=10_000)
    assert len(summary.line) < 2_000


def test_a_run_whose_counts_cannot_be_known_makes_the_runners_sum_unknown() -> None:
    log = read_fixture("go/plain.txt") + read_fixture("go/verbose.txt")

    assert parse_summary(log) is None


def test_a_log_fed_line_by_line_gives_the_same_summary_as_the_whole_text() -> None:
    text = read_fixture("pytest/color.txt")
    scanner = SummaryScanner()

    scanner.feed_lines(text.splitlines())

    assert scanner.summary == parse_summary(text)


@pytest.mark.parametrize(
    "hostile_line",
    [
        "1 passed, " * 100_000,
        "=" * 1_000_000,
        "Tests: " + "1 failed, " * 100_000 + "3 total",
        "\x1b[" * 500_000,
        " " * 60 + "--- PASS: " * 100_000,
        "ok 1" + " " * 1_000_000,
        "Tests run: " + "9" * 1_000_000,
    ],
)
def test_a_megabyte_line_is_read_quickly_and_never_taken_for_a_summary(hostile_line: str) -> None:
    for text in (hostile_line, hostile_line[:MAX_LINE]):
        assert parse_summary(f"{text}\n=== 3 passed in 0.01s ===\n{text}") == RunnerSummary(
            "pytest", TestCounts(passed=3), "=== 3 passed in 0.01s ==="
        )


def test_binary_noise_never_raises() -> None:
    noise = random.Random(7)
    for _ in range(200):
        data = bytes(noise.randrange(256) for _ in range(2_000))
        parse_summary(data.decode("utf-8", errors="surrogateescape"))
        parse_summary(data.decode("latin-1"))


def test_a_hundred_thousand_line_log_is_read_in_one_pass() -> None:
    log = read_fixture("go/verbose.txt") * 4_000

    summary = parse_summary(log)

    assert summary is not None
    assert summary.counts == TestCounts(passed=5 * 4_000, failed=3 * 4_000, skipped=4_000)


def test_a_mib_of_blank_lines_is_scanned_in_a_fraction_of_a_second() -> None:
    text = "\n" * 2**20 + read_fixture("pytest/default.txt")
    started = time.perf_counter()
    summary = parse_summary(text)
    elapsed = time.perf_counter() - started

    assert summary is not None and summary.counts == PYTEST_SAMPLE
    assert elapsed < 1.0, f"{elapsed:.2f} s (it took 3.3 s when every blank line met every reader)"


@pytest.mark.parametrize("fixture", sorted(str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*.txt")))
def test_runs_of_blank_lines_read_as_one(fixture: str) -> None:
    """Skipping the blanks after the first changes no summary: each reader's answer to one is final."""
    lines = read_fixture(fixture).splitlines()
    padded = [
        padded for line in lines for padded in ((line, "", " \t", "\x1b[0m") if not line.strip() else (line,))
    ]

    assert parse_summary("\n".join(padded)) == parse_summary("\n".join(lines))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # terminfo's sgr0 for xterm-256color, as libtest writes it when TERM is set
        ("test result: \x1b[31mFAILED\x1b(B\x1b[m. 2 passed", "test result: FAILED. 2 passed"),
        ("\x1b[?25l\x1b[>4;2m3 passed\x1b[?25h", "3 passed"),  # private parameters: cursor, xterm keys
        ("\x1b[38;2;255;0;0mred\x1b[4:3m curly\x1b[0m", "red curly"),  # true colour, colon sub-parameters
        ("\x1b]8;;https://example.com/a\x1b\\link\x1b]8;;\x1b\\ text", "link text"),  # OSC 8, ST-terminated
        ("\x1b]0;tests: running\x07done", "done"),  # window title, BEL-terminated
        ("\x1b)0\x1b7saved\x1b8\x1b=\x1b>\x1bc", "saved"),  # G1 charset, save/restore, keypad, reset
        ("\x1bP1$r0m\x1b\\ok", "ok"),  # a DCS string
        ("2024-05-01T12:34:56.1234567Z \x1b(B\x1b[m5 passed", "5 passed"),
    ],
)
def test_every_escape_sequence_a_terminal_acts_on_is_stripped(raw: str, clean: str) -> None:
    assert clean_line(raw) == clean


@pytest.mark.parametrize(
    "hostile_line",
    [
        "\x1b]" + "x" * (MAX_LINE - 2),  # an OSC never terminated
        "\x1b]" * (MAX_LINE // 2),
        "\x1bP" + "y" * (MAX_LINE - 2),
        "\x1b[31mF\x1b(B\x1b[m" * (MAX_LINE // 12),
    ],
)
def test_a_mib_of_escape_sequences_is_stripped_in_a_fraction_of_a_second(hostile_line: str) -> None:
    text = (hostile_line + "\n") * (2**20 // len(hostile_line)) + read_fixture("cargo/color-term.txt")
    started = time.perf_counter()
    summary = parse_summary(text)
    elapsed = time.perf_counter() - started

    assert summary is not None and summary.counts == TestCounts(passed=5, failed=1, skipped=1)
    assert elapsed < 1.0, f"{elapsed:.2f} s for a MiB"
