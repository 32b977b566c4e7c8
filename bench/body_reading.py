"""Cost per call of reading and editing a tracking issue's body, for the canonical issue and a 60 KiB body.

    .venv/bin/python bench/body_reading.py

"first read" gives every call a body the process has not read yet (the Markdown parse is paid); "same
body" calls again with one it has (the parse is cached per body, as an update reads the same body
several times). ``replace_block`` writes a 5 KiB block into a body already read, with new content every
call, as the tracker's renders do. Median of repeated runs, in µs per call.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from harness import machine

from bot.testing.examples import EXAMPLES
from bot.tracking.body import replace_block, set_checklist_item, split_body

CANONICAL = (EXAMPLES / "issue-2-status-update.md").read_text(encoding="utf-8")
LARGE = (CANONICAL + "\n") * 12  # 64,284 characters, under GitHub's 65,536
GATE = ">90% test pass rate achieved"
STATUS = "### 📊 Test status\n\n" + "\n".join(
    f"| `{run:07x}` | 2025-08-12T10:00:00Z | 143 | 84 | 0 | 7 | 63.0% |" for run in range(80)
)


def per_call(calls: int, call: Callable[[int], object]) -> float:
    """Median over five rounds of the µs one call takes; ``call`` gets a number unique across rounds."""
    rounds = []
    for round_number in range(5):
        started = time.perf_counter()
        for n in range(calls):
            call(round_number * calls + n)
        rounds.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(rounds)


def main() -> None:
    print(machine())
    print(f"{'body':<22} {'call':<20} {'first read':>12} {'same body':>11}")
    for name, body in (("canonical (5,356 ch)", CANONICAL), ("60 KiB (64,284 ch)", LARGE)):
        calls = 10 if len(body) > 10_000 else 50
        calls_of: dict[str, Callable[[str], object]] = {
            "split_body": split_body,
            "set_checklist_item": lambda text: set_checklist_item(text, GATE, True),
        }
        for label, call in calls_of.items():
            # A trailing space per call makes a body the reading cache has never seen.
            first = per_call(calls, lambda n: call(body + " " * (n + 1)))  # noqa: B023 (called at once)
            same = per_call(calls, lambda n: call(body))  # noqa: B023
            print(f"{name:<22} {label:<20} {first:>9,.0f} µs {same:>8,.0f} µs")
        human = replace_block(body, "")
        written = per_call(calls, lambda n: replace_block(human, f"{STATUS}\n<!-- {n} -->"))  # noqa: B023
        block = f"({len(STATUS) // 1024} KiB block)"
        print(f"{name:<22} {'replace_block':<20} {'':>12} {written:>8,.0f} µs  {block}")


if __name__ == "__main__":
    main()
