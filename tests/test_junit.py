"""JUnit XML read from real producers' files, and refused or survived when hostile or broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.results.counts import TestCounts
from bot.results.junit import JUnitError, TestCaseResult, parse_junit_xml
from bot.results.runners import parse_summary

RUNNERS = Path(__file__).parent / "fixtures" / "runners"
JUNIT = RUNNERS / "junit"


# JUnit XML written by each producer (real runs; .documented from the tool's own source) and its counts.
JUNIT_FIXTURES: list[tuple[str, TestCounts]] = [
    # pytest writes xfail as skipped and xpass as passed.
    ("pytest-xunit1.xml", TestCounts(passed=7, failed=1, errors=1, skipped=2)),
    ("pytest-xunit2.xml", TestCounts(passed=7, failed=1, errors=1, skipped=2)),
    # jest-junit writes a todo test as a test case with no outcome element: passed.
    ("jest-junit.xml", TestCounts(passed=6, failed=1, skipped=1)),
    ("vitest.xml", TestCounts(passed=6, failed=1, skipped=2)),
    ("mocha-xunit.xml", TestCounts(passed=3, failed=2, skipped=2)),
    ("node-test.xml", TestCounts(passed=3, failed=1, skipped=2)),
    ("surefire.xml", TestCounts(passed=2, failed=1, errors=1, skipped=1)),
    # PHPUnit 9 writes a risky test as an error, an incomplete one as skipped.
    ("phpunit.xml", TestCounts(passed=4, failed=1, errors=2, skipped=2)),
    # nextest leaves ignored tests out of its report.
    ("nextest.xml", TestCounts(passed=4, failed=1)),
    ("go-junit-report.documented.xml", TestCounts(passed=5, failed=3, skipped=1)),
    # GoogleTest: 1 passed, 1 failed, 1 GTEST_SKIP, 2 DISABLED_ tests written as status="notrun".
    ("gtest.xml", TestCounts(passed=1, failed=1, skipped=3)),
    # CTest: the GoogleTest binary fails, a command passes, one fails, one skips (exit 77), one DISABLED.
    ("ctest.xml", TestCounts(passed=1, failed=2, skipped=2)),
    # Catch2 2.13: [!mayfail] and [!shouldfail] failures are "failed as expected", written with
    # <skipped> and <failure>. (Catch2 counts a passing [!shouldfail] test as failed, but its JUnit
    # reporter writes it as a plain passing case: the file cannot tell.)
    ("catch2.xml", TestCounts(passed=3, failed=1, skipped=3)),
    # node:test: failing todo tests and a test failing after t.skip() are written with <skipped> and
    # <failure>; node counts them as todo and skipped, not failed.
    ("node-test-todo.xml", TestCounts(passed=1, failed=1, skipped=4)),
    # Playwright with retries: 2 attempts of a flaky test and 3 of a failing one, one test case each.
    ("playwright-retries.xml", TestCounts(passed=2, failed=1)),
    # gotestsum --rerun-fails: every attempt is a test case (a flaky one, one failing thrice).
    ("gotestsum-rerun-fails.documented.xml", TestCounts(passed=2, failed=1, skipped=1)),
]


@pytest.mark.parametrize(("fixture", "counts"), JUNIT_FIXTURES)
def test_each_producer_file_gives_its_exact_counts(fixture: str, counts: TestCounts) -> None:
    report = parse_junit_xml((JUNIT / fixture).read_bytes())

    assert report.counts == counts
    assert len(report.cases) == counts.passed + counts.failed + counts.errors + counts.skipped


def test_pytest_cases_carry_their_id_suite_file_and_outcome() -> None:
    report = parse_junit_xml((JUNIT / "pytest-xunit1.xml").read_bytes())

    by_id = {case.test_id: case for case in report.cases}
    assert by_id["sample_outcomes::test_division_fails"].outcome == "failed"
    assert by_id["sample_outcomes::test_setup_errors"].outcome == "error"
    assert by_id["sample_outcomes::test_skipped"].outcome == "skipped"
    assert by_id["sample_outcomes::test_words_are_lowercase[beta]"].outcome == "passed"
    assert {case.suite for case in report.cases} == {"pytest"}
    assert {case.file for case in report.cases} == {"sample_outcomes.py"}


def test_surefire_ids_use_the_java_class_name() -> None:
    report = parse_junit_xml((JUNIT / "surefire.xml").read_bytes())

    assert sorted((case.test_id, case.outcome) for case in report.cases) == [
        ("com.example.core.MathTest::addsNegativeNumbers", "passed"),
        ("com.example.core.MathTest::addsSmallNumbers", "passed"),
        ("com.example.core.MathTest::errors", "error"),
        ("com.example.core.MathTest::failsOnPurpose", "failed"),
        ("com.example.core.MathTest::isSkipped", "skipped"),
    ]


def test_nested_suites_and_missing_attributes_are_read() -> None:
    xml = b"""<testsuites>
      <testsuite name="outer">
        <testsuite name="inner">
          <testcase name="deep" time="not a number"><failure/></testcase>
        </testsuite>
        <testcase classname="pkg.Module" name="shallow" time="1,234.5"/>
      </testsuite>
      <testsuite><testcase/></testsuite>
    </testsuites>"""

    report = parse_junit_xml(xml)

    assert report.cases == (
        TestCaseResult(test_id="inner::deep", outcome="failed", suite="inner", file=None, time=None),
        TestCaseResult(
            test_id="pkg.Module::shallow", outcome="passed", suite="outer", file=None, time=1234.5
        ),
        TestCaseResult(test_id="", outcome="passed", suite="", file=None, time=None),
    )


def test_a_lone_testsuite_root_in_a_namespace_is_read() -> None:
    xml = b'<testsuite xmlns="urn:x" name="s"><testcase name="a"><skipped/></testcase></testsuite>'

    assert parse_junit_xml(xml).counts == TestCounts(skipped=1)


def test_an_error_beats_a_failure_and_a_skip_beside_them_means_the_runner_did_not_count_them() -> None:
    xml = b"""<testsuite name="s">
      <testcase name="a"><failure/><error/></testcase>
      <testcase name="b"><failure/></testcase>
      <testcase name="c"><system-out>noise</system-out><rerunFailure/></testcase>
      <testcase name="d"><skipped type="todo"/><failure/></testcase>
      <testcase name="e"><skipped message="TEST_CASE tagged with !mayfail"/><error/></testcase>
    </testsuite>"""

    outcomes = [case.outcome for case in parse_junit_xml(xml).cases]

    assert outcomes == ["error", "failed", "passed", "skipped", "skipped"]


def test_node_junit_and_console_summary_of_the_same_run_agree() -> None:
    """One `node --test` run of sample-suites/node-test-todo, written by the junit and spec reporters."""
    junit = parse_junit_xml((JUNIT / "node-test-todo.xml").read_bytes())
    for log in ("node-test/todo-spec.txt", "node-test/todo-tap.txt"):
        summary = parse_summary((RUNNERS / log).read_text())

        assert summary is not None
        assert junit.counts == summary.counts == TestCounts(passed=1, failed=1, skipped=4)


def test_failing_todo_and_skipped_node_tests_are_skipped() -> None:
    report = parse_junit_xml((JUNIT / "node-test-todo.xml").read_bytes())

    assert {case.test_id: case.outcome for case in report.cases} == {
        "test::passes": "passed",
        "test::fails on purpose": "failed",
        "test::todo that fails": "skipped",
        "test::todo that passes": "skipped",
        "test::fails after t.skip()": "skipped",
        "test::t.todo() then fails": "skipped",
    }


def test_catch2_expected_failures_are_skipped_and_real_failures_failed() -> None:
    report = parse_junit_xml((JUNIT / "catch2.xml").read_bytes())

    outcomes = {case.test_id.removeprefix("sample.global::"): case.outcome for case in report.cases}
    assert outcomes == {
        "adds small numbers": "passed",
        "fails on purpose": "failed",
        "may fail and does": "skipped",
        "may fail but passes": "passed",
        "may fail and throws": "skipped",
        "should fail and does": "skipped",
        "should fail but passes": "passed",
    }


@pytest.mark.parametrize(
    ("fixture", "never_ran"),
    [
        ("gtest.xml", {"Math::DISABLED_NeverRuns", "DISABLED_Words::NeverRunsEither"}),
        ("ctest.xml", {"disabled::disabled"}),
    ],
)
def test_tests_that_never_ran_are_skipped_not_passed(fixture: str, never_ran: set[str]) -> None:
    report = parse_junit_xml((JUNIT / fixture).read_bytes())

    passed = {case.test_id for case in report.cases if case.outcome == "passed"}
    skipped = {case.test_id for case in report.cases if case.outcome == "skipped"}
    assert never_ran <= skipped
    assert not never_ran & passed


@pytest.mark.parametrize(
    "attributes",
    ['status="notrun" result="suppressed"', 'status="disabled"', 'status="NotRun"', 'result="suppressed"'],
)
def test_a_case_marked_as_never_run_is_skipped(attributes: str) -> None:
    xml = f'<testsuite name="s" disabled="1"><testcase name="a" {attributes}/></testsuite>'.encode()

    assert parse_junit_xml(xml).counts == TestCounts(skipped=1)


def test_a_retried_test_is_one_test_with_its_last_outcome_and_flaky_when_it_passed_late() -> None:
    report = parse_junit_xml((JUNIT / "gotestsum-rerun-fails.documented.xml").read_bytes())

    by_id = {case.test_id.removeprefix("example.com/sample/net::"): case for case in report.cases}
    assert {name: (case.outcome, case.flaky) for name, case in by_id.items()} == {
        "TestFlaky": ("passed", True),
        "TestAlwaysFails": ("failed", False),
        "TestSkipped": ("skipped", False),
        "TestPasses": ("passed", False),
    }
    assert by_id["TestFlaky"].time == 0.01  # the attempt that counted


def test_attempts_are_merged_within_a_suite_only() -> None:
    xml = b"""<testsuites>
      <testsuite name="one">
        <testcase classname="c" name="t"><error/></testcase>
        <testcase classname="c" name="t"><failure/></testcase>
        <testcase classname="c" name="u"/>
        <testcase classname="c" name="u"><failure/></testcase>
      </testsuite>
      <testsuite name="two"><testcase classname="c" name="t"/></testsuite>
    </testsuites>"""

    report = parse_junit_xml(xml)

    assert [(case.suite, case.test_id, case.outcome, case.flaky) for case in report.cases] == [
        ("one", "c::t", "failed", False),
        ("one", "c::u", "failed", False),
        ("two", "c::t", "passed", False),
    ]
    assert report.counts == TestCounts(passed=1, failed=2)


def test_a_suite_without_test_cases_counts_what_its_attributes_state() -> None:
    xml = b"""<testsuites>
      <testsuite name="listed" tests="1"><testcase name="a"/></testsuite>
      <testsuite name="summary only" tests="9" failures="2" errors="1" skipped="1" disabled="1"/>
      <testsuite name="outer" tests="50"><testsuite name="inner"><testcase name="b"/></testsuite></testsuite>
      <testsuite name="empty" tests="0"/>
      <testsuite name="hostile" tests="99999999999999999999" failures="-3" skipped="x"/>
    </testsuites>"""

    report = parse_junit_xml(xml)

    assert report.counts == TestCounts(passed=2 + 4, failed=2, errors=1, skipped=2)
    assert [case.test_id for case in report.cases] == ["listed::a", "inner::b"]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<testsuite name="&lol9;"><testcase name="&lol9;"/></testsuite>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<testsuite name="s"><testcase name="&secret;"/></testsuite>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE testsuite SYSTEM "http://127.0.0.1:1/evil.dtd">
<testsuite name="s"><testcase name="a"/></testsuite>"""


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_document_type_declarations_are_refused_before_any_entity_is_expanded(hostile: bytes) -> None:
    with pytest.raises(JUnitError, match="document type declarations refused"):
        parse_junit_xml(hostile)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'<testsuite name="s"><testcase name="a"/><testcase na', "malformed XML"),
        (b"", "malformed XML"),
        (b"just text", "malformed XML"),
        (b"<html><body>404</body></html>", "not JUnit XML: the root element is <html>"),
        (
            b'<?xml version="1.0" encoding="x-no-such-codec"?><testsuite/>',
            "unknown encoding 'x-no-such-codec'",
        ),
    ],
)
def test_broken_files_raise_a_clear_reason(data: bytes, reason: str) -> None:
    with pytest.raises(JUnitError, match=reason):
        parse_junit_xml(data)


@pytest.mark.parametrize(
    ("encoding", "name"),
    [
        ("windows-1252", "test_caf\u00e9"),
        ("iso-8859-15", "test_caf\u00e9_\u20ac"),
        ("shift_jis", "test_\u30c6\u30b9\u30c8"),
        ("utf-16", "test_caf\u00e9"),  # with the BOM Python writes
    ],
)
def test_declared_encodings_other_than_utf8_are_honoured(encoding: str, name: str) -> None:
    declaration = f'<?xml version="1.0" encoding="{encoding}"?>'
    xml = f'{declaration}<testsuite name="s"><testcase name="{name}"/></testsuite>'

    report = parse_junit_xml(xml.encode(encoding))

    assert [case.test_id for case in report.cases] == [f"s::{name}"]


def test_invalid_bytes_and_raw_control_characters_do_not_lose_the_file() -> None:
    xml = (
        b'<testsuite name="s"><testcase name="bad \xff\xfe byte">'
        b"<failure>\x1b[31mred\x1b[0m</failure></testcase></testsuite>"
    )

    report = parse_junit_xml(xml)

    assert report.cases[0].test_id == "s::bad \ufffd\ufffd byte"
    assert report.counts == TestCounts(failed=1)


def test_reading_stops_past_max_cases() -> None:
    xml = b"<testsuite>" + b"".join(b'<testcase name="t%d"/>' % i for i in range(11)) + b"</testsuite>"

    with pytest.raises(JUnitError, match="more than 10 test cases"):
        parse_junit_xml(xml, max_cases=10)
    assert len(parse_junit_xml(xml, max_cases=11).cases) == 11


def test_max_cases_counts_every_attempt_of_a_retried_test() -> None:
    xml = b"<testsuite>" + b'<testcase name="t"><failure/></testcase>' * 11 + b"</testsuite>"

    with pytest.raises(JUnitError, match="more than 10 test cases"):
        parse_junit_xml(xml, max_cases=10)


def test_a_large_report_is_read_whole() -> None:
    xml = (
        b"<testsuites><testsuite name='s'>"
        + b"".join(b'<testcase classname="c" name="t%d"/>' % i for i in range(100_000))
        + b"</testsuite></testsuites>"
    )
    report = parse_junit_xml(xml)

    assert report.counts == TestCounts(passed=100_000)
