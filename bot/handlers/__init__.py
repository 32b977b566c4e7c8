"""Where each webhook event enters: one module per concern, each with its own router, composed here."""

from __future__ import annotations

from typing import Any

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.handlers import commands, installations, issues, pulls, pushes, results
from bot.updating.tracker import TrackerService

# Events about the App's access itself: they grant it again, so they are never held back by its loss.
ACCESS_EVENTS = frozenset({"installation", "installation_repositories"})


class AccessCheckedRouter(Router):
    """Parks work for an installation or repository the App lost access to before any handler runs."""

    async def dispatch(self, event: Event, *args: Any, **kwargs: Any) -> None:
        trackers = args[0] if args else kwargs.get("trackers")
        if isinstance(trackers, TrackerService) and event.event not in ACCESS_EVENTS:
            repository = event.data.get("repository")
            trackers.revoked.check(
                int(event.data["installation"]["id"]),
                str(repository["full_name"]) if isinstance(repository, dict) else None,
            )
        await super().dispatch(event, *args, **kwargs)


router = AccessCheckedRouter(
    results.router,
    pushes.router,
    issues.router,
    commands.router,
    pulls.router,
    installations.router,
)
