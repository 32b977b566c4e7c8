"""Recognising the final summary a test runner prints, in a check run's output or a job's log.

Every known runner's reader sees every line; the summary completed last in the text wins, because a
log can hold several (a re-run, a matrix job running two suites) and the last is the verdict.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.results.runners.cargo import CargoReader
from bot.results.runners.dotnet import DotnetReader
from bot.results.runners.go import GoReader
from bot.results.runners.gotestsum import GotestsumReader
from bot.results.runners.gradle import GradleReader
from bot.results.runners.jest import JestReader
from bot.results.runners.maven import MavenReader
from bot.results.runners.mocha import MochaReader
from bot.results.runners.nextest import NextestReader
from bot.results.runners.node_test import NodeTestReader
from bot.results.runners.phpunit import PhpunitReader
from bot.results.runners.pytest import PytestReader
from bot.results.runners.reader import WITHDRAWN, RunnerSummary, SummaryReader
from bot.results.runners.rspec import RspecReader
from bot.results.runners.tap import TapReader
from bot.results.runners.unittest import UnittestReader
from bot.results.runners.vitest import VitestReader

__all__ = ["MAX_LINE", "READERS", "RunnerSummary", "SummaryScanner", "clean_line", "parse_summary"]

# Longer lines are test output, never a summary: skipping them bounds the work per line.
MAX_LINE = 4096
# Colour and cursor codes runners print on a terminal, and GitHub Actions keeps in logs.
_ANSI = re.compile(r"\x1b\[[0-9;?]{0,64}[ -/]{0,4}[@-~]")
# GitHub Actions prefixes each log line with "2024-05-01T12:34:56.1234567Z ".
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z ")

# One reader per runner. All see every line; when two answer on the same line, the earlier one wins.
READERS: tuple[Callable[[], SummaryReader], ...] = (
    PytestReader,
    UnittestReader,
    JestReader,
    VitestReader,
    MochaReader,
    NodeTestReader,
    TapReader,
    GoReader,
    GotestsumReader,
    CargoReader,
    NextestReader,
    MavenReader,
    GradleReader,
    DotnetReader,
    RspecReader,
    PhpunitReader,
)


def clean_line(raw: str) -> str:
    """A log line as the runner wrote it: no timestamp prefix, no ANSI codes, no trailing space."""
    line = _ANSI.sub("", raw)
    match = _TIMESTAMP.match(line)
    if match is not None:
        line = line[match.end() :]
    return line.rstrip()


class SummaryScanner:
    """Reads lines one at a time and keeps the last runner summary, for logs streamed in pieces."""

    def __init__(self) -> None:
        self._readers = [make() for make in READERS]
        # Per reader: the number of the line that last changed its summary, and that summary.
        self._latest: list[tuple[int, RunnerSummary] | None] = [None] * len(self._readers)
        self._line_number = 0
        self._after_blank = False

    def feed(self, raw_line: str) -> None:
        self._line_number += 1
        if len(raw_line) > MAX_LINE:
            return
        # A blank line closes whatever a reader had open; the next ones change nothing more, so a run of
        # blanks (a hostile MiB of them took 3.3 s) costs one pass over the readers, not one per line.
        if self._after_blank and (not raw_line or raw_line.isspace()):
            return
        line = clean_line(raw_line)
        if not line and self._after_blank:  # blank once its colour codes are gone
            return
        self._after_blank = not line
        for index, reader in enumerate(self._readers):  # every reader sees every line, for its state
            found = reader.feed(line)
            if found is WITHDRAWN:
                self._latest[index] = None
            elif found is not None:
                self._latest[index] = (self._line_number, found)

    def feed_lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.feed(line)

    @property
    def summary(self) -> RunnerSummary | None:
        """The summary completed last; on the same line, the reader listed first in READERS."""
        best: tuple[int, RunnerSummary] | None = None
        for latest in self._latest:
            if latest is not None and (best is None or latest[0] > best[0]):
                best = latest
        return None if best is None else best[1]


def parse_summary(text: str) -> RunnerSummary | None:
    """The last final summary of any known runner in ``text``; None when there is none. Never raises."""
    scanner = SummaryScanner()
    scanner.feed_lines(text.splitlines())
    return scanner.summary
