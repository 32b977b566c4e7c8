"""The tracking issue itself changed: ``issues.edited``.

The bot's own writes come back as edited events carrying the body they replaced; that is how a write that
raced a human's edit is detected and the human's text restored. A human's edit may tick a manual line
that completes the review conditions, so the rules are judged again.
"""

from __future__ import annotations

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github.repository import Repository
from bot.handlers.results import commit_event
from bot.tracker import TrackerService

router = Router()


@router.register("issues", action="edited")
async def issue_edited(event: Event, trackers: TrackerService) -> None:
    replaced = ((event.data.get("changes") or {}).get("body") or {}).get("from")
    if not isinstance(replaced, str):
        return  # the title or another field changed
    issue = event.data["issue"]
    repository = event.data["repository"]
    repo = Repository(trackers.github.client(int(event.data["installation"]["id"])), repository["full_name"])
    if (event.data.get("sender") or {}).get("type") == "Bot":
        await trackers.restore_unseen_edit(repo, int(issue["number"]), issue.get("body") or "", replaced)
    else:
        await trackers.human_edited(repo, int(issue["number"]), commit_event(event, "", None))
