"""Vitest's closing block::

     Test Files  1 failed | 1 passed (2)
          Tests  1 failed | 6 passed | 1 skipped | 1 todo (9)
         Errors  1 error

``todo`` tests never run, so they count as skipped; the ``Errors`` line (unhandled errors outside
tests) counts as errors.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, RunnerSummary, counted_parts

RUNNER = "vitest"

_TESTS = re.compile(rf"Tests {{1,4}}(?P<parts>.{{1,200}}) \((?P<total>{NUMBER})\)")
_PART = re.compile(rf"(?P<n>{NUMBER}) (?P<word>passed|failed|skipped|todo)")
_ERRORS = re.compile(rf"Errors {{1,4}}(?P<n>{NUMBER}) errors?")
_FIELDS = {"passed": "passed", "failed": "failed", "skipped": "skipped", "todo": "skipped"}


class VitestReader:
    """Reads the ``Tests`` line and, right after it, an ``Errors`` line if there is one."""

    def __init__(self) -> None:
        self._last: RunnerSummary | None = None

    def feed(self, line: str) -> RunnerSummary | None:
        text = line.strip()
        last, self._last = self._last, None
        if last is not None and text.startswith("Errors"):
            errors = _ERRORS.fullmatch(text)
            if errors is not None:
                counts = replace(last.counts, errors=int(errors["n"]))
                return RunnerSummary(RUNNER, counts, f"{last.line}\n{text}", continues=True)
        if not text.startswith("Tests"):
            return None
        match = _TESTS.fullmatch(text)
        if match is None:
            return None
        parts = counted_parts(match["parts"], " | ", _PART)
        if parts is None:
            return None
        values: dict[str, int] = {}
        for number, word in parts:
            values[_FIELDS[word]] = values.get(_FIELDS[word], 0) + number
        self._last = RunnerSummary(RUNNER, TestCounts(**values), text)
        return self._last
