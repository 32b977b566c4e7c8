import math
from typing import Any

import pytest

from bot.tracking.chart import TrendPoint, mermaid_trend, text_trend

# The example issue's story: 63 % at the baseline, the gate (>90 %) met at the fifth run.
STORY = [
    TrendPoint("3f1c2a9e0b7d4c5a", 0.630),
    TrendPoint("8b0d7e4f", 0.775),
    TrendPoint("c4e9a1b2", 0.885),
    TrendPoint("d2f6b3c8", 0.894),
    TrendPoint("e7a5c9d1", 0.943),
]


@pytest.mark.parametrize(
    ("points", "gate", "title", "expected"),
    [
        pytest.param(
            STORY,
            0.9,
            "Pass rate",
            """```mermaid
xychart-beta
  title "Pass rate"
  x-axis ["3f1c2a9", "8b0d7e4", "c4e9a1b", "d2f6b3c", "e7a5c9d"]
  y-axis "Pass rate (%)" 60 --> 100
  line [63.0, 77.5, 88.5, 89.4, 94.3]
  line [90.0, 90.0, 90.0, 90.0, 90.0]
```""",
            id="example-story",
        ),
        pytest.param(
            [TrendPoint('a"b\n```x', 0.5), TrendPoint("ffffffff", None), TrendPoint("0123456789", 0.981)],
            0.95,
            'Pass "rate"\n```%%{init}%% ü',
            """```mermaid
xychart-beta
  title "Pass rate init ü"
  x-axis ["a_b____", "0123456"]
  y-axis "Pass rate (%)" 50 --> 100
  line [50.0, 98.1]
  line [95.0, 95.0]
```""",
            id="hostile-label-and-title-neutralised-and-empty-run-skipped",
        ),
        pytest.param(
            [TrendPoint("line.bar-x_1", 0.5), TrendPoint("title", 0.6)],
            0.9,
            "Pass rate",
            """```mermaid
xychart-beta
  title "Pass rate"
  x-axis ["line.ba", "title"]
  y-axis "Pass rate (%)" 50 --> 90
  line [50.0, 60.0]
  line [90.0, 90.0]
```""",
            id="mermaid-keywords-as-labels-stay-quoted",
        ),
        pytest.param(
            [TrendPoint("abc", 1.0)],
            1.0,
            "Pass rate",
            """```mermaid
xychart-beta
  title "Pass rate"
  x-axis ["abc"]
  y-axis "Pass rate (%)" 90 --> 100
  line [100.0]
  line [100.0]
```""",
            id="everything-at-100-gets-a-ten-point-range",
        ),
        pytest.param(
            [TrendPoint("abc1234", 0.0), TrendPoint("abc1234ff", 0.04)],
            0.05,
            "",
            """```mermaid
xychart-beta
  x-axis ["1", "2"]
  y-axis "Pass rate (%)" 0 --> 10
  line [0.0, 4.0]
  line [5.0, 5.0]
```""",
            id="coinciding-short-shas-become-ordinals-and-an-empty-title-is-left-out",
        ),
        pytest.param(
            [TrendPoint(f"{i:x}" * 7, i / 20) for i in range(14)],
            0.9,
            "Pass rate",
            """```mermaid
xychart-beta
  title "Pass rate"
  x-axis ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14"]
  y-axis "Pass rate (%)" 0 --> 90
  line [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0, 65.0]
  line [90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0]
```""",
            id="more-runs-than-legible-shas-are-numbered",
        ),
    ],
)
def test_mermaid_trend_draws_the_rate_and_the_gate(
    points: list[TrendPoint], gate: float, title: str, expected: str
) -> None:
    assert mermaid_trend(points, gate, title=title) == expected


def test_ordinals_count_runs_without_a_rate_so_they_match_the_history() -> None:
    points = [TrendPoint(str(i), None if i % 2 else 0.5) for i in range(26)]
    chart = mermaid_trend(points, 0.9)
    assert '  x-axis ["1", "3", "5", "7", "9", "11", "13", "15", "17", "19", "21", "23", "25"]' in chart


@pytest.mark.parametrize("points", [[], [TrendPoint("abc", None)]], ids=["no-runs", "no-rates"])
def test_no_rate_means_no_chart_and_no_trend_line(points: list[TrendPoint]) -> None:
    assert mermaid_trend(points, 0.9) == ""
    assert text_trend(points, 0.9) == ""


@pytest.mark.parametrize(
    ("points", "gate", "kwargs", "expected"),
    [
        pytest.param(
            STORY,
            0.9,
            {"gate_label": ">90%"},
            "63.0% → 77.5% → 88.5% → 89.4% → 94.3% (gate >90%)",
            id="example-story",
        ),
        pytest.param(
            STORY, 0.9, {}, "63.0% → 77.5% → 88.5% → 89.4% → 94.3% (gate 90%)", id="default-gate-label"
        ),
        pytest.param(
            STORY,
            0.9,
            {"last": 2},
            "63.0% → … → 89.4% → 94.3% (gate 90%)",
            id="long-history-keeps-first-and-last",
        ),
        pytest.param(
            STORY,
            0.9,
            {"last": 3},
            "63.0% → 77.5% → 88.5% → 89.4% → 94.3% (gate 90%)",
            id="ellipsis-only-if-shorter",
        ),
        pytest.param(
            STORY,
            0.9,
            {"gate_label": ">90%", "sparkline": True},
            "▂▄▆▆▇ 63.0% → 77.5% → 88.5% → 89.4% → 94.3% (gate >90%)",
            id="sparkline",
        ),
        pytest.param(
            [TrendPoint(str(i), 0.5 + i / 40) for i in range(9)],
            0.9,
            {"gate_label": ">=90%", "last": 3, "sparkline": True},
            "▁▁▂▂▃▃▄▄▅ 50.0% → … → 65.0% → 67.5% → 70.0% (gate >=90%)",
            id="sparkline-covers-every-run",
        ),
        pytest.param(
            [TrendPoint("a", 0.925), TrendPoint("b", None)],
            0.925,
            {},
            "92.5% (gate 92.5%)",
            id="single-rate",
        ),
    ],
)
def test_text_trend_is_one_line(
    points: list[TrendPoint], gate: float, kwargs: dict[str, Any], expected: str
) -> None:
    assert text_trend(points, gate, **kwargs) == expected


def test_text_trend_shows_at_least_the_latest_rate() -> None:
    with pytest.raises(ValueError, match="last >= 1"):
        text_trend(STORY, 0.9, last=0)


@pytest.mark.parametrize("rate", [-0.01, 1.01, math.nan, math.inf])
def test_a_trend_point_refuses_what_is_not_a_pass_rate(rate: float) -> None:
    with pytest.raises(ValueError, match="fraction in"):
        TrendPoint("abc", rate)


@pytest.mark.parametrize("gate", [1.5, math.nan])
def test_a_gate_that_is_not_a_fraction_is_refused(gate: float) -> None:
    with pytest.raises(ValueError, match="a gate is a fraction"):
        mermaid_trend(STORY, gate)
    with pytest.raises(ValueError, match="a gate is a fraction"):
        text_trend(STORY, gate)
