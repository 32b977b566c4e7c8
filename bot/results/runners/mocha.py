"""Mocha's closing block (spec, dot, list and most reporters)::

      3 passing (4ms)
      2 pending
      2 failing

``pending`` tests (``it.skip``, or no body) count as skipped; a failing hook counts in ``failing``.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, RunnerSummary

RUNNER = "mocha"

_PASSING = re.compile(rf"(?P<n>{NUMBER}) passing \(\d{{1,9}}(?:\.\d{{1,9}})?(?:ms|s|m|h)\)")
_MORE = re.compile(rf"(?P<n>{NUMBER}) (?P<word>pending|failing)")


class MochaReader:
    """The ``passing`` line opens the block; ``pending`` and ``failing`` lines right after it add to it."""

    def __init__(self) -> None:
        self._open: RunnerSummary | None = None

    def feed(self, line: str) -> RunnerSummary | None:
        text = line.strip()
        passing = _PASSING.fullmatch(text)
        if passing is not None:
            self._open = RunnerSummary(RUNNER, TestCounts(passed=int(passing["n"])), text)
            return self._open
        if self._open is None:
            return None
        more = _MORE.fullmatch(text)
        if more is None:
            self._open = None
            return None
        field = "skipped" if more["word"] == "pending" else "failed"
        counts = replace(self._open.counts, **{field: int(more["n"])})
        self._open = RunnerSummary(RUNNER, counts, f"{self._open.line}\n{text}", continues=True)
        return self._open
