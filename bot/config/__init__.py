"""The repository's ``.github/issue-status.yml``: parsed, validated, and explained when wrong.

Pure functions over text: the caller fetches the file, :func:`parse_config` says what it means or, in
:class:`ConfigError`, what a maintainer has to change. One concern a module:

- ``parsing.py``: the entry points, :func:`parse_config` and :func:`issues_named_in`;
- ``yaml_loader.py``: reading the YAML under bounds (size, nesting, aliases, duplicate keys);
- ``schema.py``: the sections of the file, one pydantic model each, and the checks across them;
- ``values.py``: one validator per kind of value (issue, branch, glob, login, estimate...);
- ``rates.py`` and ``conditions.py``: the gate and baseline, and what rules and reviews wait for;
- ``explanations.py`` and ``problems.py``: validation errors as a maintainer reads them;
- ``advice.py``: what a valid file may not mean as its author thinks (``check-config`` shows it).

Gate syntax (``gate:``)
    An optional operator, ``>`` or ``>=`` (``>=`` when omitted), then a threshold written either as
    a percentage, ``"90%"`` or ``"92.5%"``, more than 0 % and at most 100 %, or as a fraction,
    ``0.9``, more than 0 and at most 1. Spaces are allowed: ``"> 90 %"``. Quote a gate that starts
    with ``>``: unquoted, YAML reads ``>`` as the start of a folded block. A bare YAML number is a
    fraction, so ``0.9`` is the gate ``>=90%`` and ``90`` is refused with a hint. ``">100%"`` is
    refused because no pass rate can exceed 100 %. The default is ``">90%"``.

Baseline syntax (``baseline:``)
    A pass rate from 0 to 1 (``0.62``) or a percentage string (``"62%"``).

Floor of counted tests (``min_tests:``)
    Off when left out. ``baseline``: the gate is not met while fewer tests are counted than the
    baseline run counted (the first run the bot records, also when ``baseline:`` gives a rate), and
    holds by its rate alone until that run is known. A number from 1 to 1,000,000,000 (``227``,
    unquoted): the gate is not met while fewer tests are counted. Counted tests are the pass rate's
    denominator: passed + failed + errors, and skipped with ``pass_rate.skipped: include``; so
    deleting or skipping failing tests cannot lift the gate.

Checklist rules (``rules:``), fixes (``fixes:``) and review conditions (``review.when``)
    A rule binds a checklist line (``line:``, matched tolerantly) to exactly one condition:
    ``gate: true``, ``tests: <glob>`` (every test whose id matches passes; case-insensitive),
    ``green_runs: N`` (the last N finished runs met the gate) or ``manual: true`` (a human ticks
    it; the bot only reads it). A fix names a heading (``name:``), the ``files:`` whose change
    starts it, optionally the ``tests:`` that finish it, an ``estimate:`` ("2h", "90m", "1.5h",
    "1h30m") and a checklist ``line:`` ticked when it is done. ``review.when`` lists conditions
    that must all hold: ``gate``, ``fixes_done``, ``{tests: <glob>}``, ``{green_runs: N}`` and
    ``{manual: <line>}`` (that line is ticked).
"""

from bot.config.advice import advice
from bot.config.conditions import (
    Condition,
    FixesDoneCondition,
    GateCondition,
    GreenRunsCondition,
    TestsCondition,
    TickedCondition,
)
from bot.config.parsing import CONFIG_PATH, MAX_ISSUES_NAMED, issues_named_in, parse_config
from bot.config.problems import FILE, MAX_PROBLEMS, MAX_SHOWN_CHARS, ConfigError, ConfigProblem, show
from bot.config.rates import DEFAULT_GATE, Gate, format_percent, parse_baseline, parse_gate
from bot.config.schema import (
    DEFAULT_CHECKLIST_LINE,
    EscalationConfig,
    FixConfig,
    PassRateConfig,
    RepoConfig,
    ResultsConfig,
    ResultSourceName,
    ReviewConfig,
    RuleConfig,
    Section,
    TrackerConfig,
)
from bot.config.values import MAX_MIN_TESTS, parse_estimate
from bot.config.yaml_loader import MAX_CONFIG_BYTES, MAX_NESTING, MAX_VALUES

__all__ = [
    "CONFIG_PATH",
    "DEFAULT_CHECKLIST_LINE",
    "DEFAULT_GATE",
    "FILE",
    "MAX_CONFIG_BYTES",
    "MAX_ISSUES_NAMED",
    "MAX_MIN_TESTS",
    "MAX_NESTING",
    "MAX_PROBLEMS",
    "MAX_SHOWN_CHARS",
    "MAX_VALUES",
    "Condition",
    "ConfigError",
    "ConfigProblem",
    "EscalationConfig",
    "FixConfig",
    "FixesDoneCondition",
    "Gate",
    "GateCondition",
    "GreenRunsCondition",
    "PassRateConfig",
    "RepoConfig",
    "ResultSourceName",
    "ResultsConfig",
    "ReviewConfig",
    "RuleConfig",
    "Section",
    "TestsCondition",
    "TickedCondition",
    "TrackerConfig",
    "advice",
    "format_percent",
    "issues_named_in",
    "parse_baseline",
    "parse_config",
    "parse_estimate",
    "parse_gate",
    "show",
]
