"""The trend chart as a reader sees it: drawn by Mermaid itself (its dist bundle from npm) in Debian's
headless Chromium, driven through its chromedriver, in the themes GitHub draws Mermaid with for light-mode
readers ("default") and dark-mode readers ("dark").

Each line must stand out at least 3:1 (WCAG's contrast for graphics) from GitHub's page and from the
background Mermaid paints behind the plot, and the x-axis must name every charted run legibly.
CI installs the browser and Mermaid (.ci/run), so there the test never skips; elsewhere it skips when
either is missing, saying how to install it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from bot.tracking.chart import MAX_CHARTED_RUNS, TrendPoint, mermaid_trend

MERMAID_VERSION = "11.17.2"  # the release .ci/run installs
MERMAID = Path(__file__).resolve().parent.parent / ".venv" / "mermaid" / "node_modules" / "mermaid"
BUNDLE = MERMAID / "dist" / "mermaid.min.js"
INSTALL = f"npm install --no-save --prefix .venv/mermaid mermaid@{MERMAID_VERSION}"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _mermaid_version() -> str | None:
    package = MERMAID / "package.json"
    return str(json.loads(package.read_text())["version"]) if package.is_file() and BUNDLE.is_file() else None


MISSING = [
    *([] if CHROMIUM and CHROMEDRIVER else ["Debian's chromium and chromium-driver"]),
    *([] if _mermaid_version() == MERMAID_VERSION else [f"Mermaid {MERMAID_VERSION} (run: {INSTALL})"]),
]
if MISSING and not os.environ.get("CI"):
    pytest.skip(f"not installed: {'; '.join(MISSING)}", allow_module_level=True)

from selenium import webdriver  # noqa: E402  (only where the browser is)
from selenium.webdriver.chrome.service import Service  # noqa: E402

# GitHub's page backgrounds: light mode, and dark mode (the default dark theme).
PAGES = {"default": "#ffffff", "dark": "#0d1117"}
# The demo's story: eight runs from 63 % past the 90 % gate, one regression below the 62 % baseline.
STORY = [
    TrendPoint(hashlib.sha1(str(n).encode()).hexdigest(), rate)
    for n, rate in enumerate([0.630, 0.674, 0.841, 0.604, 0.841, 0.947, 0.952, 0.952])
]
RENDER = """
const [source, theme, done] = arguments;
mermaid.initialize({startOnLoad: false, theme});
mermaid.render("chart" + Math.floor(Math.random() * 1e9), source).then(({svg}) => {
  const out = document.getElementById("out");
  out.innerHTML = svg;
  const style = (element) => getComputedStyle(element);
  done({
    background: style(out.querySelector("rect.background")).fill,
    lines: Array.from(out.querySelectorAll("g.plot path")).map((path) => ({
      stroke: style(path).stroke,
      opacity: Number(style(path).strokeOpacity) * Number(style(path).opacity),
    })),
    labels: Array.from(out.querySelectorAll("g.bottom-axis g.label text")).map((text) => {
      const box = text.getBoundingClientRect();
      return {text: text.textContent, left: box.left, right: box.right};
    }),
  });
}).catch((error) => done({error: String(error)}));
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if MISSING:
        pytest.fail(f"CI must install: {'; '.join(MISSING)}")
    page = tmp_path_factory.mktemp("mermaid") / "chart.html"
    page.write_text(
        f'<!doctype html><html><head><meta charset="utf-8"><script src="{BUNDLE.as_uri()}"></script>'
        '</head><body><div id="out" style="width: 700px"></div></body></html>'
    )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument("--allow-file-access-from-files")
    # An explicit driver: Selenium Manager must not try to download one.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        driver.set_script_timeout(20)
        driver.get(page.as_uri())
        yield driver
    finally:
        driver.quit()


def draw(browser: Any, chart: str, theme: str) -> dict[str, Any]:
    """What Mermaid drew for a fenced chart from the bot: the colours on screen and the axis labels."""
    source = chart.removeprefix("```mermaid\n").removesuffix("\n```")
    drawn: dict[str, Any] = browser.execute_async_script(RENDER, source, theme)
    assert "error" not in drawn, drawn
    return drawn


def rgb(colour: str) -> tuple[float, float, float]:
    """``#rrggbb`` or a computed ``rgb(r, g, b)`` as channels in [0, 1]."""
    if colour.startswith("#"):
        return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]
    red, green, blue = (int(c) / 255 for c in re.findall(r"\d+", colour)[:3])
    return red, green, blue


def luminance(colour: tuple[float, float, float]) -> float:
    """WCAG 2's relative luminance."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in colour]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: tuple[float, float, float], other: tuple[float, float, float]) -> float:
    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def seen(line: dict[str, Any], behind: tuple[float, float, float]) -> tuple[float, float, float]:
    """The stroke as it appears over ``behind``: a translucent line blends with what is under it."""
    alpha = float(line["opacity"])
    stroke = rgb(line["stroke"])
    red, green, blue = (alpha * s + (1 - alpha) * b for s, b in zip(stroke, behind, strict=True))
    return red, green, blue


@pytest.mark.parametrize("theme", PAGES)
def test_every_line_of_the_chart_stands_out_3_to_1_on_githubs_light_and_dark_pages(
    browser: Any, theme: str
) -> None:
    drawn = draw(browser, mermaid_trend(STORY, 0.9, baseline=0.62), theme)
    assert len(drawn["lines"]) == 3  # the baseline, the gate and the pass rate
    painted, page = rgb(drawn["background"]), rgb(PAGES[theme])
    ratios = [
        (round(contrast(seen(line, painted), painted), 2), round(contrast(seen(line, page), page), 2))
        for line in drawn["lines"]
    ]
    assert all(min(pair) >= 3 for pair in ratios), (theme, drawn["background"], drawn["lines"], ratios)
    assert len({line["stroke"] for line in drawn["lines"]}) == 3  # three lines, three colours


def test_the_x_axis_names_each_charted_run_by_its_commit_without_overlap(browser: Any) -> None:
    points = [TrendPoint(hashlib.sha1(f"run {n}".encode()).hexdigest(), 0.6 + n / 50) for n in range(12)]
    drawn = draw(browser, mermaid_trend(points, 0.9), "default")
    assert [label["text"] for label in drawn["labels"]] == [
        point.label[:7] for point in points[-MAX_CHARTED_RUNS:]
    ]
    gaps = [right["left"] - left["right"] for left, right in pairwise(drawn["labels"])]
    assert min(gaps) > 0, gaps
