"""Python's unittest (and Django's, nose2's) two closing lines::

    Ran 7 tests in 0.001s

    FAILED (failures=1, errors=1, skipped=1, expected failures=1, unexpected successes=1)

"Ran" counts every test started, so passed is what is left after the other outcomes.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, RunnerSummary, counted_parts, tally

RUNNER = "unittest"

_RAN = re.compile(rf"Ran (?P<n>{NUMBER}) tests? in \d{{1,9}}(?:\.\d{{1,9}})?s")
_VERDICT = re.compile(r"(?P<verdict>OK|FAILED)(?: \((?P<parts>[a-z =,0-9]{1,200})\))?|NO TESTS RAN")
_PART = re.compile(rf"(?P<word>[a-z ]{{1,30}})=(?P<n>{NUMBER})")
_FIELDS = {
    "failures": "failed",
    "errors": "errors",
    "skipped": "skipped",
    "expected failures": "xfailed",
    "unexpected successes": "xpassed",
}


class UnittestReader:
    """Remembers the "Ran N tests" line until the verdict line that follows it."""

    def __init__(self) -> None:
        self._ran: tuple[int, str] | None = None

    def feed(self, line: str) -> RunnerSummary | None:
        ran = _RAN.fullmatch(line)
        if ran is not None:
            self._ran = (int(ran["n"]), line)
            return None
        if self._ran is None or not line:
            return None
        total, ran_line = self._ran
        self._ran = None
        verdict = _VERDICT.fullmatch(line)
        if verdict is None:
            return None
        values: dict[str, int] = {}
        if verdict["parts"]:
            parts = counted_parts(verdict["parts"], ", ", _PART)
            if parts is None:
                return None
            values = tally(parts, _FIELDS)
        values["passed"] = max(0, total - sum(values.values()))
        return RunnerSummary(RUNNER, TestCounts(**values), f"{ran_line}\n{line}")
