"""Issue editors cannot roll the bot's memory back: a pasted older state, a damaged or a deleted one never
wins over the last state the bot wrote, and a deployment that lost everything does not announce again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.intake.server import SETTINGS, create_app
from bot.results.counts import TestCounts
from bot.rules.events import make_event
from bot.rules.recovery import not_yet_said, said_in
from bot.testing.deliveries import issue_edited
from bot.tracking.body import BLOCK_BEGIN, BLOCK_END, replace_block
from bot.tracking.state import RunRecord, TrackerState
from tests.harness import INSTALLATION_ID, ISSUE, REPO, BotHarness, sha_of, summary
from tests.test_state import legacy_marker

GATE_TICKED = "- [x] >90% test pass rate achieved"
SCOPE = f"{REPO}#{ISSUE}"


def announcements(bot: BotHarness, kind: str) -> list[str]:
    return [c for c in bot.comments if f"/{kind} -->" in c or f"/{kind}/" in c]


async def human_edit(bot: BotHarness, body: str, user: str = "zoe", sender_type: str = "User") -> None:
    """``user`` saves ``body`` as the issue's body, in the browser, and GitHub delivers the edit."""
    before = bot.body
    issue = bot.fake.edit_issue_body(REPO, ISSUE, body, user=user)
    payload = issue_edited(
        bot.repository,
        issue,
        previous_body=before,
        sender=user,
        sender_type=sender_type,
        installation_id=INSTALLATION_ID,
    )
    assert await bot.send("issues", payload) == 202


def block_of(body: str) -> str:
    return body[body.index(BLOCK_BEGIN) : body.index(BLOCK_END) + len(BLOCK_END)]


async def test_an_older_signed_state_pasted_back_neither_rolls_back_history_nor_announces_again(
    bot: BotHarness,
) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    older_block = block_of(bot.body)
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    assert len(announcements(bot, "review_ready")) == 1 and GATE_TICKED in bot.body

    await human_edit(bot, bot.body.replace(block_of(bot.body), older_block))
    await bot.ci_completed("c3", {"tests": summary(12, 215)})

    state = bot.state
    assert state is not None
    assert [run.sha for run in state.runs] == [sha_of("c1"), sha_of("c2"), sha_of("c3")]
    assert len(announcements(bot, "review_ready")) == 1
    assert announcements(bot, "gate_met") == []
    assert GATE_TICKED in bot.body


async def test_the_pasted_state_is_replaced_at_once_by_the_last_one_written(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    older_block = block_of(bot.body)
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    newer = bot.state
    assert newer is not None

    await human_edit(bot, bot.body.replace(block_of(bot.body), older_block))

    restored = bot.state
    assert restored is not None and restored.runs == newer.runs
    assert "**Pass rate: 94.3%**" in bot.body


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda block: block.replace(block.split("state v2 ")[1][:40], "", 1), id="truncated"),
        pytest.param(lambda block: "", id="deleted"),
        pytest.param(lambda block: block.replace(":state v2 ", ":state v9 "), id="unknown version"),
    ],
)
async def test_a_damaged_state_keeps_the_baseline_and_the_history(bot: BotHarness, damage: Any) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(40, 187)})
    body = bot.body
    await human_edit(bot, body.replace(block_of(body), damage(block_of(body))))
    await bot.ci_completed("c3", {"tests": summary(30, 197)})

    state = bot.state
    assert state is not None
    assert [run.sha for run in state.runs] == [sha_of("c1"), sha_of("c2"), sha_of("c3")]
    assert state.baseline_rate == pytest.approx(143 / 227)
    assert "baseline 63.0%" in bot.body


@pytest.fixture
async def new_deployment(bot: BotHarness, aiohttp_server: Any, tmp_path: Path) -> AsyncIterator[BotHarness]:
    """The same App started on an empty disk: a new journal, so a new state key and no record."""
    settings = replace(bot.app[SETTINGS], state_dir=tmp_path / "another disk")
    app = create_app(settings)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        yield replace(bot, app=app, url=str(server.make_url("/webhook")), session=session)


async def test_a_deployment_that_lost_every_state_does_not_announce_the_gate_again(
    bot: BotHarness, new_deployment: BotHarness
) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    assert len(announcements(bot, "review_ready")) == 1

    await new_deployment.ci_completed("c3", {"tests": summary(12, 215)})

    assert new_deployment.state is not None  # the issue now carries the new deployment's state
    assert len(announcements(new_deployment, "review_ready")) == 1
    assert announcements(new_deployment, "gate_met") == []
    assert GATE_TICKED in new_deployment.body


async def test_a_deployment_that_lost_every_state_still_announces_what_is_new(
    bot: BotHarness, new_deployment: BotHarness
) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    await bot.ci_completed("c3", {"tests": summary(60, 167)})
    assert len(announcements(bot, "gate_lost")) == 1

    await new_deployment.ci_completed("c4", {"tests": summary(12, 215)})

    assert len(announcements(new_deployment, "review_ready")) == 2  # up, down, up again: a new hand-over


def said(*keys: str) -> list[Any]:
    return said_in([f"<!-- issue-status-bot:event {key} -->" for key in keys], ISSUE)


@pytest.mark.parametrize(
    ("history", "kind", "repeats"),
    [
        ((), "gate_met", False),
        ((f"{ISSUE}/a/gate_met",), "gate_met", True),
        ((f"{ISSUE}/a/gate_met", f"{ISSUE}/b/gate_lost"), "gate_met", False),
        ((f"{ISSUE}/a/review_ready",), "gate_met", True),
        ((f"{ISSUE}/a/review_ready/0123456789abcdef",), "gate_met", False),  # a hand-over asked for early
        ((), "gate_lost", True),
        ((f"{ISSUE}/a/gate_met",), "gate_lost", False),
        ((f"{ISSUE}/a/review_ready",), "review_ready", True),
        ((f"{ISSUE}/a/review_ready", f"{ISSUE}/b/tests_broken/0123456789abcdef"), "review_ready", False),
        ((f"{ISSUE + 1}/a/gate_met",), "gate_met", False),  # another tracker's announcement
        ((f"{ISSUE}/a/below_baseline",), "below_baseline", False),  # escalations are never filtered
    ],
)
def test_a_milestone_is_dropped_only_when_it_repeats_where_the_comments_stand(
    history: tuple[str, ...], kind: Any, repeats: bool
) -> None:
    event = make_event(ISSUE, "c" * 40, kind)
    kept = not_yet_said([event], said(*history), review_waits_for_gate=True)
    assert kept == ([] if repeats else [event])


def test_a_fix_is_announced_done_once_whatever_commit_finishes_it_again() -> None:
    first = make_event(ISSUE, "a" * 40, "fix_done", "JWT Token Fix")
    again = make_event(ISSUE, "b" * 40, "fix_done", "JWT Token Fix")
    other = make_event(ISSUE, "b" * 40, "fix_done", "Database Configuration")
    assert not_yet_said([again, other], said(first.key), review_waits_for_gate=True) == [other]


def test_markers_are_read_only_from_the_text_given() -> None:
    body = replace_block("text", f"<!-- issue-status-bot:event {ISSUE}/a/gate_met -->")
    assert [s.kind for s in said_in([body], ISSUE)] == ["gate_met"]


@pytest.fixture
async def upgraded_and_rotated(
    bot: BotHarness, aiohttp_server: Any, tmp_path: Path
) -> AsyncIterator[BotHarness]:
    """The App after an upgrade and a webhook secret rotation: the old secret is now the previous one."""
    new_secret = b"the rotated webhook secret"
    settings = replace(
        bot.app[SETTINGS],
        webhook_secret=new_secret,
        previous_webhook_secret=bot.secret,
        state_dir=tmp_path / "upgraded",
    )
    app = create_app(settings)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        yield replace(bot, app=app, url=str(server.make_url("/webhook")), session=session, secret=new_secret)


async def test_an_upgrade_keeps_the_history_signed_with_the_webhook_secret_even_mid_rotation(
    bot: BotHarness, upgraded_and_rotated: BotHarness
) -> None:
    """States written before the state key existed were signed with a key derived from the webhook secret."""
    baseline = RunRecord(sha_of("c0"), TestCounts(passed=143, failed=84, skipped=7), "2026-11-01T10:00:00Z")
    old = TrackerState(runs=(baseline,), baseline_rate=143 / 227)
    bot.fake.edit_issue_body(REPO, ISSUE, replace_block(bot.body, legacy_marker(old, bot.secret, SCOPE)))

    await upgraded_and_rotated.ci_completed("c1", {"tests": summary(40, 187)})

    state = upgraded_and_rotated.state
    assert state is not None and [run.sha for run in state.runs] == [sha_of("c0"), sha_of("c1")]
    assert ":state v2 " in upgraded_and_rotated.body  # written again with the deployment's own key
