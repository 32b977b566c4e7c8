"""Where a job's test counts come from, behind one small interface.

A source returns a job's counts, None when it has nothing for that job, or raises ResultsUnavailable when
it should have had them but could not read them (a log that is gone, an archive refused): that reason
reaches the status block instead of a made-up number.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

from bot.github.repository import Repository
from bot.results.counts import TestCounts
from bot.results.junit import TestCaseResult
from bot.results.runners import parse_summary

ACTIONS_APP = "github-actions"
# GitHub lets each output field hold 65,535 characters; scanning that many short lines takes a good part of
# a second, so longer texts are scanned in a worker thread, shorter ones in place (a thread hop costs more).
INLINE_SCAN_CHARS = 8192


def made_by_actions(item: dict[str, Any]) -> bool:
    """Whether a check run or suite comes from GitHub Actions (a check run's id is then its job's id)."""
    return (item.get("app") or {}).get("slug") == ACTIONS_APP


class ResultsUnavailable(Exception):
    """A source failed to read results it should have had; ``reason`` is shown to humans."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class JobResult:
    """Counts found for one check run (one CI job), or for one workflow run's JUnit files."""

    check_run_id: int
    name: str
    counts: TestCounts
    source: str  # which source found them: "output", "logs" or "junit"
    evidence: str  # the summary line or files they were read from, for the log
    cases: tuple[TestCaseResult, ...] = ()  # per-test outcomes, when the source has them


class ResultSource(Protocol):
    name: str

    async def job_result(self, repo: Repository, check_run: dict[str, Any]) -> JobResult | None:
        """The counts of one completed check run, or None when this source has none."""


class CheckRunOutputSource:
    """Counts written into the check run's output title, summary or text (by a reporter action)."""

    name = "output"

    async def job_result(self, repo: Repository, check_run: dict[str, Any]) -> JobResult | None:
        output = check_run.get("output") or {}
        for part in ("summary", "title", "text"):
            text = output.get(part)
            if not isinstance(text, str) or not text:
                continue
            if len(text) <= INLINE_SCAN_CHARS:
                summary = parse_summary(text)
            else:
                summary = await asyncio.to_thread(parse_summary, text)
            if summary is not None:
                return JobResult(
                    check_run_id=int(check_run["id"]),
                    name=str(check_run.get("name", "")),
                    counts=summary.counts,
                    source=self.name,
                    evidence=summary.line,
                )
        return None
