"""The repository's ``.github/issue-status.yml``: parsed, validated, and explained when wrong.

Pure functions over text: the caller fetches the file, this module says what it means or, in
:class:`ConfigError`, what a maintainer has to change. A broken file must never crash the bot, so
:func:`parse_config` raises nothing but ``ConfigError``, whatever bytes it is given.

Gate syntax (``gate:``)
    An optional operator, ``>`` or ``>=`` (``>=`` when omitted), then a threshold written either as
    a percentage, ``"90%"`` or ``"92.5%"``, more than 0 % and at most 100 %, or as a fraction,
    ``0.9``, more than 0 and at most 1. Spaces are allowed: ``"> 90 %"``. Quote a gate that starts
    with ``>``: unquoted, YAML reads ``>`` as the start of a folded block. A bare YAML number is a
    fraction, so ``0.9`` is the gate ``>=90%`` and ``90`` is refused with a hint. ``">100%"`` is
    refused because no pass rate can exceed 100 %. The default is ``">90%"``.

Baseline syntax (``baseline:``)
    A pass rate from 0 to 1 (``0.62``) or a percentage string (``"62%"``).

Checklist rules (``rules:``), fixes (``fixes:``) and review conditions (``review.when``)
    A rule binds a checklist line (``line:``, matched tolerantly) to exactly one condition:
    ``gate: true``, ``tests: <glob>`` (every test whose id matches passes; case-insensitive),
    ``green_runs: N`` (the last N finished runs met the gate) or ``manual: true`` (a human ticks
    it; the bot only reads it). A fix names a heading (``name:``), the ``files:`` whose change
    starts it, optionally the ``tests:`` that finish it, an ``estimate:`` ("2h", "90m", "1.5h",
    "1h30m") and a checklist ``line:`` ticked when it is done. ``review.when`` lists conditions
    that must all hold: ``gate``, ``fixes_done``, ``{tests: <glob>}``, ``{green_runs: N}`` and
    ``{manual: <line>}`` (that line is ticked).

Each section of the file is one pydantic model deriving from :class:`Section`; adding a section is
adding a model and one field, and the error messages (unknown keys, suggestions, locations) follow.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
import re
import typing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError
from yaml.constructor import ConstructorError
from yaml.error import MarkedYAMLError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError
from yaml.scanner import ScannerError

from bot.results.counts import TestCounts
from bot.tracking.body import match_key as checklist_key  # the body's own notion of "same line"
from bot.tracking.state import MAX_HISTORY

CONFIG_PATH = ".github/issue-status.yml"

# Bounds on what the file may cost to read. A real configuration is a few hundred bytes; these
# refuse hostile documents (alias bombs, deep nesting) long before they cost memory or time.
MAX_CONFIG_BYTES = 64 * 1024
MAX_NESTING = 32
MAX_VALUES = 10_000  # scalars, lists and mappings, counted as if every alias were a copy
MAX_PROBLEMS = 20  # the rest is summarised, so the error comment stays readable
MAX_SHOWN_CHARS = 80  # an offending value is shown up to this length
MAX_ISSUES_NAMED = 10  # a broken file gets its error comment on at most this many issues

DEFAULT_CHECKLIST_LINE = ">90% test pass rate achieved"
FILE = "(file)"  # the location of problems with the file as a whole


# --- Problems --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing a maintainer has to fix, and where."""

    location: str  # "trackers[0].gate", or "(file) line 3, column 7" for YAML syntax
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class ConfigError(Exception):
    """The file cannot be used; ``problems`` says why, one entry per fix to make."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


def show(value: object) -> str:
    """A value as the maintainer wrote it, roughly, never longer than MAX_SHOWN_CHARS."""
    text = _show(value, MAX_SHOWN_CHARS + 1)
    if len(text) > MAX_SHOWN_CHARS:
        return text[: MAX_SHOWN_CHARS - 3] + "..."
    return text


def _show(value: object, budget: int) -> str:
    # The budget stops the walk early, so deep or aliased structures cost no more than a line.
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return repr(value)[:budget]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return "binary data"
    items: Iterator[str]
    if isinstance(value, dict):
        opening, closing = "{", "}"
        items = (f"{_show(key, budget)}: {_show(item, budget)}" for key, item in value.items())
    elif isinstance(value, (list, tuple, set, frozenset)):
        opening, closing = "[", "]"
        items = (_show(item, budget) for item in value)
    else:
        return type(value).__name__
    text = opening
    for index, item in enumerate(items):
        if len(text) >= budget:
            break
        text += (", " if index else "") + item
    return (text + closing)[:budget]


# --- Rates: gate and baseline ----------------------------------------------------------------------


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
    """A gate from its YAML value (see the module docstring); ValueError says what is wrong."""
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


# --- Field types -----------------------------------------------------------------------------------


def _refuse(message: str) -> PydanticCustomError:
    # Our own error kind: its text is shown to the maintainer as is.
    return PydanticCustomError("config", "{message}", {"message": message})


def _from_parser(parse: Callable[[object], object]) -> Callable[[object], object]:
    def validate(value: object) -> object:
        try:
            return parse(value)
        except ValueError as error:
            raise _refuse(str(error)) from None

    return validate


def _quote_hint(value: object) -> str:
    # YAML 1.1 turns yes/no/on/off into booleans and 1.0 into a number; quoting keeps the text.
    if isinstance(value, (bool, int, float, date)):
        return " (quote it to keep it as text)"
    return ""


def _issue_number(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    hint = " ('#' starts a comment in YAML: write issue: 2)" if value is None else ""
    raise _refuse(f"expected the tracking issue's number (1 or more), got {show(value)}{hint}")


def _branch(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _refuse(f"expected a branch name, got {show(value)}{_quote_hint(value)}")
    if value.startswith("refs/heads/"):
        raise _refuse(f"expected a branch name without 'refs/heads/', got {show(value)}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _refuse(f"expected some text, got {show(value)}{_quote_hint(value)}")
    return value


def _visible_text(value: object) -> str:
    """Text matched against the issue's lines, which needs something left once markdown is ignored."""
    text = _text(value)
    if not checklist_key(text):
        raise _refuse(f"{show(text)} has no visible text to match a line of the issue")
    return text


def _glob(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise _refuse(f"expected a glob such as 'tests*', got {show(value)}{_quote_hint(value)}")
    return value


_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_TEAM_SLUG = re.compile(r"[A-Za-z0-9_.-]+")


def _login(value: object) -> str:
    if isinstance(value, str) and value.startswith("@"):
        raise _refuse(f"expected a GitHub login without '@', got {show(value)}")
    if not isinstance(value, str) or not _LOGIN.fullmatch(value):
        raise _refuse(f"expected a GitHub login such as 'octocat', got {show(value)}{_quote_hint(value)}")
    return value


def _team_slug(value: object) -> str:
    if isinstance(value, str) and "/" in value:
        raise _refuse(f"expected a team slug without the organisation, got {show(value)}")
    if not isinstance(value, str) or not _TEAM_SLUG.fullmatch(value):
        raise _refuse(f"expected a team slug such as 'core-reviewers', got {show(value)}{_quote_hint(value)}")
    return value


def _list_of(what: str, *, at_least_one: str | None = None) -> Callable[[object], object]:
    """Accept only a YAML list (a lone string is refused, not guessed at), then its items."""

    def validate(value: object) -> object:
        if not isinstance(value, (list, tuple)):
            hint = " (start each entry with '- ')" if isinstance(value, dict) else ""
            raise _refuse(f"expected a list of {what}, got {show(value)}{hint}")
        if not value and at_least_one:
            raise _refuse(f"expected at least one entry, got an empty list; {at_least_one}")
        return tuple(value)

    return validate


_DURATION_PART = re.compile(
    r"\s*(\d+(?:\.\d+)?|\.\d+)\s*(h|hours?|m|min|mins|minutes?)(?![a-z])", re.IGNORECASE
)


def parse_estimate(value: object) -> timedelta:
    """A fix's estimate, "2h", "90m", "1.5h", "1h30m" or "2 hours"; ValueError says what is wrong."""
    expected = f"expected a duration such as '2h', '90m' or '1.5h', got {show(value)}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"{expected}; say the unit: '{value}h' or '{value}m'")
    if not isinstance(value, str):
        raise ValueError(expected)
    total, position = timedelta(), 0
    for part in _DURATION_PART.finditer(value):
        if part.start() != position:
            break
        hours = part[2][0].lower() == "h"
        total += timedelta(hours=float(part[1])) if hours else timedelta(minutes=float(part[1]))
        position = part.end()
    if position == 0 or value[position:].strip():
        raise ValueError(expected)
    if total <= timedelta():
        raise ValueError(f"an estimate must be more than nothing, got {show(value)}")
    return total


def _repo_path_glob(value: object) -> str:
    glob = _glob(value)
    if glob.startswith(("/", "./")):
        raise _refuse(
            f"paths are relative to the repository's root; drop the leading '/' or './' of {show(glob)}"
        )
    return glob


_MAX_LABEL_CHARS = 50  # GitHub refuses longer label names


def _label(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_LABEL_CHARS:
        limit = f"up to {_MAX_LABEL_CHARS} characters"
        raise _refuse(f"expected a label name ({limit}), got {show(value)}{_quote_hint(value)}")
    return value


def _green_runs(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_HISTORY:
        return value
    raise _refuse(f"expected a number of runs from 1 to {MAX_HISTORY}, got {show(value)}")


def _overdue(value: object) -> float:
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 1
    ):
        return float(value)
    raise _refuse(f"expected a factor of the estimate, at least 1 (1.5: 50% over it), got {show(value)}")


def _flag(value: object) -> bool:
    # ``manual: false`` or ``gate: false`` would say nothing: the key is either there or left out.
    if value is True:
        return True
    raise _refuse(f"expected true (or leave the key out), got {show(value)}")


# --- Conditions: what a rule line or the review trigger waits for ----------------------------------


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
_CONDITION_WORDS = ("gate", "fixes_done", "tests", "green_runs", "manual")
_CONDITIONS_HELP = "gate, fixes_done, {tests: <glob>}, {green_runs: N} or {manual: <checklist line>}"


def _condition(value: object) -> Condition:
    """One entry of ``review.when``: a bare word or a mapping with exactly one key."""
    if isinstance(value, Condition):
        return value
    if value == "gate":
        return GateCondition()
    if value == "fixes_done":
        return FixesDoneCondition()
    if isinstance(value, dict) and len(value) == 1:
        ((kind, argument),) = value.items()
        if kind == "tests":
            return TestsCondition(_glob(argument))
        if kind == "green_runs":
            return GreenRunsCondition(_green_runs(argument))
        if kind == "manual":
            return TickedCondition(_visible_text(argument))
    if isinstance(value, dict) and len(value) > 1:
        raise _refuse(f"one condition per entry, got {show(value)}; start each with '- '")
    word = next(iter(value), None) if isinstance(value, dict) else value
    close = difflib.get_close_matches(str(word), _CONDITION_WORDS, n=1) if isinstance(word, str) else []
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise _refuse(f"expected a condition: {_CONDITIONS_HELP}; got {show(value)}{hint}")


IssueNumber = Annotated[int, PlainValidator(_issue_number)]
BranchName = Annotated[str | None, PlainValidator(_branch)]
Text = Annotated[str, PlainValidator(_text)]
LineText = Annotated[str, PlainValidator(_visible_text)]
Glob = Annotated[str, PlainValidator(_glob)]
Login = Annotated[str, PlainValidator(_login)]
TeamSlug = Annotated[str, PlainValidator(_team_slug)]
GateSpec = Annotated[
    Gate, PlainValidator(_from_parser(lambda v: v if isinstance(v, Gate) else parse_gate(v)))
]
BaselineRate = Annotated[
    float | None, PlainValidator(_from_parser(lambda v: None if v is None else parse_baseline(v)))
]
Estimate = Annotated[
    timedelta, PlainValidator(_from_parser(lambda v: v if isinstance(v, timedelta) else parse_estimate(v)))
]
RepoPathGlob = Annotated[str, PlainValidator(_repo_path_glob)]
LabelName = Annotated[str, PlainValidator(_label)]
RunCount = Annotated[int, PlainValidator(_green_runs)]
OverdueFactor = Annotated[float, PlainValidator(_overdue)]
Flag = Annotated[bool, PlainValidator(_flag)]
ConditionSpec = Annotated[Condition, PlainValidator(_condition)]


# --- Schema ----------------------------------------------------------------------------------------


class Section(BaseModel):
    """A mapping in the file: unknown keys are errors, and parsed values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ReviewConfig(Section):
    """Who is asked to review, once every condition in ``when`` holds (by default: the gate is met)."""

    reviewers: Annotated[tuple[Login, ...], BeforeValidator(_list_of("GitHub logins"))] = ()
    team_reviewers: Annotated[tuple[TeamSlug, ...], BeforeValidator(_list_of("team slugs"))] = ()
    when: Annotated[
        tuple[ConditionSpec, ...],
        BeforeValidator(_list_of("conditions", at_least_one="leave 'when' out to wait for the gate")),
    ] = (GateCondition(),)


class RuleConfig(Section):
    """A checklist line the bot keeps ticked exactly while its one condition holds."""

    line: LineText
    gate: Flag = False
    tests: Glob | None = None
    green_runs: RunCount | None = None
    manual: Flag = False

    @model_validator(mode="after")
    def _one_condition(self) -> RuleConfig:
        given = [name for name in _RULE_CONDITIONS if getattr(self, name) not in (None, False)]
        if len(given) != 1:
            got = "none" if not given else " and ".join(given)
            raise _refuse(f"a rule needs exactly one condition, {_RULE_HELP}; got {got}")
        return self

    @property
    def condition(self) -> Condition:
        if self.gate:
            return GateCondition()
        if self.tests is not None:
            return TestsCondition(self.tests)
        if self.green_runs is not None:
            return GreenRunsCondition(self.green_runs)
        return TickedCondition(self.line)

    @property
    def writes_line(self) -> bool:
        """Whether the bot's verdict ticks and unticks the line; a manual line is a human's verdict."""
        return not self.manual


_RULE_CONDITIONS = ("gate", "tests", "green_runs", "manual")
_RULE_HELP = "'gate: true', 'tests: <glob>', 'green_runs: N' or 'manual: true'"


class FixConfig(Section):
    """A planned fix: its heading's mark goes ⏳ → 🔄 when its files change and → ✅ when it works."""

    name: LineText  # the heading's text, without its numbering, estimate and mark
    files: Annotated[
        tuple[RepoPathGlob, ...],
        BeforeValidator(_list_of("paths or globs", at_least_one="name the files this fix changes")),
    ]
    tests: Glob | None = None  # None: the fix is done when a run after it improves the pass rate
    estimate: Estimate | None = None
    line: LineText | None = None  # a checklist line ticked when the fix is done


class EscalationConfig(Section):
    """How escalation comments stand out, and when a fix in progress counts as overdue."""

    label: LabelName | None = None
    overdue: OverdueFactor = 1.5  # a fix in progress longer than this times its estimate


ResultSourceName = Literal["output", "logs", "junit"]


def _distinct(value: object) -> object:
    if isinstance(value, tuple) and len(set(value)) != len(value):
        raise _refuse(f"each entry may appear once, got {show(list(value))}")
    return value


class ResultsConfig(Section):
    """Where a commit's test results are read, and how its jobs add up."""

    # Tried in this order for each job; "junit" reads the workflow run's test-result artifacts.
    sources: Annotated[
        tuple[ResultSourceName, ...],
        BeforeValidator(_list_of("result sources", at_least_one="use output, logs and/or junit")),
        AfterValidator(_distinct),
    ] = ("output", "logs", "junit")
    artifacts: Annotated[
        tuple[Glob, ...], BeforeValidator(_list_of("artifact name globs", at_least_one="or drop junit"))
    ] = ("*test*results*", "*junit*")
    # "sum": the commit's counts are the sum of its jobs; "worst": those of its worst job.
    aggregate: Literal["sum", "worst"] = "sum"


class PassRateConfig(Section):
    """How the pass rate treats skipped tests: left out (default) or counted as not passed."""

    skipped: Literal["exclude", "include"] = "exclude"


class TrackerConfig(Section):
    """One tracking issue and the CI results that update it."""

    issue: IssueNumber
    branch: BranchName = None  # None: the repository's default branch
    checks: Annotated[
        tuple[Glob, ...], BeforeValidator(_list_of("globs", at_least_one="use ['*'] for every check run"))
    ] = ("*",)
    gate: GateSpec = DEFAULT_GATE
    baseline: BaselineRate = None  # None: the first run the bot records
    checklist_line: LineText = (
        DEFAULT_CHECKLIST_LINE  # the gate's line, unless a rule with 'gate: true' names it
    )
    rules: Annotated[tuple[RuleConfig, ...], BeforeValidator(_list_of("rules"))] = ()
    fixes: Annotated[tuple[FixConfig, ...], BeforeValidator(_list_of("fixes"))] = ()
    escalation: EscalationConfig = EscalationConfig()
    review: ReviewConfig = ReviewConfig()
    results: ResultsConfig = ResultsConfig()
    pass_rate: PassRateConfig = PassRateConfig()

    @model_validator(mode="before")
    @classmethod
    def _gate_line_from_rules(cls, data: Any) -> Any:
        """Without ``checklist_line``, the gate's line is the first ``gate: true`` rule's line."""
        if not isinstance(data, dict) or "checklist_line" in data or not isinstance(data.get("rules"), list):
            return data
        for rule in data["rules"]:
            if isinstance(rule, dict) and rule.get("gate") is True and isinstance(rule.get("line"), str):
                return {**data, "checklist_line": rule["line"]}
        return data

    @property
    def checklist_rules(self) -> tuple[RuleConfig, ...]:
        """Every rule, with the gate's ``checklist_line`` as a rule when no rule names the gate."""
        if any(rule.gate for rule in self.rules):
            return self.rules
        return (RuleConfig(line=self.checklist_line, gate=True), *self.rules)

    def rate_of(self, counts: TestCounts) -> float | None:
        """The pass rate of ``counts`` under this tracker's policy for skipped tests."""
        return counts.rate(include_skipped=self.pass_rate.skipped == "include")

    def matches_check(self, check_name: str) -> bool:
        """Whether a check run's results count for this tracker (globs are case-sensitive)."""
        return any(fnmatch.fnmatchcase(check_name, pattern) for pattern in self.checks)

    def tracks_branch(self, branch: str | None, default_branch: str) -> bool:
        """Whether runs on ``branch`` update this tracker; a run with no branch never does."""
        return branch is not None and branch == (self.branch or default_branch)


def _template_dir(value: object) -> str:
    text = _text(value).strip().strip("/")
    if (text.startswith(".") and text != ".github" and not text.startswith(".github/")) or ".." in text.split(
        "/"
    ):
        raise _refuse(
            f"expected a folder of the repository such as '.github/issue-status', got {show(value)}"
        )
    return text


class RepoConfig(Section):
    """The whole file."""

    trackers: Annotated[
        tuple[TrackerConfig, ...],
        BeforeValidator(_list_of("trackers", at_least_one="add one with at least 'issue: N'")),
    ]
    # A folder whose *.md.j2 files replace the built-in templates of the same name (off by default,
    # because looking for them costs API requests on every update).
    templates: Annotated[str | None, PlainValidator(lambda v: None if v is None else _template_dir(v))] = None

    def trackers_for_branch(self, branch: str | None, default_branch: str) -> list[TrackerConfig]:
        return [tracker for tracker in self.trackers if tracker.tracks_branch(branch, default_branch)]


def _consistency_problems(config: RepoConfig) -> Iterator[ConfigProblem]:
    """Rules across trackers, which the models cannot check one value at a time."""
    first_tracker: dict[int, int] = {}
    for index, tracker in enumerate(config.trackers):
        earlier = first_tracker.setdefault(tracker.issue, index)
        if earlier != index:
            yield ConfigProblem(
                f"trackers[{index}].issue",
                f"issue {tracker.issue} is already tracked by trackers[{earlier}]; "
                "an issue can have only one tracker",
            )
        yield from _tracker_problems(tracker, f"trackers[{index}]")


def _tracker_problems(tracker: TrackerConfig, where: str) -> Iterator[ConfigProblem]:
    """Lines claimed twice, fixes named twice, and review conditions that could never mean anything."""
    gate_rules = [rule for rule in tracker.rules if rule.gate]
    if gate_rules and all(checklist_key(r.line) != checklist_key(tracker.checklist_line) for r in gate_rules):
        yield ConfigProblem(
            f"{where}.checklist_line",
            f"the gate's line is {show(tracker.checklist_line)} here but {show(gate_rules[0].line)} "
            "in a rule with 'gate: true'; drop checklist_line",
        )
    owners: dict[str, str] = {}  # checklist line -> the rule or fix that claims it
    claims = [(f"{where}.rules[{n}].line", rule.line) for n, rule in enumerate(tracker.rules)]
    claims += [(f"{where}.fixes[{n}].line", fix.line) for n, fix in enumerate(tracker.fixes) if fix.line]
    for location, line in claims:
        first = owners.setdefault(checklist_key(line), location)
        if first != location:
            yield ConfigProblem(
                location, f"the line {show(line)} is already bound by {first.removesuffix('.line')}"
            )
    names: dict[str, int] = {}
    for number, fix in enumerate(tracker.fixes):
        first_fix = names.setdefault(checklist_key(fix.name), number)
        if first_fix != number:
            yield ConfigProblem(
                f"{where}.fixes[{number}].name", f"{where}.fixes[{first_fix}] has this name already"
            )
    written = {checklist_key(rule.line) for rule in tracker.checklist_rules if rule.writes_line}
    written |= {checklist_key(fix.line) for fix in tracker.fixes if fix.line}
    for number, condition in enumerate(tracker.review.when):
        location = f"{where}.review.when[{number}]"
        if isinstance(condition, FixesDoneCondition) and not tracker.fixes:
            yield ConfigProblem(location, "'fixes_done' needs at least one entry under 'fixes'")
        if isinstance(condition, TickedCondition) and checklist_key(condition.line) in written:
            yield ConfigProblem(
                location,
                f"the bot writes the line {show(condition.line)} itself, so its tick is not a human's; "
                "use that rule's condition here, or make the rule 'manual: true'",
            )


# --- Reading the YAML ------------------------------------------------------------------------------


class _TooComplex(MarkedYAMLError):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing what no configuration needs and a hostile file would use."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nesting = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        # The composer recurses once per level; bound it before Python's stack does.
        if self._nesting >= MAX_NESTING:
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise _TooComplex(None, None, f"nested more than {MAX_NESTING} levels deep", mark)
        self._nesting += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._nesting -= 1

    def construct_document(self, node: Node) -> Any:
        _check_document(node)
        return super().construct_document(node)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        # Some scalars fail in Python rather than in YAML (2024-02-30, !!int abc, 5000 digits).
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as error:
            raise ConstructorError(None, None, f"cannot read this value: {error}", node.start_mark) from None


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_document(root: Node) -> None:
    """Refuse recursive aliases, alias bombs and duplicate keys before anything is built.

    Sizes count every alias as a full copy, which is what a consumer walking the data pays.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        if finished:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[id(node)] > MAX_VALUES:
                raise _TooComplex(
                    None, None, f"more than {MAX_VALUES:,} values once aliases are expanded", node.start_mark
                )
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            raise _TooComplex(None, None, "an alias refers to a value that contains it", node.start_mark)
        open_nodes.add(id(node))
        if isinstance(node, MappingNode):
            _check_duplicate_keys(node)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node))


def _check_duplicate_keys(node: MappingNode) -> None:
    # PyYAML keeps the last of two equal keys silently; a maintainer would not know which counts.
    seen: dict[tuple[str, str], Node] = {}
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        first = seen.setdefault((key.tag, key.value), key)
        if first is not key:
            raise _TooComplex(
                None,
                None,
                f"duplicate key {show(key.value)} (first on line {first.start_mark.line + 1})",
                key.start_mark,
            )


_UNQUOTED_OPERATOR = re.compile(r":\s*>")


def _yaml_problem(error: yaml.YAMLError, text: str) -> ConfigProblem:
    if isinstance(error, ReaderError):
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        character = error.character if isinstance(error.character, int) else ord(error.character)
        return ConfigProblem(
            f"{FILE} line {line}, column {column}",
            f"character U+{character:04X} is not allowed in a YAML file",
        )
    if not isinstance(error, MarkedYAMLError):
        return ConfigProblem(FILE, str(error))
    mark = error.problem_mark or error.context_mark
    message = error.problem or error.context or "invalid YAML"
    if error.context and error.problem and error.context_mark:
        where = f"line {error.context_mark.line + 1}, column {error.context_mark.column + 1}"
        message += f" ({error.context} that starts at {where})"
    if mark is None:
        return ConfigProblem(FILE, message)
    lines = text.splitlines()
    source_line = lines[mark.line] if mark.line < len(lines) else ""
    if isinstance(error, ScannerError) and _UNQUOTED_OPERATOR.search(source_line):
        message += "; quote a value that starts with '>', e.g. gate: \">90%\""
    elif isinstance(error, ScannerError) and "'\\t'" in message:  # a tab, as PyYAML quotes it
        message += "; indent with spaces, not tabs"
    elif message.startswith("expected <block end>"):
        message += "; check this line's indentation"
    return ConfigProblem(f"{FILE} line {mark.line + 1}, column {mark.column + 1}", message)


def _decode(content: str | bytes) -> str:
    """The file as text, within the size limit; a ConfigError says why not."""
    raw = content.encode("utf-8", "surrogatepass") if isinstance(content, str) else content
    if len(raw) > MAX_CONFIG_BYTES:
        problem = f"the file is {len(raw):,} bytes; the limit is {MAX_CONFIG_BYTES:,} bytes"
        raise ConfigError([ConfigProblem(FILE, problem)])
    if isinstance(content, str):
        return content
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content.count(b"\n", 0, error.start) + 1
        problem = f"byte 0x{content[error.start]:02x} is not UTF-8; save the file as UTF-8"
        raise ConfigError([ConfigProblem(f"{FILE} line {line}", problem)]) from None


def _load_yaml(content: str | bytes) -> object:
    text = _decode(content)
    try:
        loader = _BoundedLoader(text)  # the reader refuses control characters right here
        try:
            return loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as error:
        raise ConfigError([_yaml_problem(error, text)]) from None


# --- Explaining validation errors ------------------------------------------------------------------

_EXPECTED = {
    "model_type": "a mapping of keys to values",
    "model_attributes_type": "a mapping of keys to values",
    "dict_type": "a mapping of keys to values",
    "tuple_type": "a list",
    "list_type": "a list",
    "string_type": "text",
    "int_type": "a whole number",
    "bool_type": "true or false",
}


def _path(loc: tuple[int | str, ...], *, ends_in_key: bool = False) -> str:
    """pydantic's ("trackers", 0, "gate") as "trackers[0].gate"; a last key stays a key even if 1."""
    text = ""
    for position, part in enumerate(loc):
        is_key = isinstance(part, str) or (ends_in_key and position == len(loc) - 1)
        text += (f".{part}" if text else str(part)) if is_key else f"[{part}]"
    return text or "(top level)"


def _section_type(annotation: object) -> tuple[type[Section] | None, bool]:
    """The section a field holds, and whether it holds a list of them."""
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return annotation, False
    if typing.get_origin(annotation) is tuple:
        inner, _ = _section_type(typing.get_args(annotation)[0])
        return inner, inner is not None
    return None, False


def _section_at(loc: tuple[int | str, ...]) -> type[Section] | None:
    section: type[Section] | None = RepoConfig
    for part in loc:
        if isinstance(part, int) or section is None:
            continue
        field = section.model_fields.get(part)
        section = _section_type(field.annotation)[0] if field else None
    return section


def _subsections(section: type[Section]) -> Iterator[tuple[str, type[Section], bool]]:
    for name, field in section.model_fields.items():
        inner, is_list = _section_type(field.annotation)
        if inner is not None:
            yield name, inner, is_list


def _key_hint(section: type[Section], key: str) -> str:
    """Where a misplaced or misspelt key probably belongs, or ""."""
    for name, inner, is_list in _subsections(section):
        if key in inner.model_fields:
            return f"it belongs inside each entry of '{name}'" if is_list else f"it belongs under '{name}'"
    candidates = [(known, f"did you mean '{known}'?") for known in section.model_fields]
    candidates += [
        (known, f"did you mean '{known}' under '{name}'?")
        for name, inner, _ in _subsections(section)
        for known in inner.model_fields
    ]
    cutoff, hint = 0.75, ""
    for known, suggestion in candidates:
        score = difflib.SequenceMatcher(None, key.lower(), known).ratio()
        if score > cutoff:
            cutoff, hint = score, suggestion
    return hint


def _explain(error: ErrorDetails) -> ConfigProblem:
    loc, kind, value = error["loc"], error["type"], error["input"]
    if kind in ("extra_forbidden", "invalid_key"):
        key = loc[-1]
        section = _section_at(loc[:-1])
        if kind == "invalid_key" or not isinstance(key, str):
            message = f"key {show(value)} is not a name; keys are words such as 'issue'"
        else:
            hint = _key_hint(section, key) if section else ""
            message = f"unknown key {show(key)}" + (f" ({hint})" if hint else "")
        return ConfigProblem(_path(loc, ends_in_key=True), message)
    if kind == "missing":
        return ConfigProblem(_path(loc), f"required key {show(loc[-1])} is missing")
    if kind == "config":
        return ConfigProblem(_path(loc), error["msg"])
    if kind == "literal_error":
        expected = f"one of {error.get('ctx', {}).get('expected', 'the documented values')}"
    else:
        expected = _EXPECTED.get(kind, "a different value")
    hint = _quote_hint(value) if kind == "string_type" else ""
    return ConfigProblem(_path(loc), f"expected {expected}, got {show(value)}{hint}")


def _capped(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    rest = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], ConfigProblem(FILE, f"and {rest} more problems not shown")]


# --- Entry points ----------------------------------------------------------------------------------


def parse_config(text: str | bytes) -> RepoConfig:
    """The configuration the file describes; ConfigError, and nothing else, when it is unusable."""
    data = _load_yaml(text)
    if data is None:
        raise ConfigError([ConfigProblem(FILE, "the file is empty; it needs a 'trackers' list")])
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigProblem(FILE, f"expected a mapping with a 'trackers' list at the top, got {show(data)}")]
        )
    try:
        config = RepoConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_capped([_explain(detail) for detail in error.errors(include_url=False)])) from None
    problems = list(_consistency_problems(config))
    if problems:
        raise ConfigError(_capped(problems))
    return config


_ISSUE_LINE = re.compile(r"""(?:^|[\s{,\-])["']?issue["']?\s*:\s*["']?(\d{1,9})\b""")
_COMMENT = re.compile(r"(?:^|\s)#.*")


def issues_named_in(text: str | bytes) -> list[int]:
    """Best effort for a file that does not parse: the tracking issues it seems to name, in order.

    This lets the bot explain the problem where the maintainer will look. Commented-out lines are
    ignored, and at most MAX_ISSUES_NAMED issues are returned.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    numbers: list[int] = []
    for line in text.splitlines():
        for match in _ISSUE_LINE.finditer(_COMMENT.sub("", line)):
            number = int(match[1])
            if number >= 1 and number not in numbers:
                numbers.append(number)
                if len(numbers) == MAX_ISSUES_NAMED:
                    return numbers
    return numbers
