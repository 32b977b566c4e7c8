"""The tracking issue itself changed: ``issues.edited``.

The bot's own writes come back as edited events carrying the body they replaced; that is how a write that
raced a human's edit is detected and the human's text restored. Which edits are the bot's is known from
the App's own login (``GET /app``), not from a sender type any other App shares. A human's edit may tick a
manual line that completes the review conditions, so the rules are judged again; only an edit by someone
with write access may do that (or tick "Request review now").
"""

from __future__ import annotations

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github.repository import Repository
from bot.handlers.results import commit_event
from bot.rules.owned_lines import HumanEdit
from bot.updating.commands import may_steer
from bot.updating.tracker import TrackerService

router = Router()


@router.register("issues", action="edited")
async def issue_edited(event: Event, trackers: TrackerService) -> None:
    replaced = ((event.data.get("changes") or {}).get("body") or {}).get("from")
    if not isinstance(replaced, str):
        return  # the title or another field changed
    issue = event.data["issue"]
    repository = event.data["repository"]
    repo = Repository(trackers.github.client(int(event.data["installation"]["id"])), repository["full_name"])
    body = issue.get("body") or ""
    sender = str((event.data.get("sender") or {}).get("login", ""))
    if sender.lower() == (await repo.bot_login()).lower():
        await trackers.restore_unseen_edit(repo, int(issue["number"]), body, replaced)
    else:
        edit = HumanEdit(sender, await may_steer(repo, sender), before=replaced, after=body)
        await trackers.human_edited(repo, int(issue["number"]), edit, commit_event(event, "", None))
