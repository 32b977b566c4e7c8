"""Counts and per-test outcomes from the JUnit XML a workflow run uploaded as artifacts."""

from __future__ import annotations

import asyncio
from fnmatch import fnmatchcase
from typing import Any

from bot.github.blobs import BlobReader, BlobUnavailable
from bot.github.repository import NotStored, Repository
from bot.results.archives import ArchiveReports, UnsafeArchive, read_junit_archive
from bot.results.counts import TestCounts
from bot.results.junit import TestCaseResult
from bot.results.sources import JobResult, ResultsUnavailable
from bot.untrusted import code_span

MAX_ARCHIVE_BYTES = 256 * 1024 * 1024


class JUnitArtifactSource:
    """Every ``*.xml`` in the run's artifacts whose names match the configured globs."""

    name = "junit"

    def __init__(self, blobs: BlobReader, *, max_archive_bytes: int = MAX_ARCHIVE_BYTES) -> None:
        self._blobs = blobs
        self._max_archive_bytes = max_archive_bytes

    async def run_result(
        self, repo: Repository, workflow_run: dict[str, Any], globs: tuple[str, ...]
    ) -> tuple[JobResult | None, list[str]]:
        """The run's JUnit results (None when it uploaded none), and the problems met reading them."""
        artifacts = [
            a
            for a in await repo.run_artifacts(int(workflow_run["id"]))
            if any(fnmatchcase(str(a.get("name", "")), glob) for glob in globs)
        ]
        counts = TestCounts()
        cases: list[TestCaseResult] = []
        files: list[str] = []
        problems: list[str] = []
        for artifact in artifacts:
            name = str(artifact.get("name", ""))
            try:
                archive = await self._read_archive(repo, artifact)
            except ResultsUnavailable as failure:
                problems.append(f"artifact {code_span(name)}: {failure.reason}")
                continue
            for report in archive.reports:
                counts = counts + report.counts
                cases.extend(report.cases)
            problems.extend(f"artifact {code_span(name)}: {problem}" for problem in archive.problems)
            files.append(name)
        if not files:
            return None, problems
        result = JobResult(
            check_run_id=int(workflow_run["id"]),
            name=str(workflow_run.get("name", "")),
            counts=counts,
            source=self.name,
            evidence="artifacts " + ", ".join(files),
            cases=tuple(cases),
        )
        return result, problems

    async def _read_archive(self, repo: Repository, artifact: dict[str, Any]) -> ArchiveReports:
        if artifact.get("expired"):
            raise ResultsUnavailable("expired")
        try:
            url = await repo.artifact_url(int(artifact["id"]))
            archive = await self._blobs.download(url, max_bytes=self._max_archive_bytes)
        except NotStored as missing:
            raise ResultsUnavailable("expired" if missing.status == 410 else "not found") from None
        except BlobUnavailable as failure:
            raise ResultsUnavailable(failure.reason) from None
        try:
            # Decompressing and parsing are CPU work; keep the event loop answering webhooks.
            return await asyncio.to_thread(read_junit_archive, archive)
        except UnsafeArchive as refused:
            raise ResultsUnavailable(f"refused: {refused}") from None
        finally:
            archive.close()
