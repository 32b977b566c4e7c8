"""Code reached a tracked branch: ``push``. A fix whose files it touched is now in progress."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from gidgethub.routing import Router

from bot.handlers.results import commit_event
from bot.journal.delivered import DeliveredEvent
from bot.tracker import TrackerService

router = Router()
BRANCH_REF = "refs/heads/"


def changed_paths(commits: list[dict[str, Any]]) -> list[str]:
    """Every path the pushed commits added, modified or removed (GitHub lists up to 20 commits)."""
    paths: list[str] = []
    for commit in commits:
        for kind in ("added", "modified", "removed"):
            paths.extend(str(path) for path in commit.get(kind) or [])
    return paths


def arrived_at(event: DeliveredEvent) -> datetime:
    """When the push reached the bot: a fix's time starts then, not at its commit's author date (a commit
    made hours before it was pushed is not hours into the work).

    In whole seconds, as GitHub dates a run's completion: a run is compared with it to tell whether it
    finished after the fix began, and one finishing within the same second must count.
    """
    return datetime.fromtimestamp(math.floor(event.received_at), UTC)


@router.register("push")
async def push(event: DeliveredEvent, trackers: TrackerService) -> None:
    ref = str(event.data.get("ref", ""))
    if not ref.startswith(BRANCH_REF) or event.data.get("deleted"):
        return  # tags and deleted branches carry no work on a fix
    target = commit_event(event, str(event.data["after"]), ref.removeprefix(BRANCH_REF))
    # Pushes come only from the repository itself: the pushed commit is on the branch, no need to ask.
    trackers.branches.record(target.repository, ref.removeprefix(BRANCH_REF), target.sha)
    paths = changed_paths(event.data.get("commits") or [])
    if paths:
        await trackers.push_received(target, paths, arrived_at(event))
