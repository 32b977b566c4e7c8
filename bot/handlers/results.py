"""CI finished on a commit: ``check_run``, ``check_suite`` and ``workflow_run`` completions.

Each recomputes the whole commit: check runs tell which jobs finished, check suites whether all of CI
has, and a completed workflow run is when its test-result artifacts can be read.
"""

from __future__ import annotations

from typing import Any

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.commits import CommitEvent
from bot.tracker import TrackerService

router = Router()


def commit_event(event: Event, sha: str, branch: str | None) -> CommitEvent:
    repository: dict[str, Any] = event.data["repository"]
    return CommitEvent(
        installation_id=int(event.data["installation"]["id"]),
        repository=repository["full_name"],
        html_url=repository["html_url"],
        default_branch=repository.get("default_branch") or "main",
        sha=sha,
        branch=branch,
    )


@router.register("check_run", action="completed")
async def check_run_completed(event: Event, trackers: TrackerService) -> None:
    run = event.data["check_run"]
    branch = (run.get("check_suite") or {}).get("head_branch")
    await trackers.commit_completed(commit_event(event, run["head_sha"], branch))


@router.register("check_suite", action="completed")
async def check_suite_completed(event: Event, trackers: TrackerService) -> None:
    suite = event.data["check_suite"]
    await trackers.commit_completed(commit_event(event, suite["head_sha"], suite.get("head_branch")))


@router.register("workflow_run", action="completed")
async def workflow_run_completed(event: Event, trackers: TrackerService) -> None:
    run = event.data["workflow_run"]
    await trackers.commit_completed(commit_event(event, run["head_sha"], run.get("head_branch")))
