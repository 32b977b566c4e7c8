"""Someone commented on an issue: ``issue_comment.created``, for ``/status`` commands."""

from __future__ import annotations

import asyncio

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github.repository import Repository
from bot.handlers.results import commit_event
from bot.updating.commands import parse_command, run_command
from bot.updating.tracker import TrackerService

router = Router()


@router.register("issue_comment", action="created")
async def comment_created(event: Event, trackers: TrackerService) -> None:
    comment = event.data["comment"]
    # Reading a comment as GitHub does can take a second for 64 KiB of hostile Markdown: off the loop.
    command = await asyncio.to_thread(parse_command, comment.get("body") or "")
    sender = event.data.get("sender") or {}
    if command is None or sender.get("type") == "Bot" or "pull_request" in event.data["issue"]:
        return
    repo = Repository(
        trackers.github.client(int(event.data["installation"]["id"])), event.data["repository"]["full_name"]
    )
    await run_command(
        trackers,
        repo,
        issue=int(event.data["issue"]["number"]),
        comment_id=int(comment["id"]),
        user=str(sender.get("login", "")),
        command=command,
        where_from=commit_event(event, "", None),
    )
