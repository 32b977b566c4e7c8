"""Judging a tracker's rules, fixes and review conditions, and the edits and comments that follow.

Everything here is a pure function of the issue body, the recorded runs, the latest commit's per-test
outcomes, the rules' memory and the time. The result is data: checklist ticks, heading marks, events and
the memory to keep. A manual line holds as people with write access left it (the memory says how); a box
anyone else changed is put back. A verdict that cannot be known (no per-test results, CI still running)
leaves its line as it is and says why.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from bot.config import (
    Condition,
    FixConfig,
    FixesDoneCondition,
    GateCondition,
    GreenRunsCondition,
    TestsCondition,
    TickedCondition,
    TrackerConfig,
    format_percent,
)
from bot.results.junit import TestCaseResult
from bot.results.test_changes import TestChanges
from bot.rules.binding import Bindings, FixBinding, ReviewBinding, RuleBinding, bind, seeded
from bot.rules.events import Event, make_event
from bot.rules.headings import MARKS, Phase, find_heading, set_mark
from bot.rules.progress import FixProgress, RulesMemory
from bot.tracking.body import find_checklist_item, set_checklist_item
from bot.tracking.state import RunRecord, completed_instant

Verdict = Literal["holds", "does not hold", "unknown"]
MAX_FAILING_SHOWN = 3  # test ids named in a reason; the rest are counted


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str  # one sentence for the status block, e.g. "3 of 40 tests matching '*security*' fail"

    @property
    def holds(self) -> bool:
        return self.verdict == "holds"


@dataclass(frozen=True)
class Evidence:
    """What the rules are judged on."""

    runs: Sequence[RunRecord]  # the tracker's history, oldest first; the commit just judged is last
    cases: Sequence[TestCaseResult] | None  # that commit's per-test outcomes; None when it has none
    baseline: float | None  # the configured baseline, else the tracker's first recorded rate
    now: datetime  # timezone-aware
    changes: TestChanges | None = None  # that commit's per-test changes since the previous final run
    baseline_tests: int | None = None  # the tests the baseline run counted (for a ``min_tests`` gate)


@dataclass(frozen=True)
class RuleResult:
    binding: RuleBinding
    judgement: Judgement


@dataclass(frozen=True)
class FixResult:
    binding: FixBinding
    progress: FixProgress  # after this evaluation


@dataclass(frozen=True)
class ReviewResult:
    binding: ReviewBinding
    judgement: Judgement


@dataclass(frozen=True)
class Tick:
    """Set the checklist line ``line`` (matched as the config wrote it) to ``checked``."""

    line: str
    checked: bool


@dataclass(frozen=True)
class MarkChange:
    """Show ``phase`` in the mark of the heading of the fix ``fix``."""

    fix: str
    phase: Phase


@dataclass(frozen=True)
class Evaluation:
    rules: tuple[RuleResult, ...]
    fixes: tuple[FixResult, ...]
    review: tuple[ReviewResult, ...]
    ticks: tuple[Tick, ...]
    marks: tuple[MarkChange, ...]
    events: tuple[Event, ...]  # milestones and escalations, to be announced once each (see Event.key)
    memory: RulesMemory  # to be saved in the tracker's state once the effects are applied

    @property
    def review_ready(self) -> bool:
        return all(result.judgement.holds for result in self.review)

    def unbound(self) -> tuple[str, ...]:
        return Bindings(
            tuple(r.binding for r in self.rules),
            tuple(f.binding for f in self.fixes),
            tuple(r.binding for r in self.review),
        ).unbound()


# --- Fixes -----------------------------------------------------------------------------------------


def touches(patterns: Iterable[str], paths: Iterable[str]) -> bool:
    """Whether any changed path matches any of a fix's paths or globs (case-sensitive, like git)."""
    patterns = tuple(patterns)
    return any(fnmatch.fnmatchcase(path, pattern) for path in paths for pattern in patterns)


def start_fixes(
    tracker: TrackerConfig,
    body: str,
    memory: RulesMemory,
    changed_paths: Iterable[str],
    *,
    sha: str,
    at: datetime,
    rate: float | None,
) -> tuple[RulesMemory, tuple[MarkChange, ...]]:
    """A push to the tracked branch: fixes not started whose files it changed are now in progress.

    ``rate`` is the pass rate of the last finished run before the push, what a fix without tests has
    to improve on. Returns the new memory and the heading marks to change (⏳ → 🔄).
    """
    paths = tuple(changed_paths)
    memory = seeded(memory, bind(body, tracker))
    marks = []
    for fix in tracker.fixes:
        progress = memory.progress_of(fix.name)
        if progress is None or progress.phase != "not started" or not touches(fix.files, paths):
            continue
        started = replace(progress, phase="in progress", started_at=at, started_by=sha, reference_rate=rate)
        memory = memory.with_progress(started)
        marks.append(MarkChange(fix.name, "in progress"))
    return memory, tuple(marks)


def check_overdue(
    tracker: TrackerConfig, memory: RulesMemory, now: datetime
) -> tuple[RulesMemory, tuple[Event, ...]]:
    """Fixes in progress for longer than ``escalation.overdue`` times their estimate, each reported once.

    Called on every evaluation and on a timer; a fix whose start was not observed (read from its
    heading's mark) has no start time and is never overdue.
    """
    events = []
    for fix in tracker.fixes:
        progress = memory.progress_of(fix.name)
        if (
            fix.estimate is None
            or progress is None
            or progress.phase != "in progress"
            or progress.started_at is None
            or progress.started_by is None
            or progress.overdue_reported
        ):
            continue
        if now - progress.started_at > fix.estimate * tracker.escalation.overdue:
            events.append(make_event(tracker.issue, progress.started_by, "fix_overdue", fix.name, at=now))
            memory = memory.with_progress(replace(progress, overdue_reported=True))
    return memory, tuple(events)


# --- Judging conditions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Judge:
    tracker: TrackerConfig
    body: str
    evidence: Evidence
    memory: RulesMemory

    @property
    def latest(self) -> RunRecord | None:
        return self.evidence.runs[-1] if self.evidence.runs else None

    @property
    def finished(self) -> list[RunRecord]:
        return [run for run in self.evidence.runs if not run.provisional]

    def rate(self, run: RunRecord) -> float | None:
        return self.tracker.rate_of(run.counts)

    def __call__(self, condition: Condition) -> Judgement:
        if isinstance(condition, GateCondition):
            return self.gate()
        if isinstance(condition, GreenRunsCondition):
            return self.green_runs(condition.count)
        if isinstance(condition, TestsCondition):
            return self.tests(condition)
        if isinstance(condition, TickedCondition):
            return self.ticked(condition)
        return self.fixes_done()

    def gate_holds(self, run: RunRecord) -> bool:
        return self.tracker.gate_holds(run.counts, self.evidence.baseline_tests)

    def gate(self) -> Judgement:
        if not self.finished:
            return Judgement("unknown", "no finished run yet")
        run = self.finished[-1]
        rate, gate = self.rate(run), self.tracker.gate
        shown = "no tests ran" if rate is None else format_percent(round(rate, 4))
        if self.gate_holds(run):
            return Judgement("holds", f"{shown} meets {gate} at {run.sha[:7]}")
        missing = self.tracker.missing_tests(run.counts, self.evidence.baseline_tests)
        if gate.is_met(rate) and missing:
            counted = self.tracker.counted_tests(run.counts)
            return Judgement(
                "does not hold",
                f"{shown} meets {gate} at {run.sha[:7]}, but only {counted} tests are counted: "
                f"{missing} fewer than the gate requires",
            )
        return Judgement("does not hold", f"{shown} does not meet {gate} at {run.sha[:7]}")

    def green_runs(self, count: int) -> Judgement:
        last = self.finished[-count:]
        if len(last) < count:
            return Judgement("does not hold", f"{len(last)} of {count} finished runs so far")
        missed = sum(1 for run in last if not self.gate_holds(run))
        if missed:
            return Judgement("does not hold", f"{missed} of the last {count} finished runs missed the gate")
        return Judgement("holds", f"the last {count} finished runs met {self.tracker.gate}")

    def tests(self, condition: TestsCondition) -> Judgement:
        latest = self.latest
        if latest is None:
            return Judgement("unknown", "no run yet")
        if latest.provisional:
            return Judgement("unknown", f"CI of {latest.sha[:7]} is still running")
        if self.evidence.cases is None:
            remembered = self._remembered(condition.key, latest.sha)
            if remembered is not None:
                return remembered
            return Judgement("unknown", f"commit {latest.sha[:7]} has no per-test results (JUnit XML)")
        return judge_tests(condition.glob, self.evidence.cases)

    def _remembered(self, key: str, sha: str) -> Judgement | None:
        # A re-evaluation of the same commit (a human's tick, the timer) has no cases at hand.
        if self.memory.cases_sha != sha:
            return None
        as_of = f"as of {sha[:7]}'s per-test results"
        if key in self.memory.held:
            return Judgement("holds", as_of)
        if key in self.memory.failed:
            return Judgement("does not hold", as_of)
        return None

    def ticked(self, condition: TickedCondition) -> Judgement:
        if find_checklist_item(self.body, condition.line) is None:
            return Judgement("unknown", "the line is not in the issue")
        if condition.key in (self.memory.manual_ticked or ()):
            return Judgement("holds", "ticked")
        return Judgement("does not hold", "not ticked yet")

    def fixes_done(self) -> Judgement:
        done = sum(1 for fix in self.tracker.fixes if self._phase(fix) == "done")
        total = len(self.tracker.fixes)
        return Judgement("holds" if done == total else "does not hold", f"{done} of {total} fixes done")

    def _phase(self, fix: FixConfig) -> Phase:
        progress = self.memory.progress_of(fix.name)
        return progress.phase if progress is not None else "not started"


def judge_tests(glob: str, cases: Sequence[TestCaseResult]) -> Judgement:
    """Every test whose id matches ``glob`` (case-insensitively) passes; skipped ones do not count.

    No matching test at all does not hold: a suite that vanished must not read as "preserved".
    """
    matching = _matching(glob, cases)
    failing = [case.test_id for case in matching if case.outcome in ("failed", "error")]
    passed = sum(1 for case in matching if case.outcome == "passed")
    what = f"tests matching {glob!r}"
    if failing:
        named = ", ".join(failing[:MAX_FAILING_SHOWN])
        more = f" and {len(failing) - MAX_FAILING_SHOWN} more" if len(failing) > MAX_FAILING_SHOWN else ""
        return Judgement("does not hold", f"{len(failing)} of {len(matching)} {what} fail: {named}{more}")
    if not passed:
        reason = f"no test matches {glob!r}" if not matching else f"all {len(matching)} {what} were skipped"
        return Judgement("does not hold", reason)
    skipped = len(matching) - passed
    return Judgement("holds", f"{passed} {what} pass" + (f", {skipped} skipped" if skipped else ""))


def _matching(glob: str, cases: Sequence[TestCaseResult]) -> list[TestCaseResult]:
    """The cases whose test id matches ``glob``, case-insensitively (as ``tests`` conditions match)."""
    pattern = glob.casefold()
    return [case for case in cases if fnmatch.fnmatchcase(case.test_id.casefold(), pattern)]


# --- Evaluation ------------------------------------------------------------------------------------


def _advance_fixes(judge: _Judge, bindings: Bindings) -> tuple[RulesMemory, list[Event]]:
    """Fixes in progress that the just finished run shows working become done."""
    memory = judge.memory
    events: list[Event] = []
    run = judge.latest
    if run is None or run.provisional:
        return memory, events
    finished_at = completed_instant(run.completed_at)
    for binding in bindings.fixes:
        fix = binding.fix
        progress = memory.progress_of(fix.name)
        if progress is None or progress.phase != "in progress":
            continue
        if progress.started_at is not None and (finished_at is None or finished_at < progress.started_at):
            continue  # this run finished before the fix began
        if not _fix_works(judge, fix, progress, run):
            continue
        done = replace(progress, phase="done", done_at=finished_at, done_by=run.sha)
        memory = memory.with_progress(done)
        events.append(make_event(judge.tracker.issue, run.sha, "fix_done", fix.name, rate=judge.rate(run)))
    return memory, events


def _fix_works(judge: _Judge, fix: FixConfig, progress: FixProgress, run: RunRecord) -> bool:
    if fix.tests is not None:
        return judge.tests(TestsCondition(fix.tests)).holds
    rate = judge.rate(run)
    reference = progress.reference_rate if progress.reference_rate is not None else judge.evidence.baseline
    if reference is None:
        return judge.tracker.gate.is_met(rate)
    return rate is not None and rate > reference


def evaluate(tracker: TrackerConfig, body: str, evidence: Evidence, memory: RulesMemory) -> Evaluation:
    """Judge everything the tracker configures against ``body`` and ``evidence``.

    ``body`` is the issue body as it is now (human ticks of manual lines are read from it). Events are
    changes from what ``memory`` says: a condition announced once is not announced again until it
    changes back, and the returned memory records this evaluation.
    """
    bindings = bind(body, tracker)
    memory = seeded(memory, bindings)
    judge = _Judge(tracker, body, evidence, memory)
    memory, events = _advance_fixes(judge, bindings)
    judge = replace(judge, memory=memory)

    rules = tuple(RuleResult(binding, judge(binding.rule.condition)) for binding in bindings.rules)
    review = tuple(ReviewResult(binding, judge(binding.condition)) for binding in bindings.review)
    fixes = tuple(FixResult(binding, _progress(memory, binding)) for binding in bindings.fixes)

    events += _condition_events(judge, rules, review)
    memory = _remembered_verdicts(judge, rules, review)
    memory, overdue = check_overdue(tracker, memory, evidence.now)
    events += overdue
    memory, dropped = _dropped_tests(replace(judge, memory=memory))
    events += dropped
    ready = all(result.judgement.holds for result in review)
    if ready and not memory.handed_over:
        events.append(make_event(tracker.issue, _subject_sha(judge), "review_ready"))
        events = [event for event in events if event.kind != "gate_met"]  # the hand-over announces it
        memory = replace(memory, handed_over=True)
    elif memory.handed_over and any(result.judgement.verdict == "does not hold" for result in review):
        # The conditions were lost (the gate fell again): the next time they all hold is a new hand-over.
        memory = replace(memory, handed_over=False)

    ticks = _ticks(rules, fixes) + _manual_ticks(bindings, memory)
    return Evaluation(rules, fixes, review, ticks, _marks(fixes), tuple(events), memory)


def _manual_ticks(bindings: Bindings, memory: RulesMemory) -> tuple[Tick, ...]:
    """Manual lines whose box says other than what people with write access left it as: put back."""
    trusted = memory.manual_ticked or frozenset()
    return tuple(
        Tick(condition.line, condition.key in trusted)
        for condition, item in bindings.manual()
        if item is not None and item.checked != (condition.key in trusted)
    )


def _progress(memory: RulesMemory, binding: FixBinding) -> FixProgress:
    return memory.progress_of(binding.fix.name) or FixProgress(binding.fix.name)


def _subject_sha(judge: _Judge) -> str:
    finished = judge.finished
    if finished:
        return finished[-1].sha
    return judge.latest.sha if judge.latest is not None else "none"


def _condition_events(
    judge: _Judge, rules: Sequence[RuleResult], review: Sequence[ReviewResult]
) -> list[Event]:
    """Changes of the gate, of the baseline comparison and of tests conditions since the last verdicts."""
    issue, held = judge.tracker.issue, judge.memory.held
    events: list[Event] = []
    finished = judge.finished
    gate = judge.gate()
    if finished and gate.verdict != "unknown":
        run = finished[-1]
        broke = _newly_failing(judge, run)
        if gate.holds and GateCondition.key not in held:
            events.append(make_event(issue, run.sha, "gate_met", rate=judge.rate(run)))
        elif not gate.holds and GateCondition.key in held:
            events.append(make_event(issue, run.sha, "gate_lost", rate=judge.rate(run), tests=broke))
        if _below_baseline(judge, run) and _BELOW_BASELINE not in held:
            events.append(make_event(issue, run.sha, "below_baseline", rate=judge.rate(run), tests=broke))
    latest = judge.latest
    announced: set[str] = set()
    for condition, judgement in _tests_judgements(rules, review):
        if latest is None or judgement.verdict != "does not hold" or condition.key not in held:
            continue
        if condition.key not in announced:
            announced.add(condition.key)
            failing = _failing_matching(judge, condition.glob)
            events.append(make_event(issue, latest.sha, "tests_broken", condition.glob, tests=failing))
    return events


def _newly_failing(judge: _Judge, run: RunRecord) -> tuple[str, ...]:
    changes = judge.evidence.changes
    return changes.newly_failing if changes is not None and changes.sha == run.sha else ()


def _failing_matching(judge: _Judge, glob: str) -> list[str]:
    matching = _matching(glob, judge.evidence.cases or ())
    return [case.test_id for case in matching if case.outcome in ("failed", "error")]


def _dropped_tests(judge: _Judge) -> tuple[RulesMemory, tuple[Event, ...]]:
    """Fewer tests counted than in the previous finished run, or tests that failed now skipped or gone:
    what lifts a pass rate without fixing anything. Announced once per commit."""
    finished = judge.finished
    if len(finished) < 2 or judge.memory.dropped_sha == finished[-1].sha:
        return judge.memory, ()
    run, previous = finished[-1], finished[-2]
    fewer = judge.tracker.counted_tests(run.counts) < judge.tracker.counted_tests(previous.counts)
    changes = judge.evidence.changes
    hidden: tuple[str, ...] = ()
    if changes is not None and changes.sha == run.sha:
        hidden = changes.skipped_after_failing + changes.removed_after_failing
    if not fewer and not hidden:
        return judge.memory, ()
    event = make_event(judge.tracker.issue, run.sha, "tests_dropped", rate=judge.rate(run), tests=hidden)
    return replace(judge.memory, dropped_sha=run.sha), (event,)


_BELOW_BASELINE = "below_baseline"


def _below_baseline(judge: _Judge, run: RunRecord) -> bool:
    rate, baseline = judge.rate(run), judge.evidence.baseline
    return rate is not None and baseline is not None and rate < baseline


def _tests_judgements(
    rules: Sequence[RuleResult], review: Sequence[ReviewResult]
) -> list[tuple[TestsCondition, Judgement]]:
    pairs: list[tuple[Condition, Judgement]] = [(r.binding.rule.condition, r.judgement) for r in rules]
    pairs += [(r.binding.condition, r.judgement) for r in review]
    return [(c, j) for c, j in pairs if isinstance(c, TestsCondition)]


def _remembered_verdicts(
    judge: _Judge, rules: Sequence[RuleResult], review: Sequence[ReviewResult]
) -> RulesMemory:
    memory = judge.memory
    pairs: list[tuple[Condition, Judgement]] = [(r.binding.rule.condition, r.judgement) for r in rules]
    pairs += [(r.binding.condition, r.judgement) for r in review]
    pairs.append((GateCondition(), judge.gate()))
    for condition, judgement in pairs:
        if judgement.verdict != "unknown" and not isinstance(condition, FixesDoneCondition):
            memory = memory.remember(condition.key, judgement.holds)
    if judge.finished:
        memory = memory.remember(_BELOW_BASELINE, _below_baseline(judge, judge.finished[-1]))
    if judge.evidence.cases is not None and judge.latest is not None and not judge.latest.provisional:
        memory = replace(memory, cases_sha=judge.latest.sha)
    return memory


def _ticks(rules: Sequence[RuleResult], fixes: Sequence[FixResult]) -> tuple[Tick, ...]:
    """Lines whose box disagrees with a definite verdict; manual lines and unknown verdicts never."""
    ticks = [
        Tick(result.binding.rule.line, result.judgement.holds)
        for result in rules
        if result.binding.rule.writes_line
        and result.judgement.verdict != "unknown"
        and result.binding.item is not None
        and result.binding.item.checked != result.judgement.holds
    ]
    for fix in fixes:
        item, line = fix.binding.item, fix.binding.fix.line
        done = fix.progress.phase == "done"
        if item is not None and line is not None and item.checked != done:
            ticks.append(Tick(line, done))
    return tuple(ticks)


def _marks(fixes: Sequence[FixResult]) -> tuple[MarkChange, ...]:
    return tuple(
        MarkChange(fix.binding.fix.name, fix.progress.phase)
        for fix in fixes
        if fix.binding.heading is not None
        and fix.binding.heading.mark is not None
        and fix.binding.heading.mark != MARKS[fix.progress.phase]
    )


def apply(body: str, ticks: Iterable[Tick], marks: Iterable[MarkChange]) -> str:
    """``body`` with the ticks and heading marks applied; every other character stays as it was."""
    for mark in marks:
        heading = find_heading(body, mark.fix)
        if heading is not None:
            body = set_mark(body, heading, mark.phase)
    for tick in ticks:
        body, _ = set_checklist_item(body, tick.line, tick.checked)
    return body
