"""The values of the file's keys: one validator per kind of value, each refusing with a precise message.

A refusal is a pydantic error of our own kind (:func:`refuse`), whose text is shown to the maintainer
as is; the annotated types (``IssueNumber``, ``Glob``, ``GateSpec``...) are what the schema's fields are
declared with.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import PlainValidator
from pydantic_core import PydanticCustomError

from bot.config.conditions import (
    Condition,
    FixesDoneCondition,
    GateCondition,
    GreenRunsCondition,
    TestsCondition,
    TickedCondition,
)
from bot.config.problems import show
from bot.config.rates import Gate, parse_baseline, parse_gate
from bot.tracking.body import match_key as checklist_key  # the body's own notion of "same line"
from bot.tracking.state import MAX_HISTORY


def refuse(message: str) -> PydanticCustomError:
    # Our own error kind: its text is shown to the maintainer as is.
    return PydanticCustomError("config", "{message}", {"message": message})


def _from_parser(parse: Callable[[object], object]) -> Callable[[object], object]:
    def validate(value: object) -> object:
        try:
            return parse(value)
        except ValueError as error:
            raise refuse(str(error)) from None

    return validate


def quote_hint(value: object) -> str:
    # YAML 1.1 turns yes/no/on/off into booleans and 1.0 into a number; quoting keeps the text.
    if isinstance(value, (bool, int, float, date)):
        return " (quote it to keep it as text)"
    return ""


def _issue_number(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    hint = " ('#' starts a comment in YAML: write issue: 2)" if value is None else ""
    raise refuse(f"expected the tracking issue's number (1 or more), got {show(value)}{hint}")


def _branch(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise refuse(f"expected a branch name, got {show(value)}{quote_hint(value)}")
    if value.startswith("refs/heads/"):
        raise refuse(f"expected a branch name without 'refs/heads/', got {show(value)}")
    return value


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise refuse(f"expected some text, got {show(value)}{quote_hint(value)}")
    return value


def _visible_text(value: object) -> str:
    """Text matched against the issue's lines, which needs something left once markdown is ignored."""
    text = _text(value)
    if not checklist_key(text):
        raise refuse(f"{show(text)} has no visible text to match a line of the issue")
    return text


def _glob(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise refuse(f"expected a glob such as 'tests*', got {show(value)}{quote_hint(value)}")
    return value


_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_TEAM_SLUG = re.compile(r"[A-Za-z0-9_.-]+")


def _login(value: object) -> str:
    if isinstance(value, str) and value.startswith("@"):
        raise refuse(f"expected a GitHub login without '@', got {show(value)}")
    if not isinstance(value, str) or not _LOGIN.fullmatch(value):
        raise refuse(f"expected a GitHub login such as 'octocat', got {show(value)}{quote_hint(value)}")
    return value


def _team_slug(value: object) -> str:
    if isinstance(value, str) and "/" in value:
        raise refuse(f"expected a team slug without the organisation, got {show(value)}")
    if not isinstance(value, str) or not _TEAM_SLUG.fullmatch(value):
        raise refuse(f"expected a team slug such as 'core-reviewers', got {show(value)}{quote_hint(value)}")
    return value


def list_of(what: str, *, at_least_one: str | None = None) -> Callable[[object], object]:
    """Accept only a YAML list (a lone string is refused, not guessed at), then its items."""

    def validate(value: object) -> object:
        if not isinstance(value, (list, tuple)):
            hint = " (start each entry with '- ')" if isinstance(value, dict) else ""
            raise refuse(f"expected a list of {what}, got {show(value)}{hint}")
        if not value and at_least_one:
            raise refuse(f"expected at least one entry, got an empty list; {at_least_one}")
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
        raise refuse(
            f"paths are relative to the repository's root; drop the leading '/' or './' of {show(glob)}"
        )
    return glob


_MAX_LABEL_CHARS = 50  # GitHub refuses longer label names


def _label(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_LABEL_CHARS:
        limit = f"up to {_MAX_LABEL_CHARS} characters"
        raise refuse(f"expected a label name ({limit}), got {show(value)}{quote_hint(value)}")
    return value


def _green_runs(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_HISTORY:
        return value
    raise refuse(f"expected a number of runs from 1 to {MAX_HISTORY}, got {show(value)}")


def _overdue(value: object) -> float:
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 1
    ):
        return float(value)
    raise refuse(f"expected a factor of the estimate, at least 1 (1.5: 50% over it), got {show(value)}")


def _flag(value: object) -> bool:
    # ``manual: false`` or ``gate: false`` would say nothing: the key is either there or left out.
    if value is True:
        return True
    raise refuse(f"expected true (or leave the key out), got {show(value)}")


MAX_MIN_TESTS = 10**9  # far above any real suite; bounds what a floor can demand
_MAX_DIGITS = len(str(MAX_MIN_TESTS))  # longer digit strings are never turned into numbers
MinTestsValue = int | Literal["baseline"] | None
_NOT_A_RATE = "; min_tests is a number of tests, not a rate (the rate is 'gate')"
_MIN_TESTS_HELP = f"'baseline' or a number of tests from 1 to {MAX_MIN_TESTS:,}"


def _min_tests(value: object) -> MinTestsValue:
    """A gate's floor of counted tests: off (None), the baseline run's count, or a number."""
    if value is None:
        return None
    if value == "baseline":
        return "baseline"
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_MIN_TESTS:
        return value
    raise refuse(f"expected {_MIN_TESTS_HELP}, got {show(value)}{_min_tests_hint(value)}")


def _min_tests_hint(value: object) -> str:
    if isinstance(value, bool):
        return " (write 'baseline' to require as many tests as the baseline run, or leave the key out)"
    if isinstance(value, int) and value <= 0:
        return " (leave the key out for no floor)"
    if isinstance(value, float) and value.is_integer() and 1 <= value <= MAX_MIN_TESTS:
        return f"; write it without the decimal point: {int(value)}"
    if isinstance(value, float) and math.isfinite(value) and 0 < value < 1:
        return _NOT_A_RATE
    if not isinstance(value, str):
        return ""
    digits = re.sub(r"[\s,_']", "", value)
    if digits.isascii() and digits.isdigit() and len(digits) <= _MAX_DIGITS:
        number = int(digits)
        return f"; write the number unquoted: min_tests: {number}" if 1 <= number <= MAX_MIN_TESTS else ""
    if value.rstrip().endswith("%"):
        return _NOT_A_RATE
    word = value.strip().lower()
    if len(word) <= 2 * len("baseline") and difflib.get_close_matches(word, ["baseline"], n=1, cutoff=0.75):
        return " (did you mean 'baseline'?)"
    return ""


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
        raise refuse(f"one condition per entry, got {show(value)}; start each with '- '")
    word = next(iter(value), None) if isinstance(value, dict) else value
    close = difflib.get_close_matches(str(word), _CONDITION_WORDS, n=1) if isinstance(word, str) else []
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    raise refuse(f"expected a condition: {_CONDITIONS_HELP}; got {show(value)}{hint}")


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
MinTests = Annotated[MinTestsValue, PlainValidator(_min_tests)]


def distinct(value: object) -> object:
    if isinstance(value, tuple) and len(set(value)) != len(value):
        raise refuse(f"each entry may appear once, got {show(list(value))}")
    return value


def template_dir(value: object) -> str:
    text = _text(value).strip().strip("/")
    if (text.startswith(".") and text != ".github" and not text.startswith(".github/")) or ".." in text.split(
        "/"
    ):
        raise refuse(f"expected a folder of the repository such as '.github/issue-status', got {show(value)}")
    return text
