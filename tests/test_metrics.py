"""Call counts: by operation and outcome, reported as JSON an operator can read."""

from __future__ import annotations

from bot.metrics import CallCounts, Outcome

ISSUE = "GET /repos/{owner}/{repo}/issues/{number}"
COMMENT = "POST /repos/{owner}/{repo}/issues/{number}/comments"


def test_outcomes_are_counted_per_operation_and_reported_sorted() -> None:
    counts = CallCounts()
    calls: list[tuple[str, Outcome]] = [
        (ISSUE, 200),
        (ISSUE, 304),
        (ISSUE, 304),
        (COMMENT, "timeout"),
        (COMMENT, 201),
    ]
    for operation, outcome in calls:
        counts.record(operation, outcome)
    assert (counts[(ISSUE, 304)], counts[(COMMENT, 502)], counts.total()) == (2, 0, 5)
    assert counts.as_json() == {ISSUE: {"200": 1, "304": 2}, COMMENT: {"201": 1, "timeout": 1}}
    assert list(counts.as_json()) == [ISSUE, COMMENT]
