"""The closing counts of node's test runner (``node --test``), and of other TAP producers' footers.

node prints them with its spec reporter after an information sign (U+2139: ``\u2139 tests 6``), and
with its TAP reporter (the default when output is not a terminal, as in CI) as ``# tests 6``. tape and
mocha's TAP reporter close with the same ``# tests`` / ``# pass`` / ``# fail`` lines, without the
``suites`` line node always prints, and are reported as ``tap``. ``todo`` tests do not count as
passed or failed, so they count as skipped; ``cancelled`` tests (a timeout, a failed parent) count
as errors.
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import NUMBER, RunnerSummary, tally

RUNNER = "node:test"

_LINE = re.compile(
    rf"(?:#|\u2139) (?P<key>tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) +"
    rf"(?P<n>{NUMBER})(?:\.\d{{1,9}})?"
)
_FIELDS = {"pass": "passed", "fail": "failed", "cancelled": "errors", "skipped": "skipped", "todo": "skipped"}


class NodeTestReader:
    """The block opens on its ``tests`` line and lasts while the lines that follow are counts."""

    def __init__(self) -> None:
        self._block: dict[str, int] | None = None
        self._lines: list[str] = []
        self._answered = False  # whether this block was already answered: later lines revise it

    def feed(self, line: str) -> RunnerSummary | None:
        match = _LINE.fullmatch(line) if line[:1] in ("#", "\u2139") else None
        if match is None:
            self._block = None
            return None
        key = match["key"]
        if key == "tests":
            self._block, self._lines, self._answered = {}, [], False
        if self._block is None or key in self._block:
            return None
        self._block[key] = int(match["n"])
        self._lines.append(line)
        if "pass" not in self._block:
            return None
        values = tally(((number, name) for name, number in self._block.items()), _FIELDS)
        runner = RUNNER if "suites" in self._block or line.startswith("\u2139") else "tap"
        continues = self._answered
        self._answered = True
        return RunnerSummary(runner, TestCounts(**values), "\n".join(self._lines), continues)
