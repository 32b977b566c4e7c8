"""Code reached a branch: ``push``. A fix whose files it touched is now in progress, and a change to the
configuration or the templates on the default branch brings the repository's trackers up to date at once.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from gidgethub.routing import Router

from bot.config import CONFIG_PATH
from bot.github.app_api import InstalledRepository
from bot.github.repository import Repository
from bot.handlers.results import commit_event
from bot.healing.reconcile import reconcile_repository
from bot.journal.delivered import DeliveredEvent
from bot.updating.commits import CommitEvent
from bot.updating.tracker import TrackerService

router = Router()
BRANCH_REF = "refs/heads/"
# A push event lists at most this many commits: a longer push may have changed any file.
LISTED_COMMITS = 20


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
    commits = event.data.get("commits") or []
    paths = changed_paths(commits)
    if paths:
        await trackers.push_received(target, paths, arrived_at(event))
    if target.branch == target.default_branch and (
        len(commits) >= LISTED_COMMITS or await configuration_changed(trackers, target, paths)
    ):
        await reconcile_repository(
            trackers,
            target.installation_id,
            InstalledRepository(target.repository, target.html_url, target.default_branch),
        )


async def configuration_changed(trackers: TrackerService, target: CommitEvent, paths: list[str]) -> bool:
    """Whether the push changed the configuration file or a file of the templates folder it names."""
    if CONFIG_PATH in paths:
        return True
    repo = Repository(trackers.github.client(target.installation_id), target.repository)
    config = await trackers.configs.load(repo) if paths else None
    folder = f"{config.templates}/" if config is not None and config.templates else None
    return folder is not None and any(path.startswith(folder) for path in paths)
