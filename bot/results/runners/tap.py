"""TAP, the Test Anything Protocol (Perl's Test::More, node-tap, tape, mocha --reporter=tap, ...).

A TAP stream is its top-level test points (``ok 1 - name``, ``not ok 2 - name``) and a plan
(``1..N``, first or last). The summary is complete when the plan and the points agree. Directives
map to outcomes: ``# SKIP`` skipped; ``not ok ... # TODO`` xfailed; ``ok ... # TODO`` xpassed.
Indented points are subtests of a point and are not counted again.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, RunnerSummary

RUNNER = "tap"

_POINT = re.compile(rf"(?P<not>not )?ok {NUMBER}\b(?P<rest>.*)")
_PLAN = re.compile(rf"1\.\.(?P<n>{NUMBER})(?: #.*)?")
_DIRECTIVE = re.compile(r"#\s*(?P<directive>skip|todo)\b", re.IGNORECASE)


class TapReader:
    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._plan: int | None = None
        self._values = {"passed": 0, "failed": 0, "skipped": 0, "xfailed": 0, "xpassed": 0}
        self._points = 0
        self._complete = False

    def feed(self, line: str) -> RunnerSummary | None:
        if line.startswith("TAP version"):
            self._reset()
            return None
        if line.startswith(("ok ", "not ok ")):
            point = _POINT.fullmatch(line)
            if point is None:
                return None
            if self._complete:
                self._reset()
            self._count(failed=point["not"] is not None, rest=point["rest"])
            return self._summary(line) if self._points == self._plan else None
        if line.startswith("1.."):
            plan = _PLAN.fullmatch(line)
            if plan is None:
                return None
            if self._complete:
                self._reset()
            self._plan = int(plan["n"])
            # A plan after the points closes the stream; a plan first waits for its points.
            return self._summary(line) if self._points else None
        return None

    def _count(self, *, failed: bool, rest: str) -> None:
        self._points += 1
        directive = _DIRECTIVE.search(rest)
        kind = directive["directive"].lower() if directive else None
        if kind == "skip":
            field = "skipped"
        elif kind == "todo":
            field = "xfailed" if failed else "xpassed"
        else:
            field = "failed" if failed else "passed"
        self._values[field] += 1

    def _summary(self, line: str) -> RunnerSummary:
        self._complete = True
        evidence = f"{self._points} test points, plan {self._plan}: {line}"
        return RunnerSummary(RUNNER, TestCounts(**self._values), evidence)
