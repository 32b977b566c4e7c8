"""A commit as the tracker sees it: which repository and installation, which branch, where it links."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommitEvent:
    """A commit whose CI finished, as the webhook reported it."""

    installation_id: int
    repository: str  # owner/name
    html_url: str  # the repository's web address, for commit links
    default_branch: str
    sha: str
    branch: str | None  # None for commits GitHub could not tie to a branch (forks, detached runs)


def commit_url(event: CommitEvent) -> str:
    return f"{event.html_url}/commit/{event.sha}"
