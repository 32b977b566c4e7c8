"""What every runner's reader shares: the summary it yields and the way it is fed."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.results.counts import TestCounts

# Counts are short numbers; a bound keeps int() away from hostile 5,000-digit strings.
NUMBER = r"\d{1,9}"


@dataclass(frozen=True)
class RunnerSummary:
    """A runner's final summary: whose it is, its counts, and the text it was read from."""

    runner: str  # "pytest", "jest", "go", ...
    counts: TestCounts
    line: str  # the summary line(s) it was read from, for the bot's log
    # True when this answer revises the reader's previous one (more lines of the same run's summary,
    # or its sum over modules growing); False when it reports a run of its own, which adds to the others.
    continues: bool = False


# Answered by a reader whose latest summary turned out to be unknowable (a Go package without per-test
# lines joined the sum): the sum of that reader's runs in the log is unknown too, never a partial one.
WITHDRAWN = RunnerSummary("", TestCounts(), "")


class SummaryReader(Protocol):
    """Reads one runner's summaries from a log, one clean line at a time.

    ``feed`` answers the summary that ``line`` completes or updates (a multi-line summary, or a sum over
    packages, is answered again after every line that adds to it, with ``continues`` set), ``WITHDRAWN``
    when its summary so far can no longer be known, and None otherwise. A reader keeps
    only the little state its runner's format needs, so a whole log is read in one linear pass.
    """

    def feed(self, line: str) -> RunnerSummary | None: ...


class Evidence:
    """The last few summary lines behind a sum, bounded so that a 10,000-package log stays small."""

    LIMIT = 20

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._dropped = 0

    @property
    def started(self) -> bool:
        """Whether a line was added: the next one continues a sum rather than starting one."""
        return bool(self._lines)

    def add(self, line: str) -> None:
        self._lines.append(line)
        if len(self._lines) > self.LIMIT:
            del self._lines[0]
            self._dropped += 1

    def text(self) -> str:
        head = [f"... ({self._dropped} earlier lines)"] if self._dropped else []
        return "\n".join(head + self._lines)


def counted_parts(text: str, separator: str, part: re.Pattern[str]) -> list[tuple[int, str]] | None:
    """``(number, word)`` of each ``separator``-separated part of ``text``; None unless every part matches.

    ``part`` must match a whole stripped part and name its groups ``n`` and ``word``.
    """
    parts: list[tuple[int, str]] = []
    for piece in text.split(separator):
        match = part.fullmatch(piece.strip())
        if match is None:
            return None
        parts.append((int(match["n"]), match["word"]))
    return parts


def tally(parts: Iterable[tuple[int, str]], fields: Mapping[str, str | None]) -> dict[str, int]:
    """TestCounts fields summed from ``(number, word)`` parts; words mapped to None count for nothing."""
    values: dict[str, int] = {}
    for number, word in parts:
        field = fields.get(word)
        if field is not None:
            values[field] = values.get(field, 0) + number
    return values
