"""Typed calls on one repository: every REST operation the bot makes lives here.

Keeping them together makes the bot's API footprint (and its least-privilege permissions) easy to audit.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from gidgethub import BadRequest, RedirectionException

from bot.github.client import InstallationClient

# GitHub caps list pages at 100 items; fewer pages means fewer requests against the rate limit.
PAGE_SIZE = 100


@dataclass(frozen=True)
class RepoFile:
    path: str
    sha: str  # the git blob sha: it changes exactly when the content does
    content: bytes


@dataclass(frozen=True)
class Issue:
    number: int
    body: str
    state: str
    author: str
    assignees: tuple[str, ...]
    is_pull_request: bool


class NotStored(Exception):
    """GitHub has no such log or artifact (404), or no longer has it (410: expired)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class Repository:
    """One repository seen through one installation's client."""

    def __init__(self, gh: InstallationClient, full_name: str) -> None:
        self.gh = gh
        self.full_name = full_name
        self.owner, self.name = full_name.split("/", 1)
        self._vars = {"owner": self.owner, "repo": self.name}

    def _url(self, template: str, **more: Any) -> tuple[str, dict[str, Any]]:
        return template, {**self._vars, **more}

    async def _get_or_none(self, template: str, **more: Any) -> Any:
        """The answer to a GET, or None when GitHub answers 404 (the thing does not exist)."""
        url, url_vars = self._url(template, **more)
        try:
            return await self.gh.getitem(url, url_vars)
        except BadRequest as exc:
            if exc.status_code == 404:
                return None
            raise

    async def read_file(self, path: str) -> RepoFile | None:
        """A file on the default branch, or None when it does not exist."""
        answer = await self._get_or_none("/repos/{owner}/{repo}/contents/{+path}", path=path)
        if not isinstance(answer, dict) or answer.get("type") != "file":
            return None
        try:
            content = base64.b64decode(answer.get("content") or "")
        except (binascii.Error, ValueError):
            content = b""
        return RepoFile(path=path, sha=str(answer.get("sha", "")), content=content)

    async def file_names(self, folder: str) -> list[str]:
        """The names of the files in a folder of the default branch ([] when there is no such folder)."""
        answer = await self._get_or_none("/repos/{owner}/{repo}/contents/{+path}", path=folder)
        if not isinstance(answer, list):
            return []
        return [str(entry["name"]) for entry in answer if entry.get("type") == "file"]

    async def check_runs(self, sha: str) -> list[dict[str, Any]]:
        """The latest attempt of every check run on a commit."""
        url, url_vars = self._url(
            "/repos/{owner}/{repo}/commits/{ref}/check-runs{?per_page}", ref=sha, per_page=PAGE_SIZE
        )
        return [run async for run in self.gh.getiter(url, url_vars, iterable_key="check_runs")]

    async def check_suites(self, sha: str) -> list[dict[str, Any]]:
        url, url_vars = self._url(
            "/repos/{owner}/{repo}/commits/{ref}/check-suites{?per_page}", ref=sha, per_page=PAGE_SIZE
        )
        return [suite async for suite in self.gh.getiter(url, url_vars, iterable_key="check_suites")]

    async def workflow_runs(self, sha: str) -> list[dict[str, Any]]:
        """The GitHub Actions workflow runs of a commit (their check suites hold its jobs)."""
        url, url_vars = self._url(
            "/repos/{owner}/{repo}/actions/runs{?head_sha,per_page}", head_sha=sha, per_page=PAGE_SIZE
        )
        return [run async for run in self.gh.getiter(url, url_vars, iterable_key="workflow_runs")]

    async def run_artifacts(self, run_id: int) -> list[dict[str, Any]]:
        url, url_vars = self._url(
            "/repos/{owner}/{repo}/actions/runs/{run_id}/artifacts{?per_page}",
            run_id=run_id,
            per_page=PAGE_SIZE,
        )
        return [a async for a in self.gh.getiter(url, url_vars, iterable_key="artifacts")]

    async def job_log_url(self, job_id: int) -> str:
        """The short-lived storage URL GitHub redirects a job's log to."""
        return await self._redirect("/repos/{owner}/{repo}/actions/jobs/{job_id}/logs", job_id=job_id)

    async def artifact_url(self, artifact_id: int) -> str:
        """The short-lived storage URL of an artifact's zip archive."""
        return await self._redirect(
            "/repos/{owner}/{repo}/actions/artifacts/{artifact_id}/zip", artifact_id=artifact_id
        )

    async def _redirect(self, template: str, **more: Any) -> str:
        url, url_vars = self._url(template, **more)
        try:
            await self.gh.getitem(url, url_vars)
        except RedirectionException as redirect:
            location = redirect.headers.get("Location") or redirect.headers.get("location")
            if location:
                return str(location)
            raise
        except BadRequest as exc:
            if exc.status_code in (404, 410):
                raise NotStored(int(exc.status_code)) from None
            raise
        raise NotStored(404)  # an answer without a redirect carries no blob to read

    async def issue(self, number: int) -> Issue:
        url, url_vars = self._url("/repos/{owner}/{repo}/issues/{number}", number=number)
        data = await self.gh.getitem(url, url_vars)
        return Issue(
            number=number,
            body=data.get("body") or "",
            state=str(data.get("state", "open")),
            author=str((data.get("user") or {}).get("login", "")),
            assignees=tuple(a["login"] for a in data.get("assignees") or []),
            is_pull_request="pull_request" in data,
        )

    async def update_issue_body(self, number: int, body: str) -> None:
        url, url_vars = self._url("/repos/{owner}/{repo}/issues/{number}", number=number)
        await self.gh.patch(url, url_vars, data={"body": body})

    async def bot_login(self) -> str:
        """The login of the App's bot account (see ``AppAPI.bot_login``)."""
        if self.gh.identity is None:
            raise RuntimeError("the App's identity is unknown: its own comments cannot be told apart")
        return await self.gh.identity.bot_login()

    async def comment_bodies(self, number: int) -> list[str]:
        """The bodies of the comments the App itself wrote on an issue.

        Anyone can post a comment holding the bot's hidden markers (invisible once rendered), so only
        the App's own comments may say what was already announced or declined.
        """
        login = (await self.bot_login()).lower()
        url, url_vars = self._url(
            "/repos/{owner}/{repo}/issues/{number}/comments{?per_page}",
            number=number,
            per_page=PAGE_SIZE,
        )
        return [
            c.get("body") or ""
            async for c in self.gh.getiter(url, url_vars)
            if str((c.get("user") or {}).get("login", "")).lower() == login
        ]

    async def said(self, number: int, marker: str) -> bool:
        """Whether one of the App's own comments on an issue holds ``marker`` (what makes an
        announcement, a reply or a report once-only)."""
        return any(marker in body for body in await self.comment_bodies(number))

    async def compare_status(self, base: str, head: str) -> str | None:
        """Where ``head`` stands relative to ``base``: "ahead" (base is its ancestor), "identical",
        "behind" or "diverged"; None when GitHub knows no such commit or branch (404)."""
        answer = await self._get_or_none(
            "/repos/{owner}/{repo}/compare/{basehead}{?per_page}", basehead=f"{base}...{head}", per_page=1
        )
        return None if answer is None else str(answer.get("status", ""))

    async def post_comment(self, number: int, body: str) -> None:
        url, url_vars = self._url("/repos/{owner}/{repo}/issues/{number}/comments", number=number)
        await self.gh.post(url, url_vars, data={"body": body})

    async def open_pull_requests(self) -> list[dict[str, Any]]:
        url, url_vars = self._url(
            "/repos/{owner}/{repo}/pulls{?state,per_page}", state="open", per_page=PAGE_SIZE
        )
        return [pr async for pr in self.gh.getiter(url, url_vars)]

    async def request_reviewers(
        self, pull_number: int, reviewers: tuple[str, ...], team_reviewers: tuple[str, ...]
    ) -> None:
        url, url_vars = self._url(
            "/repos/{owner}/{repo}/pulls/{number}/requested_reviewers", number=pull_number
        )
        data: dict[str, list[str]] = {"reviewers": list(reviewers)}
        if team_reviewers:
            data["team_reviewers"] = list(team_reviewers)
        await self.gh.post(url, url_vars, data=data)

    async def add_assignees(self, number: int, logins: tuple[str, ...]) -> None:
        url, url_vars = self._url("/repos/{owner}/{repo}/issues/{number}/assignees", number=number)
        await self.gh.post(url, url_vars, data={"assignees": list(logins)})

    async def permission(self, login: str) -> str:
        """The user's permission on the repository: "admin", "write", "read" or "none"."""
        answer = await self._get_or_none(
            "/repos/{owner}/{repo}/collaborators/{username}/permission", username=login
        )
        return "none" if answer is None else str(answer.get("permission", "none"))

    async def react(self, comment_id: int, content: str) -> None:
        url, url_vars = self._url(
            "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", comment_id=comment_id
        )
        await self.gh.post(url, url_vars, data={"content": content})

    async def add_labels(self, number: int, labels: tuple[str, ...]) -> None:
        url, url_vars = self._url("/repos/{owner}/{repo}/issues/{number}/labels", number=number)
        await self.gh.post(url, url_vars, data={"labels": list(labels)})

    async def branch_head(self, branch: str) -> str | None:
        """The commit a branch points at, or None when there is no such branch."""
        answer = await self._get_or_none("/repos/{owner}/{repo}/branches/{branch}", branch=branch)
        return None if answer is None else str(answer["commit"]["sha"])

    async def recent_commits(self, branch: str, count: int) -> list[str]:
        """The newest ``count`` commits reachable from a branch (at most one page), newest first."""
        url, url_vars = self._url(
            "/repos/{owner}/{repo}/commits{?sha,per_page}", sha=branch, per_page=min(count, PAGE_SIZE)
        )
        answer = await self.gh.getitem(url, url_vars)
        return [str(commit["sha"]) for commit in answer][:count]
