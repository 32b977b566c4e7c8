"""JUnit XML, the test report format nearly every runner can write, read from untrusted artifacts.

One reader for every producer (pytest's xunit1 and xunit2 families, jest-junit, Vitest, Mocha's xunit
reporter, node's junit reporter, Maven Surefire, PHPUnit, cargo-nextest, go-junit-report, gotestsum):
``<testsuites>`` or a lone ``<testsuite>``, suites nested at any depth, ``<testcase>`` elements whose
child ``<failure>``, ``<error>`` or ``<skipped>`` gives the outcome (none: passed; ``<error>`` beats
``<failure>``, which beats ``<skipped>``). Counts come from the test cases, never from the suites'
``tests``/``failures`` attributes, which producers fill inconsistently or leave out.

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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class JUnitReport:
    counts: TestCounts
    cases: tuple[TestCaseResult, ...]


def parse_junit_xml(data: bytes, *, max_cases: int = 200_000) -> JUnitReport:
    """Every test case in one JUnit XML file, and their counts; JUnitError when it cannot be read."""
    text = _decode(data)
    cases: list[TestCaseResult] = []
    try:
        for case in _read_cases(text):
            if len(cases) == max_cases:
                raise JUnitError(f"more than {max_cases} test cases")
            cases.append(case)
    except DTDForbidden as error:
        raise JUnitError("document type declarations refused (no entity is expanded)") from error
    except EntitiesForbidden as error:
        raise JUnitError("entity declarations refused") from error
    except ExternalReferenceForbidden as error:
        raise JUnitError("external references refused") from error
    except ParseError as error:
        raise JUnitError(f"malformed XML: {error}") from error
    return JUnitReport(counts=_count(cases), cases=tuple(cases))


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


def _read_cases(text: str) -> Iterator[TestCaseResult]:
    events = safe_tree.iterparse(io.StringIO(text), events=("start", "end"), forbid_dtd=True)
    suites: list[Element] = []
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
                suites.append(element)
            continue
        if tag == "testcase":
            yield _case(element, suites[-1] if suites else None, names)
            element.clear()
        elif tag == "testsuite" and suites:
            suites.pop()
            element.clear()
    if not seen_root:
        raise JUnitError("not JUnit XML: no root element")


def _case(case: Element, suite: Element | None, names: dict[str, str]) -> TestCaseResult:
    name = case.get("name", "")
    classname = case.get("classname") or ""
    suite_name = suite.get("name", "") if suite is not None else ""
    owner = classname or suite_name
    outcome: Outcome = "passed"
    for child in case:
        found = _OUTCOME_BY_CHILD.get(_local(child.tag))
        if found is not None and _RANK[found] > _RANK[outcome]:
            outcome = found
    file = case.get("file") or (suite.get("file") or suite.get("filepath") if suite is not None else None)
    return TestCaseResult(
        test_id=f"{owner}::{name}" if owner else name,
        outcome=outcome,
        suite=names.setdefault(suite_name, suite_name),
        file=names.setdefault(file, file) if file else None,
        time=_seconds(case.get("time")),
    )


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
