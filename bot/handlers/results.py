"""CI finished on a commit: ``check_run``, ``check_suite`` and ``workflow_run`` completions.

Each recomputes the whole commit: check runs tell which jobs finished, check suites whether all of CI
has, and a completed workflow run is when its test-result artifacts can be read.

A fork's pull request runs CI here too, under a branch name of the fork's choosing. A run whose head
repository is another one is dropped at once; every other commit must be on the tracked branch
(``TrackerService.commit_completed`` asks the repository's history).
"""

from __future__ import annotations

from typing import Any

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.updating.commits import CommitEvent
from bot.updating.tracker import TrackerService

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


def from_another_repository(event: Event, run: dict[str, Any]) -> bool:
    """Whether the run says its commit came from another repository (a fork), where it says so at all."""
    head = run.get("head_repository")
    if not isinstance(head, dict):
        return False  # check runs and suites do not say; the branch's history decides for them
    return bool(head.get("id") != event.data["repository"].get("id"))


@router.register("check_run", action="completed")
async def check_run_completed(event: Event, trackers: TrackerService) -> None:
    run = event.data["check_run"]
    suite = run.get("check_suite") or {}
    if not from_another_repository(event, suite):
        await trackers.commit_completed(commit_event(event, run["head_sha"], suite.get("head_branch")))


@router.register("check_suite", action="completed")
async def check_suite_completed(event: Event, trackers: TrackerService) -> None:
    suite = event.data["check_suite"]
    if not from_another_repository(event, suite):
        await trackers.commit_completed(commit_event(event, suite["head_sha"], suite.get("head_branch")))


@router.register("workflow_run", action="completed")
async def workflow_run_completed(event: Event, trackers: TrackerService) -> None:
    run = event.data["workflow_run"]
    if not from_another_repository(event, run):
        await trackers.commit_completed(commit_event(event, run["head_sha"], run.get("head_branch")))
