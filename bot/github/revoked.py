"""Where GitHub said the App may no longer act: installations uninstalled, repositories taken out of one.

GitHub says so once, in an ``installation.deleted`` or ``installation_repositories.removed`` event. Work
still queued for them cannot succeed, so it is parked at once with that reason, rather than each entry
spending a token mint or a request on a 404 and then retrying. A process that restarts forgets this; the
queued work then meets GitHub's own 404 and is parked for that reason (``InstallationGone``).
"""

from __future__ import annotations

import cachetools

from bot.github.client import InstallationGone

# Uninstalls and removals remembered; older ones are GitHub's 404 to discover again.
REMEMBERED = 4096


class AccessRevoked(InstallationGone):
    """The App was uninstalled, or the repository taken out of the installation, as GitHub's event said."""

    def __init__(self, installation_id: int, what: str) -> None:
        Exception.__init__(self, f"{what} (installation {installation_id}); queued work for it is parked")
        self.installation_id = installation_id
        self.status = 404


class RevokedAccess:
    """Installations and repositories the App lost access to, until GitHub says it has it again."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._installations: cachetools.LRUCache[int, str] = cachetools.LRUCache(size)
        self._repositories: cachetools.LRUCache[tuple[int, str], str] = cachetools.LRUCache(size)

    def uninstalled(self, installation_id: int) -> None:
        self._installations[installation_id] = "the App was uninstalled"

    def removed(self, installation_id: int, repository: str) -> None:
        key = (installation_id, repository.lower())
        self._repositories[key] = f"{repository} was removed from the installation"

    def installed(self, installation_id: int, repositories: list[str] | None = None) -> None:
        """Installed again (every repository of it), or ``repositories`` added again: work may go ahead."""
        self._installations.pop(installation_id, None)
        again = None if repositories is None else {repository.lower() for repository in repositories}
        for key in list(self._repositories):
            if key[0] == installation_id and (again is None or key[1] in again):
                self._repositories.pop(key, None)

    def check(self, installation_id: int, repository: str | None) -> None:
        """Raise ``AccessRevoked`` when work for the installation (and repository) cannot succeed."""
        why = self._installations.get(installation_id)
        if why is None and repository is not None:
            why = self._repositories.get((installation_id, repository.lower()))
        if why is not None:
            raise AccessRevoked(installation_id, why)
