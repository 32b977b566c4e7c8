"""What a maintainer is told about a configuration that cannot be used: problems, where, and values shown."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

MAX_PROBLEMS = 20  # the rest is summarised, so the error comment stays readable
MAX_SHOWN_CHARS = 80  # an offending value is shown up to this length
FILE = "(file)"  # the location of problems with the file as a whole


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


def capped(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    """At most MAX_PROBLEMS problems, and a last line counting the rest."""
    if len(problems) <= MAX_PROBLEMS:
        return problems
    rest = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], ConfigProblem(FILE, f"and {rest} more problems not shown")]
