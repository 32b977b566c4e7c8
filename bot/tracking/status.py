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

    @property
    def rate(self) -> float | None:
        return self.run.counts.pass_rate

    @property
    def change_since_previous(self) -> float | None:
        return _difference(self.rate, self.previous.counts.pass_rate if self.previous else None)

    @property
    def change_since_baseline(self) -> float | None:
        return _difference(self.rate, self.baseline_rate)


def _difference(now: float | None, then: float | None) -> float | None:
    if now is None or then is None:
        return None
    return now - then


def assess(before: TrackerState, run: RunRecord, tracker: TrackerConfig) -> tuple[TrackerState, StatusReport]:
    """Record ``run`` and judge it against the previous run, the baseline and the gate."""
    previous = next((r for r in reversed(before.runs) if r.sha != run.sha), None)
    after = before.with_run(run)
    met = tracker.gate.is_met(run.counts.pass_rate)
    newly_met = met and not before.gate_met
    crossings = before.gate_crossings + (1 if newly_met else 0)
    after = replace(after, gate_met=met, gate_crossings=crossings)
    baseline = tracker.baseline if tracker.baseline is not None else after.baseline_rate
    report = StatusReport(
        run=run,
        previous=previous,
        baseline_rate=baseline,
        gate=tracker.gate,
        gate_met=met,
        gate_newly_met=newly_met,
        gate_lost=before.gate_met and not met,
        gate_crossing=crossings,
        history=after.runs,
    )
    return after, report
