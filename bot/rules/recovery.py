"""What the bot's own comments already said, for a tracker whose state was lost.

The rules announce changes from what their memory says. When the memory is gone (a new deployment whose
journal is empty, and a state in the issue that is damaged or missing), every condition that holds looks
new. The markers in the App's own comments tell where things stood when it last spoke: a milestone that
would only say that again is dropped. Escalations are not filtered: each names its commit, and saying
one again after the memory was lost is the lesser harm than missing a new one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.rules.events import Event

_EVENT_MARKER = re.compile(r"<!-- issue-status-bot:event ([A-Za-z0-9/_-]+) -->")


@dataclass(frozen=True)
class Said:
    """One announcement, read back from its hidden key."""

    sha: str
    kind: str
    subject: str | None  # the digest part of the key, for fixes, tests rules and manual hand-overs


def said_in(bodies: Iterable[str], issue: int) -> list[Said]:
    """The announcements about ``issue`` in the App's comments, oldest first."""
    found: list[Said] = []
    for body in bodies:
        for key in _EVENT_MARKER.findall(body):
            parts = key.split("/")
            if len(parts) in (3, 4) and parts[0] == str(issue):
                found.append(Said(parts[1], parts[2], parts[3] if len(parts) == 4 else None))
    return found


def not_yet_said(
    events: Sequence[Event], said: Sequence[Said], *, review_waits_for_gate: bool
) -> list[Event]:
    """``events`` less the milestones that would repeat where the comments say things stand."""
    gate = _gate_standing(said, review_waits_for_gate)
    kept: list[Event] = []
    for event in events:
        subject = event.key.split("/")[3] if event.key.count("/") == 3 else None
        if event.kind == "gate_met" and gate == "met":
            continue
        if event.kind == "gate_lost" and gate != "met":
            continue
        if event.kind == "fix_done" and any(s.kind == "fix_done" and s.subject == subject for s in said):
            continue
        if event.kind == "review_ready" and subject is None and _handed_over(said):
            continue
        kept.append(event)
    return kept


def _gate_standing(said: Sequence[Said], review_waits_for_gate: bool) -> str | None:
    """ "met" or "lost" by the latest announcement that tells; None when none does."""
    standing: str | None = None
    for item in said:
        if item.kind == "gate_met" or (
            item.kind == "review_ready" and item.subject is None and review_waits_for_gate
        ):
            standing = "met"
        elif item.kind == "gate_lost":
            standing = "lost"
    return standing


def _handed_over(said: Sequence[Said]) -> bool:
    """An automatic hand-over was announced, and no loss of its conditions since."""
    handed_over = False
    for item in said:
        if item.kind == "review_ready" and item.subject is None:
            handed_over = True
        elif item.kind in ("gate_lost", "tests_broken"):
            handed_over = False
    return handed_over
