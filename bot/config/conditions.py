"""Conditions: what a rule's line or the review request waits for (``gate``, ``tests``, ``green_runs``...)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from bot.tracking.body import match_key as checklist_key  # the body's own notion of "same line"


@dataclass(frozen=True, slots=True)
class GateCondition:
    """The latest finished run meets the tracker's gate."""

    key: ClassVar[str] = "gate"

    def __str__(self) -> str:
        return "gate"


@dataclass(frozen=True, slots=True)
class FixesDoneCondition:
    """Every configured fix is done."""

    key: ClassVar[str] = "fixes_done"

    def __str__(self) -> str:
        return "fixes_done"


@dataclass(frozen=True, slots=True)
class TestsCondition:
    """Every test of the latest commit whose id matches ``glob`` (case-insensitively) passes."""

    __test__ = False  # not a pytest test class
    glob: str

    @property
    def key(self) -> str:
        return f"tests:{self.glob}"

    def __str__(self) -> str:
        return f"tests {self.glob!r}"


@dataclass(frozen=True, slots=True)
class GreenRunsCondition:
    """The last ``count`` finished runs all met the gate."""

    count: int

    @property
    def key(self) -> str:
        return f"green_runs:{self.count}"

    def __str__(self) -> str:
        return f"green_runs {self.count}"


@dataclass(frozen=True, slots=True)
class TickedCondition:
    """A human with write access ticked ``line``; the bot only puts back a box anyone else changed."""

    line: str

    @property
    def key(self) -> str:
        return f"manual:{checklist_key(self.line)}"

    def __str__(self) -> str:
        return f"manual {self.line!r}"


Condition = GateCondition | FixesDoneCondition | TestsCondition | GreenRunsCondition | TickedCondition
