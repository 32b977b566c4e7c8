"""GitHub's App manifest flow: the page a manifest is posted to, and the one-time code it redirects with.

The page refuses what GitHub's refuses (a manifest that is not JSON, lacks its homepage or hook URL, asks
an unknown access level, or subscribes to an event its permissions do not cover); the code is worth the
new App's private key, for one hour and one conversion.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

from bot.testing.fake_github.auth import RegisteredApp
from bot.testing.fake_github.calls import Answer, Call
from bot.testing.fake_github.records import GitHubError, not_found
from bot.testing.fake_github.state import ManifestCode, World
from bot.testing.loopback import new_app_key

ACCESS_LEVELS = ("read", "write", "admin")
CODE_LIFETIME = 60 * 60  # GitHub: "you have one hour to exchange the code"
# The permission GitHub requires before an App may subscribe to each event (for the events it knows).
EVENT_PERMISSIONS = {
    "check_run": "checks",
    "check_suite": "checks",
    "workflow_run": "actions",
    "workflow_job": "actions",
    "push": "contents",
    "create": "contents",
    "delete": "contents",
    "release": "contents",
    "issues": "issues",
    "issue_comment": "issues",
    "label": "issues",
    "milestone": "issues",
    "pull_request": "pull_requests",
    "pull_request_review": "pull_requests",
    "pull_request_review_comment": "pull_requests",
}


def manifest_problems(manifest: Any) -> list[str]:
    """Why GitHub's registration page would refuse ``manifest``; empty when it would show the form."""
    if not isinstance(manifest, dict):
        return ["the manifest is not a JSON object"]
    problems = []
    if not _is_url(manifest.get("url")):
        problems.append("url (the App's homepage) is required and must be a URL")
    hook = manifest.get("hook_attributes")
    if not isinstance(hook, dict) or not _is_url(hook.get("url")):
        problems.append("hook_attributes.url is required and must be a URL")
    if "redirect_url" in manifest and not _is_url(manifest["redirect_url"]):
        problems.append("redirect_url must be a URL")
    permissions = manifest.get("default_permissions") or {}
    if not isinstance(permissions, dict):
        problems.append("default_permissions must be an object")
        permissions = {}
    problems += [
        f"default_permissions.{name}: {level!r} is not read, write or admin"
        for name, level in permissions.items()
        if level not in ACCESS_LEVELS
    ]
    for event in manifest.get("default_events") or []:
        needed = EVENT_PERMISSIONS.get(event)
        if needed is not None and needed not in permissions:
            problems.append(f"default_events: {event} needs the {needed} permission")
    return problems


def _is_url(value: Any) -> bool:
    parts = urlsplit(value) if isinstance(value, str) else None
    return parts is not None and parts.scheme in ("http", "https") and bool(parts.netloc)


def slug_of(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "app"


def create_app(world: World, manifest: dict[str, Any], name: str, owner: dict[str, Any], web_url: str) -> str:
    """Register the App the form describes and return the code its redirect carries."""
    key = new_app_key()
    app_id, slug = world.new_id(), slug_of(name)
    permissions = {"metadata": "read", **(manifest.get("default_permissions") or {})}
    world.apps[app_id] = RegisteredApp(app_id, key.public_pem, slug, permissions)
    app_json = world.shapes.app(slug, app_id)
    app_json.update(
        name=name,
        owner=owner,
        description=str(manifest.get("description") or ""),
        external_url=manifest["url"],
        html_url=f"{web_url}/apps/{slug}",
        permissions=permissions,
        events=list(manifest.get("default_events") or []),
        client_secret=secrets.token_hex(20),
        webhook_secret=secrets.token_hex(20),
        pem=key.private_pem.decode(),
    )
    code = secrets.token_hex(10)
    world.manifest_codes[code] = ManifestCode(app_json, world.clock.now())
    return code


def redirect_target(manifest: dict[str, Any], code: str, state: str | None) -> str:
    query = {"code": code, **({"state": state} if state is not None else {})}
    return f"{manifest['redirect_url']}?{urlencode(query)}"


def create_from_manifest(call: Call) -> Answer:
    """``POST /app-manifests/{code}/conversions``: the App's id, key and webhook secret, once."""
    found = call.world.manifest_codes.get(call.params["code"])
    # A used or expired code is something a correct client meets (a reload, a slow user): not a rejection.
    if found is None:
        raise not_found("no registration has this code", rejection=False)
    if found.used or call.world.clock.now() >= found.issued_at + CODE_LIFETIME:
        raise not_found("the code was used already or is older than one hour", rejection=False)
    found.used = True
    return Answer(201, dict(found.app_json))


def refusal(problems: list[str]) -> GitHubError:
    return GitHubError(422, "Invalid GitHub App configuration", reason="; ".join(problems))


__all__ = ["create_app", "create_from_manifest", "manifest_problems", "redirect_target", "refusal"]
