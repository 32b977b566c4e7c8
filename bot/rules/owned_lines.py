"""The tick of every checklist line bound to a rule belongs to the bot and to people with write access.

Anyone who can edit an issue may change its text, but a ``manual`` line is a human's verdict that can
complete the hand-over, so a tick (or an untick) by someone without write access must not count. The bot
puts such an edit's ticks back as they were before it, and keeps the rest of the edit.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import TickedCondition, TrackerConfig
from bot.rules.binding import bind, seeded
from bot.rules.engine import Tick
from bot.rules.progress import RulesMemory
from bot.tracking.body import find_checklist_item, human_text


@dataclass(frozen=True)
class HumanEdit:
    """One edit of a tracking issue's body, as its ``issues.edited`` event tells it."""

    by: str  # the sender's login
    may_steer: bool  # the sender has write access
    before: str  # the body the edit replaced
    after: str  # the body the edit made (the issue may have changed again since)


def owned_lines(tracker: TrackerConfig) -> tuple[str, ...]:
    """Every checklist line bound to a rule: rules (manual or not), fixes, manual review conditions."""
    lines = [rule.line for rule in tracker.checklist_rules]
    lines += [fix.line for fix in tracker.fixes if fix.line is not None]
    lines += [c.line for c in tracker.review.when if isinstance(c, TickedCondition)]
    return tuple(dict.fromkeys(lines))


def trust_edit(tracker: TrackerConfig, memory: RulesMemory, before: str, after: str) -> RulesMemory:
    """A writer's edit (``before`` → ``after``): each manual line whose box it changed stands as it left it.

    Read from the edit itself, not the issue as it is now: the bot may have put a box back before this
    edit's event arrived.
    """
    was = bind(human_text(before), tracker)
    memory = seeded(memory, was)
    earlier = {condition.key: item for condition, item in was.manual()}
    for condition, item in bind(human_text(after), tracker).manual():
        previous = earlier.get(condition.key)
        if item is not None and (previous is None or previous.checked != item.checked):
            memory = memory.with_manual_tick(condition.key, item.checked)
    return memory


def undo_ticks(tracker: TrackerConfig, before: str, edited: str, current: str) -> tuple[Tick, ...]:
    """The ticks that undo what one edit (``before`` → ``edited``) did to the owned lines' boxes.

    A box that changed again since (``current`` differs from ``edited``) was changed by a later edit,
    which answers for itself. A line the edit added comes back unticked.
    """
    ticks = []
    texts = tuple(human_text(body) for body in (before, edited, current))  # the block is the bot's own
    for line in owned_lines(tracker):
        was, made, now = (find_checklist_item(text, line) for text in texts)
        if made is None or now is None or now.checked != made.checked:
            continue
        wanted = was.checked if was is not None else False
        if made.checked != wanted:
            ticks.append(Tick(line, wanted))
    return tuple(ticks)
