"""Recognising the final summary a test runner prints, in a check run's output or a job's log.

Every known runner's reader sees every line. When one runner printed several summaries, each a run of
its own (tox or nox running the suite in two environments in one step, a script calling the runner
twice, a re-run after a failure), their counts are summed: a step that runs the suite twice is a
matrix folded into one job, and the jobs of a matrix are summed too, so a failure in the first
environment is never hidden by a pass in the second. The log cannot tell a re-run from a second
environment; a re-run is counted as the runs it made (use the runner's own retry, which prints one
summary, to count a flaky test once). When several runners printed summaries, the one whose summary
completed last in the text is reported, with the sum of its runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from bot.results.counts import TestCounts
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
from bot.results.runners.reader import WITHDRAWN, Evidence, RunnerSummary, SummaryReader
from bot.results.runners.rspec import RspecReader
from bot.results.runners.tap import TapReader
from bot.results.runners.unittest import UnittestReader
from bot.results.runners.vitest import VitestReader

__all__ = ["MAX_LINE", "READERS", "RunnerSummary", "SummaryScanner", "clean_line", "parse_summary"]

# Longer lines are test output, never a summary: skipping them bounds the work per line.
MAX_LINE = 4096
# Every escape sequence a terminal acts on (ECMA-48 and ISO 2022), which runners print when colour is
# forced and GitHub Actions keeps in logs: a line is matched only once they are gone.
_ESCAPE = re.compile(
    r"\x1b(?:"
    r"\[[0-?]{0,64}[ -/]{0,16}[@-~]"  # CSI, private parameters included: colours, cursor, ESC [ ? 25 l
    r"|\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)"  # OSC up to BEL or ST: titles, OSC 8 hyperlinks
    r"|[PX^_][^\x1b]{0,4096}\x1b\\"  # DCS, SOS, PM and APC strings, up to ST
    r"|[ -/]{1,4}[0-~]"  # charset selection and other nF sequences: ESC ( B ends tput's sgr0
    r"|[0-~]"  # any other two-byte sequence: ESC 7, ESC 8, ESC =, ESC >, ESC c, a lone ESC [
    r")"
)
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
    """A log line as the runner wrote it: no timestamp prefix, no escape sequences, no trailing space."""
    line = _ESCAPE.sub("", raw)
    match = _TIMESTAMP.match(line)
    if match is not None:
        line = line[match.end() :]
    return line.rstrip()


class _Runs:
    """One reader's runs in a log: the finished ones summed, and the one its answers still revise."""

    def __init__(self) -> None:
        self.line_number = 0  # of the line that last changed the reader's summary
        self.unknown = False  # a run's counts could not be known, so neither can the sum
        self._current: RunnerSummary | None = None
        self._finished = TestCounts()
        self._finished_runs = 0
        self._finished_lines = Evidence()

    def add(self, found: RunnerSummary, line_number: int) -> None:
        if found is WITHDRAWN:
            self.unknown = True
            return
        current = self._current
        if current is not None and not found.continues:
            self._finished = self._finished + current.counts
            self._finished_runs += 1
            self._finished_lines.add(current.line)
        self._current = found
        self.line_number = line_number

    @property
    def summary(self) -> RunnerSummary | None:
        if self.unknown or self._current is None:
            return None
        if not self._finished_runs:
            return self._current
        current = self._current
        return RunnerSummary(
            current.runner,
            self._finished + current.counts,
            f"{self._finished_lines.text()}\n{current.line}",
        )


class SummaryScanner:
    """Reads lines one at a time and keeps each runner's summed runs, for logs streamed in pieces."""

    def __init__(self) -> None:
        self._readers = [make() for make in READERS]
        self._runs = [_Runs() for _ in self._readers]
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
        if not line and self._after_blank:  # blank once its escape sequences are gone
            return
        self._after_blank = not line
        for reader, runs in zip(self._readers, self._runs, strict=True):  # each reader sees every line
            found = reader.feed(line)
            if found is not None:
                runs.add(found, self._line_number)

    def feed_lines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.feed(line)

    @property
    def summary(self) -> RunnerSummary | None:
        """The runs of the runner whose summary completed last, summed; on the same line, the reader
        listed first in READERS."""
        best: RunnerSummary | None = None
        best_line = 0
        for runs in self._runs:
            summary = runs.summary  # sums the runs: built once per reader
            if summary is not None and (best is None or runs.line_number > best_line):
                best, best_line = summary, runs.line_number
        return best


def parse_summary(text: str) -> RunnerSummary | None:
    """The summed runs of the runner that finished last in ``text``; None when there is none. Never raises."""
    scanner = SummaryScanner()
    scanner.feed_lines(text.splitlines())
    return scanner.summary
