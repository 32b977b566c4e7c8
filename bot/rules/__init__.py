"""Checklist rules, fixes and review conditions: binding them to an issue body and judging them.

Pure: no I/O. The tracker calls :func:`evaluate` after each commit's CI (and on a human's edit or a
timer), :func:`start_fixes` on each push to the tracked branch, :func:`check_overdue` on a timer, and
:func:`apply` to turn an evaluation's ticks and marks into the new body; it announces each
:class:`Event` once, by its key, and keeps :class:`RulesMemory` in its signed state.
"""

from bot.rules.binding import Bindings, FixBinding, ReviewBinding, RuleBinding, bind
from bot.rules.engine import (
    Evaluation,
    Evidence,
    FixResult,
    Judgement,
    MarkChange,
    ReviewResult,
    RuleResult,
    Tick,
    Verdict,
    apply,
    check_overdue,
    evaluate,
    judge_tests,
    start_fixes,
    touches,
)
from bot.rules.events import ESCALATIONS, Event, EventKind, event_key
from bot.rules.headings import MARKS, Heading, Phase, find_heading, headings, set_mark
from bot.rules.progress import FixProgress, RulesMemory

__all__ = [
    "ESCALATIONS",
    "MARKS",
    "Bindings",
    "Evaluation",
    "Event",
    "EventKind",
    "Evidence",
    "FixBinding",
    "FixProgress",
    "FixResult",
    "Heading",
    "Judgement",
    "MarkChange",
    "Phase",
    "ReviewBinding",
    "ReviewResult",
    "RuleBinding",
    "RuleResult",
    "RulesMemory",
    "Tick",
    "Verdict",
    "apply",
    "bind",
    "check_overdue",
    "evaluate",
    "event_key",
    "find_heading",
    "headings",
    "judge_tests",
    "set_mark",
    "start_fixes",
    "touches",
]
