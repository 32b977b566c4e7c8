"""History thinning in O(n log n) drops exactly the runs the one-at-a-time definition drops.

The definition (drop, one at a time, the run whose gap between its neighbours is smallest relative to its
age; ties drop the older run) is kept here as a plain quadratic scan, and compared with the heap-based
``thin_history`` over generated time lines: ties, equal timestamps and long histories included.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.tracking.thinning import thin_history


def thinned_by_definition(places: Sequence[float], keep: int) -> list[int]:
    """The indices of the runs kept."""
    kept = list(range(len(places)))
    while len(kept) > keep:
        latest = places[kept[-1]]
        drop = min(
            range(1, len(kept) - 1),
            key=lambda i: (places[kept[i + 1]] - places[kept[i - 1]]) / (latest - places[kept[i + 1]] + 1),
        )
        del kept[drop]
    return kept


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.integers(0, 5), min_size=0, max_size=120), st.integers(2, 130))
def test_the_heap_drops_what_the_definition_drops(gaps: list[int], keep: int) -> None:
    places: list[float] = []
    for gap in gaps:  # small gaps: many equal scores and equal timestamps, where ties decide
        places.append((places[-1] if places else 0.0) + gap)
    thinned = thin_history(list(range(len(places))), keep, position=lambda index: places[index])
    assert thinned == thinned_by_definition(places, keep)


def test_a_long_history_thins_as_the_definition_says() -> None:
    places = sorted(float(i * i % 97 + i * 10) for i in range(2_000))
    assert thin_history(list(range(2_000)), 100, position=lambda i: places[i]) == thinned_by_definition(
        places, 100
    )


def test_ten_thousand_runs_thin_in_well_under_a_second() -> None:
    """The scan took about 100 s here (n² scores per dropped run); the heap takes tens of milliseconds."""
    started = time.process_time()
    assert len(thin_history(list(range(10_000)), 100)) == 100
    assert time.process_time() - started < 2.0
