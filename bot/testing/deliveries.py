"""Signed deliveries built from GitHub's published webhook examples, for the demo and the tests.

Each payload starts as GitHub's own example (``bot/testing/payloads``, copied from @octokit/webhooks-examples
by ``scripts/extract_webhook_examples.py``) and only the fields that tie it to a repository, an installation
and a commit are replaced.
"""

from __future__ import annotations

import copy
import json
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp

from bot.intake.webhook import SIGNATURE_HEADER, sign

PAYLOADS = Path(__file__).resolve().parent / "payloads"


@cache
def _example(name: str) -> str:
    return (PAYLOADS / f"{name}.json").read_text(encoding="utf-8")


def example(name: str) -> dict[str, Any]:
    """A fresh copy of a published example, e.g. ``example("check_run.completed")``."""
    loaded: dict[str, Any] = json.loads(_example(name))
    return loaded


def _place(payload: dict[str, Any], repository: dict[str, Any], installation_id: int | None) -> None:
    payload["repository"] = copy.deepcopy(repository)
    if installation_id is None:
        payload.pop("installation", None)
    else:
        payload["installation"] = {
            "id": installation_id,
            "node_id": f"MDIzOkluc3RhbGxhdGlvbi{installation_id}",
        }


def check_run_completed(
    repository: dict[str, Any],
    check_run: dict[str, Any],
    *,
    installation_id: int | None,
    head_branch: str | None,
) -> dict[str, Any]:
    """``check_run.completed`` for a check run as the fake (or GitHub) reports it."""
    payload = example("check_run.completed")
    run = payload["check_run"]
    run.update(
        {
            k: check_run[k]
            for k in ("id", "name", "head_sha", "status", "conclusion", "output", "completed_at")
            if k in check_run
        }
    )
    run["check_suite"]["head_branch"] = head_branch
    run["check_suite"]["head_sha"] = check_run["head_sha"]
    run["check_suite"]["pull_requests"] = []
    _place(payload, repository, installation_id)
    return payload


def check_suite_completed(
    repository: dict[str, Any], *, sha: str, head_branch: str | None, installation_id: int | None
) -> dict[str, Any]:
    payload = example("check_suite.completed")
    payload["check_suite"].update(head_sha=sha, head_branch=head_branch, after=sha, pull_requests=[])
    _place(payload, repository, installation_id)
    return payload


def workflow_run_completed(
    repository: dict[str, Any], workflow_run: dict[str, Any], *, installation_id: int | None
) -> dict[str, Any]:
    """``workflow_run.completed`` for a workflow run as the fake (or GitHub) reports it."""
    payload = example("workflow_run.completed")
    run = payload["workflow_run"]
    for key in (
        "id",
        "name",
        "head_sha",
        "head_branch",
        "status",
        "conclusion",
        "check_suite_id",
        "run_attempt",
    ):
        if key in workflow_run:
            run[key] = workflow_run[key]
    run["pull_requests"] = []
    # A run of a fork's pull request names the fork here; GitHub's example names another repository.
    run["head_repository"] = copy.deepcopy(workflow_run.get("head_repository") or repository)
    run["repository"] = copy.deepcopy(repository)
    _place(payload, repository, installation_id)
    return payload


def pushed(
    repository: dict[str, Any],
    *,
    branch: str,
    before: str,
    after: str,
    paths: list[str],
    installation_id: int | None,
) -> dict[str, Any]:
    """``push`` of one commit, ``after``, to ``branch``, changing ``paths``."""
    payload = example("push")
    commit = {
        "id": after,
        "tree_id": after,
        "distinct": True,
        "message": "A push",
        "timestamp": "2026-01-01T00:00:00Z",
        "url": f"{repository['html_url']}/commit/{after}",
        "author": {"name": "zoe", "email": "zoe@users.noreply.github.com", "username": "zoe"},
        "committer": {"name": "zoe", "email": "zoe@users.noreply.github.com", "username": "zoe"},
        "added": [],
        "removed": [],
        "modified": paths,
    }
    payload.update(
        ref=f"refs/heads/{branch}", before=before, after=after, commits=[commit], head_commit=commit
    )
    _place(payload, repository, installation_id)
    return payload


def issue_edited(
    repository: dict[str, Any],
    issue: dict[str, Any],
    *,
    previous_body: str,
    sender: str,
    sender_type: str = "User",
    installation_id: int | None,
) -> dict[str, Any]:
    """``issues.edited`` as GitHub sends it after a body edit: the new issue and the body it replaced."""
    payload = example("issues.edited")
    payload["issue"].update({k: issue[k] for k in ("number", "title", "body", "state", "user") if k in issue})
    payload["changes"] = {"body": {"from": previous_body}}
    payload["sender"].update(login=sender, type=sender_type)
    _place(payload, repository, installation_id)
    return payload


def issue_comment_created(
    repository: dict[str, Any],
    issue: dict[str, Any],
    comment: dict[str, Any],
    *,
    sender_type: str = "User",
    installation_id: int | None,
) -> dict[str, Any]:
    """``issue_comment.created`` for a comment as the fake (or GitHub) stores it."""
    payload = example("issue_comment.created")
    payload["issue"].update({k: issue[k] for k in ("number", "title", "body", "state", "user") if k in issue})
    payload["issue"].pop("pull_request", None)
    payload["comment"].update({k: comment[k] for k in ("id", "body", "user") if k in comment})
    payload["sender"].update(login=comment["user"]["login"], type=sender_type)
    _place(payload, repository, installation_id)
    return payload


def _short(repository: dict[str, Any]) -> dict[str, Any]:
    """A repository as installation events list it: id, names and visibility only."""
    return {k: repository[k] for k in ("id", "node_id", "name", "full_name", "private") if k in repository}


def installation(action: str, repositories: list[dict[str, Any]], *, installation_id: int) -> dict[str, Any]:
    """``installation.created``, ``.new_permissions_accepted`` or ``.deleted`` for these repositories."""
    payload = example(f"installation.{action}")
    payload["installation"]["id"] = installation_id
    payload["repositories"] = [_short(repository) for repository in repositories]
    return payload


def installation_repositories(
    action: str, repositories: list[dict[str, Any]], *, installation_id: int
) -> dict[str, Any]:
    """``installation_repositories.added`` or ``.removed`` of these repositories."""
    payload = example(f"installation_repositories.{action}")
    payload["installation"]["id"] = installation_id
    payload["repositories_added"] = [_short(r) for r in repositories] if action == "added" else []
    payload["repositories_removed"] = [_short(r) for r in repositories] if action == "removed" else []
    return payload


def pull_request(
    action: str, repository: dict[str, Any], pull: dict[str, Any], *, installation_id: int | None
) -> dict[str, Any]:
    """``pull_request.opened``, ``.reopened`` or ``.ready_for_review`` for a pull request as the fake (or
    GitHub) reports it."""
    payload = example(f"pull_request.{action}")
    payload["number"] = pull["number"]
    payload["pull_request"] = copy.deepcopy(pull)
    _place(payload, repository, installation_id)
    return payload


def signed_headers(secret: bytes, event: str, body: bytes, delivery_id: str | None = None) -> dict[str, str]:
    """The headers GitHub sends with a delivery."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/044aadd",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-GitHub-Hook-ID": "292430182",
        SIGNATURE_HEADER: sign(secret, body),
    }


async def deliver(
    session: aiohttp.ClientSession,
    url: str,
    secret: bytes,
    event: str,
    payload: dict[str, Any],
    *,
    delivery_id: str | None = None,
) -> int:
    """POST a signed delivery to the bot; returns the HTTP status it answered. A redelivery keeps
    its ``delivery_id``."""
    body = json.dumps(payload).encode()
    headers = signed_headers(secret, event, body, delivery_id)
    async with session.post(url, data=body, headers=headers) as answer:
        await answer.read()
        return answer.status
