"""Counts from a GitHub Actions job's log: the runner's final summary near its end.

A check run made by GitHub Actions has the job's id. Its log is read from the end (only the last MiB is
asked for), GitHub's timestamp prefix is stripped from every line, and the runner summary parsers read
each runner's summaries (several runs of one runner in the log are summed); terminal escape sequences are
removed by them. Decoding and scanning a MiB is CPU work done in a worker thread, so the event loop keeps
answering webhooks while a hostile log is read.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from bot.github.blobs import BlobReader, BlobUnavailable
from bot.github.repository import NotStored, Repository
from bot.results.runners import RunnerSummary, parse_summary
from bot.results.sources import JobResult, ResultsUnavailable, made_by_actions

log = logging.getLogger(__name__)

# Runner summaries are printed at the very end of a test step; a MiB of tail holds them with room to spare.
LOG_TAIL_BYTES = 1024 * 1024
# A storage server that ignores Range is streamed through, but never further than this.
LOG_READ_LIMIT_BYTES = 1024 * 1024 * 1024
# "2024-05-01T12:34:56.1234567Z " starts every line of an Actions log (after a BOM on the first).
_TIMESTAMP = re.compile(r"^\ufeff?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z ?", re.MULTILINE)


def log_text(data: bytes, *, starts_mid_line: bool) -> str:
    """Decoded log text without timestamps; bytes that are not UTF-8 become U+FFFD, never an error."""
    text = data.decode("utf-8", errors="replace")
    if starts_mid_line:
        text = text.partition("\n")[2]
    return _TIMESTAMP.sub("", text)


def log_summary(data: bytes, *, starts_mid_line: bool) -> RunnerSummary | None:
    """The runner summary in a log's bytes: decoding and scanning together, for a worker thread."""
    return parse_summary(log_text(data, starts_mid_line=starts_mid_line))


class JobLogSource:
    """The runner summary at the end of a GitHub Actions job's log."""

    name = "logs"

    def __init__(
        self, blobs: BlobReader, *, tail_bytes: int = LOG_TAIL_BYTES, read_limit: int = LOG_READ_LIMIT_BYTES
    ) -> None:
        self._blobs = blobs
        self._tail_bytes = tail_bytes
        self._read_limit = read_limit

    async def job_result(self, repo: Repository, check_run: dict[str, Any]) -> JobResult | None:
        if not made_by_actions(check_run):
            return None
        job_id = int(check_run["id"])
        try:
            url = await repo.job_log_url(job_id)
            data = await self._blobs.tail(url, self._tail_bytes, max_bytes=self._read_limit)
        except NotStored as missing:
            what = "expired" if missing.status == 410 else "not found"
            raise ResultsUnavailable(f"its log is {what} ({missing.status})") from None
        except BlobUnavailable as failure:
            raise ResultsUnavailable(f"its log could not be read: {failure.reason}") from None
        summary = await asyncio.to_thread(log_summary, data, starts_mid_line=len(data) >= self._tail_bytes)
        if summary is None:
            log.debug("%s: no runner summary in the log of job %s", repo.full_name, job_id)
            return None
        return JobResult(
            check_run_id=job_id,
            name=str(check_run.get("name", "")),
            counts=summary.counts,
            source=self.name,
            evidence=summary.line,
        )
