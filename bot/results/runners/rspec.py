"""RSpec's closing line::

    5 examples, 1 failure, 2 pending
    0 examples, 0 failures, 1 error occurred outside of examples

``pending`` examples (``pending`` or ``skip``) count as skipped; errors outside examples (a spec file
that does not load) count as errors.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, RunnerSummary

RUNNER = "rspec"

_LINE = re.compile(
    rf"(?P<examples>{NUMBER}) examples?, (?P<failures>{NUMBER}) failures?"
    rf"(?:, (?P<pending>{NUMBER}) pending)?"
    rf"(?:, (?P<errors>{NUMBER}) errors? occurred outside of examples)?"
)


class RspecReader:
    def feed(self, line: str) -> RunnerSummary | None:
        if "example" not in line:
            return None
        match = _LINE.fullmatch(line.strip())
        if match is None:
            return None
        failed = int(match["failures"])
        skipped = int(match["pending"] or 0)
        counts = TestCounts(
            passed=max(0, int(match["examples"]) - failed - skipped),
            failed=failed,
            skipped=skipped,
            errors=int(match["errors"] or 0),
        )
        return RunnerSummary(RUNNER, counts, line.strip())
