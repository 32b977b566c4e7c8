"""What a new CI result means for a tracker: its rate, the changes, and whether the gate was crossed."""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.config import Gate, TrackerConfig
from bot.tracking.state import RunRecord, TrackerState


@dataclass(frozen=True)
class StatusReport:
    run: RunRecord
    previous: RunRecord | None
    baseline_rate: float | None
    gate: Gate
    gate_met: bool
    gate_newly_met: bool  # this run took the gate from unmet to met
    gate_lost: bool  # this run took the gate from met to unmet
    gate_crossing: int  # ordinal of the latest crossing into "met" (1 for the first)
    history: tuple[RunRecord, ...]
    include_skipped: bool  # the tracker's pass-rate policy

    def rate_of(self, run: RunRecord) -> float | None:
        return run.counts.rate(include_skipped=self.include_skipped)

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
    """Record ``run`` and judge it against the previous run, the baseline and the gate.

    A provisional result (CI still running) is shown but never moves the gate: a matrix's first job to
    finish must not tick the gate line or ask for a review that the other jobs would refute.
    """
    previous = next((r for r in reversed(before.runs) if r.sha != run.sha), None)
    after = before.with_run(run, tracker.rate_of(run.counts))
    met = before.gate_met if run.provisional else tracker.gate.is_met(tracker.rate_of(run.counts))
    newly_met = met and not before.gate_met
    crossings = before.gate_crossings + (1 if newly_met else 0)
    after = replace(after, gate_met=met, gate_crossings=crossings)
    return after, _report(
        after, run, previous, tracker, newly_met=newly_met, lost=before.gate_met and not met
    )


def latest(state: TrackerState, tracker: TrackerConfig) -> StatusReport | None:
    """The report of the last recorded run, unchanged: for re-rendering when a commit brought no counts."""
    if not state.runs:
        return None
    run = state.runs[-1]
    previous = next((r for r in reversed(state.runs) if r.sha != run.sha), None)
    return _report(state, run, previous, tracker, newly_met=False, lost=False)


def _report(
    state: TrackerState,
    run: RunRecord,
    previous: RunRecord | None,
    tracker: TrackerConfig,
    *,
    newly_met: bool,
    lost: bool,
) -> StatusReport:
    return StatusReport(
        run=run,
        previous=previous,
        baseline_rate=tracker.baseline if tracker.baseline is not None else state.baseline_rate,
        gate=tracker.gate,
        gate_met=state.gate_met,
        gate_newly_met=newly_met,
        gate_lost=lost,
        gate_crossing=state.gate_crossings,
        history=state.runs,
        include_skipped=tracker.pass_rate.skipped == "include",
    )
