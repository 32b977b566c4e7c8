"""Bounded fuzzing of the parsers that read what anyone who can push controls: JUnit XML artifacts, runner
summaries in logs and check-run output, and the repository's configuration YAML.

Each input must parse, or fail with the parser's documented error (``JUnitError``, ``ConfigError``;
``parse_summary`` never raises), within ``BOUND`` per input. Inputs are random bytes and text, the
real fixtures mutated (bytes flipped, cut, repeated, hostile fragments spliced in) and generated
structures. The examples are random on every run, so CI keeps exploring; ``max_examples`` bounds the
time (a few seconds per parser).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import ConfigError, parse_config
from bot.results.junit import JUnitError, JUnitReport, parse_junit_xml
from bot.results.runners import RunnerSummary, parse_summary
from bot.testing.examples import EXAMPLES
from tests.conftest import FIXTURES

# Per input; the slowest legitimate inputs here parse in milliseconds.
BOUND = timedelta(seconds=2)
FUZZ = settings(max_examples=120, deadline=BOUND, suppress_health_check=[HealthCheck.too_slow])

JUNIT_SEEDS = [path.read_bytes() for path in sorted((FIXTURES / "runners" / "junit").glob("*.xml"))]
LOG_SEEDS = [
    path.read_bytes()
    for path in sorted((FIXTURES / "runners").glob("*/*.txt"))
    if path.stat().st_size < 64 * 1024
]
CONFIG_SEEDS = [
    (EXAMPLES / "issue-status.yml").read_bytes(),
    (EXAMPLES / "issue-status.full.yml").read_bytes(),
    (FIXTURES / "config" / "issue-2-example.yml").read_bytes(),
]

XML_FRAGMENTS = [
    b'<!DOCTYPE x [<!ENTITY a "aaaa">]>',
    b'<!ENTITY e SYSTEM "file:///etc/passwd">',
    b"&e;",
    b"<testsuite>" * 50,
    b"</testsuite>",
    b'<testcase name="\xff\xfe" classname="a::b"/>',
    b'<testcase time="1e999999" name="x"><failure/><error/><skipped/></testcase>',
    b'<testcase time="nan" name="x"/>',
    b"<?xml version='1.0' encoding='utf-16'?>",
    b"<?xml version='1.0' encoding='no-such-codec'?>",
    b"\x00\x1b[31m",
    b"<![CDATA[",
    b"]]>",
    b"\xef\xbb\xbf",
]
LOG_FRAGMENTS = [
    "===== 1 failed, 2 passed, 3 skipped in 0.1s =====",
    "Tests:       1 failed, 2 passed, 3 total",
    "Test Files  1 failed | 1 passed (2)",
    "Tests run: 5, Failures: 1, Errors: 1, Skipped: 1",
    "test result: FAILED. 3 passed; 1 failed; 0 ignored",
    "FAILED (failures=1, errors=2)",
    "Ran 9 tests in 0.1s",
    "ok  \tpkg\t0.1s",
    "# pass 3\n# fail 1",
    "DONE 10 tests, 2 failures in 1.0s",
    "Passed!  - Failed:     0, Passed:     5, Skipped:     0, Total:     5",
    "5 examples, 1 failure",
    "Tests: 10, Assertions: 20, Failures: 1.",
    "2024-05-01T12:34:56.1234567Z ",
    "\x1b[31m",
    "\x1b[0m",
    "9" * 400,
    " " * 5000,
]
CONFIG_FRAGMENTS = [
    b"trackers:\n",
    b"  - issue: 2\n",
    b"    gate: '>90%'\n",
    b"    rules:\n      - line: x\n        tests: '*'\n",
    b"a: &a [*a, *a]\n",
    b"x: &x ['lol','lol','lol','lol','lol','lol','lol','lol','lol']\ny: &y [*x,*x,*x,*x,*x,*x,*x,*x,*x]\n"
    b"z: [*y,*y,*y,*y,*y,*y,*y,*y,*y]\n",
    b"!!python/object/apply:os.system ['true']\n",
    b"? [a, b]\n: c\n",
    b"\t",
    b"%YAML 1.1\n---\n",
    b"\xff\xfe",
    b"[" * 200,
]


def bounded(parse: Callable[[], object]) -> object:
    """Run one parse and check it met the bound (hypothesis' deadline reports it too, with the input)."""
    started = time.perf_counter()
    result = parse()
    assert time.perf_counter() - started < BOUND.total_seconds()
    return result


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes], fragments: list[bytes]) -> bytes:
    """A seed with a few edits: bytes flipped, a slice cut or repeated, a fragment spliced in."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        edit = draw(st.sampled_from(["flip", "cut", "repeat", "splice"]))
        at = draw(st.integers(0, len(data)))
        if edit == "flip" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif edit == "cut":
            del data[at : at + draw(st.integers(1, 200))]
        elif edit == "repeat":
            chunk = bytes(data[at : at + draw(st.integers(1, 80))])
            data[at:at] = chunk * draw(st.integers(1, 50))
        else:
            data[at:at] = draw(st.sampled_from(fragments))
    return bytes(data)


def junit_xml() -> st.SearchStrategy[bytes]:
    """Well-formed documents of suites and cases with arbitrary names, attributes and nesting."""
    attribute = st.tuples(
        st.sampled_from(["name", "classname", "time", "file", "tests", "failures"]),
        st.text(max_size=12),
    )

    def element(tag: str, children: list[str]) -> st.SearchStrategy[str]:
        return st.lists(attribute, max_size=3).map(
            lambda attrs: (
                f"<{tag}"
                + "".join(f' {key}="{_escape(value)}"' for key, value in dict(attrs).items())
                + ">"
                + "".join(children)
                + f"</{tag}>"
            )
        )

    outcome = st.sampled_from(["", "<failure/>", "<error>boom</error>", "<skipped/>", "<failure>x</failure>"])
    case = st.lists(outcome, max_size=3).flatmap(lambda kids: element("testcase", kids))
    suite = st.recursive(
        st.lists(case, max_size=4).flatmap(lambda kids: element("testsuite", kids)),
        lambda inner: st.lists(inner, max_size=3).flatmap(lambda kids: element("testsuite", kids)),
        max_leaves=12,
    )
    root = st.one_of(suite, st.lists(suite, max_size=3).flatmap(lambda kids: element("testsuites", kids)))
    return root.map(lambda text: text.encode())


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def check_junit(data: bytes) -> None:
    try:
        report = bounded(lambda: parse_junit_xml(data, max_cases=5_000))
    except JUnitError as error:
        assert str(error)
        return
    assert isinstance(report, JUnitReport)
    counts = report.counts
    # Suites without test cases add the counts their attributes state, so cases are at most the counts.
    assert counts.passed + counts.failed + counts.errors + counts.skipped >= len(report.cases)


@FUZZ
@given(st.binary(max_size=2048))
def test_junit_reader_survives_random_bytes(data: bytes) -> None:
    check_junit(data)


@FUZZ
@given(mutated(JUNIT_SEEDS, XML_FRAGMENTS))
def test_junit_reader_survives_mutated_reports(data: bytes) -> None:
    check_junit(data)


@FUZZ
@given(junit_xml())
def test_junit_reader_counts_every_generated_case(data: bytes) -> None:
    report = bounded(lambda: parse_junit_xml(data))
    assert isinstance(report, JUnitReport)
    # Every case is kept, except that attempts of one test (same suite and id) are merged as retries.
    assert len(report.cases) == len({(case.suite, case.test_id) for case in report.cases})
    assert len(report.cases) <= data.count(b"<testcase")


def check_summary(text: str) -> None:
    summary = bounded(lambda: parse_summary(text))
    assert summary is None or isinstance(summary, RunnerSummary)


@FUZZ
@given(st.text(max_size=2048))
def test_runner_summaries_survive_random_text(text: str) -> None:
    check_summary(text)


@FUZZ
@given(mutated(LOG_SEEDS, [fragment.encode() for fragment in LOG_FRAGMENTS]))
def test_runner_summaries_survive_mutated_logs(data: bytes) -> None:
    check_summary(data.decode("utf-8", "replace"))


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(LOG_FRAGMENTS), st.text(max_size=30)), max_size=40))
def test_runner_summaries_survive_generated_lines(lines: list[str]) -> None:
    check_summary("\n".join(lines))


def check_config(data: str | bytes) -> None:
    try:
        bounded(lambda: parse_config(data))
    except ConfigError as error:
        assert error.problems


@FUZZ
@given(st.one_of(st.binary(max_size=1024), st.text(max_size=1024)))
def test_config_reader_survives_random_input(data: str | bytes) -> None:
    check_config(data)


@FUZZ
@given(mutated(CONFIG_SEEDS, CONFIG_FRAGMENTS))
def test_config_reader_survives_mutated_files(data: bytes) -> None:
    check_config(data)


YAML_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from([">90%", "0.9", "62%", "*security*", "main", "octocat", "2 hours", "-1", "1e400"]),
)
CONFIG_KEYS = st.sampled_from(
    [
        "trackers",
        "issue",
        "gate",
        "baseline",
        "branch",
        "checks",
        "checklist_line",
        "review",
        "reviewers",
        "team_reviewers",
        "rules",
        "line",
        "tests",
        "fixes",
        "name",
        "files",
        "estimate",
        "when",
        "x",
    ]
)


@FUZZ
@given(
    st.recursive(
        YAML_SCALARS,
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(CONFIG_KEYS, inner, max_size=5)),
        max_leaves=25,
    )
)
def test_config_reader_survives_generated_structures(value: object) -> None:
    check_config(yaml.safe_dump({"trackers": [value]} if isinstance(value, dict) else value))


def test_the_fuzz_seeds_are_real_files() -> None:
    assert len(JUNIT_SEEDS) >= 5 and len(LOG_SEEDS) >= 20 and len(CONFIG_SEEDS) == 3
    assert all(isinstance(parse_junit_xml(seed), JUnitReport) for seed in JUNIT_SEEDS)
    assert Path(EXAMPLES / "issue-status.yml").is_file()
