"""Gradle's test task line, which Gradle prints only when some test failed::

    5 tests completed, 1 failed, 1 skipped

A passing Gradle build prints no counts at all (read its JUnit XML instead). Several test tasks
(subprojects) each print one line; they are summed until the build's ``BUILD ...`` verdict.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, Evidence, RunnerSummary

RUNNER = "gradle"

_LINE = re.compile(
    rf"(?P<total>{NUMBER}) tests? completed, (?P<failed>{NUMBER}) failed(?:, (?P<skipped>{NUMBER}) skipped)?"
)


class GradleReader:
    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self._total = TestCounts()
        self._evidence = Evidence()
        self._closed = False

    def feed(self, line: str) -> RunnerSummary | None:
        if line.startswith("BUILD "):
            self._closed = True
            return None
        if "tests completed" not in line and "test completed" not in line:
            return None
        match = _LINE.fullmatch(line.strip())
        if match is None:
            return None
        if self._closed:
            self._start()
        failed, skipped = int(match["failed"]), int(match["skipped"] or 0)
        self._total = self._total + TestCounts(
            passed=max(0, int(match["total"]) - failed - skipped), failed=failed, skipped=skipped
        )
        continues = self._evidence.started
        self._evidence.add(line.strip())
        return RunnerSummary(RUNNER, self._total, self._evidence.text(), continues)
