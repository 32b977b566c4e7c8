"""``issue-status-bot check-config PATH [--issue-body FILE]``: is this configuration usable, and what
does it bind to in this issue?

Run it before committing ``.github/issue-status.yml``: it prints the problems with their locations, or
with ``--issue-body`` (the tracking issue's markdown) which checklist line each rule writes or reads and
which heading each fix marks, naming every rule and fix that binds to nothing and the closest heading or
line it may have meant.
A valid file may get warnings (settings that combine into something other than they seem to say);
they never change the exit code.
Exit codes: 0 valid (and, with an issue body, everything binds), 1 invalid or something binds to
nothing, 2 bad usage (a file that cannot be read, an issue the file does not track).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from bot.config import (
    ConfigError,
    FixConfig,
    RepoConfig,
    RuleConfig,
    TickedCondition,
    TrackerConfig,
    advice,
    parse_config,
)
from bot.rules import Bindings, bind
from bot.rules.closest import closest_heading, closest_item, heading_name
from bot.tracking.body import ChecklistItem

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_BAD_USAGE = 2
NOTHING = "nothing"


def add_check_config_command(subparsers: argparse._SubParsersAction[Any]) -> None:
    checking = subparsers.add_parser(
        "check-config", help="validate an issue-status.yml and show what it binds to in an issue body"
    )
    checking.add_argument("path", type=Path, metavar="PATH", help="the configuration file")
    checking.add_argument(
        "--issue-body", type=Path, metavar="FILE", help="the tracking issue's markdown, to show the bindings"
    )
    checking.add_argument(
        "--issue", type=int, metavar="N", help="the tracker of issue N (needed when the file has several)"
    )


def run_check_config(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the verdict on ``args.path``, argument problems to ``err``; returns the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        content = args.path.read_bytes()
        body = args.issue_body.read_text(encoding="utf-8") if args.issue_body else None
    except (OSError, UnicodeDecodeError) as error:
        print(f"check-config: cannot read {error}", file=err)
        return EXIT_BAD_USAGE
    try:
        config = parse_config(content)
    except ConfigError as error:
        count = len(error.problems)
        print(f"{args.path}: invalid, {count} problem{'s' if count != 1 else ''}:", file=out)
        for problem in error.problems:
            print(f"  {problem}", file=out)
        return EXIT_INVALID
    trackers = _selected(config, args.issue, needs_one=body is not None)
    if isinstance(trackers, str):
        print(f"check-config: {trackers}", file=err)
        return EXIT_BAD_USAGE
    count = len(config.trackers)
    print(f"{args.path}: valid, {count} tracker{'s' if count != 1 else ''}", file=out)
    for warning in advice(config):
        print(f"  warning: {warning}", file=out)
    unbound: list[str] = []
    for tracker in trackers:
        bindings = bind(body, tracker) if body is not None else None
        print("", file=out)
        print("\n".join(describe(tracker, bindings, body)), file=out)
        unbound += [f"issue #{tracker.issue}: {what}" for what in (bindings.unbound() if bindings else ())]
    if body is None:
        return EXIT_VALID
    print("", file=out)
    if unbound:
        print(f"binds to nothing in {args.issue_body}:", file=out)
        print("\n".join(f"  {what}" for what in unbound), file=out)
        return EXIT_INVALID
    print(f"every rule and fix binds in {args.issue_body}", file=out)
    return EXIT_VALID


def _selected(config: RepoConfig, issue: int | None, *, needs_one: bool) -> tuple[TrackerConfig, ...] | str:
    """The trackers to show, or why the arguments do not pick any."""
    if issue is not None:
        chosen = tuple(tracker for tracker in config.trackers if tracker.issue == issue)
        return chosen or f"the file has no tracker for issue {issue}"
    if needs_one and len(config.trackers) > 1:
        issues = ", ".join(str(tracker.issue) for tracker in config.trackers)
        return f"the file tracks issues {issues}; say which one the issue body is with --issue N"
    return config.trackers


def describe(tracker: TrackerConfig, bindings: Bindings | None, body: str | None = None) -> list[str]:
    """The tracker's rules, fixes and review conditions, with what each binds to when a body is given,
    and for what binds to nothing the closest heading or line of ``body`` not bound to anything else."""
    hint = _Hints(body, bindings) if body is not None and bindings is not None else None
    branch = tracker.branch or "the default branch"
    baseline = "first recorded run" if tracker.baseline is None else f"{tracker.baseline:.0%}"
    lines = [f"issue #{tracker.issue}: branch {branch}, gate {tracker.gate}, baseline {baseline}"]
    if tracker.min_tests is not None:
        lines.append(f"  {_floor(tracker)}")
    lines.append("  rules:")
    for number, rule in enumerate(tracker.checklist_rules):
        item = bindings.rules[number].item if bindings else None
        lines.append(f"    {rule.line!r} ({_rule_kind(rule)}){_target(bindings, item)}")
        if hint is not None and item is None:
            lines.append(hint.line(rule.line))
    if tracker.fixes:
        lines.append("  fixes:")
    for number, fix in enumerate(tracker.fixes):
        lines.append(f"    {fix.name!r} ({_fix_summary(fix)})")
        if bindings is None:
            continue
        binding = bindings.fixes[number]
        heading = binding.heading
        if heading is None:
            lines.append(f"      heading -> {NOTHING}")
            if hint is not None:
                lines.append(hint.heading(fix.name))
        else:
            phase = (
                f"{heading.phase}" if heading.phase else "no mark: its state shows in the status block only"
            )
            lines.append(f"      heading -> line {heading.line_index + 1}: {heading.text} ({phase})")
        if fix.line is not None:
            lines.append(f"      line {fix.line!r}{_target(bindings, binding.item)}")
            if hint is not None and binding.item is None:
                lines.append(hint.line(fix.line))
    lines.append("  review when:")
    for number, condition in enumerate(tracker.review.when):
        item = bindings.review[number].item if bindings else None
        shown = _target(bindings, item) if isinstance(condition, TickedCondition) else ""
        lines.append(f"    {condition}{shown}")
        if hint is not None and isinstance(condition, TickedCondition) and item is None:
            lines.append(hint.line(condition.line))
    return lines


class _Hints:
    """What each unbound name or line most likely meant in the body: a heading or checklist line that no
    other rule or fix binds to."""

    def __init__(self, body: str, bindings: Bindings) -> None:
        self.body = body
        self.headings = {f.heading.line_index for f in bindings.fixes if f.heading is not None}
        items = [r.item for r in bindings.rules] + [f.item for f in bindings.fixes]
        items += [r.item for r in bindings.review]
        self.items = {item.line_index for item in items if item is not None}

    def heading(self, name: str) -> str:
        heading = closest_heading(self.body, name, self.headings)
        if heading is None:
            return f"      no heading is close: write one named {name!r}, e.g. '### {name} ⏳'"
        rename = heading_name(heading)
        return (
            f"      closest heading: line {heading.line_index + 1}: {heading.text} "
            f"(name the fix {rename!r}, or the heading {name!r}, to bind them)"
        )

    def line(self, line: str) -> str:
        item = closest_item(self.body, line, self.items)
        if item is None:
            return f"      no checklist line is close: add '- [ ] {line}'"
        return f"      closest line: {_line(item)}"


def _floor(tracker: TrackerConfig) -> str:
    """What ``min_tests`` adds to the gate, and which tests count toward it."""
    if tracker.min_tests == "baseline":
        floor = "as many counted tests as the baseline run (the first run the bot records)"
    else:
        floor = f"{tracker.min_tests} counted tests"
    counted = "passed + failed + errors" + (" + skipped" if tracker.pass_rate.skipped == "include" else "")
    return f"gate {tracker.gate}, with at least {floor}; counted: {counted}"


def _target(bindings: Bindings | None, item: ChecklistItem | None) -> str:
    if bindings is None:
        return ""
    if item is None:
        return f" -> {NOTHING}"
    return f" -> {_line(item)}"


def _line(item: ChecklistItem) -> str:
    return f"line {item.line_index + 1}: [{'x' if item.checked else ' '}] {item.text}"


def _rule_kind(rule: RuleConfig) -> str:
    if rule.manual:
        return "manual: read, never written"
    return str(rule.condition)


def _fix_summary(fix: FixConfig) -> str:
    parts = ["files " + ", ".join(fix.files)]
    parts.append(f"tests {fix.tests!r}" if fix.tests else "done when a run improves the pass rate")
    if fix.estimate is not None:
        parts.append(f"estimate {format_duration(fix.estimate)}")
    return "; ".join(parts)


def format_duration(duration: timedelta) -> str:
    """An estimate as written in the configuration: "2h", "90m" -> "1h30m", "45m"."""
    minutes = round(duration.total_seconds() / 60)
    hours, rest = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{rest}m" if rest or not hours else "")
