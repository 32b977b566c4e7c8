"""GitHub's limits are per installation, not per process: replicas pace writes and cap calls together."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest

from bot.github.throttle import InstallationThrottle, PausedBeyondDeadline, SharedPacing
from bot.journal import PostgresJournal, SQLiteJournal

INSTALLATION_ID = 77
RENEW_EVERY = 0.1


@pytest.fixture
async def two_replicas(database_url: str) -> AsyncIterator[list[PostgresJournal]]:
    journals = [await PostgresJournal.open(database_url, renew_every=RENEW_EVERY) for _ in range(2)]
    await asyncio.sleep(2 * RENEW_EVERY)  # each has seen the other alive
    yield journals
    await asyncio.gather(*(journal.close() for journal in journals))


async def test_writes_of_one_installation_are_spaced_across_replicas(
    two_replicas: list[PostgresJournal],
) -> None:
    throttles = [
        InstallationThrottle(write_interval=0.2, installation_id=INSTALLATION_ID, shared=journal)
        for journal in two_replicas
    ]
    started: list[float] = []

    async def write(throttle: InstallationThrottle) -> None:
        async with throttle.slot("PATCH"):
            started.append(time.monotonic())

    await asyncio.gather(*(write(throttle) for throttle in throttles for _ in range(3)))
    started.sort()
    gaps = [later - earlier for earlier, later in itertools.pairwise(started)]
    # Each start is taken at 0.2 s steps; waking up may be a little late on a busy machine.
    assert len(gaps) == 5 and min(gaps) >= 0.15 and sum(gaps) >= 0.95


async def test_another_installations_writes_are_not_held_back(two_replicas: list[PostgresJournal]) -> None:
    first = InstallationThrottle(write_interval=5, installation_id=1, shared=two_replicas[0])
    second = InstallationThrottle(write_interval=5, installation_id=2, shared=two_replicas[1])
    async with asyncio.timeout(1):
        for throttle in (first, second):
            async with throttle.slot("POST"):
                pass


async def test_the_cap_on_calls_in_flight_is_split_among_live_replicas(
    two_replicas: list[PostgresJournal],
) -> None:
    throttles = [
        InstallationThrottle(max_in_flight=4, installation_id=INSTALLATION_ID, shared=journal)
        for journal in two_replicas
    ]
    inside = 0
    peak = 0

    async def read(throttle: InstallationThrottle) -> None:
        nonlocal inside, peak
        async with throttle.slot("GET"):
            inside += 1
            peak = max(peak, inside)
            await asyncio.sleep(0.02)
            inside -= 1

    await asyncio.gather(*(read(throttle) for throttle in throttles for _ in range(10)))
    assert peak == 4  # 2 each, not 4 each


async def test_a_replica_alone_takes_the_whole_cap_once_the_other_is_gone(database_url: str) -> None:
    alone = await PostgresJournal.open(database_url, renew_every=RENEW_EVERY)
    other = await PostgresJournal.open(database_url, renew_every=RENEW_EVERY)
    try:
        await asyncio.sleep(2 * RENEW_EVERY)
        assert alone.in_flight_share(8) == 4
        await other.close()
        await asyncio.sleep(2 * RENEW_EVERY)
        assert alone.in_flight_share(8) == 8
    finally:
        await alone.close()


def test_only_a_shared_journal_paces_replicas_together() -> None:
    assert issubclass(PostgresJournal, SharedPacing)
    assert not issubclass(SQLiteJournal, SharedPacing)


async def test_a_command_reading_the_journal_takes_no_share_of_the_cap(database_url: str) -> None:
    server = await PostgresJournal.open(database_url, renew_every=RENEW_EVERY)
    command = await PostgresJournal.open(database_url, replica=False)  # as ``deliveries list`` opens it
    try:
        await asyncio.sleep(2 * RENEW_EVERY)
        assert server.in_flight_share(8) == 8
    finally:
        await asyncio.gather(server.close(), command.close())


async def test_a_rate_limit_pause_met_by_one_replica_holds_the_others_calls(
    two_replicas: list[PostgresJournal],
) -> None:
    limited, other = (
        InstallationThrottle(installation_id=INSTALLATION_ID, shared=journal) for journal in two_replicas
    )
    elsewhere = InstallationThrottle(installation_id=INSTALLATION_ID + 1, shared=two_replicas[1])
    limited.pause(0.5)  # GitHub answered 403 with Retry-After to the first replica
    await asyncio.sleep(0.1)  # the word reaches the other replica
    started = time.monotonic()
    async with elsewhere.slot("GET"):  # another installation's calls go on
        assert time.monotonic() - started < 0.1
    async with other.slot("GET"):
        assert time.monotonic() - started >= 0.3
    limited.pause(5)
    await asyncio.sleep(0.1)
    with pytest.raises(PausedBeyondDeadline):  # a caller who cannot wait that long is told at once
        async with other.slot("GET", deadline=time.monotonic() + 1):
            pass
