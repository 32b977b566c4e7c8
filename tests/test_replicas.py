"""Several replicas on one PostgreSQL journal: work shared, never doubled, taken over when one dies."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.healing.catch_up import CatchUp
from bot.intake.server import APP_API, TRACKERS
from bot.journal import JournalEntry, PostgresJournal
from bot.ops.cli import main
from bot.testing.fake_github import FakeGitHub
from bot.tracking.state import StateCodec
from tests.conftest import APP_ID, STATE_KEY, WEBHOOK_SECRET
from tests.harness import ISSUE, REPO, BotHarness, sha_of
from tests.server_process import ServerProcess
from tests.test_durability import acknowledged_by, tracked_story
from tests.test_journal import T0, Clock
from tests.test_reconcile import ci_finished

PAYLOAD = b'{"action": "completed"}'
EVENT_MARKER = re.compile(r"<!-- issue-status-bot:event (\S+) -->")


@pytest.fixture
async def replicas(database_url: str) -> AsyncIterator[tuple[PostgresJournal, PostgresJournal, Clock]]:
    clock = Clock()
    first = await PostgresJournal.open(database_url, clock=clock, lease_seconds=10, renew_every=3600)
    second = await PostgresJournal.open(database_url, clock=clock, lease_seconds=10, renew_every=3600)
    yield first, second, clock
    await asyncio.gather(first.close(), second.close())


def ids(entries: list[JournalEntry]) -> list[str]:
    return [entry.delivery_id for entry in entries]


async def test_a_delivery_recorded_by_one_replica_is_a_duplicate_at_the_other(
    replicas: tuple[PostgresJournal, PostgresJournal, Clock],
) -> None:
    first, second, _ = replicas
    assert await first.record("d-1", "check_run", "completed", PAYLOAD, "A") is True
    assert await second.record("d-1", "check_run", "completed", PAYLOAD, "A") is False


async def test_a_repository_claimed_by_one_replica_is_skipped_whole_by_the_other(
    replicas: tuple[PostgresJournal, PostgresJournal, Clock],
) -> None:
    first, second, _ = replicas
    for delivery_id, key in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("b2", "B")]:
        await first.record(delivery_id, "check_run", "completed", PAYLOAD, key)
    assert ids(await first.claim(100, T0, per_key=1, keys=1)) == ["a1"]
    assert ids(await second.claim(100, T0, per_key=20)) == ["b1", "b2"]  # not a2: A is worked on
    assert await first.claim(100, T0, per_key=20) == []
    await first.complete("a1")
    assert ids(await second.claim(100, T0, per_key=20)) == ["a2"]  # in order, by whichever is free


async def test_replicas_claiming_at_once_never_take_the_same_entry_nor_split_a_repository(
    replicas: tuple[PostgresJournal, PostgresJournal, Clock],
) -> None:
    first, second, _ = replicas
    for n in range(60):
        await first.record(f"d-{n}", "check_run", "completed", PAYLOAD, f"repo-{n % 6}")
    claimed: list[JournalEntry] = []  # in the order the claims were made
    for _ in range(100):  # until the backlog is worked off: each round both claim at the same moment
        if len(claimed) >= 60:
            break
        one, two = await asyncio.gather(
            first.claim(5, T0, per_key=3, keys=2), second.claim(5, T0, per_key=3, keys=2)
        )
        assert not {entry.key for entry in one} & {entry.key for entry in two}
        claimed += one + two
        await asyncio.gather(*(first.complete(e.delivery_id) for e in one + two))
    assert sorted(ids(claimed)) == sorted(f"d-{n}" for n in range(60))  # each exactly once
    for key in {entry.key for entry in claimed}:  # each repository's entries in arrival order
        order = [int(entry.delivery_id[2:]) for entry in claimed if entry.key == key]
        assert order == sorted(order)


async def test_a_dead_replicas_claims_are_taken_over_once_its_lease_runs_out(
    replicas: tuple[PostgresJournal, PostgresJournal, Clock],
) -> None:
    dead, alive, clock = replicas  # neither renews within the test: as if ``dead`` stopped mid-work
    await dead.record("a1", "check_run", "completed", PAYLOAD, "A")
    await dead.record("a2", "check_run", "completed", PAYLOAD, "A")
    assert ids(await dead.claim(10, T0, per_key=20)) == ["a1", "a2"]
    clock.now = T0 + 9.9
    assert await alive.claim(10, clock.now, per_key=20) == []
    clock.now = T0 + 10.1
    assert ids(await alive.claim(10, clock.now, per_key=20)) == ["a1", "a2"]
    assert (await alive.counts())["in_progress"] == 2


async def test_periodic_work_is_led_by_one_replica_until_its_lease_lapses(
    replicas: tuple[PostgresJournal, PostgresJournal, Clock],
) -> None:
    first, second, clock = replicas
    assert await first.lead("catch-up", 60) is True
    assert await second.lead("catch-up", 60) is False
    clock.now = T0 + 30
    assert await first.lead("catch-up", 60) is True  # the leader renews
    clock.now = T0 + 89
    assert await second.lead("catch-up", 60) is False
    clock.now = T0 + 91
    assert await second.lead("catch-up", 60) is True  # the first stopped renewing: taken over
    assert await first.lead("catch-up", 60) is False


async def test_a_replica_hears_of_deliveries_and_settlements_at_another_at_once(
    replicas: tuple[PostgresJournal, PostgresJournal, Clock],
) -> None:
    first, second, _ = replicas
    heard: asyncio.Queue[str] = asyncio.Queue()
    second.subscribe(lambda key: heard.put_nowait(f"arrived {key}"), lambda: heard.put_nowait("settled"))
    await first.record("a1", "check_run", "completed", PAYLOAD, "octo/repo")
    async with asyncio.timeout(2):
        assert await heard.get() == "arrived octo/repo"
    await first.complete("a1")
    async with asyncio.timeout(2):
        assert await heard.get() == "settled"


# --- catching up and reconciling, once -------------------------------------------------------------


async def test_catch_up_on_two_replicas_asks_github_for_a_failed_delivery_once(
    bot: BotHarness, database_url: str
) -> None:
    failed = bot.fake.add_hook_delivery("check_run", "completed", status_code=502)
    journals = [await PostgresJournal.open(database_url) for _ in range(2)]
    schedules = [
        CatchUp(bot.app[APP_API], bot.app[TRACKERS], journal, interval=0.05, startup_delay=0)
        for journal in journals
    ]
    try:
        for schedule in schedules:
            schedule.start()
        await asyncio.sleep(0.5)  # ten rounds each
    finally:
        await asyncio.gather(*(schedule.stop() for schedule in schedules))
        await asyncio.gather(*(journal.close() for journal in journals))
    assert bot.fake.redeliveries == [failed["id"]]  # each replica alone would have asked once


async def test_the_reconcile_command_keeps_its_state_in_the_shared_journal(
    bot: BotHarness,
    database_url: str,
    private_key_pem: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {
        "GITHUB_APP_ID": str(APP_ID),
        "GITHUB_PRIVATE_KEY": private_key_pem.decode(),
        "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET.decode(),
        "GITHUB_API_URL": bot.fake.url,
        "GITHUB_WRITE_INTERVAL": "0",
        "BOT_STATE_DIR": str(tmp_path / "cli-state"),
        "DATABASE_URL": database_url,
    }.items():
        monkeypatch.setenv(name, value)
    sha = ci_finished(bot, failed=84, passed=143)

    # The command runs its own event loop; the fake keeps serving on this one meanwhile.
    assert await asyncio.to_thread(main, ["reconcile", "--repo", REPO]) == 0

    assert f"/commit/{sha}" in bot.body
    assert capsys.readouterr().out == "reconciled 1 repositories: 1 trackers recomputed, 0 failed\n"
    journal = await PostgresJournal.open(database_url)
    try:
        assert await journal.tracker_state(f"{REPO}#{ISSUE}") is not None
    finally:
        await journal.close()
    assert not (tmp_path / "cli-state").exists()  # no SQLite journal beside it


# --- two real servers, one killed --------------------------------------------------------------------


async def test_two_serve_processes_share_a_story_and_one_killed_mid_work_doubles_nothing(
    github: FakeGitHub, private_key_pem: bytes, canonical_body: str, tmp_path: Path, database_url: str
) -> None:
    commits = 40
    deliveries = tracked_story(github, canonical_body, "r", commits)

    servers = [ServerProcess(github, private_key_pem, tmp_path / f"state-{n}") for n in range(2)]
    for server in servers:
        # Writes take a while, as GitHub's pacing makes them, so that the kill lands mid-work.
        server.env.update(
            DATABASE_URL=database_url, BOT_CLAIM_LEASE_SECONDS="2", GITHUB_WRITE_INTERVAL="0.05"
        )
    victim, survivor = servers  # until the kill picks the replica that holds claimed work
    acknowledged: dict[str, str] = {}  # delivery id -> the replica that acknowledged it

    async def send(
        session: aiohttp.ClientSession, server: ServerProcess, delivery_id: str, payload: Any
    ) -> None:
        if await acknowledged_by(session, server.url, delivery_id, payload):
            acknowledged.setdefault(delivery_id, server.url)

    try:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(server.start(session) for server in servers))
            gate = asyncio.Semaphore(2)
            killed = False

            async def paced(n: int, delivery_id: str, payload: Any) -> None:
                async with gate:
                    # Alternately, as a balancer does, until it sees the victim dead.
                    await send(session, survivor if killed else servers[n % 2], delivery_id, payload)
                    await asyncio.sleep(0.03)  # a story told over a second or two, so the kill lands in it

            sending = [asyncio.create_task(paced(n, d, p)) for n, (d, p) in enumerate(deliveries)]
            claimed_at_kill = 0
            async with asyncio.timeout(30):  # until a replica holds claimed work, a few deliveries in
                while len(acknowledged) < 6 or claimed_at_kill == 0:
                    for server in servers:
                        async with session.get(f"{server.url}/healthz") as answer:
                            claimed_at_kill = (await answer.json())["deliveries"]["in_progress"]
                        if claimed_at_kill:
                            victim, survivor = server, next(other for other in servers if other is not server)
                            break
            await victim.kill()  # holding claimed work, with deliveries in flight to it
            killed = True
            await asyncio.gather(*sending)
            killed_at = len(acknowledged)
            lost = [(d, p) for d, p in deliveries if d not in acknowledged]
            for delivery_id, payload in lost:  # GitHub shows these as failed: redelivered, to the survivor
                await send(session, survivor, delivery_id, payload)
            for delivery_id, payload in deliveries[:5]:  # and some acknowledged ones arrive again
                await send(session, survivor, delivery_id, payload)
            health = await survivor.settled(session)
    finally:
        await asyncio.gather(*(server.stop() for server in servers))

    body = github.issue(REPO, ISSUE)["body"]
    state = StateCodec(STATE_KEY).decode(body, f"{REPO}#{ISSUE}")
    assert state is not None
    recorded = [run.sha for run in state.runs]
    assert claimed_at_kill > 0 and len(acknowledged) == commits
    assert len(set(acknowledged.values())) == 2  # both replicas took deliveries
    assert sorted(recorded) == sorted(sha_of(f"r{n}") for n in range(commits))  # each commit once
    # Deliveries lost with the victim arrive again after later ones, so the story may turn more than once
    # (gate met, lost, met): what must never happen is one event taking effect twice.
    events = [m for c in github.comments(REPO, ISSUE) for m in EVENT_MARKER.findall(c["body"])]
    assert len(events) == len(set(events))
    gate_comments = [event for event in events if event.endswith("/review_ready")]
    assert len(gate_comments) >= 1
    assert len(github.calls("POST", f"/repos/{REPO}/issues/{ISSUE}/assignees")) <= len(gate_comments)
    assert health["deliveries"]["done"] == commits
    assert health["deliveries"]["dead"] == health["deliveries"]["failed"] == 0
    print(
        json.dumps(
            {
                "deliveries": commits,
                "acknowledged_before_kill": killed_at,
                "claimed_by_the_killed_replica": claimed_at_kill,
                "refused_by_the_kill": len(lost),
                "effects": len(recorded),
                "event_comments": len(events),
                "gate_comments": len(gate_comments),
            }
        )
    )
