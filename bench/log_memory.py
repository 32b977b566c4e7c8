"""Peak memory while the bot reads the summary at the end of a 200 MB GitHub Actions job log.

    .venv/bin/python bench/log_memory.py [--megabytes 200] [--no-range]

Runs the real bot and the fake GitHub in this process; the fake generates the log chunk by chunk, so the
process's peak RSS is what the bot's streaming costs. With Range (blob storage's default) the bot reads
only the last MiB; with --no-range the storage sends the whole log and the bot streams through it.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

from bot.intake.server import WORKERS, create_app
from bot.settings import Settings
from bot.testing.deliveries import deliver, workflow_run_completed
from bot.testing.fake_github import FakeGitHub
from bot.testing.loopback import new_app_key, serving

REPO = "bench/logs"
LINE = b"2025-08-12T10:00:00.1234567Z tests/test_x.py::test_many PASSED                    [ 50%]\n"
SUMMARY = b"2025-08-12T10:00:01.1234567Z = 84 failed, 143 passed, 7 skipped in 41.27s =\n"


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def main(megabytes: int, ranges: bool) -> None:
    key = new_app_key()
    fake = FakeGitHub()
    await fake.start()
    fake.register_app(1, key.public_pem)
    repository = fake.add_repository(REPO)
    fake.add_installation(2, [REPO])
    fake.put_file(REPO, ".github/issue-status.yml", "trackers:\n  - issue: 1\n")
    fake.add_issue(REPO, "tracking", "- [ ] >90% test pass rate achieved\n", number=1)
    fake.world.blobs.honour_ranges = ranges
    sha = "b" * 40
    run = fake.add_workflow_run(REPO, sha, head_branch="main")
    job = fake.add_check_run(REPO, sha, "tests", head_branch="main", check_suite_id=run["check_suite_id"])
    blocks = -(-megabytes * 1024 * 1024 // (len(LINE) * 1000))
    size = blocks * 1000 * len(LINE) + len(SUMMARY)

    def generate() -> Iterator[bytes]:
        chunk = LINE * 1000
        for _ in range(blocks):
            yield chunk
        yield SUMMARY

    fake.add_generated_job_log(REPO, job["id"], size, generate)
    fake.world.blobs.honour_ranges = ranges
    settings = Settings(
        app_id=1,
        private_key_pem=key.private_pem,
        webhook_secret=b"bench",
        api_url=fake.url,
        state_dir=Path(tempfile.mkdtemp(prefix="log-memory-")),
        coalesce_seconds=0,
        reconcile_seconds=0,
    )
    app = create_app(settings)
    async with serving(app) as url, aiohttp.ClientSession() as session:
        before = rss_mib()
        started = time.perf_counter()
        payload = workflow_run_completed(repository, run, installation_id=2)
        await deliver(session, url, b"bench", "workflow_run", payload)
        await app[WORKERS].drain()
        elapsed = time.perf_counter() - started
    body = fake.issue(REPO, 1)["body"]
    blob_requests = sum(1 for r in fake.requests if r.origin == "blob")
    print(f"log size: {size / 2**20:.0f} MiB, Range honoured: {ranges}, blob requests: {blob_requests}")
    print(f"summary found: {'63.0%' in body}; time: {elapsed:.2f} s")
    print(
        f"peak RSS before: {before:.0f} MiB, after: {rss_mib():.0f} MiB (growth {rss_mib() - before:.0f} MiB)"
    )
    await fake.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--no-range", action="store_true", help="storage ignores Range: stream it all")
    args = parser.parse_args()
    asyncio.run(main(args.megabytes, not args.no_range))
