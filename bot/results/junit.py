"""JUnit XML from any producer: counts and per-test outcomes.

The format has no single specification: pytest (xunit1 and xunit2), Jest's jest-junit, Maven Surefire,
go-junit-report, gotestsum and cargo-nextest all write ``testsuites``/``testsuite``/``testcase`` with
``failure``, ``error`` and ``skipped`` children, nest suites, and leave attributes out. Counts come from
the test cases themselves, never from a suite's summary attributes, which producers disagree on.
The files come from untrusted workflows: defusedxml refuses DTDs, entity expansion and external
entities before anything is expanded.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Literal

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from bot.results.counts import TestCounts

Outcome = Literal["passed", "failed", "error", "skipped"]
MAX_CASES = 200_000


class JUnitError(Exception):
    """The file is not JUnit XML the bot will read; the message says why."""


@dataclass(frozen=True)
class TestCaseResult:
    """One test's outcome. ``test_id`` is ``classname::name`` (or ``name`` without a class)."""

    __test__ = False  # not a pytest test class

    test_id: str
    outcome: Outcome
    suite: str
    file: str | None
    time: float | None


@dataclass(frozen=True)
class JUnitReport:
    counts: TestCounts
    cases: tuple[TestCaseResult, ...]


def _local(tag: object) -> str:
    """The tag without a namespace; comments and processing instructions have no string tag."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _outcome(case: ElementTree.Element) -> Outcome:
    children = {_local(child.tag) for child in case}
    if "error" in children:
        return "error"
    if "failure" in children:
        return "failed"
    if "skipped" in children:
        return "skipped"
    return "passed"


def _time(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def parse_junit_xml(data: bytes, *, max_cases: int = MAX_CASES) -> JUnitReport:
    """Every test case in the file, wherever its suite nests it."""
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as refused:
        raise JUnitError(f"refused: {type(refused).__name__} (DTDs and entities are not allowed)") from None
    except ElementTree.ParseError as error:
        raise JUnitError(f"not well-formed XML ({error})") from None
    except ValueError as error:  # e.g. an unknown encoding declaration
        raise JUnitError(f"unreadable XML ({error})") from None
    if _local(root.tag) not in ("testsuites", "testsuite"):
        raise JUnitError(f"not JUnit XML: the root element is <{_local(root.tag)[:40]}>")

    cases: list[TestCaseResult] = []
    tally = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    stack: list[tuple[ElementTree.Element, str]] = [(root, "")]
    while stack:
        element, suite = stack.pop()
        for child in element:
            tag = _local(child.tag)
            if tag in ("testsuite", "testsuites"):
                stack.append((child, child.get("name") or suite))
            elif tag == "testcase":
                if len(cases) >= max_cases:
                    raise JUnitError(f"more than {max_cases} test cases")
                outcome = _outcome(child)
                tally[outcome] += 1
                name = child.get("name") or "(unnamed)"
                classname = child.get("classname")
                cases.append(
                    TestCaseResult(
                        test_id=f"{classname}::{name}" if classname else name,
                        outcome=outcome,
                        suite=suite,
                        file=child.get("file"),
                        time=_time(child.get("time")),
                    )
                )
    counts = TestCounts(
        passed=tally["passed"], failed=tally["failed"], errors=tally["error"], skipped=tally["skipped"]
    )
    return JUnitReport(counts=counts, cases=tuple(cases))
