"""``cargo test``: one ``test result:`` line per test binary (unit tests, each integration test file,
doc-tests), summed over one cargo invocation::

    test result: FAILED. 2 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.12s

Each invocation prints cargo's ``Finished`` line before it runs any binary, so that line starts a new
run, added to the others. ``ignored`` counts as skipped, ``filtered out`` as deselected; ``measured``
(benchmarks) as nothing.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, Evidence, RunnerSummary

RUNNER = "cargo"

_RESULT = re.compile(
    rf"test result: (?:ok|FAILED)\. (?P<passed>{NUMBER}) passed; (?P<failed>{NUMBER}) failed; "
    rf"(?P<ignored>{NUMBER}) ignored; {NUMBER} measured; (?P<filtered>{NUMBER}) filtered out"
    r"(?:; finished in \d{1,9}(?:\.\d{1,9})?s)?"
)


class CargoReader:
    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self._total = TestCounts()
        self._evidence = Evidence()

    def feed(self, line: str) -> RunnerSummary | None:
        if line.startswith("test result: "):
            match = _RESULT.fullmatch(line)
            if match is None:
                return None
            self._total = self._total + TestCounts(
                passed=int(match["passed"]),
                failed=int(match["failed"]),
                skipped=int(match["ignored"]),
                deselected=int(match["filtered"]),
            )
            continues = self._evidence.started
            self._evidence.add(line)
            return RunnerSummary(RUNNER, self._total, self._evidence.text(), continues)
        if line.lstrip().startswith("Finished "):
            self._start()
        return None
