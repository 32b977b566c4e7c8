"""The fake's world: repositories and what lives in them, kept as GitHub keeps it.

Objects are stored as the JSON GitHub answers with and changed in place, so what a client reads back is
exactly what an earlier call wrote. Like GitHub, issues and pull requests share one number sequence,
every pull request is also an issue, and repository names are case-insensitive.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, field
from typing import Any

from bot.testing.fake_github.auth import RegisteredApp, TokenStore
from bot.testing.fake_github.blobs import BlobStore
from bot.testing.fake_github.records import Clock, not_found
from bot.testing.fake_github.shapes import HTML_ROOT, Shapes, blob_sha, node_id

Tree = dict[str, bytes]


@dataclass
class Artifact:
    json: dict[str, Any]
    archive: bytes


@dataclass
class Repository:
    json: dict[str, Any]
    branches: dict[str, str] = field(default_factory=dict)  # name -> head commit sha
    commits: dict[str, Tree] = field(default_factory=dict)  # sha -> the files at that commit
    history: list[dict[str, Any]] = field(default_factory=list)  # commit JSON, newest first
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # issue -> comments
    reactions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # comment id -> reactions
    teams: set[str] = field(default_factory=set)  # slugs of teams with access
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    check_suites: dict[int, dict[str, Any]] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> permission
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    job_logs: dict[int, bytes] = field(default_factory=dict)
    artifacts: dict[int, Artifact] = field(default_factory=dict)
    run_artifacts: dict[int, list[int]] = field(default_factory=dict)  # run id -> artifact ids
    workflow_runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def full_name(self) -> str:
        return str(self.json["full_name"])

    @property
    def default_branch(self) -> str:
        return str(self.json["default_branch"])

    def resolve(self, ref: str | None) -> str | None:
        """The commit a ref names: a branch (``main``, ``heads/main``, ``refs/heads/main``) or a sha."""
        if ref is None:
            ref = self.default_branch
        for prefix in ("refs/heads/", "heads/"):
            ref = ref.removeprefix(prefix)
        if ref in self.branches:
            return self.branches[ref]
        if len(ref) >= 7:
            found = [sha for sha in self.commits if sha.startswith(ref.lower())]
            if len(found) == 1:
                return found[0]
        return None

    def ancestry(self, sha: str) -> list[str]:
        """``sha`` and its ancestors, newest first (the fake's commits have one parent each)."""
        by_sha = {commit["sha"]: commit for commit in self.history}
        chain = []
        while sha in by_sha and sha not in chain:
            chain.append(sha)
            parents = by_sha[sha]["parents"]
            sha = parents[0]["sha"] if parents else ""
        return chain

    def next_number(self, wanted: int | None) -> int:
        """Issues and pull requests share one sequence; an explicit number moves it past that one."""
        if wanted is None:
            while (number := next(self.numbers)) in self.issues:
                pass
            return number
        self.numbers = itertools.count(max([wanted, *self.issues]) + 1)
        return wanted

    def issue(self, number: int, *, rejection: bool = True) -> dict[str, Any]:
        if number not in self.issues:
            raise not_found(f"{self.full_name} has no issue #{number}", rejection=rejection)
        return self.issues[number]

    def can_be_assigned(self, login: str, issue: dict[str, Any]) -> bool:
        """GitHub assigns only collaborators (and the issue's author); others are dropped silently."""
        return login.lower() in self.collaborators or login == issue["user"]["login"]


@dataclass
class ManifestCode:
    """What a manifest registration left for ``POST /app-manifests/{code}/conversions`` to hand over once."""

    app_json: dict[str, Any]
    issued_at: float
    used: bool = False


@dataclass
class World:
    """Everything the fake knows; handlers read and change it, seeding methods build it."""

    shapes: Shapes
    clock: Clock
    blobs: BlobStore
    apps: dict[int, RegisteredApp] = field(default_factory=dict)
    installations: dict[int, list[str]] = field(default_factory=dict)
    repositories: dict[str, Repository] = field(default_factory=dict)
    tokens: TokenStore = field(default_factory=TokenStore)
    hook_deliveries: list[dict[str, Any]] = field(default_factory=list)
    redeliveries: list[int] = field(default_factory=list)
    manifest_codes: dict[str, ManifestCode] = field(default_factory=dict)  # registrations' codes
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1_000_001))

    def new_id(self) -> int:
        return next(self.ids)

    def now_iso(self) -> str:
        return self.clock.iso()

    @property
    def app(self) -> RegisteredApp:
        """The one registered app (the bot); installations and tokens belong to it."""
        if not self.apps:
            raise LookupError("register_app() first")
        return next(iter(self.apps.values()))

    @property
    def bot_login(self) -> str:
        return f"{self.app.slug}[bot]"

    def repository(self, full_name: str, *, rejection: bool = True) -> Repository:
        repo = self.repositories.get(full_name.lower())
        if repo is None:
            raise not_found(f"no repository {full_name}", rejection=rejection)
        return repo

    def installation_of(self, full_name: str) -> int | None:
        for installation_id, names in self.installations.items():
            if full_name.lower() in (n.lower() for n in names):
                return installation_id
        return None

    def commit(self, repo: Repository, branch: str, tree: Tree, message: str, author: str) -> str:
        """Record a commit on ``branch`` holding ``tree``; its sha is derived from parent and tree."""
        parent = repo.branches.get(branch, "")
        digest = hashlib.sha1(parent.encode())
        for path in sorted(tree):
            digest.update(path.encode() + b"\0" + blob_sha(tree[path]).encode())
        sha = digest.hexdigest()
        self.record_commit(repo, sha, parent, tree, message, author)
        repo.branches[branch] = sha
        return sha

    def record_commit(
        self, repo: Repository, sha: str, parent: str | None, tree: Tree, message: str, author: str
    ) -> None:
        """Make ``sha`` a commit of the repository's network, child of ``parent``; no branch moves."""
        repo.commits[sha] = tree
        json = self.shapes.commit(repo.full_name, sha, message, author, self.now_iso())
        if parent:
            json["parents"] = [
                {
                    "sha": parent,
                    "url": f"{self.shapes.api}/repos/{repo.full_name}/commits/{parent}",
                    "html_url": f"{HTML_ROOT}/{repo.full_name}/commit/{parent}",
                }
            ]
        repo.history.insert(0, json)

    def new_issue(
        self, repo: Repository, title: str, body: str | None, user: str, number: int | None
    ) -> dict[str, Any]:
        number = repo.next_number(number)
        issue_id = self.new_id()
        url = f"{self.shapes.api}/repos/{repo.full_name}/issues/{number}"
        at = self.now_iso()
        issue: dict[str, Any] = {
            "id": issue_id,
            "node_id": node_id("Issue", issue_id),
            "url": url,
            "repository_url": f"{self.shapes.api}/repos/{repo.full_name}",
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{HTML_ROOT}/{repo.full_name}/issues/{number}",
            "number": number,
            "state": "open",
            "state_reason": None,
            "title": title,
            "body": body,
            "user": self.shapes.user(user),
            "labels": [],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": 0,
            "closed_at": None,
            "closed_by": None,
            "created_at": at,
            "updated_at": at,
            "author_association": "OWNER" if user == repo.json["owner"]["login"] else "COLLABORATOR",
            "reactions": self.shapes.reactions(url),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
        }
        repo.issues[number] = issue
        repo.comments[number] = []
        return issue

    def new_comment(self, repo: Repository, number: int, body: str, user: str) -> dict[str, Any]:
        issue = repo.issue(number)
        comment_id = self.new_id()
        url = f"{self.shapes.api}/repos/{repo.full_name}/issues/comments/{comment_id}"
        at = self.now_iso()
        comment = {
            "id": comment_id,
            "node_id": node_id("IssueComment", comment_id),
            "url": url,
            "html_url": f"{issue['html_url']}#issuecomment-{comment_id}",
            "issue_url": issue["url"],
            "body": body,
            "user": self.shapes.user(user),
            "created_at": at,
            "updated_at": at,
            "author_association": "NONE" if user.endswith("[bot]") else "COLLABORATOR",
            "reactions": self.shapes.reactions(url),
            "performed_via_github_app": None,
        }
        repo.comments[number].append(comment)
        issue["comments"] += 1
        issue["updated_at"] = at
        return comment

    def find_comment(self, repo: Repository, comment_id: int) -> dict[str, Any]:
        for comments in repo.comments.values():
            for comment in comments:
                if comment["id"] == comment_id:
                    return comment
        raise not_found(f"{repo.full_name} has no issue comment {comment_id}")

    def label(self, repo: Repository, name: str) -> dict[str, Any]:
        """The repository's label, created on first use as GitHub does when labels are added."""
        key = name.lower()
        if key not in repo.labels:
            repo.labels[key] = self.shapes.label(repo.full_name, name, self.new_id())
        return repo.labels[key]

    def team(self, repo: Repository, slug: str) -> dict[str, Any]:
        org = repo.json["owner"]["login"]
        team_id = self.new_id()
        url = f"{self.shapes.api}/orgs/{org}/teams/{slug}"
        return {
            "id": team_id,
            "node_id": node_id("Team", team_id),
            "url": url,
            "html_url": f"{HTML_ROOT}/orgs/{org}/teams/{slug}",
            "name": slug,
            "slug": slug,
            "description": None,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": "push",
            "members_url": f"{url}/members{{/member}}",
            "repositories_url": f"{url}/repos",
            "type": "organization",
            "parent": None,
        }
