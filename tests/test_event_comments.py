"""Every milestone and escalation renders to a comment that names what happened and carries its key."""

from __future__ import annotations

import pytest

from bot.config import TrackerConfig
from bot.results.counts import TestCounts
from bot.rules.events import EventKind, make_event
from bot.tracking.render import render
from bot.tracking.state import RunRecord, TrackerState
from bot.tracking.status import assess

SHA = "9" * 40


@pytest.mark.parametrize(
    ("kind", "subject", "says"),
    [
        ("fix_done", "JWT Token Fix", "Fix completed: `JWT Token Fix`"),
        ("gate_met", None, "Quality gate met: 94.3%"),
        ("gate_lost", None, "Quality gate lost"),
        ("below_baseline", None, "Escalation: the pass rate fell below the baseline"),
        ("tests_broken", "*security*", "Escalation: tests matching `*security*` fail"),
        ("fix_overdue", "Database Configuration", "Escalation: the fix `Database Configuration` is overdue"),
    ],
)
def test_each_event_kind_renders_its_comment(kind: EventKind, subject: str | None, says: str) -> None:
    tracker = TrackerConfig(issue=2, baseline=0.95)
    run = RunRecord(SHA, TestCounts(passed=214, failed=13, skipped=7), "2025-08-14T16:02:11Z")
    _, report = assess(TrackerState(), run, tracker)
    event = make_event(2, SHA, kind, subject, rate=report.rate)
    marker = f"<!-- issue-status-bot:event {event.key} -->"
    comment = render(
        "event_comment.md.j2", event=event, report=report, commit_url="https://x/c", marker=marker
    )
    assert says in comment
    assert comment.rstrip().endswith(marker)


def test_a_hostile_subject_cannot_mention_or_forge() -> None:
    tracker = TrackerConfig(issue=2)
    run = RunRecord(SHA, TestCounts(passed=1), "2025-08-14T16:02:11Z")
    _, report = assess(TrackerState(), run, tracker)
    event = make_event(2, SHA, "fix_done", "@octocat <!-- issue-status-bot:end -->")
    comment = render("event_comment.md.j2", event=event, report=report, commit_url="https://x/c", marker="")
    assert "`@octocat <!\u200b-- issue-status-bot:end --\u200b>`" in comment
