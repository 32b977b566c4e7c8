"""The budget of unverified bytes: first come, first served, and a request that gives up leaves no trace."""

from __future__ import annotations

import asyncio

import pytest

from bot.intake.byte_budget import ByteBudget, NoRoom


async def test_waiting_requests_are_admitted_in_arrival_order_and_never_beyond_capacity() -> None:
    budget = ByteBudget(10, max_waiting=10)
    admitted: list[str] = []
    release = asyncio.Event()

    async def request(name: str, size: int) -> None:
        async with budget.hold(size, wait=5):
            admitted.append(name)
            assert budget.held <= budget.capacity
            await release.wait()

    first = asyncio.create_task(request("first, 8", 8))
    await asyncio.sleep(0)
    waiters = [asyncio.create_task(request(name, size)) for name, size in (("large, 6", 6), ("small, 1", 1))]
    await asyncio.sleep(0)
    # The small one would fit beside the first, but does not overtake the large one waiting before it.
    assert (admitted, budget.waiting) == (["first, 8"], 2)
    release.set()
    await asyncio.gather(first, *waiters)
    assert admitted == ["first, 8", "large, 6", "small, 1"]
    assert (budget.held, budget.peak, budget.waiting) == (0, 8, 0)


async def test_a_wait_given_up_leaves_its_place_and_its_bytes() -> None:
    budget = ByteBudget(10, max_waiting=1)
    async with budget.hold(10, wait=5):
        with pytest.raises(NoRoom):
            async with budget.hold(4, wait=0.01):
                pass
        assert budget.waiting == 0
        waiting = asyncio.create_task(budget.hold(4, wait=5).__aenter__())
        await asyncio.sleep(0)
        with pytest.raises(NoRoom):  # the line of one is full
            async with budget.hold(4, wait=5):
                pass
    # Admitted as the holder left, then cancelled before it could run: the bytes go back.
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert (budget.held, budget.waiting) == (0, 0)
