"""One installation's pacing: concurrent calls capped, writes one at a time and spaced, pauses shared."""

from __future__ import annotations

import asyncio

import pytest

from bot.github.throttle import Clock, InstallationThrottle, PausedBeyondDeadline


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def clock(self) -> Clock:
        return Clock(monotonic=lambda: self.now, wall=lambda: self.now, sleep=self.sleep)


@pytest.fixture
def manual() -> ManualClock:
    return ManualClock()


async def test_each_write_waits_the_interval_after_the_previous_one_finished(manual: ManualClock) -> None:
    throttle = InstallationThrottle(write_interval=1.0, clock=manual.clock())
    async with throttle.slot("POST"):
        manual.now += 0.25  # the write itself took a quarter second
    async with throttle.slot("GET"):
        pass
    async with throttle.slot("PATCH"):
        pass
    async with throttle.slot("delete"):
        pass
    assert manual.slept == [1.0, 1.0]


async def test_writes_run_one_at_a_time_while_reads_share_the_cap() -> None:
    throttle = InstallationThrottle(max_in_flight=3, write_interval=0)
    inside: list[str] = []
    peak: dict[str, int] = {"GET": 0, "POST": 0}

    async def call(method: str) -> None:
        async with throttle.slot(method):
            inside.append(method)
            peak[method] = max(peak[method], inside.count(method))
            await asyncio.sleep(0.01)
            inside.remove(method)

    await asyncio.gather(*(call(m) for m in ["GET"] * 5 + ["POST"] * 3))
    assert peak == {"GET": 3, "POST": 1}


async def test_a_pause_holds_reads_and_writes_and_refuses_callers_who_cannot_wait(
    manual: ManualClock,
) -> None:
    throttle = InstallationThrottle(write_interval=0, clock=manual.clock())
    throttle.pause(42)
    with pytest.raises(PausedBeyondDeadline) as refused:
        async with throttle.slot("GET", deadline=30):
            pass
    assert refused.value.seconds == 42
    async with throttle.slot("GET", deadline=300):
        pass
    async with throttle.slot("POST"):
        pass
    assert manual.slept == [42.0]


def test_a_throttle_needs_room_for_one_call_and_a_non_negative_interval() -> None:
    with pytest.raises(ValueError, match="max_in_flight"):
        InstallationThrottle(max_in_flight=0)
    with pytest.raises(ValueError, match="write_interval"):
        InstallationThrottle(write_interval=-1)
