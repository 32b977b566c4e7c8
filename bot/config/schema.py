"""The file's schema: one pydantic model per section, from the whole file down to a rule.

Each section of the file is one model deriving from :class:`Section`; adding a section is adding a
model and one field, and the error messages (unknown keys, suggestions, locations) follow. What the
models cannot check one value at a time (lines bound twice, issues tracked twice) is
:func:`consistency_problems`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, PlainValidator, model_validator

from bot.config.conditions import (
    Condition,
    FixesDoneCondition,
    GateCondition,
    GreenRunsCondition,
    TestsCondition,
    TickedCondition,
)
from bot.config.problems import ConfigProblem, show
from bot.config.rates import DEFAULT_GATE
from bot.config.values import (
    BaselineRate,
    BranchName,
    ConditionSpec,
    Estimate,
    Flag,
    GateSpec,
    Glob,
    IssueNumber,
    LabelName,
    LineText,
    Login,
    MinTests,
    OverdueFactor,
    RepoPathGlob,
    RunCount,
    TeamSlug,
    distinct,
    list_of,
    refuse,
    template_dir,
)
from bot.results.counts import TestCounts
from bot.tracking.body import match_key as checklist_key  # the body's own notion of "same line"

DEFAULT_CHECKLIST_LINE = ">90% test pass rate achieved"


class Section(BaseModel):
    """A mapping in the file: unknown keys are errors, and parsed values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ReviewConfig(Section):
    """Who is asked to review, once every condition in ``when`` holds (by default: the gate is met)."""

    reviewers: Annotated[tuple[Login, ...], BeforeValidator(list_of("GitHub logins"))] = ()
    team_reviewers: Annotated[tuple[TeamSlug, ...], BeforeValidator(list_of("team slugs"))] = ()
    when: Annotated[
        tuple[ConditionSpec, ...],
        BeforeValidator(list_of("conditions", at_least_one="leave 'when' out to wait for the gate")),
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
            raise refuse(f"a rule needs exactly one condition, {_RULE_HELP}; got {got}")
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
        BeforeValidator(list_of("paths or globs", at_least_one="name the files this fix changes")),
    ]
    tests: Glob | None = None  # None: the fix is done when a run after it improves the pass rate
    estimate: Estimate | None = None
    line: LineText | None = None  # a checklist line ticked when the fix is done


class EscalationConfig(Section):
    """How escalation comments stand out, and when a fix in progress counts as overdue."""

    label: LabelName | None = None
    overdue: OverdueFactor = 1.5  # a fix in progress longer than this times its estimate


ResultSourceName = Literal["output", "logs", "junit"]


class ResultsConfig(Section):
    """Where a commit's test results are read, and how its jobs add up."""

    # Tried in this order for each job; "junit" reads the workflow run's test-result artifacts.
    sources: Annotated[
        tuple[ResultSourceName, ...],
        BeforeValidator(list_of("result sources", at_least_one="use output, logs and/or junit")),
        AfterValidator(distinct),
    ] = ("output", "logs", "junit")
    artifacts: Annotated[
        tuple[Glob, ...], BeforeValidator(list_of("artifact name globs", at_least_one="or drop junit"))
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
        tuple[Glob, ...], BeforeValidator(list_of("globs", at_least_one="use ['*'] for every check run"))
    ] = ("*",)
    gate: GateSpec = DEFAULT_GATE
    baseline: BaselineRate = None  # None: the first run the bot records
    # The gate also needs this many counted tests, or "baseline": as many as the baseline run counted.
    min_tests: MinTests = None
    checklist_line: LineText = (
        DEFAULT_CHECKLIST_LINE  # the gate's line, unless a rule with 'gate: true' names it
    )
    rules: Annotated[tuple[RuleConfig, ...], BeforeValidator(list_of("rules"))] = ()
    fixes: Annotated[tuple[FixConfig, ...], BeforeValidator(list_of("fixes"))] = ()
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

    def counted_tests(self, counts: TestCounts) -> int:
        """The tests the pass rate of ``counts`` counts (its denominator), under this tracker's policy."""
        return counts.counted(include_skipped=self.pass_rate.skipped == "include")

    def tests_required(self, baseline_tests: int | None) -> int | None:
        """The floor of counted tests in force: None without ``min_tests``, and for ``baseline`` while the
        baseline run's count (``baseline_tests``) is not known yet."""
        if self.min_tests == "baseline":
            return baseline_tests if baseline_tests is not None and baseline_tests >= 1 else None
        return self.min_tests

    def missing_tests(self, counts: TestCounts, baseline_tests: int | None) -> int:
        """How many counted tests ``counts`` lacks to reach the floor (0: enough, or no floor)."""
        required = self.tests_required(baseline_tests)
        return max(0, required - self.counted_tests(counts)) if required is not None else 0

    def gate_holds(self, counts: TestCounts, baseline_tests: int | None) -> bool:
        """The gate is met: by the pass rate, and with enough counted tests that deleting or skipping
        failing tests cannot be what lifted it."""
        return self.gate.is_met(self.rate_of(counts)) and self.missing_tests(counts, baseline_tests) == 0

    def matches_check(self, check_name: str) -> bool:
        """Whether a check run's results count for this tracker (globs are case-sensitive)."""
        return any(fnmatch.fnmatchcase(check_name, pattern) for pattern in self.checks)

    def tracks_branch(self, branch: str | None, default_branch: str) -> bool:
        """Whether runs on ``branch`` update this tracker; a run with no branch never does."""
        return branch is not None and branch == (self.branch or default_branch)


class RepoConfig(Section):
    """The whole file."""

    trackers: Annotated[
        tuple[TrackerConfig, ...],
        BeforeValidator(list_of("trackers", at_least_one="add one with at least 'issue: N'")),
    ]
    # A folder whose *.md.j2 files replace the built-in templates of the same name (off by default,
    # because looking for them costs API requests on every update).
    templates: Annotated[str | None, PlainValidator(lambda v: None if v is None else template_dir(v))] = None

    def trackers_for_branch(self, branch: str | None, default_branch: str) -> list[TrackerConfig]:
        return [tracker for tracker in self.trackers if tracker.tracks_branch(branch, default_branch)]

    def tracker_of(self, issue: int) -> TrackerConfig | None:
        """The tracker whose tracking issue is ``issue`` (an issue is tracked at most once)."""
        return next((tracker for tracker in self.trackers if tracker.issue == issue), None)


def consistency_problems(config: RepoConfig) -> Iterator[ConfigProblem]:
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
