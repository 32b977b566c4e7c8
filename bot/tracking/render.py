"""Rendering the status block and the bot's comments from the Jinja2 templates in ``templates/``."""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

import bot
from bot.results.test_changes import MAX_NAME_CHARS, Names
from bot.rules import MARKS, Evaluation
from bot.tracking.chart import TrendPoint, mermaid_trend, text_trend
from bot.tracking.sandbox import SANDBOX, Refusal
from bot.tracking.sandbox_child import MAX_RENDERED_CHARS
from bot.tracking.status import StatusReport
from bot.untrusted import code_span, plain_text

log = logging.getLogger(__name__)

_TEMPLATE_DIRS = (
    Path(bot.__file__).resolve().parent / "templates",  # installed wheel
    Path(bot.__file__).resolve().parent.parent / "templates",  # source checkout
)


# A checkbox in the block: a human ticking it asks for the review at once; the next write unticks it.
REQUEST_REVIEW_LINE = "Request review now"
VERDICT_MARKS = {"holds": "✅", "does not hold": "❌", "unknown": "❔"}


def templates_dir() -> Path:
    for candidate in _TEMPLATE_DIRS:
        if (candidate / "status_block.md.j2").is_file():
            return candidate
    raise FileNotFoundError("the bot's templates/ directory is missing from this installation")


def percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def points(change: float | None) -> str:
    """A signed change in percentage points with an arrow: ``▲ +14.1 pp``."""
    if change is None:
        return "n/a"
    pp = round(change * 100, 1)
    if pp > 0:
        return f"▲ +{pp:.1f} pp"
    if pp < 0:
        return f"▼ {pp:.1f} pp"
    return "= 0.0 pp"


def code_block(text: str, info: str = "text") -> str:
    """Fence untrusted text so no mention, reference or markup in it takes effect."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def test_names(names: Names, limit: int | None = None) -> str:
    """Test ids as inert code spans, comma-separated: the first ``limit`` of those kept, then "and N more"
    for the rest (``names.total`` counts them all). A still-failing test shows for how many runs."""
    shown = names.shown if limit is None else names.shown[:limit]
    listed = ", ".join(
        f"{code_span(item[0], MAX_NAME_CHARS)} ({item[1]} runs)"
        if isinstance(item, tuple)
        else code_span(item, MAX_NAME_CHARS)
        for item in shown
    )
    more = names.total - len(shown)
    return f"{listed} and {more} more" if more > 0 and listed else (f"{more} tests" if more > 0 else listed)


_OPTIONS: dict[str, Any] = {
    "undefined": jinja2.StrictUndefined,
    "autoescape": False,  # the output is Markdown, not HTML
    "keep_trailing_newline": False,
    "trim_blocks": True,
    "lstrip_blocks": True,
}
_FILTERS: dict[str, Any] = {
    "percent": percent,
    "points": points,
    "code_block": code_block,
    "code_span_inline": code_span,
    "plain": plain_text,
    "test_names": test_names,
}
# A repository's template may be at most this long (a status block's template is about 3 KiB).
MAX_TEMPLATE_BYTES = 16 * 1024


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir()), **_OPTIONS)
    env.filters.update(_FILTERS)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context).strip() + "\n"


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """No attribute games (the sandbox), no mutation, and no operator that could build a huge value.

    These checks give a clear reason for the common mistakes; the child process's limits are the bound.
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError("exponent too large")
        repeats = operator == "*" and isinstance(left, (str, list, tuple)) and isinstance(right, int)
        if repeats and len(left) * right > MAX_RENDERED_CHARS:
            raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


def bounded_sandbox() -> jinja2.Environment:
    """The environment repository templates render in (inside the sandbox's child process)."""
    env = _BoundedSandbox(**_OPTIONS)
    env.filters.update(_FILTERS)
    return env


class Templates:
    """The built-in templates, with a repository's overrides rendered in the sandbox's child process."""

    def __init__(self, overrides: dict[str, str] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._exhausted: set[str] = set()  # overrides that hit a limit: not tried again on this revision
        self.problems: dict[str, str] = {}  # template name -> why its override was not used

    async def render(self, template: str, **context: Any) -> str:
        """The repository's override when it renders within the limits, else the built-in template."""
        source = self._overrides.get(template)
        if source is not None and template not in self._exhausted:
            outcome = await _render_override(source, context)
            if isinstance(outcome, str):
                return outcome
            self.problems[template] = outcome.reason
            if outcome.exhausted:
                self._exhausted.add(template)
        return render(template, **context)


async def _render_override(source: str, context: dict[str, Any]) -> str | Refusal:
    if len(source.encode()) > MAX_TEMPLATE_BYTES:
        return Refusal(f"larger than {MAX_TEMPLATE_BYTES // 1024} KiB", exhausted=True)
    try:
        return await SANDBOX.render(source, context)
    except Exception as error:  # the sandbox itself failed (cannot start, cannot send): still fall back
        log.exception("the template sandbox failed")
        return Refusal(f"the template renderer is unavailable ({type(error).__name__})", exhausted=False)


BUILT_IN = Templates()
# What a repository may override: every template but the two that report a broken configuration or a
# broken override (they must work when the repository's own files do not).
TEMPLATE_NAMES = frozenset(
    {
        "status_block.md.j2",
        "event_comment.md.j2",
        "handover_comment.md.j2",
        "body_limit_comment.md.j2",
        "command_reply.md.j2",
    }
)


async def render_status_block(
    report: StatusReport | None,
    *,
    state_marker: str,
    commit_url: str,
    checklist_line_found: bool,
    evaluation: Evaluation | None = None,
    review_configured: bool = False,
    unavailable: tuple[str, ...] = (),
    evaluated_sha: str = "",
    templates: Templates = BUILT_IN,
) -> str:
    """The block; ``evaluation`` (when the tracker has rules or fixes) shows each fix and criterion, and
    ``unavailable`` lists why some results of commit ``evaluated_sha`` could not be read."""
    chart = trend = ""
    if report is not None:
        points = [TrendPoint(run.sha, report.rate_of(run)) for run in report.history]
        chart = mermaid_trend(points, report.gate.threshold, baseline=report.baseline_rate)
        trend = text_trend(points, report.gate.threshold, gate_label=str(report.gate))
    return await templates.render(
        "status_block.md.j2",
        report=report,
        chart=chart,
        trend=trend,
        state_marker=state_marker,
        commit_url=commit_url,
        checklist_line_found=checklist_line_found,
        evaluation=evaluation,
        review_line=REQUEST_REVIEW_LINE if report is not None and review_configured else "",
        verdict_marks=VERDICT_MARKS,
        phase_marks=MARKS,
        unavailable=unavailable,
        evaluated_sha=evaluated_sha,
    )
