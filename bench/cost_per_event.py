"""CPU time per processed ``check_run.completed``, end to end, by history length and issue body size.

    .venv/bin/python bench/cost_per_event.py [--events 10] [--unseen | --as-written] [--override]

The bot's real server and the fake GitHub run in this process (no coalescing, no write pacing). Each cell
seeds the tracking issue (the bot's block holding a state of the given number of recorded runs, then human
text: the canonical issue and notes, a paragraph each), lets the bot write its block, and adds or takes off
notes at the end until the body is of the given size (a body of 1 KiB cannot be: the canonical issue alone
is 5 KiB). Then, per event, a human edits one line of the human text (a different line each time) of the
body as the bot last wrote it, one commit's check run completes and the delivery goes the whole way:
signature, journal, worker, configuration, results, state, render, write. The gate is met from the start,
as in a tracker's steady state: no milestone is announced (it would be, with a comment, on every event
otherwise). Two commits take turns, each event with other counts, so that the history keeps its length (the
seeded runs and two) and the body its size through a cell; the bot checks each commit's branch once (as
when its push came first).
``time.process_time`` brackets the delivery until the workers are idle. The fake's share (its request
handler, OpenAPI validation included) is measured the same way inside the fake and subtracted; what
remains is the bot's, plus the HTTP client and server overhead on both sides of loopback. With
``--fake-thread`` the fake runs on an event loop of its own thread, and all that thread's CPU (its HTTP
server too) is subtracted: what remains is the bot's alone.

The bot keeps at most MAX_HISTORY (100) runs: a state holding more is thinned to 100 on its next write,
so a 1,000-run cell measures 100 runs, but with ``--unseen`` the one-off cost of meeting such a state (e.g.
from a build with a larger cap).

``--as-written``: no human edit between events: each event finds the issue as the bot last wrote it.

``--unseen``: before each event the issue is reset to a body the bot has never read (the seeded state at
the given number of runs, a last line naming the event): what the first event after a restart costs.

``--junit N``: each commit's results come from a JUnit artifact of N tests (one in 20 failing) instead of
the check run's output: the per-test outcomes are read, kept for the rules and the cache.

``--override`` gives the repository a template override (the built-in block's own source), which renders
in the template sandbox's child process; that process's CPU time is counted in "all" and "bot".
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import os
import statistics
import tempfile
import threading
import time
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web
from harness import APP_ID, SECRET, machine

from bot.intake.server import WORKERS, create_app
from bot.results.counts import TestCounts
from bot.settings import Settings
from bot.testing.deliveries import check_run_completed, deliver
from bot.testing.examples import EXAMPLES
from bot.testing.fake_github import FakeGitHub
from bot.testing.loopback import new_app_key, serving
from bot.tracking.body import BLOCK_BEGIN, BLOCK_END, replace_block, split_body
from bot.tracking.render import templates_dir
from bot.tracking.state import MAX_HISTORY, RunRecord, StateCodec, TrackerState

T = TypeVar("T")
REPO = "cost/tracked"
INSTALLATION_ID = 5
STATE_KEY = b"cost-per-event state key, 32 chars or more"
CONFIG = "trackers:\n  - issue: 1\n    gate: '>90%'\n"
OVERRIDE_FOLDER = ".github/issue-status"
HISTORY_LENGTHS = (10, 100, 1000)
BODY_KIB = (1, 10, 30, 60)
FILLER = "Notes from the triage meeting: flaky tests are tracked in the linked issues below.\n\n"
GATE_LINE = ">90% test pass rate achieved"
# Room left for the block the bot renders when seeding a cell (100 runs: 16 KiB; 5,000 JUnit tests: 10 KiB).
BLOCK_ALLOWANCE_KIB = 24


class FakeShare:
    """CPU time spent inside the fake's request handler."""

    def __init__(self, fake: FakeGitHub) -> None:
        self.seconds = 0.0
        handler: Callable[[web.Request, str], Awaitable[web.StreamResponse]] = fake._serve_api

        async def timed(request: web.Request, prefix: str = "") -> web.StreamResponse:
            started = time.process_time()
            try:
                return await handler(request, prefix)
            finally:
                self.seconds += time.process_time() - started

        fake._serve_api = timed  # type: ignore[method-assign]


class FakeThread:
    """The fake on an event loop of its own thread: all the CPU it spends, its HTTP server included, is
    that thread's CPU clock, told apart from the bot's exactly (``--fake-thread``)."""

    def __init__(self, fake: FakeGitHub) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-github", daemon=True)
        self._thread.start()
        assert self._thread.ident is not None
        self._clock = time.pthread_getcpuclockid(self._thread.ident)
        self.fake = fake

    @property
    def seconds(self) -> float:
        return time.clock_gettime(self._clock)

    async def run(self, work: Awaitable[T]) -> T:
        """``work`` done on the fake's loop."""

        async def done() -> T:
            return await work

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(done(), self._loop))

    async def close(self) -> None:
        await self.run(self.fake.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def history(length: int, rules: dict[str, Any]) -> TrackerState:
    """``length`` past runs, the gate met and ``rules`` (the rules' memory: what they said already)."""
    runs = tuple(
        RunRecord(
            sha=hashlib.sha1(f"past {index}".encode()).hexdigest(),
            counts=TestCounts(passed=900 + index % 50, failed=67 - index % 50),  # 967 tests, as each event
            completed_at=f"2025-{1 + index // 28 % 12:02d}-{1 + index % 28:02d}T10:00:00Z",
        )
        for index in range(length)
    )
    return TrackerState(runs=runs, baseline_rate=0.9, gate_met=True, rules=rules)


def issue_body(human_bytes: int, state: TrackerState, codec: StateCodec) -> str:
    canonical = (EXAMPLES / "issue-2-status-update.md").read_text(encoding="utf-8")
    human = replace_block(canonical.replace(f"- [ ] {GATE_LINE}", f"- [x] {GATE_LINE}"), "")
    human = human + FILLER * max(0, (human_bytes - len(human)) // len(FILLER))
    # The state written into the (empty) block by hand, as replace_block would: built by the bot's own
    # code in this process, the body's reading would be cached, unlike a body a human edited.
    empty = f"{BLOCK_BEGIN}\n{BLOCK_END}\n"
    return human.replace(empty, f"{BLOCK_BEGIN}\n{codec.encode(state, f'{REPO}#1')}\n{BLOCK_END}\n", 1)


def edited(body: str, event: int) -> str:
    """``body`` as a human leaves it after an edit of one line below the bot's block (chosen by ``event``)."""
    below = body.index(BLOCK_END) + len(BLOCK_END)  # found as text: the bot's reading stays unused
    lines = body[below:].split("\n")
    wordy = [index for index, line in enumerate(lines) if any(c.isascii() and c.isalpha() for c in line)]
    chosen = wordy[event * 7919 % len(wordy)]
    line = lines[chosen]
    first = next(i for i, c in enumerate(line) if c.isascii() and c.isalpha())
    # A letter's case changed: the body keeps its length (it stays under GitHub's limit) and its structure.
    lines[chosen] = line[:first] + line[first].swapcase() + line[first + 1 :]
    return body[:below] + "\n".join(lines)


def resized(body: str, size: int) -> str:
    """``body`` with notes added at its end, or taken off it (those there are), to make it ``size`` long."""
    notes = (size - len(body)) // len(FILLER)
    if notes >= 0:
        return body + FILLER * notes
    notes = min(-notes, body.count(FILLER))
    return body[: len(body) - notes * len(FILLER)] if body.endswith(FILLER * notes) else body


def junit_zip(tests: int, failing_every: int) -> bytes:
    """A JUnit report of ``tests`` test cases in pytest's layout, one in ``failing_every`` failing, zipped
    as uploaded."""
    cases = "".join(
        f'<testcase classname="tests.test_mod{i // 100}" name="test_case_{i}" time="0.001">'
        + ("<failure message='boom'/>" if i % failing_every == 0 else "")
        + "</testcase>"
        for i in range(tests)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("junit.xml", f'<?xml version="1.0"?><testsuite name="pytest">{cases}</testsuite>')
    return buffer.getvalue()


def sandbox_pids() -> list[int]:
    """This process's template sandbox children (the bot under test runs in this process)."""
    tasks = Path("/proc/self/task").glob("*/children")
    pids = [int(pid) for children in tasks for pid in children.read_text().split()]
    return [pid for pid in pids if b"sandbox_child" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def sandbox_cpu_seconds() -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    stats = [Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split() for pid in sandbox_pids()]
    return sum(int(fields[11]) + int(fields[12]) for fields in stats) / ticks


def sandbox_rss() -> list[tuple[int, str]]:
    statuses = {pid: Path(f"/proc/{pid}/status").read_text() for pid in sandbox_pids()}
    return [
        (pid, " ".join(line.split()[1:]))
        for pid, status in statuses.items()
        for line in status.splitlines()
        if line.startswith("VmRSS")
    ]


async def main(
    events: int,
    override: bool,
    lengths: list[int],
    sizes: list[int],
    human_edits: str,
    junit_tests: int,
    fake_thread: bool,
) -> None:
    """``human_edits``: "edited" (a line of the last write), "none" (as written) or "unseen" (a new body)."""
    key = new_app_key()
    fake = FakeGitHub()
    share: FakeShare | FakeThread
    if fake_thread:
        share = FakeThread(fake)
        await share.run(fake.start())
    else:
        share = FakeShare(fake)  # before start(): the fake's routes bind its handler then
        await fake.start()
    fake.register_app(APP_ID, key.public_pem)
    repository = fake.add_repository(REPO)
    fake.add_installation(INSTALLATION_ID, [REPO])
    if override:
        fake.put_file(REPO, ".github/issue-status.yml", f"templates: {OVERRIDE_FOLDER}\n{CONFIG}")
        block = (templates_dir() / "status_block.md.j2").read_text(encoding="utf-8")
        fake.put_file(REPO, f"{OVERRIDE_FOLDER}/status_block.md.j2", block)
    elif junit_tests:
        fake.put_file(REPO, ".github/issue-status.yml", f"{CONFIG}    results: {{sources: [junit]}}\n")
    else:
        fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    junit_archives = [junit_zip(junit_tests, failing_every) for failing_every in (20, 19, 18)]
    fake.add_issue(REPO, "Reach >90% test pass rate", "", number=1)
    settings = Settings(
        app_id=APP_ID,
        private_key_pem=key.private_pem,
        webhook_secret=SECRET.encode(),
        api_url=fake.url,
        github_write_interval=0,
        coalesce_seconds=0,
        reconcile_seconds=0,
        state_key=STATE_KEY,
        state_dir=Path(tempfile.mkdtemp(prefix="cost-per-event-")),  # no state left by an earlier run
    )
    codec = StateCodec(STATE_KEY)
    app = create_app(settings)
    print(machine())
    print(f"median of {events} events per cell, human edits: {human_edits}")
    print(
        "CPU ms per event: all / the fake's share"
        f" ({'its thread, HTTP server included' if fake_thread else 'its request handler'}) / the bot's"
        " (all - fake)"
    )
    print(
        f"{'runs':>6} {'body KiB':>9} {'read KiB':>9} {'written KiB':>12} {'all':>7} {'fake':>7} {'bot':>7}"
    )
    sequence = 0
    cell = 0
    said: dict[str, Any] = {}  # the rules' memory after the warm-up (the gate met said): seeded from then on

    def seeded(kib: int, length: int) -> Callable[[int], str]:
        """The issue body of ``kib`` KiB whose signed state has ``length`` runs, as of write ``generation``
        (above the bot's last, so that the bot believes it rather than the state it wrote itself)."""
        state = history(length, said)
        human_bytes = kib * 1024 - len(codec.encode(state, "x"))
        return lambda generation: issue_body(human_bytes, replace(state, generation=generation), codec)

    async def one_event(url: str, body_of: Callable[[int], str] | None) -> tuple[float, float, int, int]:
        """``body_of`` None: the issue is the bot's last write, edited by a human unless ``human_edits`` is
        "none"; else the body ``body_of`` makes, never read before."""
        nonlocal sequence, cell
        sequence += 1
        if body_of is not None:
            body = body_of(10 * sequence) + f"\nEdited before event {sequence}.\n"
            fake.edit_issue_body(REPO, 1, body)
        elif human_edits == "edited":
            body = edited(str(fake.issue(REPO, 1)["body"]), sequence)
            fake.edit_issue_body(REPO, 1, body)
        else:
            body = str(fake.issue(REPO, 1)["body"])
        # Two commits take turns (a commit recorded again replaces its run), so that the history keeps its
        # length through the cell; each event's results differ from the last ones of its commit.
        sha = hashlib.sha1(f"cell {cell} commit {sequence % 2}".encode()).hexdigest()
        if junit_tests:  # the counts and every test's outcome from a JUnit artifact of the workflow run
            workflow = fake.add_workflow_run(REPO, sha, head_branch="main")
            run = fake.add_check_run(
                REPO, sha, "tests", head_branch="main", check_suite_id=workflow["check_suite_id"]
            )
            fake.add_artifact(REPO, workflow["id"], "test-results", junit_archives[sequence % 3])
        else:
            k = sequence % 5
            run = fake.add_check_run(
                REPO,
                sha,
                "tests",
                output={"title": "pytest", "summary": f"== {3 + k} failed, {964 - k} passed =="},
                head_branch="main",
            )
        payload: dict[str, Any] = check_run_completed(
            repository, run, installation_id=INSTALLATION_ID, head_branch="main"
        )
        fake_before = share.seconds
        started = time.process_time() + sandbox_cpu_seconds()
        assert await deliver(session, url, SECRET.encode(), "check_run", payload) == 202
        await app[WORKERS].drain()
        spent = time.process_time() + sandbox_cpu_seconds() - started
        written = str(fake.issue(REPO, 1)["body"])
        assert sha in written, "the event did not reach the issue"
        return spent, share.seconds - fake_before, len(written), len(body)

    async with serving(app) as url, aiohttp.ClientSession() as session:
        await one_event(url, seeded(1, 10))  # warm-up: token, configuration
        warm = codec.decode(split_body(str(fake.issue(REPO, 1)["body"])).block, f"{REPO}#1")
        said.update(warm.rules if warm is not None else {})
        for length in lengths:
            for kib in sizes:
                cell += 1
                unseen = human_edits == "unseen"
                if not unseen:  # seeded, sized with the bot's block, then each event finds its last write
                    await one_event(url, seeded(max(1, kib - BLOCK_ALLOWANCE_KIB), length))
                    fake.edit_issue_body(REPO, 1, resized(str(fake.issue(REPO, 1)["body"]), kib * 1024))
                    await one_event(url, None)
                samples = [
                    await one_event(url, seeded(kib, length) if unseen else None) for _ in range(events)
                ]
                total = statistics.median(s[0] for s in samples) * 1000
                fake_ms = statistics.median(s[1] for s in samples) * 1000
                written = statistics.median(s[2] for s in samples) / 1024
                read = statistics.median(s[3] for s in samples) / 1024
                print(
                    f"{length:>6} {kib:>9} {read:>9.1f} {written:>12.1f}"
                    f" {total:>7.1f} {fake_ms:>7.1f} {total - fake_ms:>7.1f}"
                )
    after = codec.decode(split_body(str(fake.issue(REPO, 1)["body"])).block, f"{REPO}#1")
    assert after is not None
    print(
        f"runs kept after an event on a {lengths[-1]}-run state: {len(after.runs)}"
        f" (MAX_HISTORY {MAX_HISTORY})"
    )
    for pid, rss in sandbox_rss():
        print(f"template sandbox process {pid}: {rss} RSS")
    await (share.close() if isinstance(share, FakeThread) else fake.close())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--override", action="store_true", help="render the block from a repository override")
    parser.add_argument("--runs", type=int, nargs="+", default=HISTORY_LENGTHS, help="runs in the state")
    parser.add_argument("--kib", type=int, nargs="+", default=BODY_KIB, help="issue body sizes")
    edits = parser.add_mutually_exclusive_group()
    edits.add_argument(
        "--as-written",
        action="store_const",
        const="none",
        dest="human_edits",
        help="no human edit between events: the issue is the bot's last write",
    )
    edits.add_argument(
        "--unseen",
        action="store_const",
        const="unseen",
        dest="human_edits",
        help="each event finds a body the bot has never read (seeded at the given number of runs)",
    )
    parser.add_argument(
        "--junit", type=int, default=0, help="results from a JUnit artifact of this many tests"
    )
    parser.add_argument(
        "--fake-thread",
        action="store_true",
        help="the fake on its own thread: subtract all its CPU, its HTTP server included",
    )
    args = parser.parse_args()
    human_edits = args.human_edits or "edited"
    asyncio.run(
        main(args.events, args.override, args.runs, args.kib, human_edits, args.junit, args.fake_thread)
    )
