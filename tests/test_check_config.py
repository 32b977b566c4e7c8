"""``issue-status-bot check-config``: validation, bindings against an issue body, and exit codes.

Fixtures: bot/testing/examples/issue-status.full.yml and issue-2-status-update.md (the canonical issue).
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from bot.ops.check_config import EXIT_BAD_USAGE, EXIT_INVALID, EXIT_VALID, format_duration
from bot.ops.cli import main
from bot.testing.examples import EXAMPLES

FULL = EXAMPLES / "issue-status.full.yml"
ISSUE = EXAMPLES / "issue-2-status-update.md"


def check(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["check-config", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_full_example_binds_every_rule_and_fix_in_the_canonical_issue(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = check(capsys, FULL, "--issue-body", ISSUE)
    assert code == EXIT_VALID
    lines = out.splitlines()
    assert lines[0] == f"{FULL}: valid, 1 tracker"
    assert lines[2] == "issue #2: branch fix/test-infrastructure, gate >90%, baseline 62%"
    assert (
        "    'All security fixes preserved' (tests '*security*') -> line 49: [ ] All security fixes preserved"
        in lines
    )
    assert "      heading -> line 24: 1. JWT Token Fix - 2 hours ⏳ (not started)" in lines
    assert (
        "    'Database Configuration' (files app/core/config.py; done when a run improves the pass rate; "
        "estimate 4h)" in lines
    )
    readiness = "Production deployment readiness verified"
    assert f"    manual '{readiness}' -> line 51: [ ] {readiness}" in lines
    assert lines[-1] == f"every rule and fix binds in {ISSUE}"
    assert "nothing" not in out


def test_what_binds_to_nothing_is_named_and_fails_the_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    body = ISSUE.read_text(encoding="utf-8")
    body = body.replace("- [ ] All security fixes preserved\n", "").replace(
        "### 3. Pydantic", "### 3. Pydantic v2"
    )
    edited = tmp_path / "issue.md"
    edited.write_text(body, encoding="utf-8")
    code, out, _ = check(capsys, FULL, "--issue-body", edited)
    assert code == EXIT_INVALID
    assert out.splitlines()[-3:] == [
        f"binds to nothing in {edited}:",
        "  issue #2: rule 'All security fixes preserved'",
        "  issue #2: fix 'Pydantic Compatibility' (heading)",
    ]


def test_an_invalid_file_is_explained_at_each_location(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "issue-status.yml"
    config.write_text(
        "trackers:\n  - issue: 2\n    rules:\n      - line: A\n        test: '*x*'\n"
        "    fixes:\n      - name: X\n        files: [a.py]\n        estimate: soon\n",
        encoding="utf-8",
    )
    code, out, _ = check(capsys, config, "--issue-body", ISSUE)
    assert code == EXIT_INVALID
    assert out.splitlines() == [
        f"{config}: invalid, 2 problems:",
        "  trackers[0].rules[0].test: unknown key 'test' (did you mean 'tests'?)",
        "  trackers[0].fixes[0].estimate: expected a duration such as '2h', '90m' or '1.5h', got 'soon'",
    ]


def test_without_an_issue_body_only_the_configuration_is_shown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = check(capsys, FULL)
    assert code == EXIT_VALID
    assert (
        "->" not in out and "    'JWT Token Fix' (files app/auth/jwt.py; tests '*jwt*'; estimate 2h)" in out
    )


@pytest.mark.parametrize(
    ("config", "args", "message"),
    [
        ("trackers: [{issue: 2}]", ["missing.md"], "check-config: cannot read"),
        ("trackers: [{issue: 2}, {issue: 3}]", [ISSUE], "say which one the issue body is with --issue N"),
        ("trackers: [{issue: 2}]", [ISSUE, "--issue", "7"], "the file has no tracker for issue 7"),
    ],
)
def test_bad_usage_exits_with_2_and_says_why(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, config: str, args: list[str | Path], message: str
) -> None:
    path = tmp_path / "issue-status.yml"
    path.write_text(config, encoding="utf-8")
    code, out, err = check(capsys, path, "--issue-body", *args)
    assert code == EXIT_BAD_USAGE and out == "" and message in err


def test_a_missing_configuration_file_is_bad_usage(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert check(capsys, tmp_path / "nope.yml")[0] == EXIT_BAD_USAGE


def test_one_of_several_trackers_is_chosen_with_issue(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "issue-status.yml"
    path.write_text("trackers: [{issue: 2}, {issue: 3}]", encoding="utf-8")
    code, out, _ = check(capsys, path, "--issue-body", ISSUE, "--issue", "2")
    assert code == EXIT_VALID
    assert "issue #2:" in out and "issue #3:" not in out


@pytest.mark.parametrize(("minutes", "shown"), [(120, "2h"), (90, "1h30m"), (45, "45m"), (0, "0m")])
def test_estimates_are_shown_as_they_would_be_written(minutes: int, shown: str) -> None:
    assert format_duration(timedelta(minutes=minutes)) == shown


@pytest.mark.parametrize(
    ("tracker", "floor"),
    [
        (
            "{issue: 2, min_tests: baseline}",
            "  gate >90%, with at least as many counted tests as the baseline run (the first run the bot "
            "records); counted: passed + failed + errors",
        ),
        (
            "{issue: 2, gate: '>=95%', min_tests: 227}",
            "  gate >=95%, with at least 227 counted tests; counted: passed + failed + errors",
        ),
        (
            "{issue: 2, min_tests: 227, pass_rate: {skipped: include}}",
            "  gate >90%, with at least 227 counted tests; counted: passed + failed + errors + skipped",
        ),
    ],
)
def test_the_gates_floor_of_counted_tests_is_explained_under_its_tracker(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tracker: str, floor: str
) -> None:
    path = tmp_path / "issue-status.yml"
    path.write_text(f"trackers: [{tracker}]", encoding="utf-8")
    code, out, _ = check(capsys, path, "--issue-body", ISSUE)
    assert code == EXIT_VALID
    lines = out.splitlines()
    assert lines[2].startswith("issue #2: branch the default branch, gate >")
    assert lines[3] == floor
    assert "warning" not in out


def test_without_min_tests_no_floor_is_shown(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "issue-status.yml"
    full = FULL.read_text(encoding="utf-8")
    path.write_text(re.sub(r"    min_tests: .*\n(\s+#.*\n)*", "", full), "utf-8")
    _, out, _ = check(capsys, path)
    assert "min_tests" not in path.read_text(encoding="utf-8")
    assert "counted tests" not in out and "warning" not in out


def test_the_full_example_needs_all_227_tests_counted(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = check(capsys, FULL)
    assert "gate >90%, with at least 227 counted tests; counted: passed + failed + errors" in out
    assert "warning" not in out


def test_a_baseline_floor_beside_a_baseline_rate_warns_but_stays_valid(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "issue-status.yml"
    full = FULL.read_text(encoding="utf-8")
    path.write_text(full.replace("    min_tests: 227", "    min_tests: baseline"), "utf-8")
    code, out, _ = check(capsys, path, "--issue-body", ISSUE)
    assert code == EXIT_VALID
    assert out.splitlines()[:2] == [
        f"{path}: valid, 1 tracker",
        "  warning: trackers[0].min_tests: 'baseline' is the count of the first run the bot records, not of "
        "the run whose pass rate is 'baseline: 62%'; if you know how many tests that run counted, write "
        "that number",
    ]
    assert out.splitlines()[-1] == f"every rule and fix binds in {ISSUE}"


def test_a_numbered_floor_beside_a_baseline_rate_needs_no_warning(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "issue-status.yml"
    path.write_text("trackers: [{issue: 2, baseline: 0.62, min_tests: 227}]", encoding="utf-8")
    code, out, _ = check(capsys, path)
    assert code == EXIT_VALID and "warning" not in out


def test_a_wrong_min_tests_fails_the_check_with_what_to_write(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "issue-status.yml"
    path.write_text("trackers: [{issue: 2, min_tests: 'baseline '}]", encoding="utf-8")
    code, out, _ = check(capsys, path)
    assert code == EXIT_INVALID
    assert out.splitlines() == [
        f"{path}: invalid, 1 problem:",
        "  trackers[0].min_tests: expected 'baseline' or a number of tests from 1 to 1,000,000,000, "
        "got 'baseline ' (did you mean 'baseline'?)",
    ]
