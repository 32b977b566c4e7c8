"""cargo-nextest's closing line::

         Summary [   0.092s] 5 tests run: 4 passed, 1 failed, 1 skipped
         Summary [   0.120s] 3/5 tests run: 2 passed (1 slow), 1 failed, 2 skipped

Parenthesised notes (slow, flaky, leaky) qualify a count and are not counted. ``timed out`` counts as
failed, ``exec failed`` (the test binary could not run) as errors; tests cancelled after a failure
(``3/5 tests run``) ran to no verdict and are not counted.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, RunnerSummary, counted_parts, tally

RUNNER = "nextest"

_SUMMARY = re.compile(
    rf"Summary \[ *\d{{1,9}}(?:\.\d{{1,9}})?s\] (?:{NUMBER}/)?{NUMBER} tests? run: (?P<parts>.{{1,300}})"
)
_NOTE = re.compile(r" \([^()]{0,200}\)")
_PART = re.compile(rf"(?P<n>{NUMBER}) (?P<word>[a-z][a-z ]{{0,30}})")
_FIELDS = {
    "passed": "passed",
    "failed": "failed",
    "timed out": "failed",
    "exec failed": "errors",
    "skipped": "skipped",
}


class NextestReader:
    def feed(self, line: str) -> RunnerSummary | None:
        text = line.strip()
        if not text.startswith("Summary ["):
            return None
        match = _SUMMARY.fullmatch(text)
        if match is None:
            return None
        parts = counted_parts(_NOTE.sub("", match["parts"]), ", ", _PART)
        if parts is None:
            return None
        return RunnerSummary(RUNNER, TestCounts(**tally(parts, _FIELDS)), text)
