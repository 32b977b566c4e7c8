"""Parsing `.github/issue-status.yml`: what valid files mean, and what invalid ones are told."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import (
    DEFAULT_CHECKLIST_LINE,
    MAX_MIN_TESTS,
    MAX_PROBLEMS,
    ConfigError,
    ConfigProblem,
    EscalationConfig,
    FixConfig,
    FixesDoneCondition,
    Gate,
    GateCondition,
    GreenRunsCondition,
    RepoConfig,
    ReviewConfig,
    RuleConfig,
    TestsCondition,
    TickedCondition,
    TrackerConfig,
    advice,
    issues_named_in,
    parse_baseline,
    parse_config,
    parse_estimate,
    parse_gate,
    show,
)
from bot.results.counts import TestCounts
from bot.testing.examples import EXAMPLES

FIXTURES = Path(__file__).parent / "fixtures" / "config"
ISSUE_EXAMPLE = (FIXTURES / "issue-2-example.yml").read_text(encoding="utf-8")


def problems_of(text: str | bytes) -> tuple[ConfigProblem, ...]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    return caught.value.problems


def tracker(gate: str) -> str:
    return f"trackers:\n  - issue: 2\n    gate: {gate}\n"


# --- Valid files -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            ISSUE_EXAMPLE,
            TrackerConfig(
                issue=2,
                branch="main",
                checks=("*",),
                gate=Gate(0.9, inclusive=False),
                baseline=0.62,
                checklist_line=">90% test pass rate achieved",
                review=ReviewConfig(reviewers=("octocat",), team_reviewers=()),
            ),
            id="issue-2-example",
        ),
        pytest.param("trackers: [{issue: 2}]", TrackerConfig(issue=2), id="minimal"),
        pytest.param(tracker("0.9"), TrackerConfig(issue=2, gate=Gate(0.9, inclusive=True)), id="fraction"),
        pytest.param(tracker("'>=90%'"), TrackerConfig(issue=2, gate=Gate(0.9, inclusive=True)), id=">="),
        pytest.param(
            tracker("'> 92.5 %'"), TrackerConfig(issue=2, gate=Gate(0.925, inclusive=False)), id="decimals"
        ),
        pytest.param(
            tracker("'95%'"), TrackerConfig(issue=2, gate=Gate(0.95, inclusive=True)), id="no-operator"
        ),
        pytest.param(
            tracker("1"), TrackerConfig(issue=2, gate=Gate(1.0, inclusive=True)), id="all-must-pass"
        ),
        pytest.param(
            "trackers:\n  - issue: 7\n    baseline: '62%'\n    checks: ['pytest (*)', lint]\n",
            TrackerConfig(issue=7, baseline=0.62, checks=("pytest (*)", "lint")),
            id="baseline-percent",
        ),
        pytest.param(
            "trackers:\n  - issue: 7\n    baseline: 0\n",
            TrackerConfig(issue=7, baseline=0.0),
            id="baseline-zero",
        ),
        pytest.param(
            "trackers:\r\n  - issue: 3\r\n    review:\r\n      team_reviewers: [core-team]\r\n",
            TrackerConfig(issue=3, review=ReviewConfig(team_reviewers=("core-team",))),
            id="crlf",
        ),
        pytest.param(
            b"\xef\xbb\xbftrackers:\n  - issue: 4\n    branch: release/1.x\n",
            TrackerConfig(issue=4, branch="release/1.x"),
            id="utf8-bom-bytes",
        ),
    ],
)
def test_a_valid_file_parses_to_exactly_these_settings(text: str | bytes, expected: TrackerConfig) -> None:
    assert parse_config(text) == RepoConfig(trackers=(expected,))


def test_omitted_keys_take_the_documented_defaults() -> None:
    (only,) = parse_config("trackers: [{issue: 2}]").trackers
    assert only.branch is None
    assert only.checks == ("*",)
    assert str(only.gate) == ">90%"
    assert only.baseline is None
    assert only.checklist_line == DEFAULT_CHECKLIST_LINE == ">90% test pass rate achieved"
    assert only.review.reviewers == () and only.review.team_reviewers == ()


def test_anchors_and_aliases_may_share_settings_between_trackers() -> None:
    text = (
        "trackers:\n"
        "  - issue: 2\n    review: &review {reviewers: [octocat, hubot]}\n"
        "  - issue: 3\n    branch: next\n    review: *review\n"
    )
    first, second = parse_config(text).trackers
    assert first.review == second.review == ReviewConfig(reviewers=("octocat", "hubot"))


def test_parsed_settings_cannot_be_changed_afterwards() -> None:
    config = parse_config(ISSUE_EXAMPLE)
    with pytest.raises(ValueError, match="frozen"):
        config.trackers[0].issue = 3


# --- Gate and baseline ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "threshold", "inclusive", "canonical"),
    [
        (">90%", 0.9, False, ">90%"),
        (">=90%", 0.9, True, ">=90%"),
        ("90%", 0.9, True, ">=90%"),
        ("> 90 %", 0.9, False, ">90%"),
        (">=92.5%", 0.925, True, ">=92.5%"),
        (">92.55%", 0.9255, False, ">92.55%"),
        (">0.9", 0.9, False, ">90%"),
        ("0.95", 0.95, True, ">=95%"),
        (0.9, 0.9, True, ">=90%"),
        (1, 1.0, True, ">=100%"),
        (">=100%", 1.0, True, ">=100%"),
        (">0.5%", 0.005, False, ">0.5%"),
    ],
)
def test_a_gate_is_read_from_its_text_or_number(
    value: str | float, threshold: float, inclusive: bool, canonical: str
) -> None:
    gate = parse_gate(value)
    assert (gate.threshold, gate.inclusive, str(gate)) == (threshold, inclusive, canonical)


@pytest.mark.parametrize(
    ("gate", "rate", "met"),
    [
        (Gate(0.9, inclusive=False), 0.9, False),
        (Gate(0.9, inclusive=False), 0.9000001, True),
        (Gate(0.9, inclusive=True), 0.9, True),
        (Gate(0.9, inclusive=True), 0.8999999, False),
        (Gate(0.9, inclusive=True), None, False),
        (Gate(1.0, inclusive=True), 1.0, True),
        # The rate as the bot computes it, 9 of 10 passing, is exactly the threshold "90%".
        (parse_gate(">=90%"), 9 / 10, True),
        (parse_gate(">90%"), 9 / 10, False),
        (parse_gate(">=92.5%"), 37 / 40, True),
    ],
)
def test_a_gate_is_met_by_a_rate_above_or_at_its_threshold(gate: Gate, rate: float | None, met: bool) -> None:
    assert gate.is_met(rate) is met


@pytest.mark.parametrize(
    ("threshold", "inclusive"), [(0.0, True), (1.5, True), (1.0, False), (float("nan"), True)]
)
def test_a_gate_that_can_never_or_always_be_met_cannot_be_built(threshold: float, inclusive: bool) -> None:
    with pytest.raises(ValueError, match="gate"):
        Gate(threshold, inclusive)


@pytest.mark.parametrize(
    ("value", "hinted"),
    [
        ("=>90%", True),
        ("<90%", True),
        ("≥90%", True),
        (">=>90%", True),
        (">= ninety", False),
        ("ninety", False),
    ],
)
def test_a_wrong_operator_is_named_as_the_problem(value: str, hinted: bool) -> None:
    with pytest.raises(ValueError, match="expected a gate such as") as caught:
        parse_gate(value)
    assert str(caught.value).endswith("the operator, if any, is '>' or '>='") is hinted


@pytest.mark.parametrize(
    ("value", "rate"), [(0.62, 0.62), ("62%", 0.62), ("62.5 %", 0.625), (0, 0.0), ("100%", 1.0)]
)
def test_a_baseline_is_a_fraction_or_a_percentage(value: str | float, rate: float) -> None:
    assert parse_baseline(value) == rate


# --- Invalid files -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "location", "phrase"),
    [
        # Gates
        (tracker("'>150%'"), "trackers[0].gate", "'>150%' is out of range"),
        (tracker("'>100%'"), "trackers[0].gate", "can never be met"),
        (tracker("'0%'"), "trackers[0].gate", "more than 0%"),
        (tracker("90"), "trackers[0].gate", "write 0.9 or '>90%'"),
        (tracker("'>90'"), "trackers[0].gate", "write '>90%'"),
        (tracker("'<90%'"), "trackers[0].gate", "expected a gate such as '>90%'"),
        (tracker("'>=>90%'"), "trackers[0].gate", "the operator, if any, is '>' or '>='"),
        (tracker("'=>90%'"), "trackers[0].gate", "the operator, if any, is '>' or '>='"),
        (tracker("true"), "trackers[0].gate", "got true"),
        (tracker(".nan"), "trackers[0].gate", "got nan"),
        (tracker("[90%]"), "trackers[0].gate", "got ['90%']"),
        # Baselines
        ("trackers:\n  - issue: 2\n    baseline: 62\n", "trackers[0].baseline", "write 0.62 or '62%'"),
        ("trackers:\n  - issue: 2\n    baseline: '162%'\n", "trackers[0].baseline", "at most 100%"),
        ("trackers:\n  - issue: 2\n    baseline: -0.1\n", "trackers[0].baseline", "at least 0"),
        # Unknown keys, with the key they were probably meant to be
        (
            "trackers:\n  - issue: 2\n    reviewrs: [octocat]\n",
            "trackers[0].reviewrs",
            "did you mean 'reviewers' under 'review'?",
        ),
        (
            "trackers:\n  - issue: 2\n    reviewers: [octocat]\n",
            "trackers[0].reviewers",
            "it belongs under 'review'",
        ),
        (
            "trackers:\n  - issue: 2\n    review: {reviewrs: [octocat]}\n",
            "trackers[0].review.reviewrs",
            "unknown key 'reviewrs' (did you mean 'reviewers'?)",
        ),
        ("trackers:\n  - issue: 2\n    Gate: '>90%'\n", "trackers[0].Gate", "did you mean 'gate'?"),
        ("tracker:\n  - issue: 2\n", "tracker", "did you mean 'trackers'?"),
        ("trackers: [{issue: 2}]\nissue: 3\n", "issue", "it belongs inside each entry of 'trackers'"),
        ("trackers: [{issue: 2}]\ncolour: blue\n", "colour", "unknown key 'colour'"),
        ("trackers:\n  - issue: 2\n    1: x\n", "trackers[0].1", "key 1 is not a name"),
        # Wrong types
        (
            "trackers:\n  - issue: 2\n    checks: lint\n",
            "trackers[0].checks",
            "expected a list of globs, got 'lint'",
        ),
        (
            "trackers:\n  - issue: 2\n    review: {reviewers: octocat}\n",
            "trackers[0].review.reviewers",
            "expected a list of GitHub logins, got 'octocat'",
        ),
        (
            "trackers:\n  - issue: 2\n    review: {reviewers: ['@octocat']}\n",
            "trackers[0].review.reviewers[0]",
            "without '@'",
        ),
        (
            "trackers:\n  - issue: 2\n    review: {team_reviewers: [acme/core]}\n",
            "trackers[0].review.team_reviewers[0]",
            "without the organisation",
        ),
        ("trackers:\n  - issue: 2\n    review:\n", "trackers[0].review", "expected a mapping"),
        ("trackers:\n  - issue: 2\n    branch: yes\n", "trackers[0].branch", "got true (quote it"),
        (
            "trackers:\n  - issue: 2\n    branch: refs/heads/main\n",
            "trackers[0].branch",
            "without 'refs/heads/'",
        ),
        (
            "trackers:\n  - issue: 2\n    checklist_line: ''\n",
            "trackers[0].checklist_line",
            "expected some text",
        ),
        ("trackers:\n  - issue: '2'\n", "trackers[0].issue", "expected the tracking issue's number"),
        ("trackers:\n  - issue: 0\n", "trackers[0].issue", "(1 or more), got 0"),
        ("trackers:\n  - issue: #2\n", "trackers[0].issue", "'#' starts a comment"),
        ("trackers:\n  - 2\n", "trackers[0]", "expected a mapping of keys to values, got 2"),
        ("trackers:\n  issue: 2\n", "trackers", "start each entry with '- '"),
        # Missing, empty and duplicated
        ("trackers:\n  - branch: main\n", "trackers[0].issue", "required key 'issue' is missing"),
        ("trackers: []\n", "trackers", "at least one entry"),
        ("trackers:\n", "trackers", "expected a list of trackers, got nothing"),
        ("trackers:\n  - issue: 2\n    checks: []\n", "trackers[0].checks", "use ['*'] for every check run"),
        ("trackers:\n  - issue: 2\n    checks: ['tests', '']\n", "trackers[0].checks[1]", "expected a glob"),
        (
            "trackers:\n  - issue: 2\n  - issue: 5\n  - issue: 2\n",
            "trackers[2].issue",
            "already tracked by trackers[0]",
        ),
        # The file as a whole
        ("", "(file)", "the file is empty"),
        ("- issue: 2\n", "(file)", "expected a mapping with a 'trackers' list"),
        ("just words\n", "(file)", "got 'just words'"),
        ("trackers:\n  - issue: 2\n    gate: [unclosed\n", "(file) line 4, column 1", "expected ',' or ']'"),
        (tracker(">90%"), "(file) line 3, column 13", "quote a value that starts with '>'"),
        (
            "trackers: [{issue: 2, gate: >=90%}]\n",
            "(file) line 1, column 29",
            "quote a value that starts with '>'",
        ),
        ("trackers:\n  - issue: 2\n\tgate: 0.9\n", "(file) line 3, column 1", "indent with spaces, not tabs"),
        (
            "trackers:\n  - issue: 2\n   gate: 0.9\n",
            "(file) line 3, column 4",
            "check this line's indentation",
        ),
        (
            "trackers:\n  - issue: 2\n    gate: 0.9\n    gate: 0.8\n",
            "(file) line 4, column 5",
            "duplicate key 'gate'",
        ),
        (
            "trackers:\n  - issue: 2\n    branch: 2024-02-30\n",
            "(file) line 3, column 13",
            "day is out of range",
        ),
        ("trackers:\n  - issue: !!int abc\n", "(file) line 2, column 12", "cannot read this value"),
        (
            "trackers: [{issue: 2}]\n---\ntrackers: [{issue: 3}]\n",
            "(file) line 2, column 1",
            "single document",
        ),
        ("trackers:\n  - issue: 2\x00\n", "(file) line 2, column 13", "U+0000 is not allowed"),
        (b"trackers:\n  - issue: 2 \xff\n", "(file) line 2", "byte 0xff is not UTF-8"),
    ],
)
def test_an_invalid_file_is_explained_at_the_key_to_fix(
    text: str | bytes, location: str, phrase: str
) -> None:
    problems = problems_of(text)
    assert [p.location for p in problems if phrase in p.message] == [location], problems


def test_every_problem_in_a_file_is_reported_in_document_order() -> None:
    text = "trackers:\n  - issue: 2\n    gate: 90\n    reviewrs: [octocat]\n  - branch: dev\n"
    assert [p.location for p in problems_of(text)] == [
        "trackers[0].gate",
        "trackers[0].reviewrs",
        "trackers[1].issue",
    ]


def test_the_error_text_has_one_line_per_problem() -> None:
    error = ConfigError(
        [ConfigProblem("trackers[0].gate", "bad gate"), ConfigProblem("(file) line 3, column 1", "bad")]
    )
    assert str(error) == "trackers[0].gate: bad gate\n(file) line 3, column 1: bad"


def test_messages_never_leak_the_validation_library() -> None:
    text = (
        "trackers:\n"
        "  - issue: x\n    branch: [a]\n    checks: {a: 1}\n    gate: {}\n    baseline: [1]\n"
        "    checklist_line: 3\n    review: [octocat]\n    extra: 1\n"
        "  - 5\n"
        "  - {review: {reviewers: [1, [2]], team_reviewers: 'x'}}\n"
    )
    messages = [p.message for p in problems_of(text)]
    assert len(messages) == 13
    for message in messages:
        assert "pydantic" not in message.lower()
        assert "Input should" not in message
        assert "Config" not in message  # class names such as TrackerConfig


def test_a_long_offending_value_is_shown_truncated_to_80_characters() -> None:
    login = "@" + "o" * 300
    (problem,) = problems_of(f"trackers:\n  - issue: 2\n    review: {{reviewers: ['{login}']}}\n")
    shown = show(login)
    assert len(shown) == 80 and shown.endswith("...")
    assert problem.message == f"expected a GitHub login without '@', got {shown}"


def test_a_file_with_very_many_problems_reports_the_first_ones_and_a_count() -> None:
    text = "trackers:\n" + "".join(f"  - issue: {n}\n    colour: blue\n" for n in range(1, 31))
    problems = problems_of(text)
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[-1] == ConfigProblem("(file)", f"and {30 - MAX_PROBLEMS} more problems not shown")


# --- Hostile input -------------------------------------------------------------------------------------


def billion_laughs(levels: int = 9) -> str:
    lines = ["lol0: &lol0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        lines.append(f"lol{level}: &lol{level} [" + ", ".join([f"*lol{level - 1}"] * 10) + "]")
    return "\n".join(lines) + f"\ntrackers: *lol{levels}\n"


@pytest.mark.parametrize(
    ("text", "location", "phrase"),
    [
        pytest.param(
            billion_laughs(), "(file) line 4, column 7", "more than 10,000 values", id="billion-laughs"
        ),
        pytest.param(
            "trackers: &loop [*loop]\n", "(file) line 1, column 11", "contains it", id="recursive-alias"
        ),
        pytest.param(
            "trackers: " + "[" * 5000, "(file) line 1, column 42", "more than 32 levels", id="deep-flow"
        ),
        pytest.param(
            "trackers:\n" + "".join("  " * n + "- \n" for n in range(1, 200)),
            "(file) line 33, column 65",
            "more than 32 levels",
            id="deep-block",
        ),
        pytest.param("x" * (64 * 1024 + 1), "(file)", "the limit is 65,536 bytes", id="too-large"),
        pytest.param(
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01",
            "(file) line 1",
            "byte 0x89",
            id="png-bytes",
        ),
        pytest.param(
            b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "(file) line 1, column 3", "U+0003", id="zip-bytes"
        ),
        pytest.param(
            "trackers: [{issue: 2}]\n\ud800\n", "(file) line 2, column 1", "U+D800", id="lone-surrogate"
        ),
    ],
)
def test_a_hostile_file_is_refused_quickly_with_a_reason(
    text: str | bytes, location: str, phrase: str
) -> None:
    (problem,) = problems_of(text)
    assert problem.location == location
    assert phrase in problem.message


def test_random_bytes_only_ever_raise_config_error() -> None:
    rng = random.Random(20240814)
    for _ in range(300):
        content = rng.randbytes(rng.randrange(1, 400))
        with pytest.raises(ConfigError):
            parse_config(content)


def test_mutated_configs_parse_or_raise_config_error_and_nothing_else() -> None:
    # Random edits of a valid file with YAML's special characters reach most of PyYAML's error paths.
    alphabet = [*"-:[]{}&*!|>'\"%@`#,?\n \t0.9<=", "&a ", "*a", "!!int ", "!!binary ", "<<: ", "\u2028", "\r"]
    rng = random.Random(2)
    outcomes = {"parsed": 0, "refused": 0}
    for _ in range(1500):
        chars = list(ISSUE_EXAMPLE)
        for _ in range(rng.randint(1, 4)):
            chars.insert(rng.randrange(len(chars) + 1), rng.choice(alphabet))
        try:
            parse_config("".join(chars))
            outcomes["parsed"] += 1
        except ConfigError as error:
            assert error.problems
            outcomes["refused"] += 1
    assert outcomes["parsed"] > 100 and outcomes["refused"] > 100


# --- Which runs a tracker follows ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check_name", "matches"),
    [
        ("pytest (3.11, ubuntu)", True),
        ("pytest", False),
        ("Pytest (3.12)", False),
        ("lint", True),
        ("lint-docs", False),
    ],
)
def test_check_globs_are_shell_style_and_case_sensitive(check_name: str, matches: bool) -> None:
    config = parse_config("trackers:\n  - issue: 2\n    checks: ['pytest (*)', lint]\n")
    assert config.trackers[0].matches_check(check_name) is matches


def test_every_check_run_counts_by_default() -> None:
    assert parse_config("trackers: [{issue: 2}]").trackers[0].matches_check("anything at all")


@pytest.mark.parametrize(
    ("branch", "default_branch", "issues"),
    [
        ("main", "main", [2]),
        ("fix/infra", "main", [3]),
        ("trunk", "trunk", [2]),
        ("feature", "main", []),
        (None, "main", []),
    ],
)
def test_a_run_updates_the_trackers_of_its_branch(
    branch: str | None, default_branch: str, issues: list[int]
) -> None:
    config = parse_config("trackers:\n  - issue: 2\n  - issue: 3\n    branch: fix/infra\n")
    assert [t.issue for t in config.trackers_for_branch(branch, default_branch)] == issues


# --- Naming the issue of a broken file -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "issues"),
    [
        (ISSUE_EXAMPLE, [2]),
        ("trackers:\n  - issue: 7\n    gate: >90%\n  - issue: 9\n", [7, 9]),
        ("trackers: [{issue: 3, gate: >90%}, {branch: x, issue:4}]", [3, 4]),
        ("trackers:\n  - 'issue': 6\n  - \"issue\" : '8'\n", [6, 8]),
        ("trackers:\n  # - issue: 5\n  - issue: 2 # was issue: 1\n", [2]),
        ("trackers:\n  - reissue: 4\n    tissue: 5\n", []),
        ("trackers:\n  - issue: 2\n  - issue: 2\n  - issue: 0\n", [2]),
        (b"trackers:\n  - issue: 12\xff\n", [12]),
        ("".join(f"- issue: {n}\n" for n in range(1, 40)), list(range(1, 11))),
        ("\x00\x01garbage", []),
    ],
)
def test_the_issues_a_broken_file_names_are_found_for_its_error_comment(
    text: str | bytes, issues: list[int]
) -> None:
    assert issues_named_in(text) == issues


# --- Checklist rules, fixes, escalation and review conditions ------------------------------------------

FULL_EXAMPLE = (EXAMPLES / "issue-status.full.yml").read_text(encoding="utf-8")


def rules_tracker(yaml: str) -> str:
    return "trackers:\n  - issue: 2\n" + yaml


def test_the_full_example_parses_to_exactly_these_rules_fixes_and_conditions() -> None:
    (full,) = parse_config(FULL_EXAMPLE).trackers
    assert full.checklist_line == ">90% test pass rate achieved"
    assert [(rule.line, rule.condition) for rule in full.checklist_rules] == [
        (">90% test pass rate achieved", GateCondition()),
        ("All security fixes preserved", TestsCondition("*security*")),
        ("Security preservation validation", TestsCondition("*security*")),
        ("Infrastructure stability confirmed", GreenRunsCondition(3)),
        (
            "Production deployment readiness verified",
            TickedCondition("Production deployment readiness verified"),
        ),
    ]
    assert [rule.writes_line for rule in full.rules] == [True, True, True, True, False]
    assert full.fixes[0] == FixConfig(
        name="JWT Token Fix",
        files=("app/auth/jwt.py",),
        tests="*jwt*",
        estimate=timedelta(hours=2),
        line="JWT token fix implementation",
    )
    assert [fix.estimate for fix in full.fixes] == [
        timedelta(hours=2),
        timedelta(hours=4),
        timedelta(hours=1),
    ]
    assert full.escalation == EscalationConfig(label="escalation", overdue=1.5)
    assert full.review.when == (
        GateCondition(),
        FixesDoneCondition(),
        TestsCondition("*security*"),
        TickedCondition("Production deployment readiness verified"),
    )


def test_without_rules_the_gate_line_is_the_only_rule_and_the_review_waits_for_the_gate() -> None:
    (only,) = parse_config("trackers: [{issue: 2}]").trackers
    assert only.checklist_rules == (RuleConfig(line=DEFAULT_CHECKLIST_LINE, gate=True),)
    assert only.review.when == (GateCondition(),)
    assert only.escalation == EscalationConfig(label=None, overdue=1.5)


def test_a_gate_rule_names_the_gate_line_for_checklist_line_too() -> None:
    (only,) = parse_config(rules_tracker("    rules:\n      - {line: 'Gate met', gate: true}\n")).trackers
    assert only.checklist_line == "Gate met"
    assert only.checklist_rules == (RuleConfig(line="Gate met", gate=True),)


@pytest.mark.parametrize(
    ("value", "minutes"),
    [("2h", 120), ("90m", 90), ("1.5h", 90), ("1h30m", 90), ("1h 30m", 90), ("2 hours", 120), ("45 min", 45)],
)
def test_an_estimate_is_hours_and_minutes(value: str, minutes: int) -> None:
    assert parse_estimate(value) == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("soon", "expected a duration such as '2h', '90m' or '1.5h', got 'soon'"),
        (2, "say the unit: '2h' or '2m'"),
        ("2d", "got '2d'"),
        ("h", "got 'h'"),
        ("2h soon", "got '2h soon'"),
        ("0h", "more than nothing"),
        (True, "got true"),
    ],
)
def test_an_estimate_without_a_unit_or_with_words_is_refused(value: object, phrase: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_estimate(value)
    assert phrase in str(caught.value)


@pytest.mark.parametrize(
    ("yaml", "location", "phrase"),
    [
        (
            "    rules:\n      - {line: A, test: '*x*'}\n",
            "trackers[0].rules[0].test",
            "did you mean 'tests'?",
        ),
        (
            "    rules:\n      - {line: A, tests: '*x*', manual: true}\n",
            "trackers[0].rules[0]",
            "got tests and manual",
        ),
        ("    rules:\n      - {line: A}\n", "trackers[0].rules[0]", "exactly one condition"),
        ("    rules:\n      - {gate: true}\n", "trackers[0].rules[0].line", "required key 'line' is missing"),
        ("    rules:\n      - {line: '**', manual: true}\n", "trackers[0].rules[0].line", "no visible text"),
        ("    review: {when: [{manual: '` `'}]}\n", "trackers[0].review.when[0]", "no visible text"),
        ("    rules:\n      - {line: A, manual: false}\n", "trackers[0].rules[0].manual", "expected true"),
        (
            "    rules:\n      - {line: A, green_runs: 0}\n",
            "trackers[0].rules[0].green_runs",
            "from 1 to 100",
        ),
        (
            "    rules:\n      - {line: A, green_runs: 101}\n",
            "trackers[0].rules[0].green_runs",
            "from 1 to 100",
        ),
        ("    line: A\n", "trackers[0].line", "it belongs inside each entry of 'rules'"),
        (
            "    fixes:\n      - {name: X, files: a.py}\n",
            "trackers[0].fixes[0].files",
            "a list of paths or globs",
        ),
        ("    fixes:\n      - {name: X, files: []}\n", "trackers[0].fixes[0].files", "name the files"),
        (
            "    fixes:\n      - {name: X, files: [/a.py]}\n",
            "trackers[0].fixes[0].files[0]",
            "drop the leading",
        ),
        (
            "    fixes:\n      - {name: X, files: [a], estimate: soon}\n",
            "trackers[0].fixes[0].estimate",
            "'soon'",
        ),
        ("    fixes:\n      - {files: [a]}\n", "trackers[0].fixes[0].name", "required key 'name'"),
        ("    escalation: {overdue: 0.5}\n", "trackers[0].escalation.overdue", "at least 1"),
        ("    escalation: {label: ''}\n", "trackers[0].escalation.label", "expected a label name"),
        ("    escalation: {lable: x}\n", "trackers[0].escalation.lable", "did you mean 'label'?"),
        ("    review: {when: []}\n", "trackers[0].review.when", "leave 'when' out"),
        ("    review: {when: gate}\n", "trackers[0].review.when", "expected a list of conditions"),
        ("    review: {when: [fixes-done]}\n", "trackers[0].review.when[0]", "did you mean 'fixes_done'?"),
        ("    review: {when: [{test: x}]}\n", "trackers[0].review.when[0]", "did you mean 'tests'?"),
        (
            "    review: {when: [{tests: x, gate: 1}]}\n",
            "trackers[0].review.when[0]",
            "one condition per entry",
        ),
        ("    review: {when: [{green_runs: 0}]}\n", "trackers[0].review.when[0]", "from 1 to 100"),
        # Consistency between entries
        (
            "    checklist_line: B\n    rules:\n      - {line: A, gate: true}\n",
            "trackers[0].checklist_line",
            "drop checklist_line",
        ),
        (
            "    rules:\n      - {line: A, gate: true}\n      - {line: '**a.**', manual: true}\n",
            "trackers[0].rules[1].line",
            "already bound by trackers[0].rules[0]",
        ),
        (
            "    rules:\n      - {line: A, gate: true}\n    fixes:\n      - {name: X, files: [a], line: A}\n",
            "trackers[0].fixes[0].line",
            "already bound by trackers[0].rules[0]",
        ),
        (
            "    fixes:\n      - {name: X, files: [a]}\n      - {name: x, files: [b]}\n",
            "trackers[0].fixes[1].name",
            "trackers[0].fixes[0] has this name already",
        ),
        (
            "    review: {when: [fixes_done]}\n",
            "trackers[0].review.when[0]",
            "needs at least one entry under 'fixes'",
        ),
        (
            "    review: {when: [{manual: '>90% test pass rate achieved'}]}\n",
            "trackers[0].review.when[0]",
            "the bot writes the line",
        ),
    ],
)
def test_a_wrong_rule_fix_or_condition_is_explained_at_the_key_to_fix(
    yaml: str, location: str, phrase: str
) -> None:
    problems = problems_of(rules_tracker(yaml))
    assert [p.location for p in problems if phrase in p.message] == [location], problems


# --- The gate's floor of counted tests (min_tests) -----------------------------------------------------

# The canonical issue's run: 143 of 227 counted tests pass (skipped tests are not counted by default).
CANONICAL = TestCounts(passed=143, failed=84, skipped=7)
# The same suite after the failing tests were deleted or skipped to lift the rate above the gate.
DELETED = TestCounts(passed=143, failed=4, skipped=7)
SKIPPED = TestCounts(passed=143, failed=4, skipped=87)
FIXED = TestCounts(passed=220, failed=7, skipped=7)


def floor(min_tests: str, *, skipped: str = "exclude") -> TrackerConfig:
    text = f"trackers:\n  - issue: 2\n    min_tests: {min_tests}\n    pass_rate: {{skipped: {skipped}}}\n"
    (only,) = parse_config(text).trackers
    return only


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("baseline", "baseline"),
        ("'baseline'", "baseline"),
        ("227", 227),
        ("1", 1),
        ("1_000", 1000),
        ("1000000000", 10**9),
        ("", None),
    ],
)
def test_min_tests_is_baseline_or_a_whole_number(value: str, parsed: object) -> None:
    assert floor(value).min_tests == parsed


def test_without_min_tests_the_gate_has_no_floor() -> None:
    (only,) = parse_config("trackers: [{issue: 2}]").trackers
    assert only.min_tests is None
    assert only.tests_required(227) is None
    assert only.missing_tests(DELETED, 227) == 0
    assert only.gate_holds(DELETED, 227)


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("true", "got true (write 'baseline' to require as many tests as the baseline run"),
        ("no", "got false (write 'baseline'"),
        ("0", "got 0 (leave the key out for no floor)"),
        ("-227", "got -227 (leave the key out for no floor)"),
        (str(MAX_MIN_TESTS + 1), "from 1 to 1,000,000,000, got 1000000001"),
        ("227.0", "write it without the decimal point: 227"),
        ("227.5", "got 227.5"),
        ("0.9", "min_tests is a number of tests, not a rate (the rate is 'gate')"),
        ("'90%'", "min_tests is a number of tests, not a rate"),
        (".nan", "got nan"),
        ("'227'", "got '227'; write the number unquoted: min_tests: 227"),
        ("'1,000'", "write the number unquoted: min_tests: 1000"),
        ("'0'", "expected 'baseline' or a number of tests from 1 to 1,000,000,000, got '0'"),
        ("'baseline '", "got 'baseline ' (did you mean 'baseline'?)"),
        ("Baseline", "got 'Baseline' (did you mean 'baseline'?)"),
        ("basline", "(did you mean 'baseline'?)"),
        ("previous", "got 'previous'"),
        ("[227]", "got [227]"),
        ("{baseline: true}", "got {'baseline': true}"),
        ("'" + "1" * 5000 + "'", "got '1111"),  # never turned into a number: no digit limit is hit
    ],
)
def test_a_wrong_min_tests_is_refused_with_what_to_write(value: str, phrase: str) -> None:
    (problem,) = problems_of(f"trackers:\n  - issue: 2\n    min_tests: {value}\n")
    assert problem.location == "trackers[0].min_tests"
    assert problem.message.startswith(
        "expected 'baseline' or a number of tests from 1 to 1,000,000,000, got "
    )
    assert phrase in problem.message


def test_a_misplaced_min_tests_is_pointed_at_the_tracker() -> None:
    problems = problems_of("trackers:\n  - issue: 2\n    pass_rate: {min_tests: 227}\n")
    assert [(p.location, p.message) for p in problems] == [
        ("trackers[0].pass_rate.min_tests", "unknown key 'min_tests'")
    ]
    (typo,) = problems_of("trackers:\n  - issue: 2\n    min_test: 227\n")
    assert typo.message == "unknown key 'min_test' (did you mean 'min_tests'?)"


@pytest.mark.parametrize(
    ("skipped", "counts", "counted"),
    [
        ("exclude", CANONICAL, 227),
        ("include", CANONICAL, 234),
        ("exclude", TestCounts(passed=5, failed=1, errors=2, skipped=3, xfailed=4, deselected=9), 8),
        ("include", TestCounts(passed=5, failed=1, errors=2, skipped=3, xfailed=4, deselected=9), 11),
        ("exclude", TestCounts(), 0),
    ],
)
def test_counted_tests_are_the_pass_rates_denominator(skipped: str, counts: TestCounts, counted: int) -> None:
    tracker = floor("1", skipped=skipped)
    assert tracker.counted_tests(counts) == counted
    rate = tracker.rate_of(counts)
    assert rate is None if counted == 0 else rate == counts.passed / counted


@pytest.mark.parametrize(
    ("min_tests", "baseline_tests", "required"),
    [
        ("baseline", 227, 227),
        ("baseline", None, None),  # no baseline run recorded yet: the rate alone decides
        ("baseline", 0, None),  # a baseline run that counted nothing sets no floor
        ("227", None, 227),
        ("227", 300, 227),  # a number is the floor whatever the baseline counted
    ],
)
def test_the_floor_in_force_is_the_number_or_the_baseline_runs_count(
    min_tests: str, baseline_tests: int | None, required: int | None
) -> None:
    assert floor(min_tests).tests_required(baseline_tests) == required


@pytest.mark.parametrize(
    ("min_tests", "skipped", "counts", "rate_met", "missing", "holds"),
    [
        # Deleting 80 failing tests lifts the rate to 97.3 %, above the gate, but 80 tests are missing.
        ("baseline", "exclude", DELETED, True, 80, False),
        ("227", "exclude", DELETED, True, 80, False),
        # Skipping them instead: excluded from the rate, so missing too.
        ("baseline", "exclude", SKIPPED, True, 80, False),
        # With skipped tests counted, skipping lifts nothing: the rate (61.1 %) fails the gate.
        ("baseline", "include", SKIPPED, False, 0, False),
        # Fixing them meets the rate with every test counted.
        ("baseline", "exclude", FIXED, True, 0, True),
        ("227", "exclude", FIXED, True, 0, True),
        ("228", "exclude", FIXED, True, 1, False),
        # Enough tests but the rate is not met: the floor never lifts the gate.
        ("baseline", "exclude", CANONICAL, False, 0, False),
    ],
)
def test_the_gate_holds_only_with_its_rate_and_enough_counted_tests(
    min_tests: str, skipped: str, counts: TestCounts, rate_met: bool, missing: int, holds: bool
) -> None:
    tracker = floor(min_tests, skipped=skipped)
    baseline_tests = tracker.counted_tests(CANONICAL)  # the canonical run is the baseline run
    assert tracker.missing_tests(counts, baseline_tests) == missing
    assert tracker.gate_holds(counts, baseline_tests) is holds
    assert tracker.gate.is_met(tracker.rate_of(counts)) is rate_met  # Gate.is_met keeps its meaning


def test_before_a_baseline_run_is_known_a_baseline_floor_lets_the_rate_decide() -> None:
    tracker = floor("baseline")
    assert tracker.missing_tests(DELETED, None) == 0
    assert tracker.gate_holds(DELETED, None)
    assert not tracker.gate_holds(TestCounts(), None)  # nothing ran: never met


def test_a_baseline_floor_beside_a_configured_baseline_rate_is_advised_against() -> None:
    config = parse_config("trackers:\n  - {issue: 2, baseline: 0.62, min_tests: baseline}\n  - {issue: 3}\n")
    assert list(advice(config)) == [
        ConfigProblem(
            "trackers[0].min_tests",
            "'baseline' is the count of the first run the bot records, not of the run whose pass rate is "
            "'baseline: 62%'; if you know how many tests that run counted, write that number",
        )
    ]


@pytest.mark.parametrize(
    "text",
    [
        "trackers: [{issue: 2, baseline: 0.62, min_tests: 227}]",
        "trackers: [{issue: 2, min_tests: baseline}]",
        "trackers: [{issue: 2, baseline: 0.62}]",
        FULL_EXAMPLE,
    ],
)
def test_other_combinations_get_no_advice(text: str) -> None:
    assert list(advice(parse_config(text))) == []
