"""Per-test changes between a tracker's final runs, and the memory that lets the next run be compared.

``compare`` takes what the tracker remembers of its last final run with per-test results and the test
cases of a new final run, and returns the changes (full lists) and the memory to keep. It is pure: the
memory is stored in the journal (``encode_memory`` / ``decode_memory``), the bounded ``summarize`` view
in the signed state inside the issue body. Its rules:

- A test id is the case's ``test_id``, cut to ``MAX_ID_CHARS`` (the cut one ends with "…" and a hash of
  the whole id, so two long ids never merge) with control characters and lone surrogates replaced by
  U+FFFD (they could not be stored, nor shown on one line).
- The same test id more than once in a run (two jobs, a matrix, two report files) is one test: the worst
  outcome wins (error, then failed, then passed, then skipped: a test skipped on one platform and passing
  on another passed), and it is flaky when it failed in one and passed in another, or a case is flaky
  (retried inside one file, see ``bot.results.junit``). Failing means failed or error.
- Skipped tests are neither failing nor passing: a test failing before and skipped now is not fixed
  (it is ``newly_skipped`` and ``skipped_after_failing``); one skipped before and failing now is newly
  failing.
- A run compares with the previous final run (another commit). A run of the commit the memory already
  holds (a re-run attempt, a late job) compares with the run before that (``TestMemory.before``), not
  with itself, and a test that failed in an earlier attempt of the commit and passed in a later one (or
  the reverse) is flaky; so is one flaky in an earlier attempt. Only the memory's own commit is
  recognised: a run of an older commit is compared as a new run.
- The first run (no memory) compares with nothing: ``compared_with`` is None, and only ``failing``,
  ``flaky`` and ``total`` say anything; ``still_failing`` starts counting from it.
- ``compare`` is meant for runs that have per-test results; a caller with none keeps its memory as it
  is. Zero cases is taken literally, as a run of zero tests: every remembered test is removed.
- Idempotent: comparing the same memory, commit and cases again gives equal changes and memory (the bot
  recomputes a commit several times); so does comparing the returned memory with the same run again, as
  long as the run fits the memory's bounds below.
- Bounded: a memory keeps at most ``MAX_REMEMBERED_TESTS`` tests and ``MAX_REMEMBERED_ID_BYTES`` bytes of
  ids per run, so that the stored memory (two runs: the last and the one before) stays under
  ``MAX_ENCODED_BYTES`` for any suite. Over that, failing tests are kept first, then flaky ones, then
  passing, then skipped, each by id; the rest are counted in ``forgotten``. A test absent from such a
  memory cannot be told from an added one, so the next run says ``added`` only when nothing was
  forgotten (``TestChanges.forgotten`` says how many were); failing tests, kept first, still give
  ``fixed``, ``still_failing`` and the gate-integrity lists in full.

Linear in the tests apart from sorting the lists it returns: 5,000 tests take about 2 ms, 100,000 about 0.1 s.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from bot.results.junit import Outcome, TestCaseResult

log = logging.getLogger(__name__)

# Ids longer than this are cut, and end with a hash of the whole id: pytest's parametrized ids can run to
# hundreds of characters, a hostile report to megabytes.
MAX_ID_CHARS = 500
MAX_REMEMBERED_TESTS = 200_000
# Per remembered run: 200,000 ids of 146 bytes on average. Two runs with these ids, their outcomes and
# failing runs come to at most ~61.5 MB before compression, whatever the ids hold: under MAX_MEMORY_BYTES,
# and so under MAX_ENCODED_BYTES even when nothing compresses. Real ids compress ten to fifteen times.
MAX_REMEMBERED_ID_BYTES = 28 * 1024 * 1024
# The journal refuses a stored test memory larger than this (bot/journal/model.py: MAX_TEST_MEMORY_BYTES);
# decode_memory refuses to inflate one to more than MAX_MEMORY_BYTES.
MAX_ENCODED_BYTES = 64 * 1024 * 1024
MAX_MEMORY_BYTES = 64 * 1024 * 1024
# Consecutive failing runs are counted up to this (a test failing for longer stays at it).
MAX_RUNS = 99_999
# How many characters of names a summary carries by default, counted as the signed state stores them
# (JSON with non-ASCII escaped: "💥" is 12 characters there). The status block shows the first few names of
# each list, then all the summary has in a collapsed list: 3,000 characters is ~40 typical ids (60
# characters) or 15 of the longest shown, and the state's base64 of it stays under ~4.5 KB of the issue
# body's 65,536 characters whatever the names hold.
SUMMARY_CHARS = 3_000
# A name shown is cut to this many characters, the last one "…".
MAX_NAME_CHARS = 200
# What each name costs beyond its characters: the code span's backticks and the separator it is shown with.
NAME_OVERHEAD = 4

_FAILING: frozenset[str] = frozenset({"failed", "error"})
# Worst outcome wins among duplicates; passed beats skipped (it ran somewhere).
_RANK: dict[str, int] = {"skipped": 0, "passed": 1, "failed": 2, "error": 3}
_UNSAFE = re.compile("[\x00-\x1f\x7f\ud800-\udfff]")
_MAGIC = b"TM1"
_CODES: dict[str, str] = {"passed": "p", "failed": "f", "error": "e", "skipped": "s"}
_OUTCOMES: dict[str, Outcome] = {"p": "passed", "f": "failed", "e": "error", "s": "skipped"}


@dataclass(frozen=True, slots=True)
class TestRecord:
    """One remembered test: its outcome, for how many consecutive final runs it has failed, whether flaky."""

    __test__ = False  # not a pytest test class

    outcome: Outcome
    runs: int  # 0 unless failing; 1 on its first failing run
    flaky: bool


_PASSED = TestRecord("passed", 0, False)
_SKIPPED = TestRecord("skipped", 0, False)


@dataclass(frozen=True)
class TestMemory:
    """What a tracker remembers of per-test outcomes, to compare the next final run with."""

    __test__ = False

    sha: str  # the last final run with per-test results
    outcomes: Mapping[str, TestRecord]
    before_sha: str | None  # the final run before it (another commit): a re-run of ``sha`` compares
    before: Mapping[str, TestRecord]  # with that, not with itself
    forgotten: int = 0  # tests of ``sha``'s run over the bounds, not in ``outcomes``
    before_forgotten: int = 0


@dataclass(frozen=True)
class TestChanges:
    """A final run's per-test changes since the previous one: full lists, each sorted by id
    (``still_failing``: the longest failing first, then by id)."""

    __test__ = False

    sha: str
    compared_with: str | None  # the previous final run's sha; None when there was none to compare with
    total: int  # tests with a per-test result in this run
    failing: tuple[str, ...]  # every test failing or erroring now
    newly_failing: tuple[str, ...]  # passed, skipped or absent before (absent only when compared_with)
    fixed: tuple[str, ...]  # failing before, passing now
    still_failing: tuple[tuple[str, int], ...]  # failing before and now: consecutive final runs failing
    flaky: tuple[str, ...]  # failed and passed within this commit's attempts
    added: tuple[str, ...]
    removed: tuple[str, ...]
    newly_skipped: tuple[str, ...]  # present and not skipped before, skipped now
    skipped_after_failing: tuple[str, ...]  # of newly_skipped, those failing before
    removed_after_failing: tuple[str, ...]  # of removed, those failing before
    forgotten: int = 0  # tests of the compared run its memory could not keep: ``added`` is empty unless 0


def compare(
    memory: TestMemory | None, sha: str, cases: Sequence[TestCaseResult]
) -> tuple[TestChanges, TestMemory]:
    """The changes of final run ``sha`` since the previous one, and the memory to keep after it."""
    merged = _merge(cases)
    if memory is None:
        base_sha, base, base_forgotten, attempt = None, None, 0, None
    elif memory.sha == sha:
        base_sha, base, base_forgotten = memory.before_sha, memory.before, memory.before_forgotten
        attempt = memory.outcomes
        if base_sha is None:
            base = None
    else:
        base_sha, base, base_forgotten, attempt = memory.sha, memory.outcomes, memory.forgotten, None
    compared = base is not None
    know_added = compared and base_forgotten == 0
    failing: list[str] = []
    newly_failing: list[str] = []
    fixed: list[str] = []
    still_failing: list[tuple[str, int]] = []
    flaky: list[str] = []
    added: list[str] = []
    newly_skipped: list[str] = []
    skipped_after_failing: list[str] = []
    records: dict[str, TestRecord] = {}
    for test_id, (outcome, is_flaky) in merged.items():
        failing_now = outcome in _FAILING
        if attempt is not None:
            earlier = attempt.get(test_id)
            if earlier is not None and not is_flaky:
                is_flaky = earlier.flaky or _flipped(earlier.outcome, outcome)
        previous = base.get(test_id) if base is not None else None
        failing_before = previous is not None and previous.outcome in _FAILING
        if failing_now:
            failing.append(test_id)
            runs = min(previous.runs + 1, MAX_RUNS) if failing_before and previous is not None else 1
            if failing_before:
                still_failing.append((test_id, runs))
            elif compared:
                newly_failing.append(test_id)
            record = TestRecord(outcome, runs, is_flaky)
        else:
            if failing_before:
                if outcome == "passed":
                    fixed.append(test_id)
                else:
                    skipped_after_failing.append(test_id)
            if outcome == "skipped" and previous is not None and previous.outcome != "skipped":
                newly_skipped.append(test_id)
            if is_flaky:
                record = TestRecord(outcome, 0, True)
            else:
                record = _PASSED if outcome == "passed" else _SKIPPED
        if is_flaky:
            flaky.append(test_id)
        if previous is None and know_added:
            added.append(test_id)
        records[test_id] = record
    removed: list[str] = []
    removed_after_failing: list[str] = []
    if base is not None:
        for test_id, previous in base.items():
            if test_id not in merged:
                removed.append(test_id)
                if previous.outcome in _FAILING:
                    removed_after_failing.append(test_id)
    kept, forgotten = _bounded(records)
    if memory is not None and memory.sha == sha:
        remembered = TestMemory(
            sha, kept, memory.before_sha, memory.before, forgotten, memory.before_forgotten
        )
    elif memory is not None:
        remembered = TestMemory(sha, kept, memory.sha, memory.outcomes, forgotten, memory.forgotten)
    else:
        remembered = TestMemory(sha, kept, None, {}, forgotten, 0)
    changes = TestChanges(
        sha=sha,
        compared_with=base_sha if compared else None,
        total=len(merged),
        failing=tuple(sorted(failing)),
        newly_failing=tuple(sorted(newly_failing)),
        fixed=tuple(sorted(fixed)),
        still_failing=tuple(sorted(still_failing, key=lambda item: (-item[1], item[0]))),
        flaky=tuple(sorted(flaky)),
        added=tuple(sorted(added)),
        removed=tuple(sorted(removed)),
        newly_skipped=tuple(sorted(newly_skipped)),
        skipped_after_failing=tuple(sorted(skipped_after_failing)),
        removed_after_failing=tuple(sorted(removed_after_failing)),
        forgotten=base_forgotten if compared else 0,
    )
    return changes, remembered


def _flipped(before: Outcome, now: Outcome) -> bool:
    """Failed in one attempt and passed in the other."""
    return (before == "passed" and now in _FAILING) or (before in _FAILING and now == "passed")


def remembered_id(test_id: str) -> str:
    """The id a test is remembered and shown by: cut to MAX_ID_CHARS, storable, on one line."""
    if len(test_id) > MAX_ID_CHARS:
        whole = test_id.encode("utf-8", "surrogatepass")
        test_id = f"{test_id[: MAX_ID_CHARS - 17]}…{hashlib.blake2b(whole, digest_size=8).hexdigest()}"
    if _UNSAFE.search(test_id):
        test_id = _UNSAFE.sub("\ufffd", test_id)
    return test_id


def _merge(cases: Sequence[TestCaseResult]) -> dict[str, tuple[Outcome, bool]]:
    """One outcome per test id: the worst, flaky when one case passed and another failed."""
    merged: dict[str, tuple[Outcome, bool]] = {}
    for case in cases:
        test_id = case.test_id
        if len(test_id) > MAX_ID_CHARS or not (test_id.isascii() and test_id.isprintable()):
            test_id = remembered_id(test_id)
        prior = merged.get(test_id)
        if prior is None:
            merged[test_id] = (case.outcome, case.flaky)
            continue
        outcome = case.outcome if _RANK[case.outcome] > _RANK[prior[0]] else prior[0]
        merged[test_id] = (outcome, prior[1] or case.flaky or _flipped(prior[0], case.outcome))
    return merged


def _bounded(records: dict[str, TestRecord]) -> tuple[dict[str, TestRecord], int]:
    """The records a memory keeps, and how many it leaves out, within its bounds."""
    if len(records) <= MAX_REMEMBERED_TESTS:
        characters = sum(map(len, records)) + len(records)
        if characters * 4 <= MAX_REMEMBERED_ID_BYTES or (
            characters <= MAX_REMEMBERED_ID_BYTES and all(map(str.isascii, records))
        ):
            return records, 0  # a character takes at most 4 bytes, an ASCII one 1: no need to measure
        if sum(len(test_id.encode()) + 1 for test_id in records) <= MAX_REMEMBERED_ID_BYTES:
            return records, 0
    kept: dict[str, TestRecord] = {}
    used = 0
    for test_id in sorted(records, key=lambda test_id: (_keep_order(records[test_id]), test_id)):
        used += len(test_id.encode()) + 1
        if len(kept) == MAX_REMEMBERED_TESTS or used > MAX_REMEMBERED_ID_BYTES:
            break
        kept[test_id] = records[test_id]
    return kept, len(records) - len(kept)


def _keep_order(record: TestRecord) -> int:
    """Failing tests are kept first: they give fixed, still failing and the gate-integrity lists."""
    if record.outcome in _FAILING:
        return 0
    if record.flaky:
        return 1
    return 2 if record.outcome == "passed" else 3


def encode_memory(memory: TestMemory) -> bytes:
    """The memory as stored: a version tag, then zlib (fastest level: a fifth of the time of the default for
    a fifth more bytes) of a JSON header line and one id per line."""
    now_ids, now_codes, now_runs = _columns(memory.outcomes)
    before_ids, before_codes, before_runs = _columns(memory.before)
    header = {
        "s": memory.sha,
        "n": len(now_ids),
        "c": now_codes,
        "r": now_runs,
        "f": memory.forgotten,
        "bs": memory.before_sha,
        "bc": before_codes,
        "br": before_runs,
        "bf": memory.before_forgotten,
    }
    lines = [json.dumps(header, separators=(",", ":")), *now_ids, *before_ids]
    return _MAGIC + zlib.compress("\n".join(lines).encode(), 1)


def _columns(records: Mapping[str, TestRecord]) -> tuple[list[str], str, list[int]]:
    codes = "".join(
        _CODES[record.outcome].upper() if record.flaky else _CODES[record.outcome]
        for record in records.values()
    )
    runs = [record.runs for record in records.values() if record.outcome in _FAILING]
    return list(records), codes, runs


def decode_memory(data: bytes) -> TestMemory | None:
    """The memory ``encode_memory`` stored; None (and a log line) for anything else, never an exception.

    Inflates at most MAX_MEMORY_BYTES: a stored value that would inflate further is refused."""
    try:
        return _decode(data)
    except (ValueError, TypeError, KeyError, AttributeError, zlib.error, RecursionError) as error:
        log.warning("per-test memory unreadable (%s): comparing with nothing", error)
        return None


def _decode(data: bytes) -> TestMemory:
    if not data.startswith(_MAGIC) or len(data) > MAX_ENCODED_BYTES:
        raise ValueError("not a per-test memory of this version")
    inflater = zlib.decompressobj()
    body = inflater.decompress(data[len(_MAGIC) :], MAX_MEMORY_BYTES + 1)
    if len(body) > MAX_MEMORY_BYTES or inflater.unconsumed_tail:
        raise ValueError(f"inflates to more than {MAX_MEMORY_BYTES} bytes")
    if not inflater.eof:
        raise ValueError("truncated")
    header_line, separator, rest = body.partition(b"\n")
    header = json.loads(header_line)
    if not isinstance(header, dict):
        raise ValueError("no header")
    count = _count(header["n"])
    ids = rest.decode().split("\n") if separator else []
    if count > len(ids):
        raise ValueError("fewer ids than the header says")
    outcomes = _records(ids[:count], header["c"], header["r"])
    before = _records(ids[count:], header["bc"], header["br"])
    sha, before_sha = header["s"], header["bs"]
    if not isinstance(sha, str) or not (before_sha is None or isinstance(before_sha, str)):
        raise ValueError("sha not a string")
    return TestMemory(sha, outcomes, before_sha, before, _count(header["f"]), _count(header["bf"]))


def _count(value: object) -> int:
    if type(value) is not int or not 0 <= value <= 100 * MAX_REMEMBERED_TESTS:
        raise ValueError(f"bad count {value!r:.40}")
    return value


def _records(ids: list[str], codes: object, runs: object) -> dict[str, TestRecord]:
    if not isinstance(codes, str) or not isinstance(runs, list) or len(codes) != len(ids):
        raise ValueError("outcomes do not match the ids")
    if len(ids) > MAX_REMEMBERED_TESTS:
        raise ValueError("too many tests")
    failing_runs = iter(runs)
    records: dict[str, TestRecord] = {}
    for test_id, code in zip(ids, codes, strict=True):
        outcome = _OUTCOMES[code.lower()]
        if outcome in _FAILING:
            count = next(failing_runs, None)
            if type(count) is not int or not 1 <= count <= MAX_RUNS:
                raise ValueError(f"bad run count {count!r:.40}")
            records[test_id] = TestRecord(outcome, count, code.isupper())
        elif code == "p":
            records[test_id] = _PASSED
        elif code == "s":
            records[test_id] = _SKIPPED
        else:
            records[test_id] = TestRecord(outcome, 0, True)
    if next(failing_runs, None) is not None:
        raise ValueError("more run counts than failing tests")
    return records


@dataclass(frozen=True)
class Names:
    """The first names of a list, and how many there are in all."""

    shown: tuple[str, ...] = ()
    total: int = 0


@dataclass(frozen=True)
class RunNames:
    """The first still-failing tests, each with its consecutive failing runs, and how many there are."""

    shown: tuple[tuple[str, int], ...] = ()
    total: int = 0


# The lists a summary carries, in the order names are taken from them (and their short keys in as_data).
_LISTS: tuple[tuple[str, str], ...] = (
    ("newly_failing", "nf"),
    ("fixed", "fx"),
    ("still_failing", "sf"),
    ("removed_after_failing", "ra"),
    ("skipped_after_failing", "sa"),
    ("flaky", "fl"),
    ("failing", "fa"),
    ("added", "ad"),
    ("removed", "rm"),
    ("newly_skipped", "ns"),
)
_STILL_FAILING = 2


@dataclass(frozen=True)
class ChangesSummary:
    """The bounded view of TestChanges the status block and the signed state carry: exact totals, the
    first names of each list."""

    sha: str
    compared_with: str | None
    total: int
    failing: Names = Names()
    newly_failing: Names = Names()
    fixed: Names = Names()
    still_failing: RunNames = RunNames()
    flaky: Names = Names()
    added: Names = Names()
    removed: Names = Names()
    newly_skipped: Names = Names()
    skipped_after_failing: Names = Names()
    removed_after_failing: Names = Names()
    forgotten: int = 0

    def as_data(self) -> dict[str, Any]:
        """JSON-able and compact: empty lists are left out, each other one is ``[total, names]``."""
        data: dict[str, Any] = {"s": self.sha, "w": self.compared_with, "t": self.total}
        if self.forgotten:
            data["g"] = self.forgotten
        for name, key in _LISTS:
            names: Names | RunNames = getattr(self, name)
            if names.total:
                data[key] = [
                    names.total,
                    [list(item) if isinstance(item, tuple) else item for item in names.shown],
                ]
        return data

    @classmethod
    def from_data(cls, data: object) -> ChangesSummary | None:
        """What ``as_data`` gave; None for anything else (a state written by an older or broken bot)."""
        if not isinstance(data, dict):
            return None
        sha, compared_with, total, forgotten = data.get("s"), data.get("w"), data.get("t"), data.get("g", 0)
        if not isinstance(sha, str) or not (compared_with is None or isinstance(compared_with, str)):
            return None
        if not (_is_count(total) and _is_count(forgotten)):
            return None
        lists: dict[str, Names] = {}
        for name, key in _LISTS:
            if name != "still_failing":
                names = _names_from(data.get(key, [0, []]))
                if names is None:
                    return None
                lists[name] = names
        still_failing = _run_names_from(data.get("sf", [0, []]))
        if still_failing is None:
            return None
        return _assemble(sha, compared_with, total, forgotten, lists, still_failing)


def _assemble(
    sha: str,
    compared_with: str | None,
    total: int,
    forgotten: int,
    lists: Mapping[str, Names],
    runs: RunNames,
) -> ChangesSummary:
    return ChangesSummary(
        sha,
        compared_with,
        total,
        failing=lists["failing"],
        newly_failing=lists["newly_failing"],
        fixed=lists["fixed"],
        still_failing=runs,
        flaky=lists["flaky"],
        added=lists["added"],
        removed=lists["removed"],
        newly_skipped=lists["newly_skipped"],
        skipped_after_failing=lists["skipped_after_failing"],
        removed_after_failing=lists["removed_after_failing"],
        forgotten=forgotten,
    )


def _is_count(value: object) -> TypeGuard[int]:
    return type(value) is int and value >= 0


def _listed(value: object) -> tuple[int, list[Any]] | None:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not _is_count(value[0])
        or not isinstance(value[1], list)
    ):
        return None
    total, shown = value
    return None if len(shown) > total else (total, shown)


def _names_from(value: object) -> Names | None:
    listed = _listed(value)
    if listed is None or not all(isinstance(name, str) and len(name) <= MAX_NAME_CHARS for name in listed[1]):
        return None
    return Names(tuple(listed[1]), listed[0])


def _run_names_from(value: object) -> RunNames | None:
    listed = _listed(value)
    if listed is None:
        return None
    shown: list[tuple[str, int]] = []
    for item in listed[1]:
        if not (
            isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and _is_count(item[1])
        ):
            return None
        if len(item[0]) > MAX_NAME_CHARS:
            return None
        shown.append((item[0], item[1]))
    return RunNames(tuple(shown), listed[0])


def summarize(changes: TestChanges, *, char_budget: int = SUMMARY_CHARS) -> ChangesSummary:
    """Exact totals and the first names of each list, taken round-robin (one huge list cannot starve the
    others) while ``char_budget`` lasts, each name costing ``name_cost``. A list whose next name does not
    fit takes no more; the others go on."""
    sources: list[Sequence[str] | Sequence[tuple[str, int]]] = [getattr(changes, name) for name, _ in _LISTS]
    shown: list[list[Any]] = [[] for _ in sources]
    open_lists = [index for index, source in enumerate(sources) if source]
    used = 0
    while open_lists:
        still_open = []
        for index in open_lists:
            item = sources[index][len(shown[index])]
            name = shown_name(item[0] if isinstance(item, tuple) else item)
            cost = name_cost(name)
            if used + cost > char_budget:
                continue
            used += cost
            shown[index].append((name, item[1]) if isinstance(item, tuple) else name)
            if len(shown[index]) < len(sources[index]):
                still_open.append(index)
        open_lists = still_open
    lists = {
        name: Names(tuple(taken), len(source))
        for (name, _), source, taken in zip(_LISTS, sources, shown, strict=True)
        if name != "still_failing"
    }
    runs = RunNames(tuple(shown[_STILL_FAILING]), len(changes.still_failing))
    return _assemble(changes.sha, changes.compared_with, changes.total, changes.forgotten, lists, runs)


def name_cost(name: str) -> int:
    """What a shown name takes of a summary's budget: its length as JSON stores it (escapes included; never
    less than its characters), plus NAME_OVERHEAD."""
    return len(json.dumps(name)) - 2 + NAME_OVERHEAD


def shown_name(test_id: str) -> str:
    """A test id as a summary shows it: at most MAX_NAME_CHARS characters, the last "…" when cut."""
    return test_id if len(test_id) <= MAX_NAME_CHARS else test_id[: MAX_NAME_CHARS - 1] + "…"
