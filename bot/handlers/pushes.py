"""Code reached a tracked branch: ``push``. A fix whose files it touched is now in progress."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.handlers.results import commit_event
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


def _pushed_at(data: dict[str, Any]) -> datetime:
    stamp = (data.get("head_commit") or {}).get("timestamp")
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)


@router.register("push")
async def push(event: Event, trackers: TrackerService) -> None:
    ref = str(event.data.get("ref", ""))
    if not ref.startswith(BRANCH_REF) or event.data.get("deleted"):
        return  # tags and deleted branches carry no work on a fix
    target = commit_event(event, str(event.data["after"]), ref.removeprefix(BRANCH_REF))
    # Pushes come only from the repository itself: the pushed commit is on the branch, no need to ask.
    trackers.branches.record(target.repository, ref.removeprefix(BRANCH_REF), target.sha)
    paths = changed_paths(event.data.get("commits") or [])
    if paths:
        await trackers.push_received(target, paths, _pushed_at(event.data))
