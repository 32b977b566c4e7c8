"""Milestones and escalations as data, each with a key that makes announcing it idempotent.

The key names the tracker, the commit and the condition. The caller hides it in the comment it posts
(``<!-- issue-status-bot:event KEY -->``) and posts nothing whose key is already there, so a crash
between posting and saving state, or a redelivered webhook, never produces the same comment twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

EventKind = Literal[
    "fix_done",  # milestone: a fix went to ✅
    "gate_met",  # milestone: the gate went from unmet to met
    "review_ready",  # milestone: every review condition holds; the hand-over (reviewers mentioned once)
    "gate_lost",  # milestone: the gate went from met to unmet
    "below_baseline",  # escalation: the pass rate fell below the baseline
    "tests_broken",  # escalation: a tests rule that held stopped holding
    "fix_overdue",  # escalation: a fix in progress longer than the overdue factor times its estimate
    "tests_dropped",  # escalation: fewer tests counted, or tests that failed are now skipped or gone
]
ESCALATIONS: frozenset[EventKind] = frozenset(
    {"below_baseline", "tests_broken", "fix_overdue", "tests_dropped"}
)
# Test ids an announcement names; the rest are counted ("and 12 more").
MAX_TESTS_NAMED = 10


@dataclass(frozen=True)
class Event:
    kind: EventKind
    key: str  # "<issue>/<commit>/<kind>[/<subject digest>]": letters, digits, '/', '_' and '-' only
    sha: str  # the commit it is about (for an overdue fix: the push that started it)
    subject: str | None = None  # the fix's name, or the tests rule's glob
    rate: float | None = None  # the pass rate of the run that caused it, when a run did
    at: datetime | None = None  # when a timer-based event was found to hold
    tests: tuple[str, ...] = ()  # the tests that caused it (at most MAX_TESTS_NAMED), when known
    tests_total: int = 0  # how many tests caused it in all

    @property
    def more_tests(self) -> int:
        return self.tests_total - len(self.tests)

    @property
    def is_escalation(self) -> bool:
        return self.kind in ESCALATIONS


def event_key(issue: int, sha: str, kind: EventKind, subject: str | None = None) -> str:
    """Stable across processes and versions; the subject is digested so no text can break a marker."""
    key = f"{issue}/{sha}/{kind}"
    if subject is not None:
        key += "/" + hashlib.sha256(subject.encode()).hexdigest()[:16]
    return key


def make_event(
    issue: int,
    sha: str,
    kind: EventKind,
    subject: str | None = None,
    *,
    rate: float | None = None,
    at: datetime | None = None,
    tests: Sequence[str] = (),
) -> Event:
    """The event; ``tests`` (all of them: the event keeps the first few and the count) caused it."""
    named = tuple(tests[:MAX_TESTS_NAMED])
    return Event(kind, event_key(issue, sha, kind, subject), sha, subject, rate, at, named, len(tests))
