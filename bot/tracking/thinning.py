"""Keeping the tracking issue under GitHub's body limit by showing less history, never less human text.

GitHub refuses an issue body over 65,536 characters. The status block's history table and chart grow with
every run, so when the body would not fit, older runs are shown sparser: the first run (the baseline)
always, the latest runs densely, and the further back the fewer.
"""

from __future__ import annotations

import heapq
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def thin_history(runs: Sequence[T], keep: int, *, position: Callable[[T], float] | None = None) -> list[T]:
    """At most ``keep`` of ``runs`` (oldest first): the first, the latest densely, older ones sparser.

    Runs are dropped one at a time, each time the one whose gap (between its neighbours) is smallest
    relative to its age, so in the end the gaps grow in proportion to age. ``position`` places a run on
    the time line (an ordinal or a timestamp; by default its index in ``runs``) and must not decrease.

    Dropping one run at a time is what makes this stable: a history within ``keep`` is returned as it
    is, and a thinned history plus one new run loses exactly one run. Pass ``position`` when thinning a
    history that was thinned before, since indices no longer say how far apart its runs were.
    ``keep == 1`` keeps only the latest run: the current result matters more than the baseline.
    """
    if keep < 1:
        raise ValueError(f"a history keeps at least one run, not {keep}")
    if keep == 1 and runs:
        return [runs[-1]]
    if len(runs) <= keep:
        return list(runs)
    places = [float(index) for index in range(len(runs))] if position is None else list(map(position, runs))
    latest = places[-1]
    # The runs still kept, as a doubly linked list over indices into ``runs``; a heap holds each
    # candidate's score with the index as tie-break (ties drop the older run), and an entry whose score
    # has changed since it was pushed is skipped: O(n log n) where the scan was O(n²) (1,000 runs: 60 ms).
    previous = list(range(-1, len(runs) - 1))
    following = list(range(1, len(runs) + 1))
    alive = [True] * len(runs)

    def score(index: int) -> float:
        return (places[following[index]] - places[previous[index]]) / (latest - places[following[index]] + 1)

    # The first run (the baseline) and the latest are never candidates.
    scores = {index: score(index) for index in range(1, len(runs) - 1)}
    heap = [(value, index) for index, value in scores.items()]
    heapq.heapify(heap)
    for _ in range(len(runs) - keep):
        while True:
            value, drop = heapq.heappop(heap)
            if alive[drop] and scores[drop] == value:
                break
        alive[drop] = False
        before, after = previous[drop], following[drop]
        following[before], previous[after] = after, before
        for neighbour in (before, after):
            if 0 < neighbour < len(runs) - 1:
                scores[neighbour] = score(neighbour)
                heapq.heappush(heap, (scores[neighbour], neighbour))
    return [run for run, kept in zip(runs, alive, strict=True) if kept]


async def fit_block(
    render: Callable[[int], Awaitable[str]], budget: int, total: int, *, measure: Callable[[str], int] = len
) -> tuple[str, int]:
    """The rendering with the most history, out of ``total`` runs, whose ``measure`` fits ``budget``.

    ``render(n)`` renders the block showing ``n`` runs and must not get shorter as ``n`` grows, so a binary
    search finds the largest fitting ``n`` in about log2(total) renderings, none of them twice (a
    repository's template renders in a child process: each rendering is a round trip). When not even one
    run fits, the one-run rendering is returned all the same: the caller decides whether to post it (and
    say the human text leaves no room) or not.
    """
    if total < 1:
        raise ValueError(f"a block shows at least one run, so total >= 1, not {total}")
    fitting: tuple[str, int] | None = None
    low, high = 1, total
    while low <= high:
        shown = (low + high) // 2
        text = await render(shown)
        if measure(text) <= budget:
            fitting, low = (text, shown), shown + 1
        else:
            high = shown - 1
    # When nothing fit, the last rendering tried was the one-run rendering.
    return fitting if fitting is not None else (text, 1)
