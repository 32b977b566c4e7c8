"""Building the fake's world from a test or the demo: synchronous, and changes nothing over HTTP."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

from bot.testing.fake_github.auth import RegisteredApp
from bot.testing.fake_github.blobs import Blob
from bot.testing.fake_github.records import Clock
from bot.testing.fake_github.shapes import HTML_ROOT, blob_sha, node_id
from bot.testing.fake_github.state import Artifact, Repository, World

# The App's manifest (app.yaml) asks for exactly these.
DEFAULT_PERMISSIONS = {
    "actions": "read",
    "checks": "read",
    "contents": "read",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}
ARTIFACT_LIFETIME = 90 * 24 * 3600
SEVERITY = ("action_required", "failure", "timed_out", "cancelled", "stale", "neutral", "skipped", "success")


class Seeding:
    """Seeding and state inspection, shared by ``FakeGitHub``."""

    world: World
    clock: Clock
    url: str

    def _repo(self, full_name: str) -> Repository:
        if not self.url:
            raise RuntimeError("start() the fake before seeding it: its JSON carries its own URL")
        return self.world.repository(full_name)

    # -- apps and installations --------------------------------------------------------------

    def register_app(
        self,
        app_id: int,
        public_key_pem: bytes,
        slug: str = "issue-status-bot",
        permissions: dict[str, str] | None = None,
    ) -> None:
        self.world.apps[app_id] = RegisteredApp(
            app_id, public_key_pem, slug, dict(permissions or DEFAULT_PERMISSIONS)
        )

    def add_installation(self, installation_id: int, repositories: list[str]) -> None:
        self.world.installations[installation_id] = list(repositories)

    def add_hook_delivery(
        self,
        event: str,
        action: str | None = None,
        *,
        status_code: int = 200,
        installation_id: int | None = None,
        guid: str | None = None,
        redelivery: bool = False,
        delivered_at: float | None = None,
    ) -> dict[str, Any]:
        """One attempt at a delivery, as the App's delivery log lists it. Attempts of one event share
        its ``guid`` (the X-GitHub-Delivery header); ``delivered_at`` is seconds since the epoch."""
        delivery_id = self.world.new_id()
        delivery = {
            "id": delivery_id,
            "guid": guid or f"{delivery_id:08x}-0000-11ee-8000-000000000000",
            "delivered_at": self.clock.iso(delivered_at),
            "redelivery": redelivery,
            "duration": 0.27,
            "status": "OK" if status_code < 400 else "Bad Request",
            "status_code": status_code,
            "event": event,
            "action": action,
            "installation_id": installation_id,
            "repository_id": None,
            "throttled_at": None,
        }
        self.world.hook_deliveries.append(delivery)
        return delivery

    def uninstall(self, installation_id: int) -> None:
        """The App is uninstalled: the installation is gone, and so are the tokens minted for it."""
        self.world.installations.pop(installation_id, None)
        for token in self.world.tokens.tokens.values():
            if token.installation_id == installation_id:
                token.revoked = True

    def set_installation_repositories(self, installation_id: int, repositories: list[str]) -> None:
        """Repositories added to or removed from an installation: its tokens see these from now on."""
        self.world.installations[installation_id] = list(repositories)

    # -- repositories and files --------------------------------------------------------------

    def add_repository(
        self, full_name: str, default_branch: str = "main", private: bool = False
    ) -> dict[str, Any]:
        if not self.url:
            raise RuntimeError("start() the fake before seeding it: its JSON carries its own URL")
        world = self.world
        json = world.shapes.repository(full_name, world.new_id(), default_branch, private, world.now_iso())
        repo = Repository(json=json)
        world.repositories[full_name.lower()] = repo
        world.commit(repo, default_branch, {}, "Initial commit", json["owner"]["login"])
        return copy.deepcopy(json)

    def add_fork(self, full_name: str, of: str) -> dict[str, Any]:
        """A fork of ``of``: another repository, which the App is not installed on."""
        json = self.add_repository(full_name, default_branch=self._repo(of).default_branch)
        json["fork"] = True
        self._repo(full_name).json["fork"] = True
        return json

    def add_commit(
        self,
        full_name: str,
        sha: str,
        *,
        branch: str | None,
        parent: str | None = None,
        message: str = "A commit",
        author: str = "zoe",
    ) -> str:
        """A commit with a chosen sha and its parent's files. With a ``branch`` it is pushed there (its
        parent is the branch's head; a new branch starts at the default branch). With ``branch=None``
        it is on none of the repository's branches: a fork's commit that a pull request brought into
        the network (its parent defaults to the default branch's head)."""
        world, repo = self.world, self._repo(full_name)
        start = repo.branches[repo.default_branch]
        if branch is not None:
            parent = repo.branches.setdefault(branch, start)
        parent = parent or start
        if sha not in repo.commits:
            world.record_commit(repo, sha, parent, dict(repo.commits.get(parent, {})), message, author)
        if branch is not None:
            repo.branches[branch] = sha
        return sha

    def put_file(self, full_name: str, path: str, content: bytes | str, ref: str | None = None) -> str:
        """Commit ``content`` at ``path`` on branch ``ref`` (default branch; a new branch forks it)."""
        repo = self._repo(full_name)
        data = content.encode() if isinstance(content, str) else bytes(content)
        branch = ref or repo.default_branch
        base = repo.branches.get(branch, repo.branches[repo.default_branch])
        tree = {**repo.commits[base], path.strip("/"): data}
        if branch not in repo.branches:
            repo.branches[branch] = base
        self.world.commit(repo, branch, tree, f"Update {path}", repo.json["owner"]["login"])
        return blob_sha(data)

    def delete_file(self, full_name: str, path: str, ref: str | None = None) -> None:
        """Commit the removal of ``path`` on branch ``ref`` (default branch)."""
        repo = self._repo(full_name)
        branch = ref or repo.default_branch
        tree = {p: data for p, data in repo.commits[repo.branches[branch]].items() if p != path.strip("/")}
        self.world.commit(repo, branch, tree, f"Delete {path}", repo.json["owner"]["login"])

    def add_collaborator(self, full_name: str, login: str, permission: str = "write") -> None:
        self._repo(full_name).collaborators[login.lower()] = permission

    def add_team(self, full_name: str, slug: str) -> None:
        """A team with access to the repository, so reviews may be requested from it."""
        self._repo(full_name).teams.add(slug.lower())

    # -- issues and pull requests ------------------------------------------------------------

    def add_issue(
        self, full_name: str, title: str, body: str, user: str = "zoe", number: int | None = None
    ) -> dict[str, Any]:
        return self.world.new_issue(self._repo(full_name), title, body, user, number)

    def add_comment(
        self, full_name: str, issue_number: int, body: str, user: str = "octocat"
    ) -> dict[str, Any]:
        return self.world.new_comment(self._repo(full_name), issue_number, body, user)

    def edit_issue_body(self, full_name: str, number: int, body: str, user: str = "zoe") -> dict[str, Any]:
        """A human edits the issue in the browser (``user`` is who; GitHub keeps no author per edit)."""
        issue = self._repo(full_name).issue(number)
        issue["body"] = body
        issue["updated_at"] = self.world.now_iso()
        return issue

    def set_issue_state(self, full_name: str, number: int, state: str) -> dict[str, Any]:
        """A human closes or reopens the issue."""
        issue = self._repo(full_name).issue(number)
        issue["state"] = state
        issue["updated_at"] = self.world.now_iso()
        return issue

    def unassign_all(self, full_name: str, number: int) -> dict[str, Any]:
        """A human removes every assignee from the issue."""
        issue = self._repo(full_name).issue(number)
        issue["assignees"] = []
        issue["assignee"] = None
        issue["updated_at"] = self.world.now_iso()
        return issue

    def add_pull_request(
        self,
        full_name: str,
        head_ref: str,
        head_sha: str,
        base_ref: str = "main",
        title: str = "...",
        number: int | None = None,
        state: str = "open",
        user: str = "zoe",
        head_repository: str | None = None,
    ) -> dict[str, Any]:
        """A pull request from a branch of the same repository, or of the fork ``head_repository``; its
        head commit becomes known too (a fork's on none of this repository's branches)."""
        world, repo = self.world, self._repo(full_name)
        head_repo = self._repo(head_repository) if head_repository is not None else repo
        from_fork = head_repo is not repo
        if head_sha not in repo.commits:
            parent = repo.resolve(base_ref) or repo.branches[repo.default_branch]
            world.record_commit(repo, head_sha, parent, dict(repo.commits[parent]), title, user)
        if not from_fork:
            repo.branches[head_ref] = head_sha
        issue = world.new_issue(repo, title, None, user, number)
        number = issue["number"]
        issue["pull_request"] = world.shapes.pull_request_link(full_name, number)
        issue["state"] = "closed" if state == "closed" else "open"
        api = f"{world.shapes.api}/repos/{full_name}"
        url = f"{api}/pulls/{number}"
        html = f"{HTML_ROOT}/{full_name}/pull/{number}"

        def side(ref: str, sha: str, where: Repository) -> dict[str, Any]:
            return {
                "label": f"{where.json['owner']['login']}:{ref}",
                "ref": ref,
                "sha": sha,
                "user": where.json["owner"],
                "repo": where.json,
            }

        pull = {
            "url": url,
            "id": issue["id"] + 1,
            "node_id": node_id("PullRequest", issue["id"]),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue["url"],
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": issue["comments_url"],
            "statuses_url": f"{api}/statuses/{head_sha}",
            "number": number,
            "state": issue["state"],
            "locked": False,
            "title": title,
            "user": issue["user"],
            "body": None,
            "labels": [],
            "milestone": None,
            "active_lock_reason": None,
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "closed_at": None,
            "merged_at": None,
            "merge_commit_sha": None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": side(head_ref, head_sha, head_repo),
            "base": side(base_ref, repo.resolve(base_ref) or "", repo),
            "_links": {
                name: {"href": href}
                for name, href in {
                    "self": url,
                    "html": html,
                    "issue": issue["url"],
                    "comments": issue["comments_url"],
                    "review_comments": f"{url}/comments",
                    "review_comment": f"{api}/pulls/comments{{/number}}",
                    "commits": f"{url}/commits",
                    "statuses": f"{api}/statuses/{head_sha}",
                }.items()
            },
            "author_association": "COLLABORATOR",
            "auto_merge": None,
            "draft": False,
        }
        repo.pulls[number] = pull
        return pull

    def set_pull_request(
        self, full_name: str, number: int, *, draft: bool, state: str = "open"
    ) -> dict[str, Any]:
        """A pull request marked as draft or ready for review, closed or reopened; returns it as the
        webhook's ``pull_request`` shows it."""
        repo = self._repo(full_name)
        pull = repo.pulls[number]
        pull.update(draft=draft, state=state, updated_at=self.world.now_iso())
        repo.issue(number)["state"] = state
        return copy.deepcopy(pull)

    def review_submitted(self, full_name: str, number: int, login: str) -> None:
        """``login`` reviewed the pull request: GitHub no longer lists them as requested."""
        pull = self._repo(full_name).pulls[number]
        pull["requested_reviewers"] = [
            user for user in pull["requested_reviewers"] if user["login"].lower() != login.lower()
        ]

    # -- checks ------------------------------------------------------------------------------

    def add_check_run(
        self,
        full_name: str,
        head_sha: str,
        name: str,
        *,
        status: str = "completed",
        conclusion: str | None = "success",
        output: dict[str, Any] | None = None,
        head_branch: str | None = None,
        app_slug: str = "github-actions",
        check_suite_id: int | None = None,
        started_at: str | None = None,
        completed_at: str | None = None,
    ) -> dict[str, Any]:
        world, repo = self.world, self._repo(full_name)
        self._ran_on(full_name, head_sha, head_branch)
        suite = self._suite(repo, head_sha, head_branch, app_slug, check_suite_id)
        run_id = world.new_id()
        url = f"{world.shapes.api}/repos/{full_name}/check-runs/{run_id}"
        now = world.now_iso()
        done = status == "completed"
        given = output or {}
        run = {
            "id": run_id,
            "node_id": node_id("CheckRun", run_id),
            "head_sha": head_sha,
            "external_id": "",
            "url": url,
            "html_url": f"{HTML_ROOT}/{full_name}/runs/{run_id}",
            "details_url": f"{HTML_ROOT}/{full_name}/actions/runs/{run_id}/job/{run_id}",
            "status": status,
            "conclusion": conclusion if done else None,
            "started_at": started_at or now,
            "completed_at": (completed_at or now) if done else None,
            "output": {
                "title": given.get("title"),
                "summary": given.get("summary"),
                "text": given.get("text"),
                "annotations_count": int(given.get("annotations_count", 0)),
                "annotations_url": f"{url}/annotations",
            },
            "name": name,
            "check_suite": {"id": suite["id"]},
            "app": suite["app"],
            "pull_requests": [],
        }
        repo.check_runs.append(run)
        self._settle(repo, suite)
        return copy.deepcopy(run)

    def _ran_on(self, full_name: str, sha: str, branch: str | None) -> None:
        """CI ran on ``sha``, so the commit exists: one the fake does not know yet was pushed to
        ``branch`` (to no branch when there is none). Seed a fork's commit with ``add_commit`` first."""
        if sha not in self._repo(full_name).commits:
            self.add_commit(full_name, sha, branch=branch, message="Pushed for CI")

    def _suite(
        self, repo: Repository, head_sha: str, head_branch: str | None, app_slug: str, suite_id: int | None
    ) -> dict[str, Any]:
        """The check suite a run belongs to: GitHub keeps one per app and commit."""
        for suite in repo.check_suites.values():
            if suite_id == suite["id"] or (
                suite_id is None and suite["head_sha"] == head_sha and suite["app"]["slug"] == app_slug
            ):
                return suite
        world = self.world
        sid = suite_id if suite_id is not None else world.new_id()
        at = world.now_iso()
        person = {"name": "zoe", "email": "zoe@users.noreply.github.com"}
        repo.check_suites[sid] = {
            "id": sid,
            "node_id": node_id("CheckSuite", sid),
            "head_branch": head_branch,
            "head_sha": head_sha,
            "status": "queued",
            "conclusion": None,
            "url": f"{world.shapes.api}/repos/{repo.full_name}/check-suites/{sid}",
            "before": None,
            "after": head_sha,
            "pull_requests": [],
            "app": world.shapes.app(app_slug),
            "repository": repo.json,
            "created_at": at,
            "updated_at": at,
            "head_commit": {
                "id": head_sha,
                "tree_id": head_sha,
                "message": "",
                "timestamp": at,
                "author": person,
                "committer": person,
            },
            "latest_check_runs_count": 0,
            "check_runs_url": f"{world.shapes.api}/repos/{repo.full_name}/check-suites/{sid}/check-runs",
            "rerequestable": True,
            "runs_rerequestable": True,
        }
        return repo.check_suites[sid]

    def _settle(self, repo: Repository, suite: dict[str, Any]) -> None:
        """A suite is complete when all its runs are; its conclusion is the most severe of theirs."""
        runs = [r for r in repo.check_runs if r["check_suite"]["id"] == suite["id"]]
        suite["latest_check_runs_count"] = len(runs)
        suite["updated_at"] = self.world.now_iso()
        workflow_busy = any(
            w["check_suite_id"] == suite["id"] and w["status"] != "completed"
            for w in repo.workflow_runs.values()
        )
        if all(r["status"] == "completed" for r in runs) and not workflow_busy:
            suite["status"] = "completed"
            conclusions = [r["conclusion"] for r in runs if r["conclusion"] in SEVERITY]
            suite["conclusion"] = min(conclusions, key=SEVERITY.index) if conclusions else None
        else:
            suite["status"] = "in_progress"
            suite["conclusion"] = None

    # -- actions -----------------------------------------------------------------------------

    def add_job_log(self, full_name: str, job_id: int, text: str | bytes) -> None:
        repo = self._repo(full_name)
        data = text.encode() if isinstance(text, str) else bytes(text)
        repo.job_logs[job_id] = data
        key = f"{repo.full_name}/jobs/{job_id}/log"
        self.world.blobs.blobs[key] = Blob(data, "text/plain; charset=utf-8")

    def add_generated_job_log(
        self, full_name: str, job_id: int, size: int, generate: Callable[[], Iterator[bytes]]
    ) -> None:
        """A log too large to hold (hundreds of MB), produced chunk by chunk when downloaded."""
        repo = self._repo(full_name)
        repo.job_logs[job_id] = b""
        key = f"{repo.full_name}/jobs/{job_id}/log"
        self.world.blobs.blobs[key] = Blob(b"", "text/plain; charset=utf-8", generate=generate, size=size)

    def add_workflow_run(
        self,
        full_name: str,
        head_sha: str,
        name: str = "CI",
        *,
        head_branch: str | None = None,
        status: str = "completed",
        conclusion: str | None = "success",
        run_attempt: int = 1,
        head_repository: str | None = None,
    ) -> dict[str, Any]:
        """A GitHub Actions workflow run with its own check suite; give its ``check_suite_id`` to
        ``add_check_run`` for each of its jobs. ``head_repository``: the fork a pull request's run
        came from."""
        world, repo = self.world, self._repo(full_name)
        branch = head_branch or repo.default_branch
        self._ran_on(full_name, head_sha, branch)
        suite = self._suite(repo, head_sha, branch, "github-actions", world.new_id())
        suite["status"] = "in_progress" if status != "completed" else "queued"
        run_id = world.new_id()
        url = f"{world.shapes.api}/repos/{full_name}/actions/runs/{run_id}"
        now = world.now_iso()
        run = {
            "id": run_id,
            "name": name,
            "node_id": node_id("WorkflowRun", run_id),
            "head_branch": branch,
            "head_sha": head_sha,
            "path": ".github/workflows/ci.yml",
            "display_title": name,
            "run_number": len(repo.workflow_runs) + 1,
            "event": "push",
            "status": status,
            "conclusion": conclusion if status == "completed" else None,
            "workflow_id": 161335,
            "check_suite_id": suite["id"],
            "check_suite_node_id": suite["node_id"],
            "url": url,
            "html_url": f"{HTML_ROOT}/{full_name}/actions/runs/{run_id}",
            "pull_requests": [],
            "created_at": now,
            "updated_at": now,
            "run_attempt": run_attempt,
            "run_started_at": now,
            "jobs_url": f"{url}/jobs",
            "logs_url": f"{url}/logs",
            "check_suite_url": suite["url"],
            "artifacts_url": f"{url}/artifacts",
            "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun",
            "workflow_url": f"{world.shapes.api}/repos/{full_name}/actions/workflows/161335",
            "repository": repo.json,
            "head_repository": self._repo(head_repository).json if head_repository else repo.json,
        }
        repo.workflow_runs[run_id] = run
        return copy.deepcopy(run)

    def complete_workflow_run(
        self, full_name: str, run_id: int, conclusion: str = "success"
    ) -> dict[str, Any]:
        repo = self._repo(full_name)
        run = repo.workflow_runs[run_id]
        run.update(status="completed", conclusion=conclusion, updated_at=self.world.now_iso())
        self._settle(repo, repo.check_suites[run["check_suite_id"]])
        return copy.deepcopy(run)

    def add_artifact(
        self, full_name: str, run_id: int, name: str, zip_bytes: bytes, expired: bool = False
    ) -> dict[str, Any]:
        world, repo = self.world, self._repo(full_name)
        artifact_id = world.new_id()
        url = f"{world.shapes.api}/repos/{repo.full_name}/actions/artifacts/{artifact_id}"
        now = self.clock.now()
        json = {
            "id": artifact_id,
            "node_id": node_id("Artifact", artifact_id),
            "name": name,
            "size_in_bytes": len(zip_bytes),
            "url": url,
            "archive_download_url": f"{url}/zip",
            "expired": expired,
            "created_at": self.clock.iso(now),
            "updated_at": self.clock.iso(now),
            "expires_at": self.clock.iso(now + (-1 if expired else ARTIFACT_LIFETIME)),
            "digest": "sha256:" + hashlib.sha256(zip_bytes).hexdigest(),
            "workflow_run": {
                "id": run_id,
                "repository_id": repo.json["id"],
                "head_repository_id": repo.json["id"],
                "head_branch": repo.default_branch,
                "head_sha": repo.branches[repo.default_branch],
            },
        }
        repo.artifacts[artifact_id] = Artifact(json, zip_bytes)
        repo.run_artifacts.setdefault(run_id, []).append(artifact_id)
        world.blobs.blobs[f"{repo.full_name}/artifacts/{artifact_id}.zip"] = Blob(
            zip_bytes, "application/zip"
        )
        return copy.deepcopy(json)

    # -- reading state back ------------------------------------------------------------------

    def head(self, full_name: str, branch: str | None = None) -> str:
        """The commit a branch (the default branch) points at."""
        repo = self._repo(full_name)
        return repo.branches[branch or repo.default_branch]

    @property
    def redeliveries(self) -> list[int]:
        """The hook deliveries the App asked to redeliver, in the order asked."""
        return list(self.world.redeliveries)

    def issue(self, full_name: str, number: int) -> dict[str, Any]:
        return copy.deepcopy(self._repo(full_name).issue(number))

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        repo = self._repo(full_name)
        repo.issue(number)
        return copy.deepcopy(repo.comments[number])

    def requested_reviewers(self, full_name: str, pull_number: int) -> dict[str, list[str]]:
        pull = self._repo(full_name).pulls[pull_number]
        return {
            "users": [u["login"] for u in pull["requested_reviewers"]],
            "teams": [t["slug"] for t in pull["requested_teams"]],
        }
