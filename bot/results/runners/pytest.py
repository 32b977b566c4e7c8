"""pytest's final line: ``==== 84 failed, 143 passed, 7 skipped, 2 warnings in 41.27s ====``.

The same words without the decoration (``84 failed, 143 passed, 7 skipped``) are what a reporter action
or a human writes into a check run's summary, so both forms are read.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts

# Every outcome word pytest prints in its summary, mapped to a TestCounts field. "rerun" counts
# attempts, not tests, so it is understood but not counted.
_FIELDS = {
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
_PART = r"\d+ (?:" + "|".join(_FIELDS) + r")"
_LINE = re.compile(
    r"^=*\s*(?P<parts>" + _PART + r"(?:, " + _PART + r")*)"
    r"(?: in \d+(?:\.\d+)?s(?: \(\d+:\d\d:\d\d(?:\.\d+)?\))?)?\s*=*$"
)
_NO_TESTS = re.compile(r"^=*\s*no tests ran(?: in \d+(?:\.\d+)?s.*?)?\s*=*$")


def parse_line(line: str) -> TestCounts | None:
    """The counts in one (ANSI-free, stripped) line, or None when it is not pytest's summary."""
    if _NO_TESTS.match(line):
        return TestCounts()
    match = _LINE.match(line)
    if match is None:
        return None
    values: dict[str, int] = {}
    for part in match["parts"].split(", "):
        number, word = part.split(" ")
        field = _FIELDS[word]
        if field is not None:
            values[field] = values.get(field, 0) + int(number)
    return TestCounts(**values)
