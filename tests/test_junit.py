"""JUnit XML read from real producers' files, and refused or survived when hostile or broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.results.counts import TestCounts
from bot.results.junit import JUnitError, TestCaseResult, parse_junit_xml

JUNIT = Path(__file__).parent / "fixtures" / "runners" / "junit"


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


def test_an_error_beats_a_failure_which_beats_a_skip() -> None:
    xml = b"""<testsuite name="s">
      <testcase name="a"><skipped/><failure/><error/></testcase>
      <testcase name="b"><skipped/><failure/></testcase>
      <testcase name="c"><system-out>noise</system-out><rerunFailure/></testcase>
    </testsuite>"""

    assert [case.outcome for case in parse_junit_xml(xml).cases] == ["error", "failed", "passed"]


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
    xml = b"<testsuite>" + b'<testcase name="t"/>' * 11 + b"</testsuite>"

    with pytest.raises(JUnitError, match="more than 10 test cases"):
        parse_junit_xml(xml, max_cases=10)
    assert len(parse_junit_xml(xml, max_cases=11).cases) == 11


def test_a_large_report_is_read_whole() -> None:
    xml = (
        b"<testsuites><testsuite name='s'>"
        + b'<testcase classname="c" name="t"/>' * 100_000
        + b"</testsuite></testsuites>"
    )
    report = parse_junit_xml(xml)

    assert report.counts == TestCounts(passed=100_000)
