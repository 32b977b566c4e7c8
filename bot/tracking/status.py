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
    """Record ``run`` and judge it against the previous run, the baseline and the gate (crossings of the
    gate are the rules engine's events).

    A provisional result (CI still running) is shown but never moves the gate: a matrix's first job to
    finish must not tick the gate line or ask for a review that the other jobs would refute.
    """
    previous = next((r for r in reversed(before.runs) if r.sha != run.sha), None)
    after = before.with_run(run, tracker.rate_of(run.counts))
    met = before.gate_met if run.provisional else tracker.gate.is_met(tracker.rate_of(run.counts))
    after = replace(after, gate_met=met)
    return after, _report(after, run, previous, tracker)


def latest(state: TrackerState, tracker: TrackerConfig) -> StatusReport | None:
    """The report of the last recorded run, unchanged: for re-rendering when a commit brought no counts."""
    if not state.runs:
        return None
    run = state.runs[-1]
    previous = next((r for r in reversed(state.runs) if r.sha != run.sha), None)
    return _report(state, run, previous, tracker)


def _report(
    state: TrackerState,
    run: RunRecord,
    previous: RunRecord | None,
    tracker: TrackerConfig,
) -> StatusReport:
    return StatusReport(
        run=run,
        previous=previous,
        baseline_rate=tracker.baseline if tracker.baseline is not None else state.baseline_rate,
        gate=tracker.gate,
        gate_met=state.gate_met,
        history=state.runs,
        include_skipped=tracker.pass_rate.skipped == "include",
    )
