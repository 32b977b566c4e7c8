"""pytest's final line: ``==== 84 failed, 143 passed, 7 skipped, 2 warnings in 41.27s ====``.

The same words without the decoration (``84 failed, 143 passed, 7 skipped``), as a reporter action or a
human writes them into a check run's summary, optionally after a short label (``Tests: ...``), are read
too. ``rerun`` (pytest-rerunfailures) counts attempts, not tests, and ``subtests passed`` (pytest 9)
counts parts of tests already counted, so both are understood and counted as nothing.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, RunnerSummary, counted_parts, tally

RUNNER = "pytest"

# Every outcome word of pytest's summary, mapped to a TestCounts field; None: understood, not counted.
_FIELDS: dict[str, str | None] = {
    "passed": "passed",
    "failed": "failed",
    "error": "errors",
    "errors": "errors",
    "skipped": "skipped",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
    "warning": "warnings",
    "warnings": "warnings",
    "deselected": "deselected",
    "rerun": None,
}
_SUBTEST_WORDS = "|".join(
    f"subtests? {word}" for word in ("passed", "failed", "skipped", "xfailed", "xpassed")
)
_PART = re.compile(rf"(?P<n>{NUMBER}) (?P<word>{'|'.join(_FIELDS)}|{_SUBTEST_WORDS})")
# "in 0.04s", "in 61.06s (0:01:01)", "in 0:01:02", and pytest < 6's "in 0.04 seconds".
_DURATION = re.compile(
    rf"{NUMBER}(?:\.\d{{1,9}})?(?: ?s| seconds)(?: \(\d{{1,9}}:\d\d:\d\d(?:\.\d{{1,9}})?\))?"
    rf"|{NUMBER}:\d\d(?::\d\d)?(?:\.\d{{1,9}})?"
)
_NO_TESTS_RAN = "no tests ran"
# A label a human puts before the counts ("Tests: ", "Result: "): a few words, no digits.
_LABEL = re.compile(r"[A-Za-z][A-Za-z _-]{0,40}")


def parse_line(line: str) -> TestCounts | None:
    """The counts on one clean line (no ANSI codes, no timestamp), or None when it is no pytest summary."""
    body = line.strip().strip("=").strip().rstrip(".")
    label, colon, rest = body.partition(": ")
    if colon and _LABEL.fullmatch(label):
        body = rest
    before, in_word, duration = body.rpartition(" in ")
    if in_word and _DURATION.fullmatch(duration):
        body = before
    if body == _NO_TESTS_RAN:
        return TestCounts()
    parts = counted_parts(body, ", ", _PART)
    if parts is None:
        return None
    return TestCounts(**tally(parts, _FIELDS))


class PytestReader:
    """pytest prints its summary on one line, so every line is read on its own."""

    def feed(self, line: str) -> RunnerSummary | None:
        counts = parse_line(line)
        return None if counts is None else RunnerSummary(RUNNER, counts, line)
