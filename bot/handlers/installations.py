"""The App was installed or lost its installation, or a repository was added or removed:
``installation`` and ``installation_repositories`` (GitHub sends both to every App, unsubscribed).

An installation is useful at once: each granted repository's trackers are brought up to date from the
newest commit of the tracked branch with CI results, without waiting for the next CI run. An uninstall
or a removal forgets what was kept for it, and work still queued for it is parked with the reason.
"""

from __future__ import annotations

from typing import Any

from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.healing.reconcile import reconcile_granted
from bot.updating.tracker import TrackerService

router = Router()


def _installation_id(event: Event) -> int:
    return int(event.data["installation"]["id"])


def _names(repositories: Any) -> list[str]:
    """The ``owner/name`` of each repository an event lists (GitHub's short repository objects)."""
    return [str(repo["full_name"]) for repo in repositories or [] if isinstance(repo, dict)]


@router.register("installation", action="created")
@router.register("installation", action="new_permissions_accepted")
async def installed(event: Event, trackers: TrackerService) -> None:
    """Installed, or new permissions accepted (results the App could not read before may be readable now):
    every repository of the installation."""
    installation_id = _installation_id(event)
    trackers.revoked.installed(installation_id)
    await reconcile_granted(trackers, installation_id, None)


@router.register("installation_repositories", action="added")
async def repositories_added(event: Event, trackers: TrackerService) -> None:
    installation_id = _installation_id(event)
    added = _names(event.data.get("repositories_added"))
    trackers.revoked.installed(installation_id, added)
    await reconcile_granted(trackers, installation_id, added)


@router.register("installation", action="deleted")
async def uninstalled(event: Event, trackers: TrackerService) -> None:
    installation_id = _installation_id(event)
    trackers.revoked.uninstalled(installation_id)
    trackers.github.forget_installation(installation_id)
    for name in _names(event.data.get("repositories")):
        trackers.configs.forget(name)


@router.register("installation_repositories", action="removed")
async def repositories_removed(event: Event, trackers: TrackerService) -> None:
    installation_id = _installation_id(event)
    for name in _names(event.data.get("repositories_removed")):
        trackers.revoked.removed(installation_id, name)
        trackers.configs.forget(name)
