"""From a commit's last CI completion received to its tracking issue written, under 50 repositories' load.

    .venv/bin/python bench/latency.py [--repositories 50] [--commits 4] [--jobs 5]

Each repository (its own installation, as in burst.py) gets ``commits`` commits one after another, a few
seconds apart; each commit's ``jobs`` check runs complete at random moments over 0-2 s, then its check
suite and its workflow run, as GitHub Actions reports a workflow. All repositories run at once, so the
bot always has other repositories' bursts arriving. The bot is ``python -m bot serve`` in its own
process with production settings (1.0 s coalescing, 1.0 s between writes per installation); the fake
GitHub and the senders run in this process.

Measured per commit: from the acknowledgement of its last delivery to the moment the fake GitHub has
written an issue body naming the commit (the bot's PATCH). Printed: p50, p90, p99 and the maximum, the
recomputations per commit (listings of its check runs) and the issue writes per commit. Target: the
coalescing window + 0.5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from harness import APP_ID, SECRET, BotProcess, machine, sha_of

from bot.testing.deliveries import (
    check_run_completed,
    check_suite_completed,
    signed_headers,
    workflow_run_completed,
)
from bot.testing.examples import EXAMPLES
from bot.testing.fake_github import FakeGitHub
from bot.testing.loopback import new_app_key

# Never met (every job has failures): a gate newly met adds the hand-over's comment and review request,
# each paced 1 s apart like every write, which is not what this measures.
CONFIG = "trackers:\n  - issue: 1\n    gate: '>99.9%'\n"
FIRST_INSTALLATION = 2000
REPOSITORY = "latency-org/service-"
SPREAD_SECONDS = 2.0  # a workflow's jobs finish over this long
COMMIT_GAP_SECONDS = (3.0, 6.0)  # between a repository's commits (its next push's CI)


class WriteWatch:
    """When the fake GitHub wrote an issue body naming each awaited commit (its latest write counts: a
    commit is written once more when its CI completes, after writes of partial results, if any)."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.awaited: dict[str, set[str]] = {}  # repository -> commits
        self.written: dict[str, list[float]] = {}  # commit -> moments of the writes naming it
        self.changed = asyncio.Event()  # set at each write of an awaited commit
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]] = fake._serve_api

        async def watched(request: web.Request) -> web.StreamResponse:
            answer = await handler(request)
            if request.method == "PATCH" and "/issues/" in request.path:
                repository = "/".join(request.path.split("/")[2:4])
                body = str(fake.issue(repository, 1)["body"])
                for sha in self.awaited.get(repository, set()):
                    if sha in body:
                        self.written.setdefault(sha, []).append(time.perf_counter())
                        self.changed.set()
            return answer

        fake._serve_api = watched  # type: ignore[method-assign]


async def one_commit(
    fake: FakeGitHub,
    session: aiohttp.ClientSession,
    url: str,
    name: str,
    repository: dict[str, Any],
    installation: int,
    sha: str,
    jobs: int,
    rng: random.Random,
) -> None:
    """The workflow run starts; each job appears completed at its moment and its completion is delivered;
    then the run completes and its suite's and its own completions are delivered."""
    fake.add_commit(name, sha, branch="main")
    run = fake.add_workflow_run(name, sha, head_branch="main", status="in_progress")
    moments = sorted(rng.uniform(0, SPREAD_SECONDS) for _ in range(jobs))
    started = time.perf_counter()

    async def send(at: float, event: str, payload: dict[str, Any]) -> None:
        await asyncio.sleep(max(0.0, started + at - time.perf_counter()))
        body = json.dumps(payload).encode()
        async with session.post(
            url, data=body, headers=signed_headers(SECRET.encode(), event, body)
        ) as answer:
            await answer.read()
            assert answer.status == 202, answer.status

    for job, at in enumerate(moments):
        await asyncio.sleep(max(0.0, started + at - time.perf_counter()))
        failed = 1 + (len(name) + job) % 8
        check = fake.add_check_run(
            name,
            sha,
            f"tests ({job})",
            output={"title": "pytest", "summary": f"== {failed} failed, {200 - failed} passed =="},
            head_branch="main",
            check_suite_id=run["check_suite_id"],
        )
        await send(
            at,
            "check_run",
            check_run_completed(repository, check, installation_id=installation, head_branch="main"),
        )
    await asyncio.sleep(max(0.0, started + moments[-1] + 0.01 - time.perf_counter()))
    run = fake.complete_workflow_run(name, run["id"])
    suite = check_suite_completed(repository, sha=sha, head_branch="main", installation_id=installation)
    await send(moments[-1] + 0.01, "check_suite", suite)
    await send(
        moments[-1] + 0.02,
        "workflow_run",
        workflow_run_completed(repository, run, installation_id=installation),
    )


async def repository_load(
    fake: FakeGitHub,
    watch: WriteWatch,
    session: aiohttp.ClientSession,
    url: str,
    index: int,
    commits: int,
    jobs: int,
    last_received: dict[str, float],
) -> None:
    name = f"{REPOSITORY}{index:02d}"
    installation = FIRST_INSTALLATION + index
    repository = fake.add_repository(name)
    fake.add_installation(installation, [name])
    fake.put_file(name, ".github/issue-status.yml", CONFIG)
    fake.add_issue(
        name, "Reach >90% test pass rate", (EXAMPLES / "issue-2-status-update.md").read_text(), number=1
    )
    rng = random.Random(index)
    await asyncio.sleep(rng.uniform(0, COMMIT_GAP_SECONDS[1]))
    for number in range(commits):
        sha = sha_of(f"{name}@{number}")
        watch.awaited.setdefault(name, set()).add(sha)
        await one_commit(fake, session, url, name, repository, installation, sha, jobs, rng)
        last_received[sha] = time.perf_counter()
        await asyncio.sleep(rng.uniform(*COMMIT_GAP_SECONDS))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main(repositories: int, commits: int, jobs: int, coalesce: float) -> None:
    key = new_app_key()
    fake = FakeGitHub()
    watch = WriteWatch(fake)  # before start(): the fake's routes bind its handler then
    await fake.start()
    fake.register_app(APP_ID, key.public_pem)
    print(machine())
    print(
        f"{repositories} repositories (one installation each), {commits} commits each, {jobs} jobs over"
        f" 0-{SPREAD_SECONDS:.0f} s + suite + workflow run per commit; coalescing {coalesce} s"
    )
    bot = BotProcess(key, fake.url, {"BOT_COALESCE_SECONDS": str(coalesce)})
    await bot.start()
    last_received: dict[str, float] = {}
    try:
        connector = aiohttp.TCPConnector(limit=repositories)
        async with aiohttp.ClientSession(connector=connector) as session:
            await asyncio.gather(
                *(
                    repository_load(
                        fake, watch, session, f"{bot.url}/webhook", i, commits, jobs, last_received
                    )
                    for i in range(repositories)
                )
            )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(60):
                    while any(sha not in watch.written for sha in last_received):
                        watch.changed.clear()
                        await watch.changed.wait()
        cpu = bot.cpu_seconds()
    finally:
        await bot.stop()
    # The first write after a commit's last delivery; earlier ones (partial results) do not count.
    after = {
        sha: [t - at for t in watch.written.get(sha, []) if t >= at] for sha, at in last_received.items()
    }
    latencies = [min(delays) for delays in after.values() if delays]
    # A repository's first commit also mints its installation's token and starts its write pacing.
    first_commits = {sha_of(f"{REPOSITORY}{i:02d}@0") for i in range(repositories)}
    warm = [min(delays) for sha, delays in after.items() if delays and sha not in first_commits]
    listings = [
        r
        for r in fake.requests
        if r.method == "GET" and r.path.endswith("/check-runs") and "/commits/" in r.path
    ]
    writes = [r for r in fake.requests if r.method == "PATCH" and "/issues/" in r.path]
    print(f"commits: {len(last_received)}, written: {len(latencies)}, bot CPU {cpu:.1f} s")
    print(
        f"recomputations per commit: {len(listings) / len(last_received):.2f},"
        f" issue writes per commit: {len(writes) / len(last_received):.2f}"
    )
    for label, values in (("every commit", latencies), ("all but each repository's first", warm)):
        print(
            f"latency, last completion acknowledged -> issue written, {label} ({len(values)}):"
            f" p50 {statistics.median(values):.2f} s, p90 {percentile(values, 0.9):.2f} s,"
            f" p99 {percentile(values, 0.99):.2f} s, max {max(values):.2f} s (target {coalesce + 0.5:.1f} s)"
        )
    await fake.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repositories", type=int, default=50)
    parser.add_argument("--commits", type=int, default=4)
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--coalesce", type=float, default=1.0, help="the bot's coalescing window (s)")
    args = parser.parse_args()
    asyncio.run(main(args.repositories, args.commits, args.jobs, args.coalesce))
