"""Reconcile: every tracker recomputed from GitHub's truth, so a missed delivery heals itself.

A webhook GitHub could not deliver is never sent again on its own, and one older than 3 days cannot even
be asked for. Reconcile does not need it: for each repository of each installation it finds the newest
commit on each tracked branch whose CI has reported, and updates the trackers exactly as a delivery about
that commit would. Recomputing is idempotent: a tracker already up to date is read, never written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from gidgethub import GitHubException

from bot.app_services import GITHUB_TIMEOUT, app_services
from bot.github.app_api import AppAPI, InstalledRepository, installation_repositories, installed_repository
from bot.github.client import GitHubUnavailable, InstallationGone
from bot.github.repository import Repository
from bot.journal import open_journal
from bot.settings import Settings
from bot.updating.commits import CommitEvent
from bot.updating.tracker import TrackerService

log = logging.getLogger(__name__)

# A branch whose head has no CI results yet is searched this far back (one page of commits).
COMMITS_SEARCHED = 10


@dataclass(frozen=True)
class ReconcileSummary:
    repositories: int  # repositories looked at
    trackers: int  # trackers recomputed
    failures: tuple[str, ...]  # one line per repository (or installation) that could not be

    @property
    def ok(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        line = (
            f"reconciled {self.repositories} repositories: {self.trackers} trackers recomputed, "
            f"{len(self.failures)} failed"
        )
        return "\n".join([line, *(f"  {failure}" for failure in self.failures)])


async def reconcile(
    app_api: AppAPI, trackers: TrackerService, *, repository: str | None = None
) -> ReconcileSummary:
    """Recompute every tracker of every installation, or of one ``owner/name`` repository.

    A repository that fails is logged and listed in the summary; the others go on.
    """
    seen, recomputed = 0, 0
    failures: list[str] = []
    try:
        installations = await app_api.installation_ids()
    except (GitHubException, GitHubUnavailable, aiohttp.ClientError, TimeoutError) as error:
        log.warning("cannot list the App's installations: %s", _reason(error))
        return ReconcileSummary(0, 0, (f"listing the App's installations: {_reason(error)}",))
    for installation_id in installations:
        gh = trackers.github.client(installation_id)
        try:
            installed = await installation_repositories(gh)
        except (GitHubException, GitHubUnavailable, aiohttp.ClientError, TimeoutError) as error:
            log.warning("installation %s: cannot list its repositories: %s", installation_id, _reason(error))
            failures.append(f"installation {installation_id}: {_reason(error)}")
            continue
        for repo in installed:
            if repository is not None and repo.full_name.lower() != repository.lower():
                continue
            seen += 1
            try:
                recomputed += await reconcile_repository(trackers, installation_id, repo)
            except Exception as error:  # one repository's trouble must not stop the others
                log.exception("%s: reconcile failed", repo.full_name)
                failures.append(f"{repo.full_name}: {_reason(error)}")
    if repository is not None and seen == 0:
        failures.append(f"{repository}: not a repository of any installation of the App")
    summary = ReconcileSummary(seen, recomputed, tuple(failures))
    log.info("%s", summary)
    return summary


class RepositoriesFailed(Exception):
    """Some repositories could not be brought up to date; the others were."""


async def reconcile_granted(
    trackers: TrackerService, installation_id: int, names: Sequence[str] | None
) -> int:
    """Bring up to date the trackers of repositories the App was just granted (``names``, or all of the
    installation's), without waiting for CI; returns how many trackers were recomputed.

    Every repository is tried. If any failed, this raises after the others, so that the delivery is
    retried: recomputing the repositories that succeeded then writes nothing.
    """
    gh = trackers.github.client(installation_id)
    granted: Sequence[str | InstalledRepository] = (
        names if names is not None else await installation_repositories(gh)
    )
    recomputed = 0
    failures: list[str] = []
    for item in granted:
        name = item if isinstance(item, str) else item.full_name
        try:
            installed = await installed_repository(gh, item) if isinstance(item, str) else item
            recomputed += await reconcile_repository(trackers, installation_id, installed)
        except InstallationGone:
            raise  # nothing more can succeed for this installation
        except Exception as error:  # one repository's trouble must not stop the others
            log.exception("%s: cannot bring its trackers up to date", name)
            failures.append(f"{name}: {_reason(error)}")
    if failures:
        raise RepositoriesFailed("; ".join(failures))
    return recomputed


async def reconcile_repository(
    trackers: TrackerService, installation_id: int, installed: InstalledRepository
) -> int:
    """Recompute the repository's trackers; returns how many were."""
    repo = Repository(trackers.github.client(installation_id), installed.full_name)
    config = await trackers.configs.load(repo)
    if config is None:
        return 0
    recomputed = 0
    for branch in sorted({tracker.branch or installed.default_branch for tracker in config.trackers}):
        sha = await latest_commit_with_results(repo, branch)
        if sha is None:
            log.info("%s: no commit on %s has CI results yet", repo.full_name, branch)
            continue
        trackers.branches.record(repo.full_name, branch, sha)  # read from the branch's own history
        event = CommitEvent(
            installation_id=installation_id,
            repository=installed.full_name,
            html_url=installed.html_url,
            default_branch=installed.default_branch,
            sha=sha,
            branch=branch,
        )
        await trackers.commit_completed(event)
        recomputed += len(config.trackers_for_branch(branch, installed.default_branch))
    return recomputed


async def latest_commit_with_results(repo: Repository, branch: str) -> str | None:
    """The newest commit on ``branch`` with a completed check run: the head, or one shortly before it
    when the head's CI is still running or has not started. Only the branch's own history is searched,
    so a fork's commit (CI runs of its pull request) is never picked."""
    head = await repo.branch_head(branch)
    if head is None:
        return None
    if await _has_completed_runs(repo, head):
        return head
    for sha in await repo.recent_commits(branch, COMMITS_SEARCHED):
        if sha != head and await _has_completed_runs(repo, sha):
            return sha
    return None


async def _has_completed_runs(repo: Repository, sha: str) -> bool:
    return any(run.get("status") == "completed" for run in await repo.check_runs(sha))


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


async def reconcile_with_settings(settings: Settings, *, repository: str | None = None) -> ReconcileSummary:
    """One reconcile as its own process: the ``reconcile`` command."""
    journal = await open_journal(
        settings.database_url, settings.state_dir, lease_seconds=settings.claim_lease_seconds
    )
    try:
        async with aiohttp.ClientSession(timeout=GITHUB_TIMEOUT) as session:
            services = await app_services(session, settings, journal)
            return await reconcile(services.app_api, services.trackers, repository=repository)
    finally:
        await journal.close()
