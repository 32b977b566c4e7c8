"""Telling people: milestone and escalation comments, and asking the reviewers.

Each announcement carries its key hidden in the comment and is skipped when a comment already holds it,
so a retry after a crash or a redelivered webhook never says the same thing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from gidgethub import BadRequest

from bot.config import CONFIG_PATH, FixesDoneCondition, GateCondition, TrackerConfig
from bot.github.repository import Repository
from bot.results.commit import CommitResults
from bot.rules import Event as RulesEvent
from bot.rules import RulesMemory
from bot.tracking.render import Templates, render
from bot.tracking.state import TrackerState
from bot.tracking.status import StatusReport
from bot.updating.commits import CommitEvent, commit_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handover:
    requested: tuple[str, ...]
    pull_requests: tuple[int, ...]
    assigned: tuple[str, ...]
    failures: tuple[str, ...]


async def announce(
    repo: Repository,
    tracker: TrackerConfig,
    events: Sequence[RulesEvent],
    report: StatusReport,
    event: CommitEvent,
    templates: Templates,
    *,
    requested_by: str | None = None,
    early: bool = False,
) -> None:
    """Comment on each milestone and escalation once: its key, hidden in the comment, is checked first.

    The hand-over (every review condition holds) also asks the reviewers; an escalation also adds the
    configured label. A hand-over a person asked for (``requested_by``) before the conditions hold is
    ``early``, and its comment says so rather than celebrate a gate that is not met.
    """
    if not events:
        return
    posted = await repo.comment_bodies(tracker.issue)
    for item in events:
        marker = f"<!-- issue-status-bot:event {item.key} -->"
        if any(marker in body for body in posted):
            log.info("%s#%s: %s already announced", repo.full_name, tracker.issue, item.kind)
            continue
        about = commit_url(replace(event, sha=item.sha))
        if item.kind == "review_ready":
            handover = await request_review(repo, tracker, event)
            comment = await templates.render(
                "handover_comment.md.j2",
                report=report,
                commit_url=commit_url(event),
                conditions=[condition.key for condition in tracker.review.when],
                requested=handover.requested,
                pull_requests=handover.pull_requests,
                assigned=handover.assigned,
                failures=handover.failures,
                marker=marker,
                requested_by=requested_by,
                early=early,
            )
            comment += "".join(f"\n{asked_marker(number)}" for number in handover.pull_requests)
        else:
            comment = await templates.render(
                "event_comment.md.j2", event=item, report=report, commit_url=about, marker=marker
            )
        await repo.post_comment(tracker.issue, comment)
        if item.is_escalation and tracker.escalation.label:
            await repo.add_labels(tracker.issue, (tracker.escalation.label,))


async def request_review(repo: Repository, tracker: TrackerConfig, event: CommitEvent) -> Handover:
    review = tracker.review
    mentions = _mentions(repo, tracker)
    if not mentions:
        return Handover((), (), (), ())
    # A draft waits for ready_for_review (see ``ask_late_pull_request``); with none ready, the reviewers
    # are assigned to the issue instead.
    pulls = [
        pr for pr in await repo.open_pull_requests() if _is_head_of(pr, event, repo) and not pr.get("draft")
    ]
    if not pulls:
        issue = await repo.issue(tracker.issue)
        missing = tuple(u for u in review.reviewers if u.lower() not in {a.lower() for a in issue.assignees})
        if missing:
            await repo.add_assignees(tracker.issue, missing)
        return Handover((), (), mentions, ())
    requested: list[int] = []
    failures: list[str] = []
    for pr in pulls:
        failure = await _ask(repo, tracker, pr)
        if failure is None:
            requested.append(pr["number"])
        else:
            failures.append(failure)
    return Handover(mentions if requested else (), tuple(requested), (), tuple(failures))


def _mentions(repo: Repository, tracker: TrackerConfig) -> tuple[str, ...]:
    review = tracker.review
    return tuple(f"@{user}" for user in review.reviewers) + tuple(
        f"@{repo.owner}/{team}" for team in review.team_reviewers
    )


async def _ask(repo: Repository, tracker: TrackerConfig, pr: dict[str, Any]) -> str | None:
    """Ask the configured reviewers on one pull request; returns why GitHub refused, if it did.

    Who is already asked is skipped: a hand-over repeated after a crash asks nobody twice.
    """
    review = tracker.review
    author = (pr.get("user") or {}).get("login")
    asked = {u["login"].lower() for u in pr.get("requested_reviewers") or []}
    asked_teams = {t["slug"].lower() for t in pr.get("requested_teams") or []}
    users = tuple(u for u in review.reviewers if u != author and u.lower() not in asked)
    teams = tuple(t for t in review.team_reviewers if t.lower() not in asked_teams)
    try:
        if users or teams:
            await repo.request_reviewers(pr["number"], users, teams)
    except BadRequest as exc:
        return f"#{pr['number']}: GitHub refused the review request ({exc})"
    return None


SOURCE_NAMES = {
    "output": "the check run's output",
    "logs": "the job's log",
    "junit": "the workflow run's JUnit artifacts",
}


async def announce_sources(
    repo: Repository, tracker: TrackerConfig, results: CommitResults, event: CommitEvent
) -> None:
    """Say once, on a tracker's first update, which commit, check runs and sources its numbers come from,
    so that a maintainer sees whether the configuration matched what they meant."""
    marker = f"<!-- issue-status-bot:sources {tracker.issue} -->"
    if await repo.said(tracker.issue, marker):
        return
    comment = render(
        "source_comment.md.j2",
        sha=results.sha,
        commit_url=commit_url(event),
        branch=tracker.branch or event.default_branch,
        jobs=results.jobs,
        provisional=results.provisional,
        tracker=tracker,
        source_names=SOURCE_NAMES,
        path=CONFIG_PATH,
        marker=marker,
    )
    await repo.post_comment(tracker.issue, comment)


def asked_marker(pull_request: int) -> str:
    """Hidden in the App's comment that reports a review request on a pull request: each is asked once,
    even after its reviewers answered (GitHub then drops them from the requested reviewers)."""
    return f"<!-- issue-status-bot:review-asked #{pull_request} -->"


async def ask_late_pull_request(
    repo: Repository, tracker: TrackerConfig, pr: dict[str, Any], report: StatusReport, event: CommitEvent
) -> None:
    """A pull request of the tracked branch came (opened, reopened, ready for review) after every
    hand-over condition held: ask the reviewers there too, once per pull request.

    The hand-over may have found no pull request and assigned the reviewers to the issue instead, or
    asked on another one; a draft is asked when it is marked ready for review.
    """
    mentions = _mentions(repo, tracker)
    marker = asked_marker(int(pr["number"]))
    if not mentions or await repo.said(tracker.issue, marker):
        return
    failure = await _ask(repo, tracker, pr)
    comment = render(
        "late_review_comment.md.j2",
        report=report,
        commit_url=commit_url(event),
        pull_request=int(pr["number"]),
        branch=str(pr["head"]["ref"]),
        requested=mentions if failure is None else (),
        failures=(failure,) if failure is not None else (),
        marker=marker,
    )
    await repo.post_comment(tracker.issue, comment)
    log.info("%s#%s: review asked on pull request #%s", repo.full_name, tracker.issue, pr["number"])


def from_this_repository(pr: dict[str, Any], repo: Repository) -> bool:
    """Whether the pull request's head is a branch of ``repo`` itself: never a fork's, whose branch may
    carry the same name (a deleted fork leaves ``head.repo`` null)."""
    head_repo = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
    return isinstance(head_repo, str) and head_repo.lower() == repo.full_name.lower()


def _is_head_of(pr: dict[str, Any], event: CommitEvent, repo: Repository) -> bool:
    """Whether ``pr`` is the pull request of the tracked branch (or of the commit): never a fork's, whose
    head may even be the same commit."""
    if not from_this_repository(pr, repo):
        return False
    head = pr.get("head") or {}
    same_branch = event.branch is not None and head.get("ref") == event.branch
    return head.get("sha") == event.sha or same_branch


def conditions_held(tracker: TrackerConfig, state: TrackerState) -> bool:
    """Whether every review condition held when the tracker was last judged: a hand-over asked for
    before that is an early one."""
    memory = RulesMemory.from_data(state.rules)
    for condition in tracker.review.when:
        if isinstance(condition, GateCondition):
            held = state.gate_met
        elif isinstance(condition, FixesDoneCondition):
            phases = [memory.progress_of(fix.name) for fix in tracker.fixes]
            held = all(progress is not None and progress.phase == "done" for progress in phases)
        else:
            held = condition.key in memory.held
        if not held:
            return False
    return True
