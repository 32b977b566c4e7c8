"""What a new CI result means for a tracker: its rate, the changes, and whether the gate was crossed."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.config import Gate, TrackerConfig
from bot.results.test_changes import ChangesSummary
from bot.tracking.state import RunRecord, TrackerState


@dataclass(frozen=True)
class StatusReport:
    run: RunRecord
    previous: RunRecord | None
    baseline_rate: float | None
    gate: Gate
    gate_met: bool
    history: tuple[RunRecord, ...]
    include_skipped: bool  # the tracker's pass-rate policy
    baseline_tests: int | None  # the tests the baseline run counted
    tests_required: int | None  # the gate's floor of counted tests (``min_tests``), None without one
    missing_tests: int  # how many counted tests this run lacks to reach that floor (0 without one)
    tests: ChangesSummary | None  # per-test changes of the last final run with per-test results

    def rate_of(self, run: RunRecord) -> float | None:
        return run.counts.rate(include_skipped=self.include_skipped)

    def counted_of(self, run: RunRecord) -> int:
        """The tests the pass rate of ``run`` counts (its denominator)."""
        return run.counts.counted(include_skipped=self.include_skipped)

    @property
    def counted(self) -> int:
        return self.counted_of(self.run)

    @property
    def previous_final(self) -> RunRecord | None:
        """The last finished run before this one: what a drop in counted tests is measured against."""
        return next((r for r in reversed(self.history) if r.sha != self.run.sha and not r.provisional), None)

    @property
    def tests_change_since_previous(self) -> int | None:
        """Counted tests gained (lost: negative) since the previous finished run; None while this run is
        provisional (its CI is still running, its count still growing) or when there is none."""
        previous = self.previous_final
        if self.run.provisional or previous is None:
            return None
        return self.counted - self.counted_of(previous)

    @property
    def tests_change_since_baseline(self) -> int | None:
        if self.run.provisional or self.baseline_tests is None:
            return None
        return self.counted - self.baseline_tests

    @property
    def rate(self) -> float | None:
        return self.rate_of(self.run)

    @property
    def previous_rate(self) -> float | None:
        return self.rate_of(self.previous) if self.previous else None

    @property
    def change_since_previous(self) -> float | None:
        return _difference(self.rate, self.previous_rate)

    @property
    def change_since_baseline(self) -> float | None:
        return _difference(self.rate, self.baseline_rate)


def _difference(now: float | None, then: float | None) -> float | None:
    if now is None or then is None:
        return None
    return now - then


def assess(before: TrackerState, run: RunRecord, tracker: TrackerConfig) -> tuple[TrackerState, StatusReport]:
    """Record ``run`` and judge it against the previous run, the baseline and the gate (crossings of the
    gate are the rules engine's events). When ``run`` is not the latest result once recorded, the report
    is the latest's and the gate stays as it was.

    A provisional result (CI still running) is shown but never moves the gate: a matrix's first job to
    finish must not tick the gate line or ask for a review that the other jobs would refute.
    """
    after = before.with_run(run, tracker.rate_of(run.counts), tracker.counted_tests(run.counts))
    if after.runs[-1].sha != run.sha:
        # An older commit's result (a re-run, a delivery worked off late): recorded in its place; the
        # latest result still stands for the tracker, and the gate with it.
        report = latest(after, tracker)
        assert report is not None
        return after, report
    previous = next((r for r in reversed(before.runs) if r.sha != run.sha), None)
    met = (
        before.gate_met if run.provisional else tracker.gate_holds(run.counts, baseline_tests(after, tracker))
    )
    after = replace(after, gate_met=met)
    return after, _report(after, run, previous, tracker)


def latest(state: TrackerState, tracker: TrackerConfig) -> StatusReport | None:
    """The report of the last recorded run, unchanged: for re-rendering when a commit brought no counts."""
    if not state.runs:
        return None
    run = state.runs[-1]
    previous = next((r for r in reversed(state.runs) if r.sha != run.sha), None)
    return _report(state, run, previous, tracker)


def baseline_tests(state: TrackerState, tracker: TrackerConfig) -> int | None:
    """The tests the baseline run counted; for states from before it was kept, the first final run's."""
    if state.baseline_tests is not None:
        return state.baseline_tests
    first = next((run for run in state.runs if not run.provisional), None)
    return tracker.counted_tests(first.counts) if first is not None else None


def _report(
    state: TrackerState,
    run: RunRecord,
    previous: RunRecord | None,
    tracker: TrackerConfig,
) -> StatusReport:
    baseline = baseline_tests(state, tracker)
    return StatusReport(
        run=run,
        previous=previous,
        baseline_rate=tracker.baseline if tracker.baseline is not None else state.baseline_rate,
        gate=tracker.gate,
        gate_met=state.gate_met,
        history=state.runs,
        include_skipped=tracker.pass_rate.skipped == "include",
        baseline_tests=baseline,
        tests_required=tracker.tests_required(baseline),
        missing_tests=tracker.missing_tests(run.counts, baseline),
        tests=state.tests,
    )
