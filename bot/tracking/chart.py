"""The pass-rate trend of a tracker: a Mermaid chart GitHub draws in the issue, and a one-line text fallback.

Both are pure functions of the recorded points. Mermaid source is a small language of its own, so every
label is reduced to a safe alphabet and quoted, and every number is formatted here: nothing a caller hands
in can end the chart's fence or add a statement to it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# The latest runs the chart draws: more 7-character shas overlap on the x-axis of Mermaid's 700-pixel-wide
# chart (measured: 10 leave 9 px between labels, 12 overlap), and a run's label must name its commit.
MAX_CHARTED_RUNS = 10
SHORT_SHA = 7
# Line colours that read on GitHub's light (#ffffff) and dark (#0d1117) pages and on what Mermaid paints
# behind the plot in its default (white) and dark (#333333) themes: at least 3:1 against each, WCAG's
# contrast for graphics (tests/test_chart_browser.py renders the chart with Mermaid and measures).
# Blue and orange stay apart for the common colour-vision deficiencies; the grey reference is the quietest.
RATE_COLOUR = "#2f81f7"
GATE_COLOUR = "#e8590c"
BASELINE_COLOUR = "#7d8590"
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


def mermaid_trend(
    points: Sequence[TrendPoint], gate: float, *, baseline: float | None = None, title: str = "Pass rate"
) -> str:
    """A fenced ``xychart-beta`` block: the pass rate (%) of the latest runs, the gate and the baseline as
    flat lines under it, in colours set by Mermaid's init directive (its default palette draws the first
    line in #ECECFF, 1.17:1 on white).

    The x-axis names each run by its commit's shortest distinct sha prefix (at least 7 characters; Mermaid
    merges equal categories); beyond ``MAX_CHARTED_RUNS`` runs the axis says how many of them it shows.
    The title says which colour is which, as xychart draws no legend. Empty when no charted run has a
    rate, so a template can leave the chart out.
    """
    shown = [point for point in points[-MAX_CHARTED_RUNS:] if point.rate is not None]
    if not shown:
        return ""
    rates = [_one_decimal(point.rate) for point in shown if point.rate is not None]
    labels = _distinct_labels([_safe_label(point.label) for point in shown])
    references = [("gate", "orange", GATE_COLOUR, _percent(gate, "gate"))]
    if baseline is not None:
        references.append(("baseline", "grey", BASELINE_COLOUR, _percent(baseline, "baseline")))
    low, high = _y_range([*rates, *(value for *_, value in references)])
    drawn = references[::-1]  # the reference lines first, so that the pass rate is drawn over them
    palette = ", ".join([*(colour for _, _, colour, _ in drawn), RATE_COLOUR])
    safe_title = _safe_title(title)
    key = ", ".join([f"{safe_title} (blue)", *(f"{name} ({word})" for name, word, _, _ in references)])
    axis = "Commit"
    if len(points) > MAX_CHARTED_RUNS:
        axis += f" (last {MAX_CHARTED_RUNS} of {len(points)} runs)"
    categories = ", ".join(f'"{label}"' for label in labels)
    lines = [
        "```mermaid",
        f'%%{{init: {{"themeVariables": {{"xyChart": {{"plotColorPalette": "{palette}"}}}}}}}}%%',
        "xychart-beta",
        *([f'  title "{key}"'] if safe_title else []),
        f'  x-axis "{axis}" [{categories}]',
        f'  y-axis "Pass rate (%)" {low} --> {high}',
        *(f"  line [{', '.join(f'{value:.1f}' for _ in rates)}]" for *_, value in drawn),
        f"  line [{', '.join(f'{rate:.1f}' for rate in rates)}]",
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
    label = gate_label if gate_label is not None else f"{_percent(gate, 'gate'):g}%"
    text = f"{' → '.join(shown)} (gate {label})"
    if sparkline:
        text = f"{_sparkline(rates, _y_range([*rates, _percent(gate, 'gate')]))} {text}"
    return text


def _one_decimal(fraction: float) -> float:
    """A fraction as a percentage rounded to one decimal, the precision the status block shows."""
    return round(fraction * 100, 1)


def _percent(fraction: float, what: str) -> float:
    """A gate or baseline in percent; anything but a fraction would put ``nan`` or worse into the chart."""
    if not (math.isfinite(fraction) and 0 <= fraction <= 1):
        raise ValueError(f"a {what} is a fraction in [0, 1], not {fraction!r}")
    return _one_decimal(fraction)


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


def _distinct_labels(labels: Sequence[str]) -> list[str]:
    """Each label cut to the shortest length (at least ``SHORT_SHA``) that tells different labels apart, as
    git abbreviates; a label repeated in full (one commit recorded twice) is told apart by a count."""
    different = set(labels)
    length = next(
        n
        for n in range(SHORT_SHA, max(SHORT_SHA, *map(len, labels)) + 1)
        if len({label[:n] for label in different}) == len(different)
    )
    seen: Counter[str] = Counter()
    distinct = []
    for label in labels:
        seen[label] += 1
        distinct.append(label[:length] + (f"-{seen[label]}" if seen[label] > 1 else ""))
    return distinct


def _safe_title(title: str) -> str:
    return " ".join(_UNSAFE_TITLE.sub(" ", title).split())
