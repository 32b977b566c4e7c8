"""A repository may restyle the block and the comments with its own templates, in a sandbox that cannot
escape, grow without bound, stall the server or break the issue; a broken override falls back to the
built-in one."""

from __future__ import annotations

import asyncio
import os
import resource
import signal
from pathlib import Path

import pytest

from bot.testing.deliveries import deliver, example
from bot.tracking.body import BLOCK_BEGIN, BLOCK_END
from tests.harness import ISSUE, REPO, BotHarness, summary
from tests.test_commands import comment

CONFIG = "templates: .github/issue-status\ntrackers:\n  - issue: 2\n    review:\n      reviewers: [octocat]\n"
OWN_BLOCK = "## Our build health: {{ report.rate | percent }}\n{{ state_marker }}\n"


# Sized so that today's in-process rendering would finish (in 10 to 15 s a rendering, on this machine)
# and a test run against it fails rather than hangs; the sandbox stops each at its CPU budget.
NESTED_LOOPS = "{% for a in range(100000) %}{% for b in range(3000) %}{% endfor %}{% endfor %}"
SQUARING = (
    "{% set n = namespace(x=3) %}{% for i in range(25) %}{% set n.x = n.x * n.x %}{% endfor %}{{ n.x % 10 }}"
)


def block_of(body: str) -> str:
    return body[body.index(BLOCK_BEGIN) : body.index(BLOCK_END)]


def peak_memory_mib() -> float:
    """The test process's peak RSS: the bot under test runs in it, the template sandbox does not."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sandbox_pids() -> list[int]:
    """The template sandbox's child processes of this process (the bot under test)."""
    tasks = Path("/proc/self/task").glob("*/children")
    pids = [int(pid) for children in tasks for pid in children.read_text().split()]
    return [pid for pid in pids if b"sandbox_child" in Path(f"/proc/{pid}/cmdline").read_bytes()]


def environment_of(pid: int) -> bytes:
    return Path(f"/proc/{pid}/environ").read_bytes()


async def test_an_override_replaces_the_built_in_block(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.put_file(REPO, ".github/issue-status/status_block.md.j2", OWN_BLOCK)
    bot.fake.put_file(REPO, ".github/issue-status/notes.md", "not a template")
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    assert "## Our build health: 94.3%" in block_of(bot.body)
    assert "Quality gate met" in bot.comments[-1]  # comments keep their built-in templates


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "SecurityError"),
        ("{{ 'x' * 10000000 }}", "repetition too large"),
        ("{% set x = [] %}{{ x.append(1) }}", "SecurityError"),
        ("{% for i in range(100000) %}{{ i }} {% endfor %}", "more than 30,000 characters"),
        ("{{ report.rate | percent", "TemplateSyntaxError"),
        ("{{ no_such_thing.at_all }}", "UndefinedError"),
        ("x" * 20_000, "larger than 16 KiB"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "RecursionError"),
        ("{{ 'x'.encode('bogus') }}", "LookupError: unknown encoding: bogus"),
        (NESTED_LOOPS, "it used more than 0.5 s of CPU time"),
        (SQUARING, "it used more than 0.5 s of CPU time"),
        ("{{ '%0200000000d' % 1 }}", "it needed more than 128 MiB of memory"),
        ("{% for i in range(100000) %}{{ 'x' * 10000 }}{% endfor %}", "more than 30,000 characters"),
        ("{{ '%c' % 55296 }}", "surrogates not allowed"),
    ],
    ids=[
        "attribute escape",
        "huge repetition",
        "mutation",
        "huge loop",
        "syntax error",
        "undefined",
        "too large",
        "infinite macro recursion",
        "unknown encoding",
        "nested loops",
        "big-integer squaring",
        "200 MB format",
        "a gigabyte of output",
        "a lone surrogate",
    ],
)
async def test_a_broken_or_hostile_override_falls_back_and_is_reported_once(
    bot: BotHarness, source: str, problem: str
) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.put_file(REPO, ".github/issue-status/status_block.md.j2", source)
    peak_before = peak_memory_mib()
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(80, 147)})
    assert "**Pass rate: 64.8%**" in block_of(bot.body)  # the built-in block
    reports = [c for c in bot.comments if "could not use the template `status_block.md.j2`" in c]
    assert len(reports) == 1 and problem in reports[0]
    assert bot.failed_deliveries == 0
    assert peak_memory_mib() - peak_before < 64  # whatever the template allocated, it was not here


async def test_the_server_answers_a_ping_while_a_hostile_template_renders(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.put_file(REPO, ".github/issue-status/status_block.md.j2", NESTED_LOOPS)
    update = asyncio.create_task(bot.ci_completed("c1", {"tests": summary(84, 143)}))
    issue = f"/repos/{REPO}/issues/{ISSUE}"
    async with asyncio.timeout(30):
        while not bot.fake.calls("GET", issue):  # noqa: ASYNC110 (the fake's log; read before rendering)
            await asyncio.sleep(0.01)
    # The rendering takes at least its CPU budget (0.5 s); in-process, it would hold the event loop,
    # and this test would only get here once the bot had written the issue, milliseconds later.
    await asyncio.sleep(0.1)
    answer = await deliver(bot.session, bot.url, bot.secret, "ping", example("ping"))
    written_before_the_pong = [c for c in bot.fake.calls("PATCH", issue) if c.path == issue]
    await update
    assert answer == 200
    assert written_before_the_pong == []
    assert "**Pass rate: 63.0%**" in block_of(bot.body)  # the built-in block
    assert sum("could not use the template" in c for c in bot.comments) == 1
    assert bot.failed_deliveries == 0


async def test_an_override_that_hit_a_limit_is_tried_again_once_its_file_changes(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.put_file(REPO, ".github/issue-status/status_block.md.j2", NESTED_LOOPS)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    assert "**Pass rate: 63.0%**" in block_of(bot.body)
    bot.fake.put_file(REPO, ".github/issue-status/status_block.md.j2", OWN_BLOCK)
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    assert "## Our build health: 94.3%" in block_of(bot.body)  # rendered by a fresh child process
    assert sum("could not use the template" in c for c in bot.comments) == 1


async def test_a_hostile_comment_template_falls_back_to_the_built_in_reply(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.put_file(
        REPO, ".github/issue-status/command_reply.md.j2", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"
    )
    await comment(bot, "/status refresh", "passerby")
    assert bot.comments[-1].startswith("Thanks for the suggestion, @passerby!")
    assert bot.failed_deliveries == 0


async def test_templates_render_in_a_process_without_the_servers_environment(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.put_file(REPO, ".github/issue-status/status_block.md.j2", OWN_BLOCK)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    assert "## Our build health" in block_of(bot.body)
    children = sandbox_pids()
    assert len(children) == 1 and environment_of(children[0]) == b""


async def test_a_renderer_that_stops_answering_is_killed_and_replaced(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.put_file(REPO, ".github/issue-status/status_block.md.j2", OWN_BLOCK)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    [stuck] = sandbox_pids()
    os.kill(stuck, signal.SIGSTOP)  # as a process starved of CPU would: no answer, no CPU time used
    await bot.ci_completed("c2", {"tests": summary(80, 147)})
    assert "**Pass rate: 64.8%**" in block_of(bot.body)  # the built-in block
    [report] = [c for c in bot.comments if "could not use the template" in c]
    assert "it took longer than 5 s to render" in report
    assert stuck not in sandbox_pids()
    bot.fake.put_file(REPO, ".github/issue-status/status_block.md.j2", OWN_BLOCK + "\nv2\n")
    await bot.ci_completed("c3", {"tests": summary(13, 214)})
    assert "## Our build health: 94.3%" in block_of(bot.body)


async def test_without_the_templates_key_no_folder_is_looked_up(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status/status_block.md.j2", OWN_BLOCK)
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    assert "Our build health" not in bot.body
    assert bot.fake.calls("GET", f"/repos/{REPO}/contents/.github/issue-status/") == []
    assert [c.path for c in bot.fake.calls("GET", f"/repos/{REPO}/contents")] == [
        f"/repos/{REPO}/contents/.github/issue-status.yml"
    ]


async def test_comment_templates_can_be_overridden_too(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    bot.fake.put_file(
        REPO, ".github/issue-status/command_reply.md.j2", "Sorry {{ user }}, maintainers only.\n{{ marker }}"
    )
    await comment(bot, "/status refresh", "passerby")
    assert bot.comments[-1].startswith("Sorry passerby, maintainers only.")
