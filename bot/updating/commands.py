"""Slash commands in comments on a tracking issue: ``/status refresh``, ``/status baseline <rate|current>``,
``/status review``.

Only people with write access may steer the bot (checked through the collaborator permission API); anyone
else gets one polite reply. An accepted command is acknowledged with a reaction on its comment.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

from bot.config import TrackerConfig, parse_baseline
from bot.github.repository import Repository
from bot.healing.reconcile import latest_commit_with_results
from bot.tracking.markdown import paragraph_line_starts
from bot.tracking.render import percent
from bot.updating.commits import CommitEvent
from bot.updating.tracker import TrackerService

log = logging.getLogger(__name__)

_COMMAND = re.compile(r"/status[ \t]+(refresh|baseline|review)\b[ \t]*(.*)", re.IGNORECASE)
# GitHub's legacy permission field: "maintain" reads as "write", "triage" as "read".
STEERING_PERMISSIONS = frozenset({"admin", "write"})


@dataclass(frozen=True)
class Command:
    name: str  # "refresh", "baseline" or "review"
    argument: str  # what follows the name on its line, stripped


def parse_command(text: str) -> Command | None:
    """The first ``/status`` command opening a line of a visible, top-level paragraph of ``text``.

    Read as GitHub renders the comment: a command in code, a quote (a quoted reply is not a new
    instruction), a list, raw HTML, an HTML comment or a ``<details>`` section does not run.
    """
    if _COMMAND.search(text) is None:
        return None  # most comments: no need to parse them (up to 1.5 s for 64 KiB of hostile Markdown)
    for line in paragraph_line_starts(text):
        match = _COMMAND.fullmatch(line)
        if match is not None:
            return Command(match[1].lower(), match[2].strip())
    return None


async def run_command(
    trackers: TrackerService,
    repo: Repository,
    *,
    issue: int,
    comment_id: int,
    user: str,
    command: Command,
    where_from: CommitEvent,
) -> None:
    config = await trackers.configs.load(repo)
    tracker = config.tracker_of(issue) if config else None
    if tracker is None:
        return  # not a tracking issue
    if not await may_steer(repo, user):
        await _decline_once(trackers, repo, issue, user)
        return
    log.info("%s#%s: /status %s from %s", repo.full_name, issue, command.name, user)
    await repo.react(comment_id, "+1")
    branch = tracker.branch or where_from.default_branch
    if command.name == "refresh":
        sha = await latest_commit_with_results(repo, branch)
        if sha is not None:
            trackers.branches.record(repo.full_name, branch, sha)  # read from the branch's history
            await trackers.commit_completed(replace(where_from, sha=sha, branch=branch))
    elif command.name == "baseline":
        await _set_baseline(trackers, repo, tracker, command.argument, where_from)
    else:
        await trackers.hand_over_now(
            repo, tracker, replace(where_from, branch=branch), reason=f"command {comment_id}", by=user
        )


async def may_steer(repo: Repository, login: str) -> bool:
    """Whether ``login`` has write access: only such people move the bot's state or the gate (commands,
    the review checkbox, manual lines); anyone else who can edit the issue changes only its text."""
    return await repo.permission(login) in STEERING_PERMISSIONS


async def _set_baseline(
    trackers: TrackerService, repo: Repository, tracker: TrackerConfig, argument: str, where_from: CommitEvent
) -> None:
    if tracker.baseline is not None:
        await repo.post_comment(
            tracker.issue,
            await trackers.configs.templates(repo).render("command_reply.md.j2", kind="baseline_in_config"),
        )
        return
    try:
        baseline = None if argument.lower() == "current" else parse_baseline(argument)
    except ValueError as error:
        await repo.post_comment(
            tracker.issue,
            await trackers.configs.templates(repo).render(
                "command_reply.md.j2", kind="bad_baseline", error=str(error)
            ),
        )
        return
    chosen = await trackers.set_baseline(repo, tracker, baseline, where_from)
    if chosen is not None:
        log.info("%s#%s: baseline set to %s", repo.full_name, tracker.issue, percent(chosen))


async def _decline_once(trackers: TrackerService, repo: Repository, issue: int, user: str) -> None:
    marker = f"<!-- issue-status-bot:declined {user.lower()} -->"
    if await repo.said(issue, marker):
        return
    await repo.post_comment(
        issue,
        await trackers.configs.templates(repo).render(
            "command_reply.md.j2", kind="no_permission", user=user, marker=marker
        ),
    )
