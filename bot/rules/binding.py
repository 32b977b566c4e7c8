"""Which checklist line each rule writes or reads, and which heading each fix marks, in one issue body.

Binding is recomputed from the body every time: humans may reword, move or delete lines, and a rule
whose line is gone simply binds to nothing (``check-config --issue-body`` shows it before that happens).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.config import Condition, FixConfig, RuleConfig, TickedCondition, TrackerConfig
from bot.rules.headings import Heading, find_heading
from bot.rules.progress import FixProgress, RulesMemory
from bot.tracking.body import ChecklistItem, find_checklist_item


@dataclass(frozen=True)
class RuleBinding:
    rule: RuleConfig
    item: ChecklistItem | None  # None: no checklist line of the body matches the rule's line


@dataclass(frozen=True)
class FixBinding:
    fix: FixConfig
    heading: Heading | None  # None: no heading names the fix
    item: ChecklistItem | None  # the fix's checklist line; None when it has none or it is not found

    @property
    def unbound_parts(self) -> tuple[str, ...]:
        missing = () if self.heading is not None else ("heading",)
        return missing + (("line",) if self.fix.line is not None and self.item is None else ())


@dataclass(frozen=True)
class ReviewBinding:
    condition: Condition
    item: ChecklistItem | None  # the line a ``manual`` condition reads; None for other conditions


@dataclass(frozen=True)
class Bindings:
    rules: tuple[RuleBinding, ...]
    fixes: tuple[FixBinding, ...]
    review: tuple[ReviewBinding, ...]

    def manual(self) -> tuple[tuple[TickedCondition, ChecklistItem | None], ...]:
        """Each line a human ticks (manual rules and manual review conditions) with its item, once."""
        found: dict[str, tuple[TickedCondition, ChecklistItem | None]] = {}
        for rule in self.rules:
            if isinstance(rule.rule.condition, TickedCondition):
                found.setdefault(rule.rule.condition.key, (rule.rule.condition, rule.item))
        for review in self.review:
            if isinstance(review.condition, TickedCondition):
                found.setdefault(review.condition.key, (review.condition, review.item))
        return tuple(found.values())

    def unbound(self) -> tuple[str, ...]:
        """What binds to nothing, one phrase each: ``rule 'X'``, ``fix 'Y' (heading)``, ``review 'Z'``."""
        found = [f"rule {rule.rule.line!r}" for rule in self.rules if rule.item is None]
        for fix in self.fixes:
            if fix.unbound_parts:
                found.append(f"fix {fix.fix.name!r} ({' and '.join(fix.unbound_parts)})")
        found += [
            f"review condition {review.condition}"
            for review in self.review
            if isinstance(review.condition, TickedCondition) and review.item is None
        ]
        return tuple(found)


def bind(body: str, tracker: TrackerConfig) -> Bindings:
    """The tracker's rules (the gate's ``checklist_line`` included), fixes and review lines in ``body``."""
    rules = tuple(RuleBinding(rule, find_checklist_item(body, rule.line)) for rule in tracker.checklist_rules)
    fixes = tuple(
        FixBinding(
            fix,
            find_heading(body, fix.name),
            find_checklist_item(body, fix.line) if fix.line is not None else None,
        )
        for fix in tracker.fixes
    )
    review = tuple(
        ReviewBinding(
            condition,
            find_checklist_item(body, condition.line) if isinstance(condition, TickedCondition) else None,
        )
        for condition in tracker.review.when
    )
    return Bindings(rules, fixes, review)


def seeded(memory: RulesMemory, bindings: Bindings) -> RulesMemory:
    """``memory`` with a progress for every fix; one never observed takes its heading's mark; and, the first
    time, the manual lines ticked as the body has them.

    So a fresh or rebuilt state does not reset a fix that humans (or an earlier state) marked ✅.
    """
    if memory.manual_ticked is None:
        ticked = frozenset(condition.key for condition, item in bindings.manual() if item and item.checked)
        memory = replace(memory, manual_ticked=ticked)
    for binding in bindings.fixes:
        if memory.progress_of(binding.fix.name) is not None:
            continue
        phase = binding.heading.phase if binding.heading is not None else None
        memory = memory.with_progress(FixProgress(binding.fix.name, phase=phase or "not started"))
    return memory
