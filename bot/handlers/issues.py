"""The tracking issue itself changed: ``issues.edited``.

The bot's own writes come back as edited events carrying the body they replaced; that is how a write that
raced a human's edit is detected and the human's text restored.
"""

from __future__ import annotations

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github.repository import Repository
from bot.tracker import TrackerService

router = Router()


@router.register("issues", action="edited")
async def issue_edited(event: Event, trackers: TrackerService) -> None:
    replaced = ((event.data.get("changes") or {}).get("body") or {}).get("from")
    sender = event.data.get("sender") or {}
    if not isinstance(replaced, str) or sender.get("type") != "Bot":
        return  # a human's edit: the next update re-applies the block to whatever they wrote
    issue = event.data["issue"]
    repo = Repository(
        trackers.github.client(int(event.data["installation"]["id"])), event.data["repository"]["full_name"]
    )
    await trackers.restore_unseen_edit(repo, int(issue["number"]), issue.get("body") or "", replaced)
