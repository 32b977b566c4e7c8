"""Pull requests: listing with GitHub's filters, and review requests with its collaborator rules."""

from __future__ import annotations

from bot.testing.fake_github.calls import Answer, Call, paginate
from bot.testing.fake_github.records import GitHubError, not_found


def list_pulls(call: Call) -> Answer:
    repo = call.repository()
    state = call.query.get("state", "open")
    pulls = [p for p in repo.pulls.values() if state == "all" or p["state"] == state]
    head = call.query.get("head")
    if head is not None:
        if ":" in head:
            owner, _, ref = head.partition(":")
            pulls = [
                p
                for p in pulls
                if p["head"]["ref"] == ref and p["head"]["user"]["login"].lower() == owner.lower()
            ]
        else:
            call.notes.append(f"head={head!r} is not 'user:ref'; GitHub ignores such a filter")
    if "base" in call.query:
        pulls = [p for p in pulls if p["base"]["ref"] == call.query["base"]]
    sort = call.query.get("sort", "created")
    key = "updated_at" if sort in ("updated", "long-running") else "created_at"
    default = "desc" if sort == "created" else "asc"
    newest_first = call.query.get("direction", default) == "desc"
    pulls.sort(key=lambda p: (p[key], p["number"]), reverse=newest_first)
    page, headers = paginate(call, pulls)
    return Answer(200, page, headers)


def request_reviewers(call: Call) -> Answer:
    repo = call.repository()
    number = call.params["pull_number"]
    if number not in repo.pulls:
        raise not_found(f"{repo.full_name} has no pull request #{number}")
    pull = repo.pulls[number]
    users = list(call.json.get("reviewers") or [])
    teams = list(call.json.get("team_reviewers") or [])
    author = pull["user"]["login"]
    if any(login.lower() == author.lower() for login in users):
        raise GitHubError(
            422,
            "Review cannot be requested from pull request author.",
            reason=f"{author} is the author of #{number}",
        )
    strangers = [u for u in users if u.lower() not in repo.collaborators]
    strangers += [f"team {t}" for t in teams if t.lower() not in repo.teams]
    if strangers:
        raise GitHubError(
            422,
            "Reviews may only be requested from collaborators. One or more of the users or teams you"
            f" specified is not a collaborator of the {repo.full_name} repository.",
            reason=f"not collaborators of {repo.full_name}: {strangers}",
        )
    known_users = {u["login"].lower() for u in pull["requested_reviewers"]}
    for login in users:
        if login.lower() not in known_users:
            pull["requested_reviewers"].append(call.world.shapes.user(login))
            known_users.add(login.lower())
    known_teams = {t["slug"] for t in pull["requested_teams"]}
    for slug in teams:
        if slug.lower() not in known_teams:
            pull["requested_teams"].append(call.world.team(repo, slug))
            known_teams.add(slug.lower())
    return Answer(201, pull)
