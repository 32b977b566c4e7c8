"""Pass rates as the file writes them: the gate (``">90%"``, ``">=92.5%"``, ``0.9``) and the baseline."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from bot.config.problems import show


@dataclass(frozen=True, slots=True)
class Gate:
    """The quality gate: a pass rate above (or at least) ``threshold`` meets it."""

    threshold: float  # fraction in (0, 1]
    inclusive: bool  # True for ">=", False for ">"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.threshold) and 0 < self.threshold <= 1):
            raise ValueError(f"a gate's threshold is a fraction in (0, 1], not {self.threshold!r}")
        if self.threshold == 1 and not self.inclusive:
            raise ValueError("the gate '>100%' can never be met")

    def is_met(self, rate: float | None) -> bool:
        """Whether a pass rate meets the gate; None (nothing ran) never does."""
        if rate is None:
            return False
        return rate >= self.threshold if self.inclusive else rate > self.threshold

    def __str__(self) -> str:
        return (">=" if self.inclusive else ">") + format_percent(self.threshold)


DEFAULT_GATE = Gate(0.9, inclusive=False)


def format_percent(fraction: float) -> str:
    """The shortest exact percentage text of a fraction: 0.925 -> "92.5%", 0.9 -> "90%"."""
    text = f"{Decimal(repr(fraction)) * 100:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "%"


_NUMBER = r"(?P<number>\d+(?:\.\d*)?|\.\d+)\s*(?P<percent>%)?"
_GATE_TEXT = re.compile(r"\s*(?P<operator>>=?)?\s*" + _NUMBER + r"\s*")
_RATE_TEXT = re.compile(r"\s*" + _NUMBER + r"\s*")
_OTHER_OPERATOR = re.compile(r"\s*(?!>=?(?![<>=!≤≥]))[<>=!≤≥]")  # "=>", "<", "≥", ">=>"


def parse_gate(value: object) -> Gate:
    """A gate from its YAML value (see the package docstring, bot.config); ValueError says what is wrong."""
    expected = f"expected a gate such as '>90%', '>=92.5%' or 0.9, got {show(value)}"
    if isinstance(value, str) and _OTHER_OPERATOR.match(value):
        expected += "; the operator, if any, is '>' or '>='"
    number, percent, operator = _read_rate(value, _GATE_TEXT, expected)
    threshold = number / 100 if percent else number
    if not 0 < threshold <= 1:
        prefix = operator if isinstance(value, str) else ">"
        raise ValueError(_out_of_range(value, number, percent, low="more than 0", prefix=prefix))
    inclusive = operator != ">"
    if threshold == 1 and not inclusive:
        raise ValueError(
            f"{show(value)} can never be met: no pass rate is above 100%; use '>=100%' for all passing"
        )
    return Gate(float(threshold), inclusive)


def parse_baseline(value: object) -> float:
    """A baseline pass rate, 0..1 or "62%"; ValueError says what is wrong."""
    expected = f"expected a pass rate such as 0.62 or '62%', got {show(value)}"
    number, percent, _ = _read_rate(value, _RATE_TEXT, expected)
    rate = number / 100 if percent else number
    if not 0 <= rate <= 1:
        raise ValueError(_out_of_range(value, number, percent, low="at least 0", prefix=""))
    return float(rate)


def _read_rate(value: object, pattern: re.Pattern[str], expected: str) -> tuple[Fraction, bool, str]:
    """The number in a rate value, whether it is a percentage, and its operator ("" for none)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(expected)
    if isinstance(value, str):
        match = pattern.fullmatch(value)
        if match is None:
            raise ValueError(expected)
        operator = match.groupdict().get("operator") or ""
        return Fraction(match["number"]), match["percent"] is not None, operator
    if not math.isfinite(value):
        raise ValueError(expected)
    return Fraction(value), False, ""


def _out_of_range(value: object, number: Fraction, percent: bool, *, low: str, prefix: str) -> str:
    if percent:
        return f"{show(value)} is out of range: the percentage must be {low}% and at most 100%"
    message = f"{show(value)} is out of range for a fraction ({low}, at most 1)"
    if 1 < number <= 100:
        # Most likely a percentage without its sign: offer both spellings of what was meant.
        as_percent = f"'{prefix}{format_percent(float(number / 100))}'"
        if isinstance(value, str):
            return f"{message}; write {as_percent}"
        return f"{message}; write {float(number / 100)!r} or {as_percent}"
    return message
