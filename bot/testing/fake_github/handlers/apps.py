"""App-level operations: the App's installations and their tokens, an installation's repositories,
hook deliveries."""

from __future__ import annotations

from typing import Any

from bot.testing.fake_github.auth import RegisteredApp
from bot.testing.fake_github.calls import Answer, Call, paginate
from bot.testing.fake_github.records import GitHubError, not_found
from bot.testing.fake_github.shapes import HTML_ROOT

LEVELS = {"read": 1, "write": 2, "admin": 3}


def create_installation_access_token(call: Call) -> Answer:
    world, app = call.world, call.app
    assert app is not None  # the server authenticated the JWT before dispatching here
    installation_id = call.params["installation_id"]
    if installation_id not in world.installations:
        raise not_found(f"app {app.app_id} has no installation {installation_id}")
    granted = dict(app.permissions)
    wanted: dict[str, str] = call.json.get("permissions") or granted
    for name, level in wanted.items():
        if LEVELS.get(granted.get(name, ""), 0) < LEVELS[level]:
            raise GitHubError(
                422,
                "The permissions requested are not granted to this installation.",
                reason=f"permission {name}={level} is beyond the app's {granted.get(name)}",
            )
    installed = world.installations[installation_id]
    names = _requested_repositories(call, installed)
    token = world.tokens.mint(installation_id, world.clock.now(), wanted, names)
    body: dict[str, Any] = {
        "token": token.token,
        "expires_at": world.clock.iso(token.expires_at),
        "permissions": wanted,
        "repository_selection": "selected",
    }
    if names is not None:
        body["repositories"] = [world.repository(name).json for name in names]
    return Answer(201, body)


def _requested_repositories(call: Call, installed: list[str]) -> list[str] | None:
    """Narrowing by name or id, as the request body may ask; unknown ones are GitHub's 422."""
    names: list[str] = []
    by_name = {n.split("/")[1].lower(): n for n in installed}
    for name in call.json.get("repositories") or []:
        if name.lower() not in by_name:
            raise _not_in_installation(f"repository {name!r}")
        names.append(by_name[name.lower()])
    by_id = {call.world.repository(n).json["id"]: n for n in installed}
    for repo_id in call.json.get("repository_ids") or []:
        if repo_id not in by_id:
            raise _not_in_installation(f"repository id {repo_id}")
        names.append(by_id[repo_id])
    return names or None


def _not_in_installation(what: str) -> GitHubError:
    return GitHubError(
        422,
        "There is at least one repository that does not exist or is not accessible to the parent"
        " installation.",
        reason=f"{what} is not in the installation",
    )


def list_installations(call: Call) -> Answer:
    """Every installation of the App, oldest first, each owned by its first repository's owner."""
    app = call.app
    assert app is not None  # the server authenticated the JWT before dispatching here
    installations = [
        _installation_json(call, app, installation_id, names)
        for installation_id, names in sorted(call.world.installations.items())
    ]
    page, headers = paginate(call, installations)
    return Answer(200, page, headers)


def _installation_json(
    call: Call, app: RegisteredApp, installation_id: int, names: list[str]
) -> dict[str, Any]:
    world = call.world
    login = names[0].split("/")[0] if names else "octocat"
    at = world.now_iso()
    # The description (octokit 23.0.2) requires the account to be both a Simple User and an Enterprise
    # (allOf where GitHub means anyOf); the Enterprise-only fields satisfy it without changing the user.
    account = {**world.shapes.user(login), "name": login, "slug": login, "created_at": at, "updated_at": at}
    return {
        "id": installation_id,
        "account": account,
        "repository_selection": "selected",
        "access_tokens_url": f"{world.shapes.api}/app/installations/{installation_id}/access_tokens",
        "repositories_url": f"{world.shapes.api}/installation/repositories",
        "html_url": f"{HTML_ROOT}/settings/installations/{installation_id}",
        "app_id": app.app_id,
        "app_slug": app.slug,
        "target_id": account["id"],
        "target_type": account["type"],
        "permissions": dict(app.permissions),
        "events": ["check_run", "check_suite", "workflow_run", "issues", "issue_comment"],
        "created_at": at,
        "updated_at": at,
        "single_file_name": None,
        "suspended_by": None,
        "suspended_at": None,
    }


def list_repos_accessible_to_installation(call: Call) -> Answer:
    assert call.token is not None
    names = call.token.repositories or call.world.installations.get(call.token.installation_id, [])
    repos = [call.world.repository(n).json for n in names]
    page, headers = paginate(call, repos)
    return Answer(
        200,
        {"total_count": len(repos), "repository_selection": "selected", "repositories": page},
        headers,
    )


def list_webhook_deliveries(call: Call) -> Answer:
    """Newest first, cursor-paginated as GitHub does for this endpoint."""
    deliveries = sorted(call.world.hook_deliveries, key=lambda d: -int(d["id"]))
    status = call.query.get("status")
    if status is not None:
        deliveries = [d for d in deliveries if (d["status_code"] < 400) == (status == "success")]
    cursor = call.query.get("cursor")
    if cursor is not None:
        deliveries = [d for d in deliveries if int(d["id"]) < int(cursor)]
    per_page = min(int(call.query.get("per_page", 30)), 100)
    page = deliveries[:per_page]
    headers = {}
    if len(deliveries) > per_page:
        headers["Link"] = f'<{call.url}?per_page={per_page}&cursor={page[-1]["id"]}>; rel="next"'
    return Answer(200, page, headers)


def redeliver_webhook_delivery(call: Call) -> Answer:
    delivery_id = call.params["delivery_id"]
    for delivery in call.world.hook_deliveries:
        if delivery["id"] == delivery_id:
            call.world.redeliveries.append(delivery_id)
            return Answer(202, {})
    raise not_found(f"no hook delivery {delivery_id}")


def get_authenticated(call: Call) -> Answer:
    """The App its JWT belongs to; its bot account is ``<slug>[bot]``."""
    app = call.app
    assert app is not None  # the server authenticated the JWT before dispatching here
    json = call.world.shapes.app(app.slug, app.app_id)
    json["permissions"] = dict(app.permissions)
    json["installations_count"] = len(call.world.installations)
    return Answer(200, json)
