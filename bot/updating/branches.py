"""Whether a commit is on a tracked branch: only those commits' results may move a tracker.

A pull request from a fork runs CI in the upstream repository, and its check runs, check suites and
workflow runs name the fork's branch, which can be called ``main`` too. The branch name in a payload
proves nothing; the repository's own history does: the commit is the branch's head or one of its
ancestors. GitHub's compare API answers that in one request (``<sha>...<branch>``: "identical" or
"ahead" means the branch contains the commit), and the answer is remembered, since a commit that is on
a branch stays on it (a force-push that drops it is the one exception, and a rare one).
"""

from __future__ import annotations

import logging

import cachetools

from bot.github.repository import Repository

log = logging.getLogger(__name__)

# Commits known to be on a branch; a repository sees a few hundred a day at most.
REMEMBERED = 4096
# The compare answers meaning that the branch (the head side) contains the commit (the base side).
CONTAINED = frozenset({"identical", "ahead"})


class BranchMembership:
    """Remembers which commits are on which branch of which repository, asking GitHub when unsure."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._known: cachetools.LRUCache[tuple[str, str, str], bool] = cachetools.LRUCache(size)

    def record(self, repository: str, branch: str, sha: str) -> None:
        """``sha`` is known to be on ``branch``: a push to it, or a commit read from its history."""
        self._known[(repository.lower(), branch, sha)] = True

    async def contains(self, repo: Repository, branch: str, sha: str) -> bool:
        """Whether ``branch`` of ``repo`` holds ``sha``; a "no" is asked again next time (the commit may
        be merged by then), a "yes" is remembered."""
        key = (repo.full_name.lower(), branch, sha)
        if key in self._known:
            return True
        status = await repo.compare_status(sha, branch)
        if status not in CONTAINED:
            log.info("%s: commit %s is not on %s (compare: %s)", repo.full_name, sha[:7], branch, status)
            return False
        self._known[key] = True
        return True
