"""The entry points: the file's path, :func:`parse_config`, and the issues a broken file seems to name.

Pure functions over text: the caller fetches the file, :func:`parse_config` says what it means or, in
:class:`ConfigError` and nothing else, whatever bytes it is given, what a maintainer has to change: a
broken file must never crash the bot.
"""

from __future__ import annotations

import re

from pydantic import ValidationError

from bot.config.explanations import explain
from bot.config.problems import FILE, ConfigError, ConfigProblem, capped, show
from bot.config.schema import RepoConfig, consistency_problems
from bot.config.yaml_loader import load_yaml

CONFIG_PATH = ".github/issue-status.yml"
MAX_ISSUES_NAMED = 10  # a broken file gets its error comment on at most this many issues


def parse_config(text: str | bytes) -> RepoConfig:
    """The configuration the file describes; ConfigError, and nothing else, when it is unusable."""
    data = load_yaml(text)
    if data is None:
        raise ConfigError([ConfigProblem(FILE, "the file is empty; it needs a 'trackers' list")])
    if not isinstance(data, dict):
        raise ConfigError(
            [ConfigProblem(FILE, f"expected a mapping with a 'trackers' list at the top, got {show(data)}")]
        )
    try:
        config = RepoConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(capped([explain(detail) for detail in error.errors(include_url=False)])) from None
    problems = list(consistency_problems(config))
    if problems:
        raise ConfigError(capped(problems))
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
