"""What the rules remember between runs: each fix's progress and which conditions held.

The tracker keeps a :class:`RulesMemory` in its signed state (``as_data``/``from_data`` give it a JSON
shape), so that milestones and escalations are announced on changes, not on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.rules.headings import Phase


@dataclass(frozen=True)
class FixProgress:
    """One fix's phase; times are None when the phase was read from a heading's mark, not observed."""

    name: str
    phase: Phase = "not started"
    started_at: datetime | None = None
    started_by: str | None = None  # the commit whose push started it
    reference_rate: float | None = None  # the pass rate when it started, for fixes without tests
    done_at: datetime | None = None
    done_by: str | None = None  # the commit whose run finished it
    overdue_reported: bool = False


@dataclass(frozen=True)
class RulesMemory:
    fixes: tuple[FixProgress, ...] = ()
    # Condition keys by their last definite verdict; an unknown verdict leaves a key where it was.
    held: frozenset[str] = field(default_factory=frozenset)
    failed: frozenset[str] = field(default_factory=frozenset)
    cases_sha: str | None = None  # the commit whose per-test results the tests verdicts come from
    handed_over: bool = False  # the review hand-over happens once each time its conditions come to hold
    # Keys of the manual lines ticked as far as people with write access (or the body when the tracker was
    # first judged) said; None until then. A manual condition is judged from this, never from the body
    # alone: anyone can edit the body, and a judgement may run before the edit's own event arrives.
    manual_ticked: frozenset[str] | None = None
    dropped_sha: str | None = None  # the last commit whose dropped tests were announced (once per commit)

    def remember(self, key: str, holds: bool) -> RulesMemory:
        held = self.held | {key} if holds else self.held - {key}
        failed = self.failed - {key} if holds else self.failed | {key}
        return replace(self, held=held, failed=failed)

    def with_manual_tick(self, key: str, ticked: bool) -> RulesMemory:
        current = self.manual_ticked or frozenset()
        return replace(self, manual_ticked=current | {key} if ticked else current - {key})

    def progress_of(self, name: str) -> FixProgress | None:
        return next((fix for fix in self.fixes if fix.name == name), None)

    def with_progress(self, progress: FixProgress) -> RulesMemory:
        others = tuple(fix for fix in self.fixes if fix.name != progress.name)
        return replace(self, fixes=(*others, progress))

    def as_data(self) -> dict[str, Any]:
        """A JSON-ready form for the tracker's state."""
        return {
            "fixes": [
                [
                    fix.name,
                    fix.phase,
                    _time(fix.started_at),
                    fix.started_by,
                    fix.reference_rate,
                    _time(fix.done_at),
                    fix.done_by,
                    fix.overdue_reported,
                ]
                for fix in self.fixes
            ],
            "held": sorted(self.held),
            "failed": sorted(self.failed),
            "cases_sha": self.cases_sha,
            "handed_over": self.handed_over,
            "manual_ticked": None if self.manual_ticked is None else sorted(self.manual_ticked),
            "dropped_sha": self.dropped_sha,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> RulesMemory:
        """The memory ``as_data`` wrote; KeyError, TypeError or ValueError for anything else."""
        fixes = tuple(
            FixProgress(
                name=str(name),
                phase=_phase(phase),
                started_at=_parse_time(started_at),
                started_by=started_by,
                reference_rate=reference_rate,
                done_at=_parse_time(done_at),
                done_by=done_by,
                overdue_reported=bool(overdue),
            )
            for name, phase, started_at, started_by, reference_rate, done_at, done_by, overdue in data.get(
                "fixes", ()
            )
        )
        return cls(
            fixes,
            held=frozenset(str(key) for key in data.get("held", ())),
            failed=frozenset(str(key) for key in data.get("failed", ())),
            cases_sha=data.get("cases_sha"),
            handed_over=bool(data.get("handed_over", False)),
            manual_ticked=_keys(data.get("manual_ticked")),
            dropped_sha=data.get("dropped_sha"),
        )


def _keys(value: Any) -> frozenset[str] | None:
    return None if value is None else frozenset(str(key) for key in value)


def _phase(value: object) -> Phase:
    if value == "not started" or value == "in progress" or value == "done":
        return value
    raise ValueError(f"unknown fix phase {value!r}")


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)
