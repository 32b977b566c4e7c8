"""Jest's closing block; its ``Tests:`` line holds the counts::

    Test Suites: 1 failed, 1 passed, 2 total
    Tests:       1 failed, 1 skipped, 1 todo, 5 passed, 8 total

``todo`` tests never run, so they count as skipped.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, RunnerSummary, counted_parts

RUNNER = "jest"

_TESTS = re.compile(rf"Tests: +(?P<parts>.{{1,200}}), (?P<total>{NUMBER}) total")
_PART = re.compile(rf"(?P<n>{NUMBER}) (?P<word>passed|failed|skipped|todo)")
_FIELDS = {"passed": "passed", "failed": "failed", "skipped": "skipped", "todo": "skipped"}


class JestReader:
    def feed(self, line: str) -> RunnerSummary | None:
        if not line.startswith("Tests:"):
            return None
        match = _TESTS.fullmatch(line)
        if match is None:
            return None
        parts = counted_parts(match["parts"], ", ", _PART)
        if parts is None:
            return None
        values: dict[str, int] = {}
        for number, word in parts:
            values[_FIELDS[word]] = values.get(_FIELDS[word], 0) + number
        return RunnerSummary(RUNNER, TestCounts(**values), line)
