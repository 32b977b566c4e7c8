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


# Mermaid's init directive: the reference lines first (grey baseline, orange gate), the blue pass rate last.
INIT = '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "PALETTE"}}}}%%'
WITH_BASELINE = INIT.replace("PALETTE", "#7d8590, #e8590c, #2f81f7")
GATE_ONLY = INIT.replace("PALETTE", "#e8590c, #2f81f7")


@pytest.mark.parametrize(
    ("points", "gate", "baseline", "title", "expected"),
    [
        pytest.param(
            STORY,
            0.9,
            0.62,
            "Pass rate",
            f"""```mermaid
{WITH_BASELINE}
xychart-beta
  title "Pass rate (blue), gate (orange), baseline (grey)"
  x-axis "Commit" ["3f1c2a9", "8b0d7e4", "c4e9a1b", "d2f6b3c", "e7a5c9d"]
  y-axis "Pass rate (%)" 60 --> 100
  line [62.0, 62.0, 62.0, 62.0, 62.0]
  line [90.0, 90.0, 90.0, 90.0, 90.0]
  line [63.0, 77.5, 88.5, 89.4, 94.3]
```""",
            id="example-story",
        ),
        pytest.param(
            [TrendPoint('a"b\n```x', 0.5), TrendPoint("ffffffff", None), TrendPoint("0123456789", 0.981)],
            0.95,
            None,
            'Pass "rate"\n```%%{init}%% ü',
            f"""```mermaid
{GATE_ONLY}
xychart-beta
  title "Pass rate init ü (blue), gate (orange)"
  x-axis "Commit" ["a_b____", "0123456"]
  y-axis "Pass rate (%)" 50 --> 100
  line [95.0, 95.0]
  line [50.0, 98.1]
```""",
            id="hostile-label-and-title-neutralised-and-empty-run-skipped",
        ),
        pytest.param(
            [TrendPoint("line.bar-x_1", 0.5), TrendPoint("title", 0.6)],
            0.9,
            None,
            "Pass rate",
            f"""```mermaid
{GATE_ONLY}
xychart-beta
  title "Pass rate (blue), gate (orange)"
  x-axis "Commit" ["line.ba", "title"]
  y-axis "Pass rate (%)" 50 --> 90
  line [90.0, 90.0]
  line [50.0, 60.0]
```""",
            id="mermaid-keywords-as-labels-stay-quoted",
        ),
        pytest.param(
            [TrendPoint("abc", 1.0)],
            1.0,
            1.0,
            "Pass rate",
            f"""```mermaid
{WITH_BASELINE}
xychart-beta
  title "Pass rate (blue), gate (orange), baseline (grey)"
  x-axis "Commit" ["abc"]
  y-axis "Pass rate (%)" 90 --> 100
  line [100.0]
  line [100.0]
  line [100.0]
```""",
            id="everything-at-100-gets-a-ten-point-range",
        ),
        pytest.param(
            [TrendPoint("abc1234", 0.0), TrendPoint("abc1234ff", 0.04), TrendPoint("abc1234", 0.04)],
            0.05,
            None,
            "",
            f"""```mermaid
{GATE_ONLY}
xychart-beta
  x-axis "Commit" ["abc1234", "abc1234f", "abc1234-2"]
  y-axis "Pass rate (%)" 0 --> 10
  line [5.0, 5.0, 5.0]
  line [0.0, 4.0, 4.0]
```""",
            id="coinciding-short-shas-are-lengthened-as-git-does-and-an-empty-title-is-left-out",
        ),
        pytest.param(
            [TrendPoint(f"{i:x}" * 7, i / 20) for i in range(14)],
            0.9,
            0.1,
            "Pass rate",
            f"""```mermaid
{WITH_BASELINE}
xychart-beta
  title "Pass rate (blue), gate (orange), baseline (grey)"
  x-axis "Commit (last 10 of 14 runs)" ["4444444", "5555555", "6666666", "7777777", "8888888", "9999999", \
"aaaaaaa", "bbbbbbb", "ccccccc", "ddddddd"]
  y-axis "Pass rate (%)" 10 --> 90
  line [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0]
  line [90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0, 90.0]
  line [20.0, 25.0, 30.0, 35.0, 40.0, 45.0, 50.0, 55.0, 60.0, 65.0]
```""",
            id="only-the-latest-runs-are-drawn-each-named-by-its-commit",
        ),
    ],
)
def test_mermaid_trend_draws_the_rate_over_the_gate_and_the_baseline(
    points: list[TrendPoint], gate: float, baseline: float | None, title: str, expected: str
) -> None:
    assert mermaid_trend(points, gate, baseline=baseline, title=title) == expected


def test_the_window_counts_runs_without_a_rate_so_it_matches_the_history() -> None:
    points = [TrendPoint(f"{i:07d}", None if i % 2 else 0.5) for i in range(26)]
    chart = mermaid_trend(points, 0.9)
    labels = '["0000016", "0000018", "0000020", "0000022", "0000024"]'
    assert f'  x-axis "Commit (last 10 of 26 runs)" {labels}' in chart


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
def test_a_gate_or_baseline_that_is_not_a_fraction_is_refused(gate: float) -> None:
    with pytest.raises(ValueError, match="a gate is a fraction"):
        mermaid_trend(STORY, gate)
    with pytest.raises(ValueError, match="a baseline is a fraction"):
        mermaid_trend(STORY, 0.9, baseline=gate)
    with pytest.raises(ValueError, match="a gate is a fraction"):
        text_trend(STORY, gate)
