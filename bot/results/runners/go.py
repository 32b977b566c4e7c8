"""``go test -v``: per-test verdict lines, closed by one verdict line per package::

    --- PASS: TestAddPasses (0.00s)
        --- FAIL: TestTable/wrong (0.00s)
    FAIL	example.com/sample/calc	0.010s
    ok  	example.com/sample/words	0.010s
    ?   	example.com/sample/notests	[no test files]

Counts are the ``--- PASS/FAIL/SKIP`` lines (subtests included, as gotestsum counts them), summed over
the packages of one run; a package seen again starts a new run. A package that did not build
(``[build failed]``, ``[setup failed]``) counts as one error. Plain ``go test`` (without ``-v``) prints
no line for a passing test, so its counts cannot be known: such a run yields no summary rather than a
made-up one, nor the partial sum of the packages before it or of the other runs in the log (``-v``,
gotestsum or JUnit XML give the counts).
"""

from __future__ import annotations

import re

from bot.results.counts import TestCounts
from bot.results.runners.reader import WITHDRAWN, Evidence, RunnerSummary

RUNNER = "go"

_TEST = re.compile(r" {0,64}--- (?P<verdict>PASS|FAIL|SKIP): \S")
_PACKAGE = re.compile(
    r"(?P<verdict>ok|FAIL|\?)[ \t]{1,8}(?P<package>[\w.~/-]{1,300})[ \t]{1,8}"
    r"(?:(?:\d{1,9}\.\d{1,9}s|\(cached\))(?P<note>(?:[ \t].{0,200})?)"
    r"|\[(?P<bracket>no test files|build failed|setup failed)\])"
)
_FIELDS = {"PASS": "passed", "FAIL": "failed", "SKIP": "skipped"}


class GoReader:
    def __init__(self) -> None:
        self._start_run()
        self._start_package()

    def _start_run(self) -> None:
        self._total = TestCounts()
        self._packages: set[str] = set()
        self._evidence = Evidence()
        self._unknown = False  # a package passed without -v: the run's counts cannot be known

    def _start_package(self) -> None:
        self._verbose = False
        self._values = {"passed": 0, "failed": 0, "skipped": 0}

    def feed(self, line: str) -> RunnerSummary | None:
        if line.startswith("=== RUN"):
            self._verbose = True
            return None
        if "--- " in line[:70]:
            test = _TEST.match(line)
            if test is not None:
                self._values[_FIELDS[test["verdict"]]] += 1
            return None
        if not line.startswith(("ok ", "FAIL", "? ")):
            return None
        package = _PACKAGE.fullmatch(line)
        if package is None:
            return None
        return self._close_package(package, line)

    def _close_package(self, package: re.Match[str], line: str) -> RunnerSummary | None:
        if package["package"] in self._packages:
            self._start_run()
        self._packages.add(package["package"])
        bracket, note = package["bracket"], package["note"] or ""
        if bracket in ("build failed", "setup failed"):
            counts = TestCounts(errors=1)
        elif bracket == "no test files" or "[no tests to run]" in note:
            counts = TestCounts()
        elif self._verbose:
            counts = TestCounts(**self._values)
        else:
            self._unknown = True
            counts = TestCounts()
        self._start_package()
        self._total = self._total + counts
        continues = self._evidence.started
        self._evidence.add(line)
        if self._unknown:
            return WITHDRAWN
        return RunnerSummary(RUNNER, self._total, self._evidence.text(), continues)
