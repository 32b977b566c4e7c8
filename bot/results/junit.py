"""JUnit XML, the test report format nearly every runner can write, read from untrusted artifacts.

One reader for every producer (pytest's xunit1 and xunit2 families, jest-junit, Vitest, Mocha's xunit
reporter, node's junit reporter, Maven Surefire, PHPUnit, cargo-nextest, go-junit-report, gotestsum,
GoogleTest, CTest, Catch2, Playwright): ``<testsuites>`` or a lone ``<testsuite>``, suites nested at any
depth, ``<testcase>`` elements whose child ``<failure>``, ``<error>`` or ``<skipped>`` gives the
outcome. Counts come from the test cases, never from the suites' ``tests``/``failures`` attributes,
which producers fill inconsistently, except for a suite that holds no test case at all (see below).

The outcome is what the runner itself counted:

- no child: passed, unless the case never ran: GoogleTest writes a ``DISABLED_`` test as
  ``status="notrun" result="suppressed"``, CTest a ``DISABLED`` one as ``status="disabled"``, with no
  child; those are skipped, never passed.
- ``<error>`` beats ``<failure>``, which beats ``<skipped>``; but ``<skipped>`` beside a ``<failure>``
  is skipped: node's test runner writes a failing todo test (or one that failed after ``t.skip()``)
  that way, Catch2 an expected failure (``[!mayfail]``, ``[!shouldfail]``), and neither runner counts
  them as failed. So the JUnit file and the console summary of the same run agree.
- the same test (same suite and test id) written again is a retry (gotestsum ``--rerun-fails`` lists
  each attempt): it is one test with the outcome of its last attempt in the file, marked ``flaky``
  when that outcome is passed and an earlier attempt failed or errored.
- a suite with no ``<testcase>`` and no nested suite, whose ``tests`` attribute says it ran some,
  is counted from its ``tests``, ``failures``, ``errors``, ``skipped`` and ``disabled`` attributes
  (disabled tests count as skipped), rather than as zero tests that could hide a failure. Such
  tests have no per-test result.

``test_id`` is ``classname::name``; without a classname it is ``suite::name``, and ``name`` alone when
neither exists. It is stable across runs of the same suite, so checklist rules can match it with globs.

The input comes from code anyone can push. Document type declarations are refused outright, so no
entity is ever expanded (billion laughs) and nothing external is ever fetched; the text is decoded
by the encoding its BOM or declaration names, bytes invalid in it and control characters XML forbids
(raw ANSI codes in a failure message) become U+FFFD rather than failing the whole file; the tree is
streamed, each test case dropped once read, and reading stops at ``max_cases``.
"""

from __future__ import annotations

import codecs
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_tree
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from bot.results.counts import TestCounts

Outcome = Literal["passed", "failed", "error", "skipped"]

_ENCODING_DECLARATION = re.compile(rb"""^<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Characters XML 1.0 forbids even as character references: C0 controls other than tab, LF and CR.
_FORBIDDEN_CONTROLS = {code: "\ufffd" for code in range(0x20) if chr(code) not in "\t\n\r"}
_OUTCOME_BY_CHILD: dict[str, Outcome] = {"error": "error", "failure": "failed", "skipped": "skipped"}
_RANK: dict[Outcome, int] = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
# A test case that never ran: GoogleTest's DISABLED_ tests and CTest's DISABLED property.
_NOT_RUN_STATUSES = frozenset({"notrun", "disabled"})
_NOT_RUN_RESULTS = frozenset({"suppressed"})
# Suite attributes are short numbers; anything else (or a 5,000-digit string) counts as zero.
_COUNT_ATTRIBUTE = re.compile(r"\s*(\d{1,9})\s*")


class JUnitError(Exception):
    """The file cannot be read as JUnit XML; the message says why, for the bot's log and status."""


@dataclass(frozen=True, slots=True)
class TestCaseResult:
    """One test case's verdict. A report can hold a million: slots, and shared suite and file names."""

    __test__ = False  # not a pytest test class

    test_id: str
    outcome: Outcome
    suite: str
    file: str | None
    time: float | None  # seconds, when the producer wrote a usable one
    flaky: bool = False  # retried: its last attempt passed after an earlier one failed or errored


@dataclass(frozen=True)
class JUnitReport:
    counts: TestCounts  # of the test cases, plus what suites without test cases claim
    cases: tuple[TestCaseResult, ...]


def parse_junit_xml(data: bytes, *, max_cases: int = 200_000) -> JUnitReport:
    """Every test of one JUnit XML file, retries merged, and their counts; JUnitError when unreadable."""
    text = _decode(data)
    tests = _Tests()
    read = 0
    try:
        for item in _read_items(text):
            if isinstance(item, TestCounts):
                tests.claimed = tests.claimed + item
                continue
            if read == max_cases:
                raise JUnitError(f"more than {max_cases} test cases")
            read += 1
            tests.add(item)
    except DTDForbidden as error:
        raise JUnitError("document type declarations refused (no entity is expanded)") from error
    except EntitiesForbidden as error:
        raise JUnitError("entity declarations refused") from error
    except ExternalReferenceForbidden as error:
        raise JUnitError("external references refused") from error
    except ParseError as error:
        raise JUnitError(f"malformed XML: {error}") from error
    return JUnitReport(counts=_count(tests.cases) + tests.claimed, cases=tuple(tests.cases))


class _Tests:
    """The tests of one file: an attempt of a test already seen replaces it (a retry)."""

    def __init__(self) -> None:
        self.cases: list[TestCaseResult] = []
        self.claimed = TestCounts()  # from the attributes of suites without test cases
        self._index: dict[tuple[str, str], int] = {}
        self._failed_once: set[tuple[str, str]] = set()

    def add(self, case: TestCaseResult) -> None:
        key = (case.suite, case.test_id)
        failed_before = key in self._failed_once
        if case.outcome in ("failed", "error"):
            self._failed_once.add(key)
        at = self._index.get(key)
        if at is None:
            self._index[key] = len(self.cases)
            self.cases.append(case)
        else:
            self.cases[at] = replace(case, flaky=failed_before and case.outcome == "passed")


def _decode(data: bytes) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace").translate(_FORBIDDEN_CONTROLS)
    declared = _ENCODING_DECLARATION.match(data)
    encoding = declared[1].decode("ascii") if declared else "utf-8"
    try:
        codecs.lookup(encoding)
    except LookupError as error:
        raise JUnitError(f"unknown encoding {encoding!r}") from error
    return data.decode(encoding, errors="replace").translate(_FORBIDDEN_CONTROLS)


def _local(tag: str) -> str:
    """The tag without its namespace: some producers put their reports in one."""
    return tag.rpartition("}")[2]


def _read_items(text: str) -> Iterator[TestCaseResult | TestCounts]:
    """Each test case as it is read, and the counts a suite without test cases claims as it ends."""
    events = safe_tree.iterparse(io.StringIO(text), events=("start", "end"), forbid_dtd=True)
    suites: list[Element] = []
    filled: list[bool] = []  # per open suite: whether a test case or a nested suite was seen in it
    names: dict[str, str] = {}  # one string per distinct suite or file name, not one per test case
    seen_root = False
    for event, element in events:
        tag = _local(element.tag)
        if not seen_root:
            if tag not in ("testsuites", "testsuite"):
                raise JUnitError(f"not JUnit XML: the root element is <{tag[:40]}>")
            seen_root = True
        if event == "start":
            if tag == "testsuite":
                if filled:
                    filled[-1] = True
                suites.append(element)
                filled.append(False)
            continue
        if tag == "testcase":
            if filled:
                filled[-1] = True
            yield _case(element, suites[-1] if suites else None, names)
            element.clear()
        elif tag == "testsuite" and suites:
            if not filled.pop():
                yield _claimed_counts(suites[-1])
            suites.pop()
            element.clear()
    if not seen_root:
        raise JUnitError("not JUnit XML: no root element")


def _case(case: Element, suite: Element | None, names: dict[str, str]) -> TestCaseResult:
    name = case.get("name", "")
    classname = case.get("classname") or ""
    suite_name = suite.get("name", "") if suite is not None else ""
    owner = classname or suite_name
    file = case.get("file") or (suite.get("file") or suite.get("filepath") if suite is not None else None)
    return TestCaseResult(
        test_id=f"{owner}::{name}" if owner else name,
        outcome=_outcome(case),
        suite=names.setdefault(suite_name, suite_name),
        file=names.setdefault(file, file) if file else None,
        time=_seconds(case.get("time")),
    )


def _outcome(case: Element) -> Outcome:
    """What the runner counted the case as (see the module's docstring)."""
    outcome: Outcome = "passed"
    skipped = False
    for child in case:
        found = _OUTCOME_BY_CHILD.get(_local(child.tag))
        skipped = skipped or found == "skipped"
        if found is not None and _RANK[found] > _RANK[outcome]:
            outcome = found
    if skipped:
        return "skipped"  # beside a failure or an error: a todo or an expected failure
    if outcome == "passed" and (
        case.get("status", "").lower() in _NOT_RUN_STATUSES
        or case.get("result", "").lower() in _NOT_RUN_RESULTS
    ):
        return "skipped"
    return outcome


def _claimed_counts(suite: Element) -> TestCounts:
    """The counts a suite without test cases states in its attributes; disabled tests are skipped."""
    tests = _count_attribute(suite, "tests")
    failed = _count_attribute(suite, "failures")
    errors = _count_attribute(suite, "errors")
    skipped = _count_attribute(suite, "skipped") + _count_attribute(suite, "disabled")
    return TestCounts(
        passed=max(0, tests - failed - errors - skipped), failed=failed, errors=errors, skipped=skipped
    )


def _count_attribute(suite: Element, name: str) -> int:
    match = _COUNT_ATTRIBUTE.fullmatch(suite.get(name, ""))
    return int(match[1]) if match else 0


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.replace(",", "")[:40])
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _count(cases: list[TestCaseResult]) -> TestCounts:
    tally = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for case in cases:
        tally[case.outcome] += 1
    return TestCounts(
        passed=tally["passed"], failed=tally["failed"], errors=tally["error"], skipped=tally["skipped"]
    )
