"""Counts an operator reads in /healthz: every exchange with GitHub, by operation and outcome.

An operation is the method and the REST path template (``GET /repos/{owner}/{repo}/issues/{number}``),
so the numbers say which calls spend the rate limit; the outcome is the HTTP status (304s cost no rate
limit) or ``"timeout"`` / ``"connection error"`` when no answer came.
"""

from __future__ import annotations

from collections import Counter

Outcome = int | str


class CallCounts:
    """How many attempts each operation made, by outcome; retries count once per attempt."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, Outcome]] = Counter()

    def record(self, operation: str, outcome: Outcome) -> None:
        self._counts[(operation, outcome)] += 1

    def __getitem__(self, key: tuple[str, Outcome]) -> int:
        return self._counts[key]

    def total(self) -> int:
        return sum(self._counts.values())

    def as_json(self) -> dict[str, dict[str, int]]:
        """``{operation: {outcome: count}}``, sorted so the output is stable."""
        report: dict[str, dict[str, int]] = {}
        for (operation, outcome), count in sorted(self._counts.items(), key=lambda kv: str(kv[0])):
            report.setdefault(operation, {})[str(outcome)] = count
        return report
