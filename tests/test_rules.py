"""The rules engine: what each rule, fix and review condition binds to, how it is judged, and what follows.

Fixtures: bot/testing/examples/issue-2-status-update.md (the canonical tracking issue, verbatim) and
bot/testing/examples/issue-status.full.yml (its whole story as configuration).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import TrackerConfig, parse_config
from bot.results.counts import TestCounts
from bot.results.junit import Outcome, TestCaseResult
from bot.rules import (
    Evaluation,
    Evidence,
    FixProgress,
    Judgement,
    MarkChange,
    RulesMemory,
    Tick,
    apply,
    bind,
    check_overdue,
    evaluate,
    event_key,
    find_heading,
    headings,
    judge_tests,
    set_mark,
    start_fixes,
)
from bot.rules.owned_lines import trust_edit
from bot.testing.examples import EXAMPLES
from bot.tracking.body import BLOCK_BEGIN, BLOCK_END, find_checklist_item
from bot.tracking.state import RunRecord

EXAMPLE = (EXAMPLES / "issue-2-status-update.md").read_bytes().decode()
EXAMPLE_CRLF = EXAMPLE.replace("\n", "\r\n")
FULL_AS_WRITTEN = parse_config((EXAMPLES / "issue-status.full.yml").read_bytes()).trackers[0]
# The runs below count 100 tests; the example's floor of 227 counted tests is judged on its own.
FULL = FULL_AS_WRITTEN.model_copy(update={"min_tests": None})
T0 = datetime(2025, 8, 12, 9, 0, tzinfo=UTC)
SECURITY = "*security*"
READINESS = "Production deployment readiness verified"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def run(sha: str, passed: int, failed: int, minutes: float, *, provisional: bool = False) -> RunRecord:
    completed = at(minutes).isoformat().replace("+00:00", "Z")
    return RunRecord(sha, TestCounts(passed=passed, failed=failed), completed, provisional)


def case(test_id: str, outcome: Outcome = "passed") -> TestCaseResult:
    return TestCaseResult(test_id, outcome, "tests", None, None)


SECURE = (case("tests.test_security_fixes::test_role_claim"), case("tests.test_auth::test_jwt_expiry"))
INSECURE = (
    case("tests.test_security_fixes::test_role_claim", "failed"),
    case("tests.test_auth::test_jwt_expiry"),
)


def judged(evaluation: Evaluation) -> dict[str, str]:
    return {result.binding.rule.line: result.judgement.verdict for result in evaluation.rules}


def tracker(yaml: str) -> TrackerConfig:
    return parse_config("trackers:\n  - issue: 2\n" + yaml).trackers[0]


def evidence(*runs: RunRecord, cases: tuple[TestCaseResult, ...] | None = None, now: float = 0) -> Evidence:
    return Evidence(runs, cases, 0.62, at(now))


# --- Binding ---------------------------------------------------------------------------------------


def test_every_rule_fix_and_review_line_of_the_full_example_binds_in_the_canonical_issue() -> None:
    bindings = bind(EXAMPLE, FULL)
    assert bindings.unbound() == ()
    assert [(b.rule.line, b.item.line_index if b.item else None) for b in bindings.rules] == [
        (">90% test pass rate achieved", 47),
        ("All security fixes preserved", 48),
        ("Security preservation validation", 57),
        ("Infrastructure stability confirmed", 49),
        (READINESS, 50),
    ]
    assert [(b.fix.name, b.heading.line_index if b.heading else None) for b in bindings.fixes] == [
        ("JWT Token Fix", 23),
        ("Database Configuration", 29),
        ("Pydantic Compatibility", 35),
    ]


@pytest.mark.parametrize(
    ("line", "binds"),
    [
        ("- [ ] All security fixes preserved", True),
        ("* [x] **All security fixes preserved.**", True),
        ("1. [ ] All  security _fixes_ preserved", True),
        ("> - [ ] [All security fixes preserved](https://example.com)", True),
        ("- [ ] all security fixes preserved", True),
        ("- [ ] All security fixes preserved in staging", False),
        ("- All security fixes preserved", False),
    ],
)
def test_a_rule_binds_to_its_line_despite_markdown_but_not_to_other_words(line: str, binds: bool) -> None:
    body = f"# Issue\n\n{line}\n"
    (binding,) = [
        b for b in bind(body, FULL).rules if b.rule.tests == SECURITY and b.rule.line.startswith("All")
    ]
    assert (binding.item is not None) is binds


def test_lines_in_code_fences_and_in_the_bots_block_bind_to_nothing() -> None:
    body = f"```\n- [ ] {READINESS}\n```\n{BLOCK_BEGIN}\n- [ ] {READINESS}\n{BLOCK_END}\n"
    assert "rule 'Production deployment readiness verified'" in bind(body, FULL).unbound()


@pytest.mark.parametrize(
    ("heading", "phase"),
    [
        ("### 1. JWT Token Fix - 2 hours ⏳", "not started"),
        ("## JWT Token Fix 🔄", "in progress"),
        ("### ✅ JWT Token Fix", "done"),
        ("### 2) JWT token fix \u2014 2h 🔄", "in progress"),
        ("#### **JWT Token Fix** (2 hours) ✅️", "done"),
        ("### JWT Token Fix: auth ⏳ ###", "not started"),
        ("### JWT Token Fix", None),
    ],
)
def test_a_fix_binds_to_its_heading_whatever_its_numbering_estimate_and_mark(
    heading: str, phase: str
) -> None:
    found = find_heading(f"Intro\n\n{heading}\nText\n", "JWT Token Fix")
    assert found is not None and found.line_index == 2 and found.phase == phase


@pytest.mark.parametrize(
    "body",
    [
        "### JWT Token Fixes ⏳\n",
        "### JWT Token Fixer - 2 hours ⏳\n",
        "```\n### JWT Token Fix ⏳\n```\n",
        "> ### JWT Token Fix ⏳\n",
        "JWT Token Fix ⏳\n",
        f"{BLOCK_BEGIN}\n### JWT Token Fix ⏳\n{BLOCK_END}\n",
    ],
)
def test_a_fix_does_not_bind_to_other_names_or_headings_in_code_quotes_and_the_block(body: str) -> None:
    assert find_heading(body, "JWT Token Fix") is None


def test_an_exact_heading_wins_over_a_longer_one_that_starts_with_the_name() -> None:
    body = "### Database - migration ⏳\n### Database 🔄\n"
    found = find_heading(body, "Database")
    assert found is not None and found.line_index == 1


def test_headings_lists_the_marks_of_the_canonical_issue() -> None:
    marked = [(h.line_index, h.mark) for h in headings(EXAMPLE) if h.mark]
    assert marked == [(10, "✅"), (15, "🔄"), (23, "⏳"), (29, "⏳"), (35, "⏳"), (61, "✅")]


# --- Heading marks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [EXAMPLE, EXAMPLE_CRLF], ids=["lf", "crlf"])
@pytest.mark.parametrize(
    ("fix", "written", "phase", "rewritten"),
    [
        ("JWT Token Fix", "JWT Token Fix - 2 hours ⏳", "in progress", "JWT Token Fix - 2 hours 🔄"),
        ("Database Configuration", "Configuration - 4 hours ⏳  ", "done", "Configuration - 4 hours ✅  "),
    ],
)
def test_a_mark_change_edits_that_one_character_and_nothing_else(
    body: str, fix: str, written: str, phase: str, rewritten: str
) -> None:
    heading = find_heading(body, fix)
    assert heading is not None
    assert set_mark(body, heading, phase) == body.replace(written, rewritten)  # type: ignore[arg-type]
    assert apply(body, (), [MarkChange(fix, phase)]) == body.replace(written, rewritten)  # type: ignore[arg-type]


def test_a_heading_without_a_mark_is_left_as_written() -> None:
    body = "### JWT Token Fix - 2 hours\n"
    assert apply(body, (), [MarkChange("JWT Token Fix", "done")]) == body


# --- Judging conditions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cases", "expected"),
    [
        (SECURE, Judgement("holds", "1 tests matching '*security*' pass")),
        (
            (*SECURE, case("tests.SecurityHeaders::test_csp", "skipped")),
            Judgement("holds", "1 tests matching '*security*' pass, 1 skipped"),
        ),
        (
            INSECURE,
            Judgement(
                "does not hold",
                "1 of 1 tests matching '*security*' fail: tests.test_security_fixes::test_role_claim",
            ),
        ),
        (
            tuple(case(f"t.security::test_{n}", "error") for n in range(5)),
            Judgement(
                "does not hold",
                "5 of 5 tests matching '*security*' fail: t.security::test_0, t.security::test_1, "
                "t.security::test_2 and 2 more",
            ),
        ),
        (
            (case("tests.test_auth::test_jwt_expiry"),),
            Judgement("does not hold", "no test matches '*security*'"),
        ),
        (
            (case("tests.SECURITY::test_x", "skipped"),),
            Judgement("does not hold", "all 1 tests matching '*security*' were skipped"),
        ),
    ],
)
def test_a_tests_rule_holds_only_when_every_matching_test_passes(
    cases: tuple[TestCaseResult, ...], expected: Judgement
) -> None:
    assert judge_tests(SECURITY, cases) == expected


def test_every_rule_kind_is_judged_on_the_runs_the_cases_and_the_human_ticks() -> None:
    runs = (
        run("a" * 40, 62, 38, 0),
        run("b" * 40, 91, 9, 10),
        run("c" * 40, 92, 8, 20),
        run("d" * 40, 95, 5, 30),
    )
    body = EXAMPLE.replace(f"- [ ] {READINESS}", f"- [x] {READINESS}")
    evaluation = evaluate(FULL, body, evidence(*runs, cases=SECURE), RulesMemory())
    assert judged(evaluation) == {
        ">90% test pass rate achieved": "holds",
        "All security fixes preserved": "holds",
        "Security preservation validation": "holds",
        "Infrastructure stability confirmed": "holds",
        READINESS: "holds",
    }
    reasons = [r.judgement.reason for r in evaluation.rules]
    assert reasons[0] == "95% meets >90% at ddddddd"
    assert reasons[3] == "the last 3 finished runs met >90%"


@pytest.mark.parametrize(
    ("runs", "reason"),
    [
        ((run("a" * 40, 95, 5, 0), run("b" * 40, 95, 5, 10)), "2 of 3 finished runs so far"),
        (
            (run("a" * 40, 95, 5, 0), run("b" * 40, 80, 20, 10), run("c" * 40, 95, 5, 20)),
            "1 of the last 3 finished runs missed the gate",
        ),
        (
            (run("a" * 40, 95, 5, 0), run("b" * 40, 95, 5, 10), run("c" * 40, 95, 5, 20, provisional=True)),
            "2 of 3 finished runs so far",
        ),
    ],
)
def test_green_runs_needs_that_many_finished_runs_all_meeting_the_gate(
    runs: tuple[RunRecord, ...], reason: str
) -> None:
    (result,) = [
        r for r in evaluate(FULL, EXAMPLE, evidence(*runs), RulesMemory()).rules if r.binding.rule.green_runs
    ]
    assert result.judgement == Judgement("does not hold", reason)


@pytest.mark.parametrize(
    ("runs", "cases", "reason"),
    [
        ((run("a" * 40, 95, 5, 0),), None, "commit aaaaaaa has no per-test results (JUnit XML)"),
        ((run("a" * 40, 95, 5, 0, provisional=True),), SECURE, "CI of aaaaaaa is still running"),
        ((), None, "no run yet"),
    ],
)
def test_a_tests_rule_without_per_test_results_is_unknown_and_its_line_left_as_it_is(
    runs: tuple[RunRecord, ...], cases: tuple[TestCaseResult, ...] | None, reason: str
) -> None:
    body = EXAMPLE.replace("- [ ] All security fixes preserved", "- [x] All security fixes preserved")
    evaluation = evaluate(FULL, body, evidence(*runs, cases=cases), RulesMemory())
    (result,) = [r for r in evaluation.rules if r.binding.rule.line == "All security fixes preserved"]
    assert result.judgement == Judgement("unknown", reason)
    assert not [tick for tick in evaluation.ticks if tick.line == "All security fixes preserved"]


def test_the_same_commit_judged_again_without_cases_keeps_its_tests_verdict() -> None:
    runs = (run("a" * 40, 95, 5, 0),)
    first = evaluate(FULL, EXAMPLE, evidence(*runs, cases=SECURE), RulesMemory())
    again = evaluate(FULL, EXAMPLE, evidence(*runs), first.memory)
    assert judged(again)["All security fixes preserved"] == "holds"
    later = evaluate(FULL, EXAMPLE, evidence(*runs, run("b" * 40, 95, 5, 10)), first.memory)
    assert judged(later)["All security fixes preserved"] == "unknown"


def test_rule_lines_are_ticked_and_unticked_to_match_definite_verdicts() -> None:
    body = EXAMPLE.replace(
        "- [ ] Infrastructure stability confirmed", "- [x] Infrastructure stability confirmed"
    )
    evaluation = evaluate(FULL, body, evidence(run("a" * 40, 95, 5, 0), cases=SECURE), RulesMemory())
    assert set(evaluation.ticks) == {
        Tick(">90% test pass rate achieved", True),
        Tick("All security fixes preserved", True),
        Tick("Security preservation validation", True),
        Tick("Infrastructure stability confirmed", False),
    }
    updated = apply(body, evaluation.ticks, evaluation.marks)
    assert "- [x] >90% test pass rate achieved" in updated
    assert "- [ ] Infrastructure stability confirmed" in updated


@pytest.mark.parametrize("ticked", [False, True])
def test_a_manual_line_is_read_and_never_written(ticked: bool) -> None:
    box = "x" if ticked else " "
    body = EXAMPLE.replace(f"- [ ] {READINESS}", f"- [{box}] {READINESS}")
    runs = (run("a" * 40, 95, 5, 0), run("b" * 40, 96, 4, 10), run("c" * 40, 97, 3, 20))
    evaluation = evaluate(FULL, body, evidence(*runs, cases=SECURE), RulesMemory())
    assert READINESS not in {tick.line for tick in evaluation.ticks}
    assert judged(evaluation)[READINESS] == ("holds" if ticked else "does not hold")
    item = find_checklist_item(apply(body, evaluation.ticks, evaluation.marks), READINESS)
    assert item is not None and item.checked is ticked


# --- Fixes -------------------------------------------------------------------------------------------


def test_a_push_touching_a_fixs_files_puts_it_in_progress_with_its_time() -> None:
    memory, marks = start_fixes(
        FULL, EXAMPLE, RulesMemory(), ["README.md", "app/auth/jwt.py"], sha="f" * 40, at=at(5), rate=0.62
    )
    assert marks == (MarkChange("JWT Token Fix", "in progress"),)
    assert memory.progress_of("JWT Token Fix") == FixProgress(
        "JWT Token Fix", "in progress", started_at=at(5), started_by="f" * 40, reference_rate=0.62
    )
    assert memory.progress_of("Database Configuration") == FixProgress("Database Configuration")
    assert "### 1. JWT Token Fix - 2 hours 🔄" in apply(EXAMPLE, (), marks)


@pytest.mark.parametrize(
    ("files", "changed", "starts"),
    [
        ('["app/auth/*"]', ["app/auth/tokens/jwt.py"], True),
        ('["app/auth/jwt.py"]', ["app/auth/JWT.py"], False),
        ('["app/auth/jwt.py"]', ["docs/app/auth/jwt.py"], False),
        ('["*.md", "app/core/config.py"]', ["app/core/config.py"], True),
    ],
)
def test_fix_files_are_paths_or_case_sensitive_globs(files: str, changed: list[str], starts: bool) -> None:
    config = tracker(f"    fixes:\n      - name: JWT Token Fix\n        files: {files}\n")
    _, marks = start_fixes(config, EXAMPLE, RulesMemory(), changed, sha="f" * 40, at=at(0), rate=None)
    assert bool(marks) is starts


def test_a_push_does_not_restart_a_fix_that_is_in_progress_or_marked_done() -> None:
    body = EXAMPLE.replace("JWT Token Fix - 2 hours ⏳", "JWT Token Fix - 2 hours ✅")
    memory, marks = start_fixes(
        FULL, body, RulesMemory(), ["app/auth/jwt.py"], sha="f" * 40, at=at(0), rate=None
    )
    assert marks == () and memory.progress_of("JWT Token Fix") == FixProgress("JWT Token Fix", "done")


def started(fix: str, minutes: float, rate: float | None = 0.62) -> RulesMemory:
    return RulesMemory(fixes=(FixProgress(fix, "in progress", at(minutes), "e" * 40, rate),))


def test_a_later_run_green_for_a_fixs_tests_makes_it_done_ticks_its_line_and_announces_it() -> None:
    body = EXAMPLE.replace("JWT Token Fix - 2 hours ⏳", "JWT Token Fix - 2 hours 🔄")
    cases = (case("tests.test_auth::test_jwt_expiry"), case("tests.test_auth::test_JWT_role"))
    evaluation = evaluate(
        FULL, body, evidence(run("a" * 40, 70, 30, 30), cases=cases), started("JWT Token Fix", 0)
    )
    assert evaluation.marks == (MarkChange("JWT Token Fix", "done"),)
    assert Tick("JWT token fix implementation", True) in evaluation.ticks
    assert [(e.kind, e.subject, e.sha) for e in evaluation.events if e.kind == "fix_done"] == [
        ("fix_done", "JWT Token Fix", "a" * 40)
    ]
    progress = evaluation.memory.progress_of("JWT Token Fix")
    assert progress is not None and progress.done_at == at(30) and progress.done_by == "a" * 40
    assert "### 1. JWT Token Fix - 2 hours ✅" in apply(body, evaluation.ticks, evaluation.marks)


@pytest.mark.parametrize(
    ("latest", "cases"),
    [
        (run("a" * 40, 70, 30, 30), (case("tests.test_auth::test_jwt_expiry", "failed"),)),
        (run("a" * 40, 70, 30, 30), None),
        (run("a" * 40, 70, 30, 30, provisional=True), (case("tests.test_auth::test_jwt_expiry"),)),
        (run("a" * 40, 70, 30, -5), (case("tests.test_auth::test_jwt_expiry"),)),
    ],
    ids=["tests-fail", "no-cases", "provisional", "finished-before-the-push"],
)
def test_a_fix_stays_in_progress_until_a_finished_run_after_it_passes_its_tests(
    latest: RunRecord, cases: tuple[TestCaseResult, ...] | None
) -> None:
    evaluation = evaluate(FULL, EXAMPLE, evidence(latest, cases=cases), started("JWT Token Fix", 0))
    progress = evaluation.memory.progress_of("JWT Token Fix")
    assert progress is not None and progress.phase == "in progress"
    assert evaluation.marks[0] == MarkChange("JWT Token Fix", "in progress")  # the heading still says ⏳


@pytest.mark.parametrize(("passed", "done"), [(63, True), (62, False), (50, False)])
def test_a_fix_without_tests_is_done_when_a_run_improves_on_the_rate_it_started_at(
    passed: int, done: bool
) -> None:
    latest = run("a" * 40, passed, 100 - passed, 30)
    evaluation = evaluate(FULL, EXAMPLE, evidence(latest), started("Database Configuration", 0))
    progress = evaluation.memory.progress_of("Database Configuration")
    assert progress is not None and (progress.phase == "done") is done


@pytest.mark.parametrize(("minutes", "overdue"), [(179, False), (180, False), (181, True)])
def test_a_fix_in_progress_over_one_and_a_half_times_its_estimate_is_overdue_once(
    minutes: float, overdue: bool
) -> None:
    memory, events = check_overdue(FULL, started("JWT Token Fix", 0), at(minutes))
    assert [(e.kind, e.subject, e.sha, e.at, e.is_escalation) for e in events] == (
        [("fix_overdue", "JWT Token Fix", "e" * 40, at(minutes), True)] if overdue else []
    )
    _, again = check_overdue(FULL, memory, at(minutes + 60))
    assert len(again) == (0 if overdue else 1)


def test_a_fix_whose_start_was_only_read_from_its_mark_is_never_overdue() -> None:
    memory = RulesMemory(fixes=(FixProgress("JWT Token Fix", "in progress"),))
    assert check_overdue(FULL, memory, at(10_000)) == (memory, ())


# --- Events ------------------------------------------------------------------------------------------


def test_event_keys_are_stable_and_safe_inside_an_html_comment() -> None:
    assert event_key(2, "a" * 40, "gate_met") == f"2/{'a' * 40}/gate_met"
    assert event_key(2, "a" * 40, "fix_done", "JWT Token Fix") == f"2/{'a' * 40}/fix_done/d2d2ea24c602e0b5"
    assert event_key(2, "a" * 40, "fix_done", "x --> y") == f"2/{'a' * 40}/fix_done/d5375db9bc6a1e27"


def test_evaluating_the_same_evidence_again_announces_nothing_new() -> None:
    runs = (run("a" * 40, 62, 38, 0), run("b" * 40, 95, 5, 10))
    first = evaluate(FULL, EXAMPLE, evidence(*runs, cases=SECURE), RulesMemory())
    assert [e.kind for e in first.events] == ["gate_met"]
    assert evaluate(FULL, EXAMPLE, evidence(*runs, cases=SECURE), RulesMemory()).events == first.events
    assert evaluate(FULL, EXAMPLE, evidence(*runs, cases=SECURE), first.memory).events == ()


def test_a_regression_escalates_once_for_the_baseline_and_once_for_the_security_tests() -> None:
    good = evaluate(FULL, EXAMPLE, evidence(run("a" * 40, 70, 30, 0), cases=SECURE), RulesMemory())
    bad_runs = (run("a" * 40, 70, 30, 0), run("b" * 40, 55, 45, 10))
    bad = evaluate(FULL, EXAMPLE, evidence(*bad_runs, cases=INSECURE), good.memory)
    assert [(e.kind, e.subject, e.sha) for e in bad.events] == [
        ("below_baseline", None, "b" * 40),
        ("tests_broken", SECURITY, "b" * 40),
    ]
    worse = evaluate(
        FULL, EXAMPLE, evidence(*bad_runs, run("c" * 40, 50, 50, 20), cases=INSECURE), bad.memory
    )
    assert worse.events == ()


def test_losing_the_gate_is_a_milestone() -> None:
    met = evaluate(FULL, EXAMPLE, evidence(run("a" * 40, 95, 5, 0)), RulesMemory())
    body = apply(EXAMPLE, met.ticks, met.marks)
    lost = evaluate(FULL, body, evidence(run("a" * 40, 95, 5, 0), run("b" * 40, 85, 15, 10)), met.memory)
    assert [(e.kind, e.rate) for e in lost.events] == [("gate_lost", 0.85)]
    assert Tick(">90% test pass rate achieved", False) in lost.ticks


def test_the_review_waits_for_every_condition_and_hands_over_once() -> None:
    done = RulesMemory(fixes=tuple(FixProgress(f.name, "done") for f in FULL.fixes))
    runs = (run("a" * 40, 95, 5, 0),)
    waiting = evaluate(FULL, EXAMPLE, evidence(*runs, cases=SECURE), done)
    assert [r.judgement.verdict for r in waiting.review] == ["holds", "holds", "holds", "does not hold"]
    assert not waiting.review_ready and [e.kind for e in waiting.events] == ["gate_met"]

    ticked = EXAMPLE.replace(f"- [ ] {READINESS}", f"- [x] {READINESS}")
    ready = evaluate(FULL, ticked, evidence(*runs), trust_edit(FULL, waiting.memory, EXAMPLE, ticked))
    assert ready.review_ready and [(e.kind, e.sha) for e in ready.events] == [("review_ready", "a" * 40)]
    assert evaluate(FULL, ticked, evidence(*runs), ready.memory).events == ()


def test_a_manual_tick_counts_only_once_a_writer_made_it() -> None:
    done = RulesMemory(fixes=tuple(FixProgress(f.name, "done") for f in FULL.fixes))
    runs = (run("a" * 40, 95, 5, 0),)
    waiting = evaluate(FULL, EXAMPLE, evidence(*runs, cases=SECURE), done)
    ticked = EXAMPLE.replace(f"- [ ] {READINESS}", f"- [x] {READINESS}")

    # Anyone's tick, judged before (or without) the edit's own event: it does not hold and is put back.
    unsure = evaluate(FULL, ticked, evidence(*runs), waiting.memory)
    assert not unsure.review_ready and unsure.events == ()
    assert Tick(READINESS, False) in unsure.ticks

    # The writer's untick is trusted too, and the box follows it.
    trusted = trust_edit(FULL, waiting.memory, EXAMPLE, ticked)
    unticked = trust_edit(FULL, trusted, ticked, EXAMPLE)
    assert evaluate(FULL, ticked, evidence(*runs), unticked).ticks[-1:] == (Tick(READINESS, False),)


def test_a_tracker_judged_for_the_first_time_takes_the_manual_ticks_the_body_has() -> None:
    ticked = EXAMPLE.replace(f"- [ ] {READINESS}", f"- [x] {READINESS}")
    first = evaluate(FULL, ticked, evidence(run("a" * 40, 95, 5, 0)), RulesMemory())
    readiness = [r for r in first.review if str(r.binding.condition) == f"manual {READINESS!r}"]
    assert [r.judgement.verdict for r in readiness] == ["holds"]
    assert first.memory.manual_ticked is not None and len(first.memory.manual_ticked) == 1


def test_with_the_default_review_condition_the_hand_over_is_the_gate_milestone() -> None:
    plain = tracker("    gate: '>90%'\n")
    evaluation = evaluate(plain, EXAMPLE, evidence(run("a" * 40, 95, 5, 0)), RulesMemory())
    assert [e.kind for e in evaluation.events] == ["review_ready"]
    assert evaluation.ticks == (Tick(">90% test pass rate achieved", True),)


def test_the_memory_survives_a_round_trip_through_json() -> None:
    memory = replace(
        started("JWT Token Fix", 0), held=frozenset({"gate"}), failed=frozenset({"x"}), cases_sha="a"
    )
    memory = memory.with_progress(FixProgress("Database Configuration", "done", done_at=at(9), done_by="b"))
    assert RulesMemory.from_data(json.loads(json.dumps(memory.as_data()))) == memory


# --- The whole story ----------------------------------------------------------------------------------


def test_the_canonical_story_marks_each_fix_and_escalates_exactly_once() -> None:
    """Three fixes pushed one after another, a regression in the middle, a human's final tick."""
    body, memory = EXAMPLE, RulesMemory()
    runs: list[RunRecord] = [run("0" * 40, 143, 84, 0)]
    kinds: list[str] = []

    def push(paths: list[str], sha: str, minutes: float) -> None:
        nonlocal body, memory
        rate = FULL.rate_of(runs[-1].counts)
        memory, marks = start_fixes(FULL, body, memory, paths, sha=sha, at=at(minutes), rate=rate)
        body = apply(body, (), marks)

    def finish(record: RunRecord, cases: tuple[TestCaseResult, ...]) -> None:
        nonlocal body, memory
        runs.append(record)
        now = (datetime.fromisoformat(record.completed_at) - T0) / timedelta(minutes=1)
        evaluation = evaluate(FULL, body, evidence(*runs, cases=cases, now=now), memory)
        body, memory = apply(body, evaluation.ticks, evaluation.marks), evaluation.memory
        kinds.extend(e.kind for e in evaluation.events)

    jwt = case("tests.test_auth::test_jwt_role")
    finish(run("0" * 40, 143, 84, 1), (jwt, *INSECURE))
    push(["app/auth/jwt.py"], "1" * 40, 10)
    assert "JWT Token Fix - 2 hours 🔄" in body
    finish(run("1" * 40, 170, 60, 60), (jwt, *SECURE))
    push(["app/core/config.py"], "2" * 40, 70)
    finish(run("2" * 40, 120, 110, 120), (jwt, *SECURE))  # the regression: below the 62% baseline
    finish(run("3" * 40, 200, 30, 180), (jwt, *SECURE))
    push(["tests/test_security_fixes.py"], "4" * 40, 190)
    for minutes, sha in ((240, "4"), (250, "5"), (260, "6")):
        finish(run(sha * 40, 220, 10, minutes), (jwt, *SECURE))
    assert kinds == [
        "fix_done",  # JWT, on its first green run
        "below_baseline",  # the one escalation
        "fix_done",  # Database configuration: the rate rose above where it started
        "fix_done",  # Pydantic compatibility, on the run that also meets the gate
        "gate_met",
    ]
    assert [h.mark for h in headings(body) if h.line_index in (23, 29, 35)] == ["✅", "✅", "✅"]
    for line in ("JWT token fix", "Database configuration", "Pydantic compatibility"):
        assert f"- [x] {line} implementation" in body
    assert "- [x] Infrastructure stability confirmed" in body
    assert f"- [ ] {READINESS}" in body

    before, body = body, body.replace(f"- [ ] {READINESS}", f"- [x] {READINESS}")
    handover = evaluate(FULL, body, evidence(*runs), trust_edit(FULL, memory, before, body))
    assert [e.kind for e in handover.events] == ["review_ready"]


def test_the_gate_needs_the_floor_of_counted_tests_too() -> None:
    short = evaluate(FULL_AS_WRITTEN, EXAMPLE, evidence(run("a" * 40, 220, 6, 0)), RulesMemory())
    gate = next(r for r in short.rules if r.binding.rule.gate)
    assert gate.judgement.verdict == "does not hold"
    assert gate.judgement.reason == (
        "97.35% meets >90% at aaaaaaa, but only 226 tests are counted: 1 fewer than the gate requires"
    )
    full = evaluate(FULL_AS_WRITTEN, EXAMPLE, evidence(run("a" * 40, 221, 6, 0)), RulesMemory())
    assert next(r for r in full.rules if r.binding.rule.gate).judgement.holds


def test_fewer_tests_counted_is_escalated_once_per_commit() -> None:
    before = run("a" * 40, 80, 20, 0)
    after = run("b" * 40, 80, 0, 5)  # the 20 failing tests deleted
    first = evaluate(FULL, EXAMPLE, evidence(before, after), RulesMemory())
    [dropped] = [e for e in first.events if e.kind == "tests_dropped"]
    assert dropped.is_escalation and dropped.sha == "b" * 40 and dropped.tests == ()
    again = evaluate(FULL, EXAMPLE, evidence(before, after), first.memory)
    assert not [e for e in again.events if e.kind == "tests_dropped"]
    steady = evaluate(FULL, EXAMPLE, evidence(before, after, run("c" * 40, 80, 0, 9)), again.memory)
    assert not [e for e in steady.events if e.kind == "tests_dropped"]
