"""Only people with write access steer the bot: the review checkbox and manual lines, like ``/status``.

Anyone who can edit the tracking issue (its author with read access, another App) may change its text,
but a tick of theirs on a line bound to a rule is put back and their "Request review now" does nothing.
A review asked for before the gate is met says so.
"""

from __future__ import annotations

import pytest

from bot.testing.deliveries import issue_edited
from tests.harness import INSTALLATION_ID, ISSUE, REPO, BotHarness, summary
from tests.test_commands import command
from tests.test_state_replay import human_edit

READINESS = "Production deployment readiness verified"
MANUAL_CONFIG = f"""\
trackers:
  - issue: 2
    gate: ">90%"
    review:
      reviewers: [octocat]
      when: [gate, {{manual: "{READINESS}"}}]
"""
REQUEST = "Request review now"


async def edit(bot: BotHarness, old: str, new: str, sender: str, sender_type: str = "User") -> None:
    """``sender`` changes ``old`` into ``new`` in the issue's body, in the browser."""
    assert old in bot.body
    await human_edit(bot, bot.body.replace(old, new), sender, sender_type)


def handovers(bot: BotHarness) -> list[str]:
    return [c for c in bot.comments if "/review_ready" in c]


def assignees(bot: BotHarness) -> list[str]:
    return [a["login"] for a in bot.fake.issue(REPO, ISSUE)["assignees"]]


@pytest.fixture
async def manual(bot: BotHarness) -> BotHarness:
    """The hand-over waits for the gate and a human's tick; the gate is met."""
    bot.fake.put_file(REPO, ".github/issue-status.yml", MANUAL_CONFIG)
    await bot.ci_completed("c1", {"tests": summary(13, 214)})
    assert handovers(bot) == [] and f"- [ ] {READINESS}" in bot.body
    return bot


@pytest.mark.parametrize(
    ("sender", "sender_type"),
    [("zoe", "User"), ("someone-else[bot]", "Bot")],
    ids=["the author with read access", "another App"],
)
async def test_a_manual_tick_without_write_access_is_put_back_and_hands_nothing_over(
    manual: BotHarness, sender: str, sender_type: str
) -> None:
    await edit(manual, f"- [ ] {READINESS}", f"- [x] {READINESS}", sender, sender_type)
    assert f"- [ ] {READINESS}" in manual.body
    assert handovers(manual) == [] and assignees(manual) == []
    await manual.ci_completed("c2", {"tests": summary(12, 215)})  # the next run reads the line unticked
    assert handovers(manual) == [] and assignees(manual) == []


async def test_the_rest_of_an_edit_without_write_access_stays(manual: BotHarness) -> None:
    await edit(manual, f"- [ ] {READINESS}", f"- [x] {READINESS}\n\nI think we are ready!", "zoe")
    assert f"- [ ] {READINESS}\n\nI think we are ready!" in manual.body


async def test_a_writers_manual_tick_hands_over_and_an_untick_without_write_access_is_put_back(
    manual: BotHarness,
) -> None:
    await edit(manual, f"- [ ] {READINESS}", f"- [x] {READINESS}", "octocat")
    assert len(handovers(manual)) == 1 and assignees(manual) == ["octocat"]
    await edit(manual, f"- [x] {READINESS}", f"- [ ] {READINESS}", "zoe")
    assert f"- [x] {READINESS}" in manual.body


async def test_request_review_now_without_write_access_does_nothing(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await edit(bot, f"- [ ] {REQUEST}", f"- [x] {REQUEST}", "zoe")  # the issue's author, read access
    assert handovers(bot) == [] and assignees(bot) == []
    assert f"- [ ] {REQUEST}" in bot.body


async def test_request_review_now_by_a_writer_below_the_gate_says_it_is_early(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await edit(bot, f"- [ ] {REQUEST}", f"- [x] {REQUEST}", "octocat")
    (comment,) = handovers(bot)
    assert "requested early" in comment and "@octocat" in comment and "not met" in comment
    assert "Quality gate met" not in comment and "every hand-over condition holds" not in comment
    assert assignees(bot) == ["octocat"]


async def test_status_review_says_whether_the_gate_is_met(bot: BotHarness) -> None:
    await bot.ci_completed("c1", {"tests": summary(84, 143)})
    await command(bot, "/status review", "octocat")
    (early,) = handovers(bot)
    assert "63.0%" in early and "not met" in early and "> 90.0%" in early
    assert "Quality gate met" not in early
    await bot.ci_completed("c2", {"tests": summary(13, 214)})  # the gate is met: the usual hand-over
    await command(bot, "/status review", "octocat")  # and asked for again: the usual wording too
    later = handovers(bot)[1:]
    assert len(later) == 2
    assert all("Quality gate met: 94.3% > 90.0%" in c and "early" not in c for c in later)


async def test_status_review_with_the_gate_met_but_a_manual_line_open_is_early(manual: BotHarness) -> None:
    await command(manual, "/status review", "octocat")
    (comment,) = handovers(manual)
    assert "requested early" in comment and "is met" in comment and "not every hand-over condition" in comment


async def test_a_tick_without_write_access_counts_for_nothing_even_before_its_event_arrives(
    manual: BotHarness,
) -> None:
    # The stranger saves the tick; CI finishes and is worked on before GitHub delivers the edit's event.
    manual.fake.edit_issue_body(
        REPO, ISSUE, manual.body.replace(f"- [ ] {READINESS}", f"- [x] {READINESS}"), user="zoe"
    )
    await manual.ci_completed("c2", {"tests": summary(12, 215)})
    assert handovers(manual) == [] and assignees(manual) == []
    assert f"- [ ] {READINESS}" in manual.body  # the bot owns the box: put back as writers left it


async def test_a_writers_tick_put_back_by_a_run_before_its_event_is_honoured_when_the_event_comes(
    manual: BotHarness,
) -> None:
    before = manual.body
    issue = dict(  # the edit's event carries the issue as the edit left it
        manual.fake.edit_issue_body(
            REPO, ISSUE, before.replace(f"- [ ] {READINESS}", f"- [x] {READINESS}"), user="octocat"
        )
    )
    await manual.ci_completed("c2", {"tests": summary(12, 215)})  # the run comes first and puts the box back
    assert handovers(manual) == []
    payload = issue_edited(
        manual.repository, issue, previous_body=before, sender="octocat", installation_id=INSTALLATION_ID
    )
    assert await manual.send("issues", payload) == 202
    assert len(handovers(manual)) == 1 and f"- [x] {READINESS}" in manual.body
