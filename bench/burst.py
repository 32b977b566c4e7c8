"""A busy organisation pushes: 10,000 deliveries across 200 repositories, as fast as the bot takes them.

    .venv/bin/python bench/burst.py [--repositories 200] [--commits 5] [--jobs 10] [--concurrency 64]
        [--postgres postgresql://postgres@127.0.0.1:5432/postgres] [--replicas 2]

Each repository has its configuration, its tracking issue and ``commits`` commits of ``jobs`` completed
check runs each; every check run's ``check_run.completed`` is delivered (repositories interleaved, each
repository's commits in order). The bot is ``python -m bot serve`` in its own process with production
settings (1.0 s coalescing, 1.0 s between writes per installation), except that each repository is its
own installation: the write pacing is per installation, so 200 repositories of one installation would
measure the pacing (minutes by design), not the bot. The fake GitHub runs in this process. With
``--postgres`` the journal is a fresh database on that server, and ``--replicas N`` runs N bots on it,
the deliveries sent to them in turn as a load balancer would.

Printed: sent, acknowledged, processed (journal entries done, from /healthz), effects in the fake (issues
whose body names their repository's latest commit), lost (acknowledged but never processed or without
effect), the bot's peak RSS (VmHWM), and the time until every issue was up to date.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time

import aiohttp
from harness import SECRET, BotProcess, journal_env, journal_name, machine, sha_of, start_fake

from bot.testing.deliveries import check_run_completed, signed_headers
from bot.testing.examples import EXAMPLES
from bot.testing.fake_github import FakeGitHub
from bot.testing.loopback import new_app_key

CONFIG = "trackers:\n  - issue: 1\n    gate: '>90%'\n"
FIRST_INSTALLATION = 1000
DEADLINE_SECONDS = 900


def seed(fake: FakeGitHub, repositories: int, commits: int, jobs: int) -> tuple[list[bytes], dict[str, str]]:
    """Every delivery's body, in sending order, and each repository's latest commit."""
    body = (EXAMPLES / "issue-2-status-update.md").read_text(encoding="utf-8")
    per_repository: list[list[bytes]] = []
    latest: dict[str, str] = {}
    for index in range(repositories):
        name = f"burst-org/service-{index:03d}"
        repository = fake.add_repository(name)
        fake.add_installation(FIRST_INSTALLATION + index, [name])
        fake.put_file(name, ".github/issue-status.yml", CONFIG)
        fake.add_issue(name, "Reach >90% test pass rate", body, number=1)
        deliveries = []
        for number in range(commits):
            sha = latest[name] = sha_of(f"{name}@{number}")
            for job in range(jobs):
                failed = (index + number + job) % 15
                run = fake.add_check_run(
                    name,
                    sha,
                    f"tests ({job})",
                    output={"title": "pytest", "summary": f"== {failed} failed, {200 - failed} passed =="},
                    head_branch="main",
                )
                payload = check_run_completed(
                    repository, run, installation_id=FIRST_INSTALLATION + index, head_branch="main"
                )
                deliveries.append(json.dumps(payload).encode())
        per_repository.append(deliveries)
    interleaved = [d for group in itertools.zip_longest(*per_repository) for d in group if d is not None]
    return interleaved, latest


async def send_all(urls: list[str], bodies: list[bytes], concurrency: int) -> tuple[int, int]:
    queue = iter(bodies)
    acknowledged = 0
    sent = 0

    async def sender(session: aiohttp.ClientSession, url: str) -> None:
        nonlocal acknowledged, sent
        for body in queue:
            headers = signed_headers(SECRET.encode(), "check_run", body)
            sent += 1
            async with session.post(url, data=body, headers=headers) as answer:
                await answer.read()
                acknowledged += answer.status == 202

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(sender(session, urls[n % len(urls)]) for n in range(concurrency)))
    return sent, acknowledged


def up_to_date(fake: FakeGitHub, latest: dict[str, str]) -> int:
    return sum(1 for name, sha in latest.items() if sha in str(fake.issue(name, 1)["body"]))


async def main(
    repositories: int, commits: int, jobs: int, concurrency: int, postgres: str | None, replicas: int
) -> None:
    async with journal_env(postgres) as journal_settings:
        await run(repositories, commits, jobs, concurrency, journal_settings, replicas)


async def run(
    repositories: int, commits: int, jobs: int, concurrency: int, journal: dict[str, str], replicas: int
) -> None:
    key = new_app_key()
    fake = await start_fake(key)
    bodies, latest = seed(fake, repositories, commits, jobs)
    print(machine())
    print(
        f"{len(bodies):,} deliveries: {repositories} repositories (one installation each) x {commits}"
        f" commits x {jobs} check runs; concurrency {concurrency};"
        f" {replicas} bot(s), journal in {journal_name(journal.get('DATABASE_URL'))}"
    )
    bots = [BotProcess(key, fake.url, journal) for _ in range(replicas)]
    await asyncio.gather(*(bot.start() for bot in bots))
    bot = bots[0]
    try:
        at_start = bot.peak_rss_mib()
        started = time.perf_counter()
        sent, acknowledged = await send_all([f"{b.url}/webhook" for b in bots], bodies, concurrency)
        sending = time.perf_counter() - started
        after_intake = bot.peak_rss_mib()
        print(
            f"sent {sent:,}, acknowledged {acknowledged:,} in {sending:.1f} s"
            f" ({acknowledged / sending:,.0f}/s)"
        )
        async with aiohttp.ClientSession() as session:
            while time.perf_counter() - started < DEADLINE_SECONDS:
                healths = [await b.health(session) for b in bots]
                counts = healths[0]["deliveries"]  # the journal's, as every replica sees it
                in_progress = sum(h["deliveries"]["in_progress"] for h in healths)  # each its own claims
                updated = up_to_date(fake, latest)
                if updated == len(latest) and counts["pending"] + in_progress == 0:
                    break
                await asyncio.sleep(0.5)
            elapsed = time.perf_counter() - started
        processed = counts["done"]
        print(f"processed {processed:,} (journal: {counts})")
        print(f"effects: {updated} of {len(latest)} issues show their repository's latest commit")
        print(f"lost: {acknowledged - processed + (len(latest) - updated)}")
        print(
            f"peak RSS of the (first) bot: {bot.peak_rss_mib():.0f} MiB (at start {at_start:.0f} MiB, after"
            f" the intake {after_intake:.0f} MiB); CPU time: "
            + ", ".join(f"{b.cpu_seconds():.1f} s" for b in bots)
        )
        print(f"every issue up to date after {elapsed:.1f} s")
        writes = len(fake.calls("PATCH", "/repos/"))
        print(
            f"GitHub requests: {len(fake.requests):,} in all, {writes:,} issue writes;"
            f" tokens minted: {sum(fake.tokens_minted.values())} for {len(fake.tokens_minted)} installations"
        )
    finally:
        await asyncio.gather(*(b.stop() for b in bots))
        await fake.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repositories", type=int, default=200)
    parser.add_argument("--commits", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="journal in PostgreSQL: a server URL, where the run gets a fresh database (default: SQLite)",
    )
    parser.add_argument("--replicas", type=int, default=1, help="bots sharing the journal (needs --postgres)")
    args = parser.parse_args()
    if args.replicas > 1 and not args.postgres:
        parser.error("--replicas needs --postgres: replicas share a PostgreSQL journal")
    asyncio.run(
        main(args.repositories, args.commits, args.jobs, args.concurrency, args.postgres, args.replicas)
    )
