"""Test outcome counts and the pass rate computed from them."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class TestCounts:
    """Outcome counts of one test run, as a runner's summary reports them.

    Counts add up across jobs of one commit with ``+``.
    """

    __test__ = False  # not a pytest test class

    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    deselected: int = 0
    warnings: int = 0

    def __add__(self, other: TestCounts) -> TestCounts:
        return TestCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def executed(self) -> int:
        """Tests that ran to a verdict counted by the pass rate."""
        return self.passed + self.failed + self.errors

    @property
    def pass_rate(self) -> float | None:
        """passed / (passed + failed + errors); skipped tests are excluded.

        None when nothing ran, so that an empty run is never reported as 0 % or 100 %.
        """
        return self.rate(include_skipped=False)

    def counted(self, *, include_skipped: bool) -> int:
        """The tests the pass rate counts: its denominator."""
        return self.executed + (self.skipped if include_skipped else 0)

    def rate(self, *, include_skipped: bool) -> float | None:
        """The pass rate, optionally counting skipped tests as not passed."""
        denominator = self.counted(include_skipped=include_skipped)
        if denominator == 0:
            return None
        return self.passed / denominator

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) == 0 for f in fields(self))
