"""The bot's hidden markers count only in the App's own comments; who the App is comes from ``GET /app``.

A marker is invisible once rendered, so anyone could post one to make the bot believe it already
announced, declined or reported something.
"""

from __future__ import annotations

import pytest

from bot.rules.events import event_key
from tests.harness import ISSUE, REPO, BotHarness, sha_of, summary
from tests.test_commands import command


@pytest.mark.parametrize("author", ["mallory", "github-actions[bot]"])
async def test_a_forged_event_marker_does_not_cancel_the_hand_over(bot: BotHarness, author: str) -> None:
    key = event_key(ISSUE, sha_of("c1"), "review_ready")
    bot.fake.add_comment(REPO, ISSUE, f"Nice work!\n\n<!-- issue-status-bot:event {key} -->", user=author)
    await bot.ci_completed("c1", {"tests": summary(13, 214)})
    handover = [
        c["body"]
        for c in bot.fake.comments(REPO, ISSUE)
        if c["user"]["login"] == "issue-status-bot[bot]" and "issue-status-bot:sources" not in c["body"]
    ]
    assert len(handover) == 1 and "Quality gate met" in handover[0] and "@octocat" in handover[0]
    assert [a["login"] for a in bot.fake.issue(REPO, ISSUE)["assignees"]] == ["octocat"]
    await bot.redeliver()  # the App's own marker still prevents a repeat
    assert len([c for c in bot.comments if "review_ready" in c]) == 2  # the forged one and the real one


async def test_a_forged_decline_marker_does_not_silence_the_reply(bot: BotHarness) -> None:
    bot.fake.add_comment(REPO, ISSUE, "<!-- issue-status-bot:declined passerby -->", user="passerby")
    await command(bot, "/status review", "passerby")
    await command(bot, "/status baseline 10%", "passerby")  # the App's own reply is found: no second
    replies = [c for c in bot.comments if "only people with write access" in c]
    assert len(replies) == 1 and "@passerby" in replies[0]


async def test_the_app_learns_its_login_once_from_get_app_with_its_jwt(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await command(bot, "/status review", "passerby")
    await bot.ci_completed("c2", {"tests": summary(13, 214)})
    asked = [call for call in bot.fake.calls("GET") if call.path == "/app"]
    assert len(asked) == 1 and asked[0].headers["Authorization"].lower().startswith("bearer")
    assert bot.fake.rejections == []
