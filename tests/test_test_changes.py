"""Per-test changes between final runs: from real runners' JUnit files, and as properties of any runs."""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Sequence
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.results.junit import Outcome, TestCaseResult, parse_junit_xml
from bot.results.test_changes import (
    MAX_ID_CHARS,
    MAX_MEMORY_BYTES,
    MAX_NAME_CHARS,
    MAX_REMEMBERED_TESTS,
    ChangesSummary,
    Names,
    RunNames,
    TestChanges,
    TestMemory,
    TestRecord,
    compare,
    decode_memory,
    encode_memory,
    name_cost,
    summarize,
)

JUNIT = Path(__file__).parent / "fixtures" / "runners" / "junit"
GTEST = (JUNIT / "gtest.xml").read_text()
SHA_A, SHA_B, SHA_C, SHA_D = "a" * 40, "b" * 40, "c" * 40, "d" * 40


def junit(text: str) -> tuple[TestCaseResult, ...]:
    return parse_junit_xml(text.encode()).cases


def junit_file(name: str) -> tuple[TestCaseResult, ...]:
    return parse_junit_xml((JUNIT / name).read_bytes()).cases


def case(test_id: str, outcome: Outcome, *, flaky: bool = False) -> TestCaseResult:
    return TestCaseResult(test_id, outcome, "suite", None, None, flaky)


# GoogleTest's own file, then the same suite after the commits people make: the failure fixed; the failing
# test skipped with GTEST_SKIP; the failing test disabled (GoogleTest renames it DISABLED_...).
FAILURE = re.compile(r"(<testcase name=\"FailsOnPurpose\"[^>]*)>\s*<failure.*?</failure>\s*</testcase>", re.S)
GTEST_FIXED = FAILURE.sub(r"\1 />", GTEST)
GTEST_SKIPPED = FAILURE.sub(r'\1><skipped message="flaky on CI" /></testcase>', GTEST)
GTEST_DISABLED = FAILURE.sub(
    '<testcase name="DISABLED_FailsOnPurpose" status="notrun" result="suppressed" classname="Math" />', GTEST
)


def test_googletests_failure_fixed_in_the_next_commit_is_fixed() -> None:
    first, memory = compare(None, SHA_A, junit(GTEST))
    assert (first.compared_with, first.total, first.failing) == (None, 5, ("Math::FailsOnPurpose",))
    assert first.newly_failing == first.fixed == first.added == first.removed == ()
    changes, _ = compare(memory, SHA_B, junit(GTEST_FIXED))
    assert changes.compared_with == SHA_A
    assert (changes.fixed, changes.failing, changes.newly_failing) == (("Math::FailsOnPurpose",), (), ())
    assert changes.newly_skipped == changes.skipped_after_failing == changes.removed_after_failing == ()


def test_a_failing_googletest_skipped_or_disabled_is_flagged_not_fixed() -> None:
    _, memory = compare(None, SHA_A, junit(GTEST))
    skipped, _ = compare(memory, SHA_B, junit(GTEST_SKIPPED))
    assert skipped.fixed == () and skipped.skipped_after_failing == ("Math::FailsOnPurpose",)
    assert skipped.newly_skipped == ("Math::FailsOnPurpose",)
    disabled, _ = compare(memory, SHA_B, junit(GTEST_DISABLED))
    assert disabled.removed == disabled.removed_after_failing == ("Math::FailsOnPurpose",)
    assert disabled.added == ("Math::DISABLED_FailsOnPurpose",) and disabled.fixed == ()


def test_a_test_failing_run_after_run_counts_its_runs_and_goes_first() -> None:
    memory = None
    for sha in (SHA_A, SHA_B, SHA_C):
        changes, memory = compare(memory, sha, junit(GTEST))
    assert changes.still_failing == (("Math::FailsOnPurpose", 3),)
    gtest_and_more = [*junit(GTEST), case("Math::BreaksToday", "failed")]
    changes, memory = compare(memory, SHA_D, gtest_and_more)
    assert changes.still_failing == (("Math::FailsOnPurpose", 4),)
    assert changes.newly_failing == changes.added == ("Math::BreaksToday",)
    assert changes.failing == ("Math::BreaksToday", "Math::FailsOnPurpose")
    changes, _ = compare(memory, "e" * 40, gtest_and_more)
    assert changes.still_failing == (("Math::FailsOnPurpose", 5), ("Math::BreaksToday", 2))


def test_gotestsums_rerun_of_a_flaky_test_is_flaky_and_not_failing() -> None:
    changes, memory = compare(None, SHA_A, junit_file("gotestsum-rerun-fails.documented.xml"))
    assert changes.flaky == ("example.com/sample/net::TestFlaky",)
    assert changes.failing == ("example.com/sample/net::TestAlwaysFails",)
    assert memory.outcomes["example.com/sample/net::TestFlaky"] == TestRecord("passed", 0, True)


def test_two_jobs_running_the_same_suite_are_one_run_of_it() -> None:
    both = [*junit_file("pytest-xunit1.xml"), *junit_file("pytest-xunit2.xml")]
    changes, memory = compare(None, SHA_A, both)
    alone, _ = compare(None, SHA_A, junit_file("pytest-xunit1.xml"))
    assert changes == alone and changes.total == 11 and len(memory.outcomes) == 11
    assert changes.failing == ("sample_outcomes::test_division_fails", "sample_outcomes::test_setup_errors")


def test_a_test_passing_in_one_job_and_failing_in_another_is_failing_and_flaky() -> None:
    cases = [
        case("t::linux", "passed"),
        case("t::linux", "failed"),
        case("t::windows_only", "skipped"),
        case("t::windows_only", "passed"),
        case("t::worst", "failed"),
        case("t::worst", "error"),
    ]
    changes, memory = compare(None, SHA_A, cases)
    assert changes.failing == ("t::linux", "t::worst") and changes.flaky == ("t::linux",)
    assert memory.outcomes["t::windows_only"].outcome == "passed"
    assert memory.outcomes["t::worst"] == TestRecord("error", 1, False)


def test_a_rerun_of_the_same_commit_compares_with_the_run_before_and_finds_the_flaky_test() -> None:
    """Playwright's retries, then the whole workflow re-run: a failure that passes on the re-run is flaky."""
    _, memory = compare(None, SHA_A, junit_file("playwright-retries.xml"))
    attempt = [case("retries.spec.mjs::fails every time", "failed"), case("retries.spec.mjs::new", "failed")]
    first, memory = compare(memory, SHA_B, attempt)
    assert first.newly_failing == first.added == ("retries.spec.mjs::new",)
    rerun = [case("retries.spec.mjs::fails every time", "failed"), case("retries.spec.mjs::new", "passed")]
    second, again = compare(memory, SHA_B, rerun)
    assert second.compared_with == SHA_A and second.flaky == ("retries.spec.mjs::new",)
    assert second.added == ("retries.spec.mjs::new",) and second.newly_failing == ()
    assert second.still_failing == (("retries.spec.mjs::fails every time", 2),)
    third, _ = compare(again, SHA_B, rerun)  # a third attempt that passes too: it failed in this commit
    assert third.flaky == ("retries.spec.mjs::new",)
    assert (again.before_sha, again.before) == (memory.before_sha, memory.before)


def test_a_run_of_zero_tests_removes_every_remembered_one() -> None:
    _, memory = compare(None, SHA_A, junit(GTEST))
    changes, emptied = compare(memory, SHA_B, [])
    assert changes.total == 0 and len(changes.removed) == 5
    assert changes.removed_after_failing == ("Math::FailsOnPurpose",)
    assert emptied.outcomes == {} and emptied.before == memory.outcomes


def test_long_and_unprintable_ids_are_cut_apart_and_kept_on_one_line() -> None:
    prefix = "p" * MAX_ID_CHARS
    cases = [case(prefix + "1", "failed"), case(prefix + "2", "failed"), case("a\nb\x1b[31m\ud800", "failed")]
    changes, memory = compare(None, SHA_A, cases)
    assert len(set(changes.failing)) == 3 and all(len(test_id) <= MAX_ID_CHARS for test_id in changes.failing)
    assert "a\ufffdb\ufffd[31m\ufffd" in changes.failing
    assert decode_memory(encode_memory(memory)) == memory


def test_a_suite_over_the_bound_keeps_its_failing_tests_and_says_added_is_unknown() -> None:
    many = [case(f"t::{n:06}", "passed") for n in range(MAX_REMEMBERED_TESTS + 5)]
    many[-1] = case("t::zz_fails_last_by_id", "failed")
    _, memory = compare(None, SHA_A, many)
    assert len(memory.outcomes) == MAX_REMEMBERED_TESTS and memory.forgotten == 5
    assert memory.outcomes["t::zz_fails_last_by_id"].outcome == "failed"
    changes, _ = compare(memory, SHA_B, [*many[:-1], case("t::zz_fails_last_by_id", "passed")])
    assert changes.fixed == ("t::zz_fails_last_by_id",) and changes.forgotten == 5
    assert changes.added == () and changes.removed == ()


def test_a_summary_shows_some_of_every_list_however_long_one_is() -> None:
    changes = TestChanges(
        sha=SHA_B,
        compared_with=SHA_A,
        total=100_004,
        failing=(*(f"t::{n:06}" for n in range(100_000)), "t::still"),
        newly_failing=tuple(f"t::{n:06}" for n in range(100_000)),
        fixed=("t::fixed",),
        still_failing=(("t::still", 7),),
        flaky=(),
        added=("x" * 1_000,),
        removed=(),
        newly_skipped=("t::skipped",),
        skipped_after_failing=("t::skipped",),
        removed_after_failing=(),
    )
    summary = summarize(changes)
    assert summary.fixed == Names(("t::fixed",), 1) and summary.still_failing == RunNames(
        (("t::still", 7),), 1
    )
    assert summary.skipped_after_failing == Names(("t::skipped",), 1)
    assert summary.added == Names(("x" * (MAX_NAME_CHARS - 1) + "…",), 1)
    assert summary.newly_failing.total == 100_000 and 10 < len(summary.newly_failing.shown) < 400
    assert summary.newly_failing.shown[:2] == ("t::000000", "t::000001")
    assert len(json.dumps(summary.as_data())) < 4_000


def test_a_summary_of_names_that_need_escapes_stays_small_in_the_state() -> None:
    """The signed state is base64 of JSON with non-ASCII escaped: a name of emoji is 12 times longer there."""
    names = tuple(f"{n:03}" + "💥" * 300 for n in range(1_000))
    changes = compare(None, SHA_A, [case(name, "failed") for name in names])[0]
    summary = summarize(changes)
    assert summary.failing.total == 1_000 and summary.failing.shown
    assert len(json.dumps(summary.as_data())) < 3_500


# Properties, over runs drawn from a small pool of ids so that runs share tests.
IDS = st.sampled_from([f"pkg/test_{name}.py::test_{n}" for name in "abc" for n in range(6)] + ["", "é 💥"])
OUTCOMES: st.SearchStrategy[Outcome] = st.sampled_from(["passed", "failed", "error", "skipped"])
CASES = st.lists(st.builds(case, IDS, OUTCOMES, flaky=st.booleans()), max_size=40)
SHAS = st.sampled_from([SHA_A, SHA_B, SHA_C])


@st.composite
def memories(draw: st.DrawFn) -> TestMemory | None:
    """A memory as the bot would have it: from a few earlier runs."""
    memory = None
    for _ in range(draw(st.integers(0, 3))):
        _, memory = compare(memory, draw(SHAS), draw(CASES))
    return memory


def merged(cases: Sequence[TestCaseResult]) -> dict[str, tuple[str, bool]]:
    """The oracle's one outcome per test: error over failed over passed over skipped."""
    seen: dict[str, list[TestCaseResult]] = {}
    for each in cases:
        seen.setdefault(each.test_id, []).append(each)
    result = {}
    for test_id, runs in seen.items():
        outcomes = {each.outcome for each in runs}
        worst = next(o for o in ("error", "failed", "passed", "skipped") if o in outcomes)
        failed = bool(outcomes & {"failed", "error"})
        result[test_id] = (worst, any(each.flaky for each in runs) or (failed and "passed" in outcomes))
    return result


@settings(max_examples=300, deadline=None)
@given(memories(), SHAS, CASES)
def test_every_test_is_in_exactly_the_lists_its_outcomes_put_it_in(
    memory: TestMemory | None, sha: str, cases: list[TestCaseResult]
) -> None:
    changes, kept = compare(memory, sha, cases)
    now = merged(cases)
    base = None if memory is None else (memory.before if memory.sha == sha else memory.outcomes)
    if memory is not None and memory.sha == sha and memory.before_sha is None:
        base = None
    failing = {t for t, (o, _) in now.items() if o in ("failed", "error")}
    assert changes.total == len(now) and set(changes.failing) == failing
    for listed in (changes.failing, changes.newly_failing, changes.fixed, changes.flaky, changes.added):
        assert list(listed) == sorted(listed)
    assert list(changes.still_failing) == sorted(changes.still_failing, key=lambda item: (-item[1], item[0]))
    if base is None:
        assert changes.compared_with is None
        assert changes.newly_failing == changes.fixed == changes.still_failing == changes.added == ()
        assert changes.removed == changes.newly_skipped == ()
    else:
        was_failing = {t for t, r in base.items() if r.outcome in ("failed", "error")}
        assert set(changes.newly_failing) == failing - was_failing
        assert {t for t, _ in changes.still_failing} == failing & was_failing
        assert set(changes.fixed) == {t for t, (o, _) in now.items() if o == "passed"} & was_failing
        assert set(changes.added) == set(now) - set(base) and set(changes.removed) == set(base) - set(now)
        skipped_now = {t for t, (o, _) in now.items() if o == "skipped"}
        assert set(changes.newly_skipped) == {
            t for t in skipped_now if t in base and base[t].outcome != "skipped"
        }
        assert set(changes.skipped_after_failing) == skipped_now & was_failing
        assert set(changes.removed_after_failing) == set(changes.removed) & was_failing
        for test_id, runs in changes.still_failing:
            assert runs == base[test_id].runs + 1
    attempt = memory.outcomes if memory is not None and memory.sha == sha else {}
    flipped = {
        t
        for t, (o, _) in now.items()
        if t in attempt
        and (
            attempt[t].flaky
            or ({o, attempt[t].outcome} & {"passed"} and {o, attempt[t].outcome} & {"failed", "error"})
        )
    }
    assert set(changes.flaky) == {t for t, (_, f) in now.items() if f} | flipped
    assert set(kept.outcomes) == set(now) and kept.sha == sha


@settings(max_examples=200, deadline=None)
@given(memories(), SHAS, CASES)
def test_comparing_again_gives_the_same_changes_and_memory(
    memory: TestMemory | None, sha: str, cases: list[TestCaseResult]
) -> None:
    changes, kept = compare(memory, sha, cases)
    assert compare(memory, sha, cases) == (changes, kept)
    assert compare(kept, sha, cases) == (changes, kept)


@settings(max_examples=200, deadline=None)
@given(memories(), SHAS, CASES, st.integers(0, 400))
def test_a_summary_keeps_exact_totals_within_its_budget_and_survives_the_state(
    memory: TestMemory | None, sha: str, cases: list[TestCaseResult], budget: int
) -> None:
    changes, _ = compare(memory, sha, cases)
    summary = summarize(changes, char_budget=budget)
    used = 0
    for name in ("failing", "newly_failing", "fixed", "flaky", "added", "removed", "newly_skipped"):
        names: Names = getattr(summary, name)
        full: tuple[str, ...] = getattr(changes, name)
        assert names.total == len(full) and names.shown == full[: len(names.shown)]
        used += sum(map(name_cost, names.shown))
    assert summary.still_failing.total == len(changes.still_failing)
    assert summary.still_failing.shown == changes.still_failing[: len(summary.still_failing.shown)]
    used += sum(name_cost(shown) for shown, _ in summary.still_failing.shown)
    used += sum(map(name_cost, summary.skipped_after_failing.shown + summary.removed_after_failing.shown))
    assert used <= budget
    assert ChangesSummary.from_data(json.loads(json.dumps(summary.as_data()))) == summary


@settings(max_examples=200, deadline=None)
@given(memories())
def test_a_memory_reads_back_as_it_was_stored(memory: TestMemory | None) -> None:
    if memory is not None:
        assert decode_memory(encode_memory(memory)) == memory


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.binary(max_size=300).map(lambda data: b"TM1" + zlib.compress(data)))
def test_garbage_is_no_memory(data: bytes) -> None:
    assert decode_memory(data) is None


def test_a_memory_that_would_inflate_past_its_bound_is_refused() -> None:
    bomb = b"TM1" + zlib.compress(b'{"s":"x"}\n' + b"a" * MAX_MEMORY_BYTES, 9)
    assert len(bomb) < 100_000 and decode_memory(bomb) is None


def test_a_damaged_memory_is_no_memory() -> None:
    _, memory = compare(None, SHA_A, junit(GTEST))
    stored = encode_memory(memory)
    assert decode_memory(stored[:-4]) is None
    header, ids = zlib.decompress(stored[3:]).split(b"\n", 1)
    for damaged in (header.replace(b'"n":5', b'"n":6'), header.replace(b'"r":[1]', b'"r":[0]'), b"[]"):
        assert decode_memory(b"TM1" + zlib.compress(damaged + b"\n" + ids)) is None


def test_a_summary_from_a_broken_state_is_none() -> None:
    good = summarize(compare(None, SHA_A, junit(GTEST))[0]).as_data()
    assert ChangesSummary.from_data(good) is not None
    for broken in (
        None,
        [],
        {**good, "t": -1},
        {**good, "t": True},
        {**good, "fa": [0, ["x"]]},
        {**good, "s": 5},
    ):
        assert ChangesSummary.from_data(broken) is None
    assert ChangesSummary.from_data({**good, "sf": [1, [["x" * (MAX_NAME_CHARS + 1), 2]]]}) is None
