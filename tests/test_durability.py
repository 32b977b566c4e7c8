"""Nothing lost, nothing doubled: redeliveries, bursts, faults, races with humans, and kill -9."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.github.retry import RetryPolicy
from bot.intake.server import GITHUB, JOURNAL, WORKERS
from bot.journal import JOURNAL_FILENAME
from bot.testing.deliveries import check_run_completed, deliver, issue_edited
from bot.testing.fake_github import FakeGitHub
from bot.tracking.body import BLOCK_BEGIN, human_text
from bot.tracking.state import StateCodec
from tests.conftest import DEFAULT_CONFIG, STATE_KEY, WEBHOOK_SECRET
from tests.harness import INSTALLATION_ID, ISSUE, REPO, BotHarness, sha_of, summary
from tests.server_process import ServerProcess

GATE_TICKED = "- [x] >90% test pass rate achieved"


async def test_the_same_delivery_sent_five_times_takes_effect_once(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(13, 214)})
    for _ in range(4):
        assert await bot.redeliver() == 202
    assert len(bot.fake.calls("PATCH")) == 1
    assert len(bot.comments) == 2  # where the numbers come from, and the hand-over: each once
    counts = await bot.app[JOURNAL].counts()
    assert (counts["done"], counts["pending"]) == (1, 0)


async def test_fifty_deliveries_for_one_commit_sent_at_once_become_one_recomputation(bot: BotHarness) -> None:
    bot.app[WORKERS].coalesce_seconds = 0.3  # as in production: let the burst arrive
    sha = sha_of("burst")
    runs = [
        bot.fake.add_check_run(
            REPO, sha, f"tests ({i})", output={"summary": summary(0, 5, 0)}, head_branch="main"
        )
        for i in range(50)
    ]
    payloads = [
        check_run_completed(bot.repository, r, installation_id=INSTALLATION_ID, head_branch="main")
        for r in runs
    ]
    statuses = await asyncio.gather(
        *(deliver(bot.session, bot.url, bot.secret, "check_run", p) for p in payloads)
    )
    await bot.app[WORKERS].drain()
    assert statuses == [202] * 50
    assert len(bot.fake.calls("GET", f"/repos/{REPO}/commits/{sha}/check-runs")) == 1
    assert len(bot.fake.calls("PATCH")) == 1
    assert len(bot.comments) == 2  # where the numbers come from, and the hand-over: each once
    assert "**Pass rate: 100.0%** (250 passed, 0 failed, 0 skipped)" in bot.body
    assert (await bot.app[JOURNAL].counts())["done"] == 50


FAULTS = {
    "500s": lambda fake: fake.fail_next(3, 500),
    "502s": lambda fake: fake.fail_next(2, 502, message="Bad Gateway"),
    "timeout": lambda fake: fake.hang_next(1, 2.0),
    "403 Retry-After": lambda fake: fake.secondary_rate_limit_next(1, retry_after=1),
    "429": lambda fake: fake.secondary_rate_limit_next(1, retry_after=1, status=429),
    "primary rate limit": lambda fake: fake.rate_limit_next(1, reset_at=int(fake.clock.now()) + 1),
    "expired token": lambda fake: fake.expire_tokens(),
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
async def test_github_faults_end_in_the_same_issue_as_a_fault_free_run(
    bot: BotHarness, canonical_body: str, fault: Any
) -> None:
    bot.app[GITHUB].policy = RetryPolicy(base_delay=0.05, max_delay=0.2, attempt_timeout=0.5, budget=20)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    fault(bot.fake)
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    assert human_text(bot.body) == "\n" + canonical_body.replace("- [ ] >90%", "- [x] >90%")
    assert "**Pass rate: 94.3%** (214 passed, 13 failed, 7 skipped)" in bot.body
    assert len(bot.comments) == 2  # where the numbers come from, and the hand-over: each once
    assert bot.fake.issue(REPO, ISSUE)["assignees"][0]["login"] == "octocat"
    assert bot.failed_deliveries == 0


async def test_a_delivery_that_exhausts_githubs_patience_is_retried_later(bot: BotHarness) -> None:
    bot.app[GITHUB].policy = RetryPolicy(base_delay=0.01, max_delay=0.01, attempt_timeout=0.5, budget=0.2)
    bot.fake.fail_next(50, 503)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    assert bot.failed_deliveries == 1
    assert (await bot.app[JOURNAL].counts())["failed"] == 1
    bot.fake.faults.clear()
    deadline = time.monotonic() + 15
    while (await bot.app[JOURNAL].counts())["done"] < 1 and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)  # the retry is due after the journal's backoff
    assert (await bot.app[JOURNAL].counts())["done"] == 1
    assert "**Pass rate: 63.0%**" in bot.body


async def test_a_human_edit_between_the_bots_read_and_write_survives(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    edited = bot.body + "\n\nZoe: JWT fix merged, database config next.\n"

    def human_edits() -> None:
        bot.fake.edit_issue_body(REPO, ISSUE, edited)

    # The human saves right after the bot read the issue and before it writes.
    bot.fake.after_next("GET", f"/repos/{REPO}/issues/{ISSUE}", human_edits)
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    written = bot.fake.issue(REPO, ISSUE)
    assert "Zoe: JWT fix merged" not in written["body"]  # GitHub has no conditional update: it was lost...

    # ...until GitHub reports the bot's own write, with the body it replaced.
    payload = issue_edited(
        bot.repository,
        written,
        previous_body=edited,
        sender="issue-status-bot[bot]",
        sender_type="Bot",
        installation_id=INSTALLATION_ID,
    )
    assert await bot.send("issues", payload) == 202
    body = bot.body
    assert "Zoe: JWT fix merged, database config next." in body
    assert "**Pass rate: 94.3%**" in body and GATE_TICKED in body
    assert body.count(BLOCK_BEGIN) == 1

    # The restoring write reports itself too; it replaced only what it had read, so nothing more happens.
    patches = len(bot.fake.calls("PATCH"))
    restored = bot.fake.issue(REPO, ISSUE)
    again = issue_edited(
        bot.repository,
        restored,
        previous_body=written["body"],
        sender="issue-status-bot[bot]",
        sender_type="Bot",
        installation_id=INSTALLATION_ID,
    )
    await bot.send("issues", again)
    assert len(bot.fake.calls("PATCH")) == patches


async def test_a_humans_own_edit_event_changes_nothing(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    before = bot.body
    issue = bot.fake.edit_issue_body(REPO, ISSUE, before + "\nmore notes\n")
    payload = issue_edited(
        bot.repository, issue, previous_body=before, sender="zoe", installation_id=INSTALLATION_ID
    )
    await bot.send("issues", payload)
    assert len(bot.fake.calls("PATCH")) == 1


# --- kill -9 -----------------------------------------------------------------------------------------


async def acknowledged_by(
    session: aiohttp.ClientSession, server_url: str, delivery_id: str, payload: dict[str, Any]
) -> bool:
    """Deliver to a server that may die mid-request, as GitHub does: True once it answered 202."""
    try:
        status = await deliver(
            session, f"{server_url}/webhook", WEBHOOK_SECRET, "check_run", payload, delivery_id=delivery_id
        )
    except aiohttp.ClientError:
        return False  # it died mid-request: not acknowledged, GitHub would show a failure
    return status == 202


def unfinished(journal: Path) -> int:
    """Deliveries a killed server left pending in its journal file (its claims died with it)."""
    with contextlib.closing(sqlite3.connect(journal)) as connection:
        return int(
            connection.execute("SELECT count(*) FROM deliveries WHERE status = 'pending'").fetchone()[0]
        )


def tracked_story(
    github: FakeGitHub, canonical_body: str, tag: str, commits: int
) -> list[tuple[str, dict[str, Any]]]:
    """The tracked issue's repository, and a delivery id and payload per commit ``sha_of(f"{tag}{n}")``."""
    repository = github.add_repository(REPO)
    github.add_installation(INSTALLATION_ID, [REPO])
    github.add_collaborator(REPO, "octocat", "write")
    github.put_file(REPO, ".github/issue-status.yml", DEFAULT_CONFIG)
    github.add_issue(REPO, "Reach >90% test pass rate", canonical_body, number=ISSUE)
    deliveries: list[tuple[str, dict[str, Any]]] = []
    for n in range(commits):
        failed = max(84 - 3 * n, 5)  # the pass rate climbs and crosses the gate once, at n = 21
        run = github.add_check_run(
            REPO,
            sha_of(f"{tag}{n}"),
            "tests",
            output={"summary": summary(failed, 227 - failed)},
            head_branch="main",
        )
        payload = check_run_completed(repository, run, installation_id=INSTALLATION_ID, head_branch="main")
        deliveries.append((str(uuid.uuid4()), payload))
    return deliveries


@pytest.mark.parametrize("intake_processes", [0, 2], ids=["one process", "two intake processes"])
async def test_kill_9_during_intake_and_work_loses_and_doubles_nothing(
    github: FakeGitHub, private_key_pem: bytes, canonical_body: str, tmp_path: Path, intake_processes: int
) -> None:
    commits = 40
    deliveries = tracked_story(github, canonical_body, "k", commits)

    server = ServerProcess(github, private_key_pem, tmp_path / "state", intake_processes=intake_processes)
    acknowledged: set[str] = set()

    async def send(session: aiohttp.ClientSession, delivery_id: str, payload: dict[str, Any]) -> None:
        if await acknowledged_by(session, server.url, delivery_id, payload):
            acknowledged.add(delivery_id)

    try:
        async with aiohttp.ClientSession() as session:
            await server.start(session)
            gate = asyncio.Semaphore(4)  # GitHub's deliveries overlap; a few at a time

            async def paced(delivery_id: str, payload: dict[str, Any]) -> None:
                async with gate:
                    await send(session, delivery_id, payload)

            sending = [asyncio.create_task(paced(d, p)) for d, p in deliveries]
            while len(acknowledged) < 12:  # noqa: ASYNC110 (waiting on another process's answers)
                await asyncio.sleep(0.001)
            await server.kill()  # mid-intake and mid-work
            at_kill = unfinished(tmp_path / "state" / JOURNAL_FILENAME)
            await asyncio.gather(*sending)
            killed_at = len(acknowledged)
            lost = [(d, p) for d, p in deliveries if d not in acknowledged]

            await server.start(session)
            for delivery_id, payload in lost:  # GitHub shows these as failed: they are redelivered
                await send(session, delivery_id, payload)
            for delivery_id, payload in deliveries[:5]:  # and some acknowledged ones arrive again
                await send(session, delivery_id, payload)
            health = await server.settled(session)
    finally:
        await server.stop()

    body = github.issue(REPO, ISSUE)["body"]
    state = StateCodec(STATE_KEY).decode(body, f"{REPO}#{ISSUE}")
    assert state is not None
    recorded = [run.sha for run in state.runs]
    assert killed_at < commits and len(acknowledged) == commits
    assert sorted(recorded) == sorted(sha_of(f"k{n}") for n in range(commits))  # each commit once
    assert state.runs[-1].sha == sha_of(f"k{commits - 1}")
    gate_comments = [c for c in github.comments(REPO, ISSUE) if "/review_ready -->" in c["body"]]
    assert len(gate_comments) == 1
    assert len(github.calls("POST", f"/repos/{REPO}/issues/{ISSUE}/assignees")) == 1
    assert health["deliveries"]["done"] == commits
    assert health["deliveries"]["dead"] == health["deliveries"]["failed"] == 0
    print(
        json.dumps(
            {
                "deliveries": commits,
                "sent": commits + len(lost) + 5,
                "acknowledged_before_kill": killed_at,
                "unfinished_at_kill": at_kill,
                "refused_by_the_kill": len(lost),
                "effects": len(recorded),
                "gate_comments": len(gate_comments),
                "duplicates": len(recorded) - len(set(recorded)),
            }
        )
    )


async def test_done_deliveries_are_forgotten_after_githubs_redelivery_window(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    journal = bot.app[JOURNAL]
    assert (await journal.counts())["done"] == 1
    workers = bot.app[WORKERS]
    monkeypatch.setattr(workers, "_clock", lambda: time.time() + 73 * 3600)  # three days and an hour on
    monkeypatch.setattr(workers, "_pruned_at", -float("inf"))
    await workers.drain()
    assert (await journal.counts())["done"] == 0
