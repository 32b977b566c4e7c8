"""Maven Surefire (and Failsafe): the aggregate after each module's ``Results:`` heading::

    [INFO] Results:
    [INFO]
    [ERROR] Tests run: 5, Failures: 1, Errors: 1, Skipped: 1

Per-class lines (``Tests run: ..., Time elapsed: ... -- in com.example.MathTest``) repeat what the
aggregate says and are not read. A multi-module build prints one ``Results:`` block per module; they
are summed over one invocation, which starts with ``Scanning for projects...``.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, Evidence, RunnerSummary

RUNNER = "maven"

_LEVEL = re.compile(r"\[(?:INFO|WARNING|WARN|ERROR)\] ?")
_TESTS_RUN = re.compile(
    rf"Tests run: (?P<run>{NUMBER}), Failures: (?P<failures>{NUMBER}), Errors: (?P<errors>{NUMBER}), "
    rf"Skipped: (?P<skipped>{NUMBER})(?:, Flakes: {NUMBER})?"
)


class MavenReader:
    def __init__(self) -> None:
        self._start()
        self._in_results = False

    def _start(self) -> None:
        self._total = TestCounts()
        self._evidence = Evidence()

    def feed(self, line: str) -> RunnerSummary | None:
        level = _LEVEL.match(line)
        text = line[level.end() :] if level else line
        if text == "Results:":
            self._in_results = True
            return None
        if text == "Scanning for projects...":
            self._start()
            return None
        if not self._in_results or not text.startswith("Tests run: "):
            return None
        match = _TESTS_RUN.fullmatch(text)
        if match is None:
            return None
        self._in_results = False
        failed, errors, skipped = int(match["failures"]), int(match["errors"]), int(match["skipped"])
        self._total = self._total + TestCounts(
            passed=max(0, int(match["run"]) - failed - errors - skipped),
            failed=failed,
            errors=errors,
            skipped=skipped,
        )
        continues = self._evidence.started
        self._evidence.add(text)
        return RunnerSummary(RUNNER, self._total, self._evidence.text(), continues)
