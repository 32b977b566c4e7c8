"""A commit's test results: every matching job of every workflow, added up once per job.

GitHub lists only the latest attempt of each check run, so a re-run replaces the attempt it repeats.
Cancelled and skipped jobs carry no verdict and are not counted. While any of the commit's check suites or
matching jobs is still running the result is provisional; it is final once all have completed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cachetools

from bot.config import TrackerConfig
from bot.github.blobs import BlobReader
from bot.github.repository import Repository
from bot.results.artifacts import JUnitArtifactSource
from bot.results.counts import TestCounts
from bot.results.junit import TestCaseResult
from bot.results.logs import JobLogSource
from bot.results.sources import (
    CheckRunOutputSource,
    JobResult,
    ResultSource,
    ResultsUnavailable,
    made_by_actions,
)
from bot.untrusted import code_span

log = logging.getLogger(__name__)

NOT_COUNTED_CONCLUSIONS = frozenset({"cancelled", "skipped", "stale"})
# Results of completed jobs and runs never change, so they are kept, up to this many bytes in all. A result
# larger than that (a JUnit run of 350,000 cases or more) is not kept: it is read again when next needed.
RESULTS_CACHE_BYTES = 64 * 1024 * 1024
# What one kept test case costs beyond its id's characters (the object, the id's header, its time).
_CASE_BYTES = 160
_RESULT_BYTES = 512


@dataclass(frozen=True)
class CommitResults:
    sha: str
    jobs: tuple[JobResult, ...]  # what was counted, one entry per job (or per workflow run for JUnit)
    counts: TestCounts | None  # None when no job reported any results
    cases: tuple[TestCaseResult, ...]  # per-test outcomes, from JUnit artifacts
    provisional: bool  # some check suite or matching job of the commit is still running
    unavailable: tuple[str, ...]  # why some results could not be read
    completed_at: str  # the latest completion among the jobs counted


def _suite_is_running(suite: dict[str, Any]) -> bool:
    """Whether a check suite still has work to finish.

    Apps that never create check runs leave suites "queued" forever; only GitHub Actions' queued suites
    (a workflow run waiting for a runner) and suites with runs in flight count as running.
    """
    if suite.get("status") == "completed":
        return False
    return bool(suite.get("latest_check_runs_count")) or made_by_actions(suite)


class ResultCollector:
    """Finds a commit's results through the configured sources, remembering what cannot change."""

    def __init__(self, job_sources: Sequence[ResultSource], junit: JUnitArtifactSource | None) -> None:
        self._job_sources = {source.name: source for source in job_sources}
        self._junit = junit
        # A completed job's log and a completed workflow run's artifacts never change again.
        self._settled: cachetools.LRUCache[tuple[Any, ...], Any] = cachetools.LRUCache(
            maxsize=RESULTS_CACHE_BYTES, getsizeof=_kept_bytes
        )

    @property
    def kept_bytes(self) -> int:
        """What the settled results take, as the cache counts it (at most ``RESULTS_CACHE_BYTES``)."""
        return int(self._settled.currsize)

    async def collect(self, repo: Repository, sha: str, tracker: TrackerConfig) -> CommitResults:
        settings = tracker.results
        every_run = await repo.check_runs(sha)
        check_runs = [r for r in every_run if tracker.matches_check(str(r.get("name", "")))]
        running = any(r.get("status") != "completed" for r in check_runs) or any(
            _suite_is_running(s) for s in await repo.check_suites(sha)
        )
        finished = [
            r
            for r in check_runs
            if r.get("status") == "completed" and r.get("conclusion") not in NOT_COUNTED_CONCLUSIONS
        ]
        workflow_runs: dict[int, dict[str, Any]] = {}
        # A workflow run that finished has jobs, and jobs are check runs of GitHub Actions: without any,
        # there is no artifact to read and listing the workflow runs would only spend the rate limit.
        if "junit" in settings.sources and self._junit is not None and any(map(made_by_actions, every_run)):
            workflow_runs = {int(w["check_suite_id"]): w for w in await repo.workflow_runs(sha)}

        groups: dict[int | None, list[dict[str, Any]]] = {}
        for check_run in finished:
            suite_id = (check_run.get("check_suite") or {}).get("id")
            groups.setdefault(suite_id if suite_id in workflow_runs else None, []).append(check_run)
        for suite_id, candidate in workflow_runs.items():
            if candidate.get("status") == "completed":
                groups.setdefault(suite_id, [])

        jobs: list[JobResult] = []
        cases: list[TestCaseResult] = []
        unavailable: list[str] = []
        junit_first = _junit_first(settings.sources)
        for suite_id, members in groups.items():
            junit_result: JobResult | None = None
            problems: list[str] = []
            workflow_run = workflow_runs.get(suite_id) if suite_id is not None else None
            if workflow_run is not None and workflow_run.get("status") == "completed":
                junit_result, problems = await self._junit_result(repo, workflow_run, settings.artifacts)
            if junit_result is not None:
                cases.extend(junit_result.cases)
            # With JUnit first, a run whose artifacts gave results needs none of its jobs' logs.
            job_results, reasons = (
                ([], [])
                if junit_result is not None and junit_first
                else await self._job_results(repo, members, settings.sources)
            )
            if junit_result is not None and (junit_first or not job_results):
                jobs.append(junit_result)
            else:
                jobs.extend(job_results)
                unavailable.extend(reasons)
            unavailable.extend(problems)

        completed = [str(r.get("completed_at") or "") for r in finished]
        return CommitResults(
            sha=sha,
            jobs=tuple(jobs),
            counts=_aggregate(jobs, tracker) if jobs else None,
            cases=tuple(cases),
            provisional=running,
            unavailable=tuple(unavailable),
            completed_at=max(completed, default=""),
        )

    async def _job_results(
        self, repo: Repository, check_runs: list[dict[str, Any]], order: Sequence[str]
    ) -> tuple[list[JobResult], list[str]]:
        results: list[JobResult] = []
        reasons: list[str] = []
        for check_run in check_runs:
            failures: list[str] = []
            for name in order:
                source = self._job_sources.get(name)
                if source is None:
                    continue
                try:
                    result = await self._job_result(repo, source, check_run)
                except ResultsUnavailable as failure:
                    failures.append(failure.reason)
                    continue
                if result is not None:
                    results.append(result)
                    break
            else:
                if failures:
                    name = str(check_run.get("name", ""))
                    reasons.append(f"results unavailable for job {code_span(name)}: {'; '.join(failures)}")
                    log.warning("%s: results unavailable for job %r: %s", repo.full_name, name, failures)
        return results, reasons

    async def _job_result(
        self, repo: Repository, source: ResultSource, check_run: dict[str, Any]
    ) -> JobResult | None:
        if source.name == "output":  # already in the listing: nothing to fetch, nothing to cache
            return await source.job_result(repo, check_run)
        key = (repo.full_name, source.name, check_run["id"])
        if key in self._settled:
            cached: JobResult | None = self._settled[key]
            return cached
        result = await source.job_result(repo, check_run)
        self._keep(key, result)
        return result

    async def _junit_result(
        self, repo: Repository, workflow_run: dict[str, Any], globs: tuple[str, ...]
    ) -> tuple[JobResult | None, list[str]]:
        assert self._junit is not None
        key = (repo.full_name, "junit", workflow_run["id"], workflow_run.get("run_attempt"), globs)
        if key in self._settled:
            cached: tuple[JobResult | None, list[str]] = self._settled[key]
            return cached
        outcome = await self._junit.run_result(repo, workflow_run, globs)
        if not outcome[1]:  # problems may be passing (a storage hiccup): only success is remembered
            self._keep(key, outcome)
        return outcome

    def _keep(self, key: tuple[Any, ...], value: Any) -> None:
        size = _kept_bytes(value)
        if size > self._settled.maxsize:
            log.info(
                "%s: a result of %d MiB is too large to keep; read again when needed", key[0], size >> 20
            )
            return
        self._settled[key] = value


def _kept_bytes(value: JobResult | tuple[JobResult | None, list[str]] | None) -> int:
    """Roughly what a settled result holds in memory: almost all of it is its test cases."""
    result = value[0] if isinstance(value, tuple) else value
    if result is None:
        return _RESULT_BYTES
    ids = sum(len(case.test_id) for case in result.cases)
    return _RESULT_BYTES + len(result.evidence) + _CASE_BYTES * len(result.cases) + ids


def _junit_first(order: Sequence[str]) -> bool:
    """Whether JUnit artifacts outrank the job sources for a workflow run that has both."""
    job_positions = [order.index(name) for name in ("output", "logs") if name in order]
    return "junit" in order and all(order.index("junit") < p for p in job_positions)


def _aggregate(jobs: Sequence[JobResult], tracker: TrackerConfig) -> TestCounts:
    if tracker.results.aggregate == "worst":
        rated = [job for job in jobs if tracker.rate_of(job.counts) is not None]
        if rated:
            return min(rated, key=lambda job: tracker.rate_of(job.counts) or 0.0).counts
    total = TestCounts()
    for job in jobs:
        total = total + job.counts
    return total


def result_collector(blobs: BlobReader) -> ResultCollector:
    """Every source the configuration may name: check-run output, job logs and JUnit artifacts."""
    return ResultCollector([CheckRunOutputSource(), JobLogSource(blobs)], JUnitArtifactSource(blobs))
