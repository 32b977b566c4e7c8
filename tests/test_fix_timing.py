"""A fix's time starts when the push that first touched its files reached the bot, not at the commit's
author date: a commit made hours before it was pushed is not hours into the work."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from bot.intake.server import WORKERS
from bot.testing.deliveries import pushed
from tests.harness import BRANCH, INSTALLATION_ID, REPO, BotHarness, sha_of, summary

CONFIG = """\
trackers:
  - issue: 2
    gate: ">90%"
    fixes:
      - name: JWT Token Fix
        files: [app/auth/jwt.py]
        estimate: 2h
    escalation:
      overdue: 1.5
"""


async def test_a_fix_starts_when_its_push_arrived_not_when_its_commit_was_made(bot: BotHarness) -> None:
    bot.fake.put_file(REPO, ".github/issue-status.yml", CONFIG)
    await bot.ci_completed("c0", {"tests": summary(84, 143)})  # fixes start from a block the bot wrote
    # The commit was made 4 hours before its push: past 1.5 times the 2-hour estimate, were that the start.
    made = datetime.now(UTC) - timedelta(hours=4)
    push = pushed(
        bot.repository,
        branch=BRANCH,
        before=bot.fake.head(REPO),
        after=sha_of("c1"),
        paths=["app/auth/jwt.py"],
        installation_id=INSTALLATION_ID,
    )
    push["head_commit"]["timestamp"] = push["commits"][0]["timestamp"] = made.isoformat()
    sent = time.time()
    assert await bot.send("push", push) == 202

    assert bot.last_delivery is not None
    entry = await bot.app[WORKERS].journal.get(bot.last_delivery[2])
    assert entry is not None and sent <= entry.received_at <= time.time()
    state = bot.state
    assert state is not None
    name, phase, started_at, started_by, *_ = state.rules["fixes"][0]
    assert (name, phase, started_by) == ("JWT Token Fix", "in progress", sha_of("c1"))
    assert datetime.fromisoformat(started_at) == datetime.fromtimestamp(int(entry.received_at), UTC)
    assert "### 1. JWT Token Fix - 2 hours 🔄" in bot.body
    assert not [comment for comment in bot.comments if "fix_overdue" in comment]
    assert bot.failed_deliveries == 0
