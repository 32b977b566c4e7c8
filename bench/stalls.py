"""What hostile input costs the bot: event-loop stalls, memory kept, and the price of a token.

    .venv/bin/python bench/stalls.py [--cases 1000000] [--skip-junit]

The bot's real server and the fake GitHub run in this process, as in bench/log_memory.py:

- scan: CPU time to find the runner summary after a MiB of blank lines (and of other short lines);
- lag: the worst delay of a 5 ms timer while the bot reads such a job log, end to end (how long the
  event loop, which also answers webhooks, was held);
- junit: traced memory still held once a JUnit artifact of ``--cases`` test cases has been counted
  (what the results cache keeps), and the peak while reading it;
- jwt: milliseconds to sign one App JWT from the PEM (what every token mint used to do) and from the key
  parsed once.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import tempfile
import time
import tracemalloc
import zipfile
from pathlib import Path

import aiohttp
from harness import machine

from bot.intake.server import WORKERS, create_app
from bot.results.logs import log_text
from bot.results.runners import parse_summary
from bot.settings import Settings
from bot.testing.deliveries import deliver, workflow_run_completed
from bot.testing.fake_github import FakeGitHub
from bot.testing.loopback import AppKey, new_app_key, serving

REPO = "bench/stalls"
SUMMARY = b"= 84 failed, 143 passed, 7 skipped in 41.27s =\n"
FILLERS = {
    "blank lines": b"\n" * 2**20,
    "CRLF blank lines": b"\r\n" * 2**19,
    "one-letter lines": b"x\n" * 2**19,
}
CASES_PER_FILE = 199_999  # the reader refuses files of more than 200,000 cases


def scan_seconds(data: bytes) -> float:
    started = time.perf_counter()
    assert parse_summary(log_text(data + SUMMARY, starts_mid_line=True)) is not None
    return time.perf_counter() - started


def junit_archive(cases: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for first in range(0, cases, CASES_PER_FILE):
            body = "".join(
                f'<testcase classname="tests.test_mod{i // 1000}" name="test_case_{i}"'
                f' file="tests/test_mod{i // 1000}.py" time="0.001"/>'
                for i in range(first, min(cases, first + CASES_PER_FILE))
            )
            xml = f'<?xml version="1.0"?><testsuite name="pytest">{body}</testsuite>'
            archive.writestr(f"report-{first // CASES_PER_FILE}.xml", xml)
    return buffer.getvalue()


class Bot:
    """The bot's real server against a fake GitHub, one repository tracked through logs and JUnit."""

    def __init__(self, key: AppKey, fake: FakeGitHub) -> None:
        self.fake = fake
        self.repository = fake.add_repository(REPO)
        fake.add_installation(2, [REPO])
        config = "trackers:\n  - issue: 1\n    results: {sources: [junit, logs]}\n"
        fake.put_file(REPO, ".github/issue-status.yml", config)
        fake.add_issue(REPO, "tracking", "- [ ] >90% test pass rate achieved\n", number=1)
        settings = Settings(
            app_id=1,
            private_key_pem=key.private_pem,
            webhook_secret=b"bench",
            api_url=fake.url,
            state_dir=Path(tempfile.mkdtemp(prefix="stalls-")),
            coalesce_seconds=0,
            reconcile_seconds=0,
            github_write_interval=0,
        )
        self.app = create_app(settings)
        self._runs = 0

    async def workflow(self, session: aiohttp.ClientSession, url: str, log: bytes, zipped: bytes) -> None:
        self._runs += 1
        sha = f"{self._runs:040x}"
        run = self.fake.add_workflow_run(REPO, sha, head_branch="main")
        job = self.fake.add_check_run(
            REPO, sha, "tests", head_branch="main", check_suite_id=run["check_suite_id"]
        )
        self.fake.add_job_log(REPO, job["id"], log)
        if zipped:
            self.fake.add_artifact(REPO, run["id"], "junit", zipped)
        payload = workflow_run_completed(self.repository, run, installation_id=2)
        await deliver(session, url, b"bench", "workflow_run", payload)
        await self.app[WORKERS].drain()


async def worst_lag(work: asyncio.Future[None] | asyncio.Task[None]) -> float:
    loop = asyncio.get_running_loop()
    worst = 0.0
    while not work.done():
        before = loop.time()
        await asyncio.sleep(0.005)
        worst = max(worst, loop.time() - before - 0.005)
    await work
    return worst


async def main(cases: int, junit: bool) -> None:
    print(machine())
    for name, filler in FILLERS.items():
        print(f"scan: a MiB of {name}: {scan_seconds(filler):.2f} s")
    key = new_app_key()
    fake = FakeGitHub()
    await fake.start()
    fake.register_app(1, key.public_pem)
    bot = Bot(key, fake)
    async with serving(bot.app) as url, aiohttp.ClientSession() as session:
        await bot.workflow(session, url, SUMMARY, b"")  # warm-up: token, configuration
        for name, filler in FILLERS.items():
            lag = await worst_lag(asyncio.create_task(bot.workflow(session, url, filler + SUMMARY, b"")))
            print(f"lag: worst 5 ms timer delay while a MiB of {name} is read: {lag * 1000:.0f} ms")
        if junit:
            archive = junit_archive(cases)
            gc.collect()
            tracemalloc.start()
            before, _ = tracemalloc.get_traced_memory()
            started = time.perf_counter()
            await bot.workflow(session, url, b"build\n", archive)
            elapsed = time.perf_counter() - started
            gc.collect()
            held, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            held_mib, peak_mib = (held - before) / 2**20, (peak - before) / 2**20
            print(
                f"junit: {cases} cases ({len(archive) / 2**20:.1f} MiB zipped) counted in {elapsed:.1f} s"
                f" (traced); held after: {held_mib:.0f} MiB, peak {peak_mib:.0f} MiB"
            )
    await fake.close()
    jwt_costs()


def jwt_costs() -> None:
    from gidgethub.apps import get_jwt

    key = new_app_key()
    started = time.perf_counter()
    for _ in range(20):
        get_jwt(app_id="1", private_key=key.private_pem)
    from_pem = (time.perf_counter() - started) / 20
    try:
        from bot.github.auth import AppKey as ParsedKey
    except ImportError:  # before the key was parsed once
        print(f"jwt: {from_pem * 1000:.2f} ms per JWT from the PEM")
        return
    parsed = ParsedKey(1, key.private_pem)
    started = time.perf_counter()
    for _ in range(20):
        parsed.jwt()
    once = (time.perf_counter() - started) / 20
    print(
        f"jwt: {from_pem * 1000:.2f} ms per JWT from the PEM, {once * 1000:.2f} ms from the key parsed once"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--skip-junit", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.cases, not args.skip_junit))
