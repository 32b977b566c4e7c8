"""What one final run's per-test results cost, piece by piece: reading the JUnit XML, comparing with the
previous run, the stored memory (decoded and encoded) and the summary for the state.

    .venv/bin/python bench/per_test_pieces.py [--tests 5000 20000]

Two runs of N tests in pytest's layout, one in 20 failing, the failing ones shifted by one between them.
Process time, best of 5 (the reading: one pass).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from bot.results.junit import parse_junit_xml
from bot.results.test_changes import compare, decode_memory, encode_memory, summarize


def junit(tests: int, shift: int) -> bytes:
    body = "".join(
        f'<testcase classname="tests.test_mod{i // 1000}" name="test_case_{i}" time="0.001">'
        + ("<failure message='boom'/>" if (i + shift) % 20 == 0 else "")
        + "</testcase>"
        for i in range(tests)
    )
    return f'<?xml version="1.0"?><testsuite name="pytest">{body}</testsuite>'.encode()


def best_ms(work: Callable[[], object], rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        started = time.process_time()
        work()
        times.append(time.process_time() - started)
    return min(times) * 1000


def row(tests: int) -> str:
    first, second = junit(tests, 0), junit(tests, 1)
    read = best_ms(lambda: parse_junit_xml(first), rounds=1)
    previous, now = parse_junit_xml(first).cases, parse_junit_xml(second).cases
    changes, memory = compare(None, "a" * 40, previous)
    stored = encode_memory(memory)
    compared = best_ms(lambda: compare(memory, "b" * 40, now))
    decoded, encoded = best_ms(lambda: decode_memory(stored)), best_ms(lambda: encode_memory(memory))
    summary = best_ms(lambda: summarize(changes))
    return (
        f"{tests:5d}  {read:11.1f}  {compared:10.1f}  {decoded:9.1f}  {encoded:9.1f}  {summary:10.2f}"
        f"  {len(stored) / 1000:9.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tests", type=int, nargs="+", default=[5000, 20000])
    args = parser.parse_args()
    print("tests  read XML ms  compare ms  decode ms  encode ms  summary ms  stored KB")
    for tests in args.tests:
        print(row(tests))


if __name__ == "__main__":
    main()
