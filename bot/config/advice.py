"""What a valid file may not mean as its author thinks: advice that ``check-config`` prints and the bot,
which has only the file to go by, does not act on."""

from __future__ import annotations

from collections.abc import Iterator

from bot.config.problems import ConfigProblem
from bot.config.rates import format_percent
from bot.config.schema import RepoConfig


def advice(config: RepoConfig) -> Iterator[ConfigProblem]:
    """Settings that combine into something surprising, each with what to write instead."""
    for index, tracker in enumerate(config.trackers):
        if tracker.min_tests == "baseline" and tracker.baseline is not None:
            # A configured baseline is a rate: it has no count of tests to require.
            yield ConfigProblem(
                f"trackers[{index}].min_tests",
                f"'baseline' is the count of the first run the bot records, not of the run whose pass rate "
                f"is 'baseline: {format_percent(tracker.baseline)}'; if you know how many tests that run "
                "counted, write that number",
            )
