"""Issues and their comments, assignees, labels and reactions, with GitHub's limits and silent rules."""

from __future__ import annotations

from typing import Any

from bot.testing.fake_github.calls import Answer, Call, paginate
from bot.testing.fake_github.records import GitHubError
from bot.testing.fake_github.state import Repository

MAX_BODY = 65_536  # GitHub: "body is too long (maximum is 65536 characters)"
MAX_ASSIGNEES = 10  # GitHub keeps at most 10 assignees per issue


def check_body_length(body: str | None, resource: str) -> None:
    if body is not None and len(body) > MAX_BODY:
        message = f"body is too long (maximum is {MAX_BODY} characters)"
        raise GitHubError(
            422,
            "Validation Failed",
            reason=f"{resource} {message}: {len(body)}",
            errors=[{"resource": resource, "code": "custom", "field": "body", "message": message}],
        )


def _names(items: list[Any], key: str) -> list[str]:
    """Request lists take plain strings or objects with a name/login."""
    return [item if isinstance(item, str) else str(item[key]) for item in items]


def set_assignees(call: Call, repo: Repository, issue: dict[str, Any], logins: list[str]) -> None:
    kept = [login for login in logins if repo.can_be_assigned(login, issue)]
    dropped = sorted(set(logins) - set(kept))
    if dropped:
        call.notes.append(f"GitHub silently ignores assignees who are not collaborators: {dropped}")
    users = [call.world.shapes.user(login) for login in dict.fromkeys(kept)][:MAX_ASSIGNEES]
    issue["assignees"] = users
    issue["assignee"] = users[0] if users else None


def get_issue(call: Call) -> Answer:
    return Answer(200, call.repository().issue(call.params["issue_number"], rejection=False))


def update_issue(call: Call) -> Answer:
    repo = call.repository()
    issue = repo.issue(call.params["issue_number"])
    changes = call.json
    check_body_length(changes.get("body"), "Issue")
    if "title" in changes and changes["title"] is not None:
        issue["title"] = str(changes["title"])
    if "body" in changes:
        issue["body"] = changes["body"]
    if changes.get("state") in ("open", "closed") and changes["state"] != issue["state"]:
        closing = changes["state"] == "closed"
        issue["state"] = changes["state"]
        issue["closed_at"] = call.world.now_iso() if closing else None
        issue["closed_by"] = call.world.shapes.user(call.world.bot_login) if closing else None
        issue["state_reason"] = changes.get("state_reason") or ("completed" if closing else "reopened")
    if "labels" in changes:
        names = _names(changes["labels"], "name")
        issue["labels"] = [call.world.label(repo, name) for name in dict.fromkeys(names)]
    if "assignees" in changes:
        set_assignees(call, repo, issue, _names(changes["assignees"], "login"))
    elif "assignee" in changes:
        set_assignees(call, repo, issue, [changes["assignee"]] if changes["assignee"] else [])
    issue["updated_at"] = call.world.now_iso()
    return Answer(200, issue)


def list_comments(call: Call) -> Answer:
    repo = call.repository()
    number = call.params["issue_number"]
    repo.issue(number, rejection=False)
    comments = repo.comments[number]
    since = call.query.get("since")
    if since is not None:
        comments = [c for c in comments if c["updated_at"] >= since]
    page, headers = paginate(call, comments)
    return Answer(200, page, headers)


def create_comment(call: Call) -> Answer:
    repo = call.repository()
    body = call.json["body"]
    check_body_length(body, "IssueComment")
    comment = call.world.new_comment(repo, call.params["issue_number"], body, call.world.bot_login)
    return Answer(201, comment, {"Location": comment["url"]})


def add_assignees(call: Call) -> Answer:
    repo = call.repository()
    issue = repo.issue(call.params["issue_number"])
    current = [user["login"] for user in issue["assignees"]]
    set_assignees(call, repo, issue, current + _names(call.json.get("assignees", []), "login"))
    issue["updated_at"] = call.world.now_iso()
    return Answer(201, issue)


def add_labels(call: Call) -> Answer:
    repo = call.repository()
    issue = repo.issue(call.params["issue_number"])
    current = [label["name"] for label in issue["labels"]]
    wanted = current + _names(call.json.get("labels", []), "name")
    issue["labels"] = [call.world.label(repo, name) for name in dict.fromkeys(wanted)]
    issue["updated_at"] = call.world.now_iso()
    return Answer(200, issue["labels"])


def create_reaction_for_issue_comment(call: Call) -> Answer:
    """201 for a new reaction; 200 with the existing one when the same user already reacted so."""
    world = call.world
    repo = call.repository()
    comment = world.find_comment(repo, call.params["comment_id"])
    content = call.json["content"]
    given = repo.reactions.setdefault(comment["id"], [])
    existing = [r for r in given if r["content"] == content]
    if existing:
        return Answer(200, existing[0])
    reaction_id = world.new_id()
    reaction = {
        "id": reaction_id,
        "node_id": f"REA_{reaction_id}",
        "user": world.shapes.user(world.bot_login),
        "content": content,
        "created_at": world.now_iso(),
    }
    given.append(reaction)
    comment["reactions"][content] += 1
    comment["reactions"]["total_count"] += 1
    return Answer(201, reaction)
