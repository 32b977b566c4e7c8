"""A pull request came after the hand-over: ``pull_request`` opened, reopened or marked ready for review.

The hand-over asks for the review on the open pull requests of the tracked branch; one opened later, or
a draft made ready, is asked when it arrives. A fork's pull request, whose branch may carry the tracked
branch's name, never is.
"""

from __future__ import annotations

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github.repository import Repository
from bot.handlers.results import commit_event
from bot.updating.handover import from_this_repository
from bot.updating.tracker import TrackerService

router = Router()


@router.register("pull_request", action="opened")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="ready_for_review")
async def pull_request_ready(event: Event, trackers: TrackerService) -> None:
    pr = event.data["pull_request"]
    if pr.get("draft") or pr.get("state") != "open":
        return  # a draft is asked once it is marked ready for review
    target = commit_event(event, str(pr["head"]["sha"]), str(pr["head"]["ref"]))
    repo = Repository(trackers.github.client(target.installation_id), target.repository)
    if from_this_repository(pr, repo):
        await trackers.pull_request_ready(repo, pr, target)
