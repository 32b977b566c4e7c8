"""Recognising the final summary a test runner prints, in a check run's output or a job's log."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.results.counts import TestCounts
from bot.results.runners import pytest as pytest_runner

# Colour codes runners print on a terminal (and GitHub Actions keeps in logs).
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A summary line is short; longer lines are test output, and skipping them bounds the work per line.
MAX_SUMMARY_LINE = 500


@dataclass(frozen=True)
class RunnerSummary:
    runner: str  # "pytest", ...
    counts: TestCounts
    line: str  # the summary line it was read from, for the bot's log


def parse_summary(text: str) -> RunnerSummary | None:
    """The last final summary of a known runner in ``text``; None when there is none. Never raises."""
    for raw in reversed(text.splitlines()):
        if len(raw) > MAX_SUMMARY_LINE:
            continue
        line = _ANSI.sub("", raw).strip()
        counts = pytest_runner.parse_line(line)
        if counts is not None:
            return RunnerSummary(runner="pytest", counts=counts, line=line)
    return None
