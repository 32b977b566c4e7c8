"""gotestsum's closing line (every ``--format``)::

    DONE 9 tests, 1 skipped, 3 failures in 0.512s
    DONE 2 runs, 12 tests, 2 failures, 1 error in 1.204s

The total includes skipped and failed tests. ``errors`` are packages that failed outside any test
(a build failure, a panic in ``TestMain``). ``N runs`` appears with ``--rerun-fails``: the counts
are those of the last attempt of each test, as gotestsum reports them. Some versions add
``, N slow`` (tests slower than a threshold), which is not an outcome.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, RunnerSummary

RUNNER = "gotestsum"

_DONE = re.compile(
    rf"DONE (?:{NUMBER} runs?, )?(?P<total>{NUMBER}) tests?"
    rf"(?:, (?P<skipped>{NUMBER}) skipped)?"
    rf"(?:, {NUMBER} slow)?"
    rf"(?:, (?P<failed>{NUMBER}) failures?)?"
    rf"(?:, (?P<errors>{NUMBER}) errors?)?"
    r" in (?:\d{1,9}(?:\.\d{1,9})?s|unknown)"
)


class GotestsumReader:
    def feed(self, line: str) -> RunnerSummary | None:
        if not line.startswith("DONE "):
            return None
        match = _DONE.fullmatch(line)
        if match is None:
            return None
        skipped = int(match["skipped"] or 0)
        failed = int(match["failed"] or 0)
        counts = TestCounts(
            passed=max(0, int(match["total"]) - skipped - failed),
            failed=failed,
            skipped=skipped,
            errors=int(match["errors"] or 0),
        )
        return RunnerSummary(RUNNER, counts, line)
