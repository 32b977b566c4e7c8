"""Requests to GitHub per commit when K check runs of the commit complete (K = 1, 5, 20).

    .venv/bin/python bench/api_budget.py [--ci github-actions|third-party]

The bot's real server runs in this process (as in the tests) with production pacing: 1.0 s coalescing
and 1.0 s between writes per installation. One earlier commit is processed first so the caches are warm
(installation token, the configuration's ETag). Then, for each K, a new commit gets K completed check runs
whose output carries the runner's summary, and their K ``check_run.completed`` deliveries arrive close
together, as GitHub sends them. Requests are counted from both sides: the fake's record of what it
received, and the bot's own ``GitHubApp.calls``. The last commit crosses the gate, to show what the
hand-over (one comment, the review request) adds.

``--ci third-party``: the check runs come from a CI App other than GitHub Actions (no workflow runs).

Then the realistic mixes (GitHub Actions only): K jobs of one workflow run finish at random moments
over 0-2 s (seeded), each uploading a JUnit artifact, and their suite and their workflow run complete
just after the last job: K ``check_run``, one ``check_suite`` and one ``workflow_run`` delivery, all about
one commit. Counted: requests, issue-body writes and recomputations (listings of the commit's check runs).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import random
import re
import tempfile
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from harness import APP_ID, SECRET, machine, start_fake

from bot.intake.server import GITHUB, WORKERS, create_app
from bot.metrics import CallCounts
from bot.settings import Settings
from bot.testing.deliveries import (
    check_run_completed,
    check_suite_completed,
    deliver,
    workflow_run_completed,
)
from bot.testing.examples import EXAMPLES
from bot.testing.fake_github import FakeGitHub
from bot.testing.loopback import new_app_key, serving

REPO = "platform-wrapper/backend"
INSTALLATION_ID = 77
MIX_REPO = "platform-wrapper/mixed"
MIX_INSTALLATION_ID = 78
ISSUE = 2
CONFIG = """\
trackers:
  - issue: 2
    gate: ">90%"
    review:
      reviewers: [octocat]
"""
# GitHub sends a commit's completions as its jobs finish; a matrix's jobs finish within moments.
SPACING_SECONDS = 0.02
# The realistic mixes: jobs finish over this many seconds; the suite and the workflow run right after.
MIX_SPREAD_SECONDS = 2.0
MIX_CONFIG = CONFIG + "    results: {sources: [junit, logs]}\n"


def summary(failed: int, passed: int) -> str:
    return f"========== {failed} failed, {passed} passed, 7 skipped in 12.34s =========="


def snapshot(calls: CallCounts) -> Counter[str]:
    return Counter(
        {
            f"{op} -> {outcome}": n
            for op, outcomes in calls.as_json().items()
            for outcome, n in outcomes.items()
        }
    )


async def commit(
    fake: FakeGitHub,
    app: web.Application,
    session: aiohttp.ClientSession,
    url: str,
    repository: dict[str, Any],
    label: str,
    jobs: int,
    failed_per_job: int,
    app_slug: str,
) -> tuple[list[str], Counter[str]]:
    """K check runs complete on a new commit; returns what the fake received and what the bot counted."""
    sha = hashlib.sha1(label.encode()).hexdigest()
    runs = [
        fake.add_check_run(
            REPO,
            sha,
            f"tests ({index})",
            output={"title": "pytest", "summary": summary(failed_per_job, 100 - failed_per_job)},
            head_branch="main",
            app_slug=app_slug,
        )
        for index in range(jobs)
    ]
    seen = len(fake.requests)
    before = snapshot(app[GITHUB].calls)
    for run in runs:
        payload = check_run_completed(repository, run, installation_id=INSTALLATION_ID, head_branch="main")
        assert await deliver(session, url, SECRET.encode(), "check_run", payload) == 202
        await asyncio.sleep(SPACING_SECONDS)
    await app[WORKERS].drain()
    received = [f"{r.method} {r.operation_id or r.path} -> {r.status}" for r in fake.requests[seen:]]
    return received, snapshot(app[GITHUB].calls) - before


def junit_zip(passed: int, failed: int) -> bytes:
    cases = "".join(
        f'<testcase classname="tests.test_mod" name="test_{i}">'
        + ("<failure message='boom'/>" if i < failed else "")
        + "</testcase>"
        for i in range(passed + failed)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("junit.xml", f'<?xml version="1.0"?><testsuite name="pytest">{cases}</testsuite>')
    return buffer.getvalue()


async def mixed_commit(
    fake: FakeGitHub,
    app: web.Application,
    session: aiohttp.ClientSession,
    url: str,
    repository: dict[str, Any],
    label: str,
    jobs: int,
    seed: int,
) -> tuple[list[str], float]:
    """K jobs of a workflow run over 0-2 s, then its suite and the run; returns what the fake received
    and the spread of the deliveries (first to last, seconds)."""
    sha = hashlib.sha1(label.encode()).hexdigest()
    fake.add_commit(MIX_REPO, sha, branch="main")
    run = fake.add_workflow_run(MIX_REPO, sha, head_branch="main")
    checks = []
    for index in range(jobs):
        check = fake.add_check_run(
            MIX_REPO, sha, f"tests ({index})", head_branch="main", check_suite_id=run["check_suite_id"]
        )
        fake.add_job_log(MIX_REPO, check["id"], b"build\n")
        fake.add_artifact(MIX_REPO, run["id"], f"test-results-{index}", junit_zip(70, 30))
        checks.append(check)
    rng = random.Random(seed)
    moments = sorted(rng.uniform(0, MIX_SPREAD_SECONDS) for _ in checks)
    schedule: list[tuple[float, str, dict[str, Any]]] = [
        (
            at,
            "check_run",
            check_run_completed(repository, c, installation_id=MIX_INSTALLATION_ID, head_branch="main"),
        )
        for at, c in zip(moments, checks, strict=True)
    ]
    suite = check_suite_completed(
        repository, sha=sha, head_branch="main", installation_id=MIX_INSTALLATION_ID
    )
    schedule.append((moments[-1] + 0.01, "check_suite", suite))
    schedule.append(
        (
            moments[-1] + 0.02,
            "workflow_run",
            workflow_run_completed(repository, run, installation_id=MIX_INSTALLATION_ID),
        )
    )
    seen = len(fake.requests)
    started = asyncio.get_running_loop().time()
    for at, event, payload in schedule:
        await asyncio.sleep(max(0.0, started + at - asyncio.get_running_loop().time()))
        assert await deliver(session, url, SECRET.encode(), event, payload) == 202
    await app[WORKERS].drain()
    received = [f"{r.method} {r.operation_id or r.path} -> {r.status}" for r in fake.requests[seen:]]
    return received, schedule[-1][0] - schedule[0][0]


async def mixes(fake: FakeGitHub, app: web.Application, session: aiohttp.ClientSession, url: str) -> None:
    repository = fake.add_repository(MIX_REPO, default_branch="main")
    fake.add_installation(MIX_INSTALLATION_ID, [MIX_REPO])
    fake.put_file(MIX_REPO, ".github/issue-status.yml", MIX_CONFIG)
    body = (EXAMPLES / "issue-2-status-update.md").read_text(encoding="utf-8")
    fake.add_issue(MIX_REPO, "Reach >90% test pass rate", body, user="zoe", number=ISSUE)
    print(
        f"\nRealistic mixes: K jobs over 0-{MIX_SPREAD_SECONDS:.0f} s with JUnit artifacts, then their suite"
        " and their workflow run"
    )
    await mixed_commit(fake, app, session, url, repository, "mix warm-up", 1, 0)
    for jobs in (1, 5, 20):
        received, spread = await mixed_commit(
            fake, app, session, url, repository, f"mix K={jobs}", jobs, jobs
        )
        writes = sum(1 for r in received if r.startswith("PATCH issues/update"))
        sha = hashlib.sha1(f"mix K={jobs}".encode()).hexdigest()
        listings = sum(1 for r in fake.requests if r.method == "GET" and r.path.endswith(f"{sha}/check-runs"))
        print(
            f"\nK={jobs:<2} + suite + workflow run ({jobs + 2} deliveries over {spread:.2f} s):"
            f" {len(received)} requests, {writes} issue-body write(s), {listings} recomputation(s)"
        )
        # Downloads from the blob store (one per artifact and per job log) are counted together.
        grouped = Counter(re.sub(r"^GET /blobs/.*/(artifacts|jobs)/.*", r"GET blob: \1", r) for r in received)
        for line, count in sorted(grouped.items()):
            print(f"    {count:>3}  {line}")


async def main(app_slug: str) -> None:
    key = new_app_key()
    fake = await start_fake(key)
    repository = fake.add_repository(REPO, default_branch="main")
    fake.add_installation(INSTALLATION_ID, [REPO])
    fake.add_collaborator(REPO, "octocat", "write")
    fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    body = (EXAMPLES / "issue-2-status-update.md").read_text(encoding="utf-8")
    fake.add_issue(REPO, "Reach >90% test pass rate", body, user="zoe", number=ISSUE)
    settings = Settings(
        app_id=APP_ID,
        private_key_pem=key.private_pem,
        webhook_secret=SECRET.encode(),
        api_url=fake.url,
        reconcile_seconds=0,
        state_dir=Path(tempfile.mkdtemp(prefix="api-budget-")),  # no state left by an earlier run
    )
    print(machine())
    print(
        f"coalescing {settings.coalesce_seconds} s, write interval {settings.github_write_interval} s,"
        f" check runs from {app_slug!r}, deliveries {SPACING_SECONDS * 1000:.0f} ms apart"
    )
    app = create_app(settings)
    async with serving(app) as url, aiohttp.ClientSession() as session:
        await commit(fake, app, session, url, repository, "warm-up", 1, 30, app_slug)
        print("(warm-up commit processed: token minted, configuration cached)")
        scenarios = [(1, 30, "below gate"), (5, 30, "below gate"), (20, 30, "below gate")]
        scenarios.append((20, 2, "gate newly met"))
        for jobs, failed, note in scenarios:
            comments = len(fake.comments(REPO, ISSUE))
            received, counted = await commit(
                fake, app, session, url, repository, f"K={jobs} {note}", jobs, failed, app_slug
            )
            writes = sum(1 for r in received if r.startswith("PATCH issues/update"))
            print(
                f"\nK={jobs:<2} ({note}): {len(received)} requests in all, {writes} issue-body write(s),"
                f" {len(fake.comments(REPO, ISSUE)) - comments} comment(s)"
            )
            for line, count in sorted(Counter(received).items()):
                print(f"    {count:>3}  {line}")
            if sum(counted.values()) != len(received):
                print(f"    the bot counted {sum(counted.values())}: {dict(counted)}")
        if app_slug == "github-actions":
            await mixes(fake, app, session, url)
    print(f"\ninstallation tokens minted, per installation: {fake.tokens_minted}")
    print(f"bot's GitHubApp.calls over the whole run: {app[GITHUB].calls.as_json()}")
    await fake.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ci", choices=("github-actions", "third-party"), default="github-actions")
    args = parser.parse_args()
    asyncio.run(main("github-actions" if args.ci == "github-actions" else "circleci-checks"))
