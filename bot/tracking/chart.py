"""The pass-rate trend of a tracker: a Mermaid chart GitHub draws in the issue, and a one-line text fallback.

Both are pure functions of the recorded points. Mermaid source is a small language of its own, so every
label is reduced to a safe alphabet and quoted, and every number is formatted here: nothing a caller hands
in can end the chart's fence or add a statement to it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

# Beyond this many points, 7-character shas overlap on the x-axis of GitHub's 700-pixel-wide chart.
MAX_SHA_LABELS = 12
SHORT_SHA = 7
_UNSAFE_LABEL = re.compile(r"[^0-9A-Za-z._-]")
# A title is quoted in the chart; quotes, backticks, newlines and "%%" (Mermaid's directives) are kept out.
_UNSAFE_TITLE = re.compile(r"[^\w .,:()/+-]")
_SPARKS = "▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class TrendPoint:
    """One recorded run on the trend: its label (a commit sha) and pass rate, a fraction; None (nothing
    ran) is left off the trend rather than drawn as 0 %."""

    label: str
    rate: float | None

    def __post_init__(self) -> None:
        if self.rate is not None and not (math.isfinite(self.rate) and 0 <= self.rate <= 1):
            raise ValueError(f"a pass rate is a fraction in [0, 1], not {self.rate!r}")


def mermaid_trend(points: Sequence[TrendPoint], gate: float, *, title: str = "Pass rate") -> str:
    """A fenced ``xychart-beta`` block: the pass rate (%) per run and the gate as a flat second line.

    The x-axis names the runs by short sha, or by their ordinal in ``points`` when there are too many
    for shas to be legible or two labels would coincide (Mermaid merges equal categories). Empty when no
    point has a rate, so a template can leave the chart out.
    """
    ordinals = [n for n, point in enumerate(points, start=1) if point.rate is not None]
    rates = [_one_decimal(point.rate) for point in points if point.rate is not None]
    if not rates:
        return ""
    labels = [_safe_label(point.label)[:SHORT_SHA] for point in points if point.rate is not None]
    if len(labels) > MAX_SHA_LABELS or len(set(labels)) < len(labels):
        labels = [str(n) for n in ordinals]
    gate_percent = _gate_percent(gate)
    low, high = _y_range([*rates, gate_percent])
    safe_title = _safe_title(title)
    categories = ", ".join(f'"{label}"' for label in labels)
    lines = [
        "```mermaid",
        "xychart-beta",
        *([f'  title "{safe_title}"'] if safe_title else []),
        f"  x-axis [{categories}]",
        f'  y-axis "Pass rate (%)" {low} --> {high}',
        f"  line [{', '.join(f'{rate:.1f}' for rate in rates)}]",
        f"  line [{', '.join(f'{gate_percent:.1f}' for _ in rates)}]",
        "```",
    ]
    return "\n".join(lines)


def text_trend(
    points: Sequence[TrendPoint],
    gate: float,
    *,
    gate_label: str | None = None,
    last: int = 4,
    sparkline: bool = False,
) -> str:
    """One line for readers without Mermaid: ``63.0% → … → 89.4% → 94.3% (gate >90%)``.

    A long history shows its first rate (the baseline), an ellipsis and the ``last`` latest ones; the
    optional sparkline covers every point, scaled like the chart's y-axis. ``gate_label`` is how the
    gate reads in the configuration (``>90%``); by default its threshold. Empty when no point has a rate.
    """
    if last < 1:
        raise ValueError(f"at least the latest rate is shown, so last >= 1, not {last}")
    rates = [_one_decimal(point.rate) for point in points if point.rate is not None]
    if not rates:
        return ""
    shown = [f"{rate:.1f}%" for rate in rates]
    if len(shown) > last + 2:  # an ellipsis standing for one rate would save nothing
        shown = [shown[0], "…", *shown[-last:]]
    label = gate_label if gate_label is not None else f"{_gate_percent(gate):g}%"
    text = f"{' → '.join(shown)} (gate {label})"
    if sparkline:
        text = f"{_sparkline(rates, _y_range([*rates, _gate_percent(gate)]))} {text}"
    return text


def _one_decimal(fraction: float) -> float:
    """A fraction as a percentage rounded to one decimal, the precision the status block shows."""
    return round(fraction * 100, 1)


def _gate_percent(gate: float) -> float:
    """The gate in percent; anything but a fraction would put ``nan`` or worse into the chart."""
    if not (math.isfinite(gate) and 0 <= gate <= 1):
        raise ValueError(f"a gate is a fraction in [0, 1], not {gate!r}")
    return _one_decimal(gate)


def _y_range(percents: Sequence[float]) -> tuple[int, int]:
    """The tightest range in whole tens within 0..100 that holds every value, at least ten wide."""
    low = max(0, math.floor(min(percents) / 10) * 10)
    high = min(100, math.ceil(max(percents) / 10) * 10)
    if high == low:
        low, high = (high - 10, high) if high > 0 else (0, 10)
    return low, high


def _sparkline(percents: Sequence[float], bounds: tuple[int, int]) -> str:
    low, high = bounds
    steps = len(_SPARKS) - 1
    return "".join(_SPARKS[round((value - low) / (high - low) * steps)] for value in percents)


def _safe_label(label: str) -> str:
    return _UNSAFE_LABEL.sub("_", label) or "_"


def _safe_title(title: str) -> str:
    return " ".join(_UNSAFE_TITLE.sub(" ", title).split())
