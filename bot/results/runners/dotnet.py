"""``dotnet test`` (VSTest, .NET SDK 5 and later): one line per test assembly, summed over assemblies::

    Failed!  - Failed:     1, Passed:     3, Skipped:     1, Total:     5, Duration: 45 ms - S.dll (net8.0)

An assembly seen again starts a new run (a second ``dotnet test`` in the same log), added to the first.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, Evidence, RunnerSummary

RUNNER = "dotnet"

_ASSEMBLY = re.compile(
    rf"(?:Passed|Failed)! +- Failed: +(?P<failed>{NUMBER}), Passed: +(?P<passed>{NUMBER}), "
    rf"Skipped: +(?P<skipped>{NUMBER}), Total: +{NUMBER}"
    r"(?:, Duration: [^-]{0,40}(?:- (?P<assembly>.{1,300}))?)?"
)


class DotnetReader:
    def __init__(self) -> None:
        self._start()

    def _start(self) -> None:
        self._total = TestCounts()
        self._assemblies: set[str] = set()
        self._evidence = Evidence()

    def feed(self, line: str) -> RunnerSummary | None:
        text = line.strip()
        if not text.startswith(("Passed!", "Failed!")):
            return None
        match = _ASSEMBLY.fullmatch(text)
        if match is None:
            return None
        assembly = match["assembly"]
        if assembly is not None:
            if assembly in self._assemblies:
                self._start()
            self._assemblies.add(assembly)
        self._total = self._total + TestCounts(
            passed=int(match["passed"]), failed=int(match["failed"]), skipped=int(match["skipped"])
        )
        continues = self._evidence.started
        self._evidence.add(text)
        return RunnerSummary(RUNNER, self._total, self._evidence.text(), continues)
