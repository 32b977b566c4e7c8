"""PHPUnit's closing line::

    OK (2 tests, 2 assertions)
    Tests: 9, Assertions: 5, Errors: 1, Failures: 1, Skipped: 1, Incomplete: 1, Risky: 1.

``Tests`` counts every test run; passed is what is left after errors, failures, skipped and
incomplete (which count as skipped). Risky tests (no assertion) passed; ``Warnings`` count as warnings.
Other issue counts (deprecations, notices) do not change a test's verdict and are not counted.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, RunnerSummary, counted_parts

RUNNER = "phpunit"

_OK = re.compile(rf"OK \((?P<tests>{NUMBER}) tests?, {NUMBER} assertions?\)")
_COUNTS = re.compile(r"Tests: (?P<parts>.{1,300})\.")
_PART = re.compile(rf"(?P<word>[A-Z][A-Za-z ]{{0,40}}): (?P<n>{NUMBER})")
_SUBTRACTED = {"Errors": "errors", "Failures": "failed", "Skipped": "skipped", "Incomplete": "skipped"}


class PhpunitReader:
    def feed(self, line: str) -> RunnerSummary | None:
        if line.startswith("OK ("):
            ok = _OK.fullmatch(line)
            return None if ok is None else RunnerSummary(RUNNER, TestCounts(passed=int(ok["tests"])), line)
        if not line.startswith("Tests: "):
            return None
        match = _COUNTS.fullmatch(line)
        if match is None:
            return None
        parts = counted_parts("Tests: " + match["parts"], ", ", _PART)
        if parts is None:
            return None
        found = {word: number for number, word in parts}
        if "Assertions" not in found:
            return None
        values = {"errors": 0, "failed": 0, "skipped": 0}
        for word, field in _SUBTRACTED.items():
            values[field] += found.get(word, 0)
        passed = max(0, found["Tests"] - sum(values.values()))
        counts = TestCounts(passed=passed, warnings=found.get("Warnings", 0), **values)
        return RunnerSummary(RUNNER, counts, line)
