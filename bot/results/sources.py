"""Where a commit's test counts come from, behind one small interface.

For now the source is the check run's own ``output`` (a reporter action, or a human, wrote the runner's
summary there). Job logs and JUnit artifacts plug in here as further sources.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from bot.github.repository import Repository
from bot.results.counts import TestCounts
from bot.results.runners import parse_summary

log = logging.getLogger(__name__)

# Jobs that did not run to a verdict carry no results, whatever their output says.
NOT_COUNTED_CONCLUSIONS = frozenset({"cancelled", "skipped", "stale"})


@dataclass(frozen=True)
class JobResult:
    """Counts found for one check run (one CI job)."""

    check_run_id: int
    name: str
    counts: TestCounts
    source: str  # which source found them, e.g. "output"
    evidence: str  # the summary line they were read from


@dataclass(frozen=True)
class CommitResults:
    sha: str
    jobs: tuple[JobResult, ...]
    completed_at: str  # the latest completion time among the jobs counted

    @property
    def counts(self) -> TestCounts:
        total = TestCounts()
        for job in self.jobs:
            total = total + job.counts
        return total


class ResultSource(Protocol):
    name: str

    async def job_result(self, repo: Repository, check_run: dict[str, Any]) -> JobResult | None:
        """The counts of one completed check run, or None when this source has none."""


class CheckRunOutputSource:
    """Counts written into the check run's output title, summary or text."""

    name = "output"

    async def job_result(self, repo: Repository, check_run: dict[str, Any]) -> JobResult | None:
        output = check_run.get("output") or {}
        for part in ("summary", "title", "text"):
            text = output.get(part)
            if not isinstance(text, str) or not text:
                continue
            summary = parse_summary(text)
            if summary is not None:
                return JobResult(
                    check_run_id=int(check_run["id"]),
                    name=str(check_run.get("name", "")),
                    counts=summary.counts,
                    source=self.name,
                    evidence=summary.line,
                )
        return None


DEFAULT_SOURCES: tuple[ResultSource, ...] = (CheckRunOutputSource(),)


def is_counted(check_run: dict[str, Any], globs: Sequence[str]) -> bool:
    """A completed run whose name matches one of the tracker's ``checks`` globs."""
    name = str(check_run.get("name", ""))
    return (
        check_run.get("status") == "completed"
        and check_run.get("conclusion") not in NOT_COUNTED_CONCLUSIONS
        and any(fnmatchcase(name, glob) for glob in globs)
    )


async def commit_results(
    repo: Repository,
    sha: str,
    globs: Sequence[str],
    sources: Sequence[ResultSource] = DEFAULT_SOURCES,
) -> CommitResults | None:
    """Sum the counts of every matching job of a commit; None when no job reported any."""
    jobs: list[JobResult] = []
    completed: list[str] = []
    for check_run in await repo.check_runs(sha):
        if not is_counted(check_run, globs):
            continue
        for source in sources:
            result = await source.job_result(repo, check_run)
            if result is not None:
                jobs.append(result)
                completed.append(str(check_run.get("completed_at") or ""))
                break
        else:
            log.debug(
                "%s@%s: no test counts in check run %r",
                repo.full_name,
                sha[:7],
                check_run.get("name"),
            )
    if not jobs:
        return None
    return CommitResults(sha=sha, jobs=tuple(jobs), completed_at=max(completed))
