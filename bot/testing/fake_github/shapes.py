"""GitHub's JSON shapes, complete enough to satisfy the 2xx schemas of GitHub's REST description.

API URLs point at the fake (a client that follows ``url`` fields stays on loopback); ``html_url``s point
at github.com, as the bot renders them into issues.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

HTML_ROOT = "https://github.com"
REACTION_KINDS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")


def stable_id(*parts: object) -> int:
    """A positive id derived from a name, so the same user or app always has the same id."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") % 90_000_000 + 1_000_000


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def blob_sha(content: bytes) -> str:
    """The git blob id of ``content``: what the contents API answers as ``sha``."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def wrap_base64(content: bytes) -> str:
    """Base64 with a newline every 60 characters, exactly as the contents API sends it."""
    encoded = base64.b64encode(content).decode()
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


class Shapes:
    """Builders for each kind of object, bound to the fake's base URL."""

    def __init__(self, api_url: str) -> None:
        self.api = api_url.rstrip("/")

    def user(self, login: str) -> dict[str, Any]:
        bot = login.endswith("[bot]")
        uid = stable_id("user", login)
        url = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": uid,
            "node_id": node_id("Bot" if bot else "User", uid),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{uid}?v=4",
            "gravatar_id": "",
            "url": url,
            "html_url": f"{HTML_ROOT}/{'apps/' + login[:-5] if bot else login}",
            "followers_url": f"{url}/followers",
            "following_url": f"{url}/following{{/other_user}}",
            "gists_url": f"{url}/gists{{/gist_id}}",
            "starred_url": f"{url}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{url}/subscriptions",
            "organizations_url": f"{url}/orgs",
            "repos_url": f"{url}/repos",
            "events_url": f"{url}/events{{/privacy}}",
            "received_events_url": f"{url}/received_events",
            "type": "Bot" if bot else "User",
            "user_view_type": "public",
            "site_admin": False,
        }

    def app(self, slug: str, app_id: int | None = None) -> dict[str, Any]:
        aid = app_id if app_id is not None else stable_id("app", slug)
        return {
            "id": aid,
            "slug": slug,
            "node_id": node_id("App", aid),
            "client_id": f"Iv1.{aid:016x}",
            "owner": self.user(slug.split("-")[0]),
            "name": slug,
            "description": "",
            "external_url": f"{HTML_ROOT}/apps/{slug}",
            "html_url": f"{HTML_ROOT}/apps/{slug}",
            "created_at": "2024-01-01T00:00:00Z",
            "updated_at": "2024-01-01T00:00:00Z",
            "permissions": {"checks": "write", "metadata": "read"},
            "events": [],
        }

    def repository(
        self, full_name: str, repo_id: int, default_branch: str, private: bool, at: str
    ) -> dict[str, Any]:
        owner, name = full_name.split("/")
        url = f"{self.api}/repos/{full_name}"
        html = f"{HTML_ROOT}/{full_name}"
        templated = {
            "archive_url": "/{archive_format}{/ref}",
            "assignees_url": "/assignees{/user}",
            "blobs_url": "/git/blobs{/sha}",
            "branches_url": "/branches{/branch}",
            "collaborators_url": "/collaborators{/collaborator}",
            "comments_url": "/comments{/number}",
            "commits_url": "/commits{/sha}",
            "compare_url": "/compare/{base}...{head}",
            "contents_url": "/contents/{+path}",
            "contributors_url": "/contributors",
            "deployments_url": "/deployments",
            "downloads_url": "/downloads",
            "events_url": "/events",
            "forks_url": "/forks",
            "git_commits_url": "/git/commits{/sha}",
            "git_refs_url": "/git/refs{/sha}",
            "git_tags_url": "/git/tags{/sha}",
            "hooks_url": "/hooks",
            "issue_comment_url": "/issues/comments{/number}",
            "issue_events_url": "/issues/events{/number}",
            "issues_url": "/issues{/number}",
            "keys_url": "/keys{/key_id}",
            "labels_url": "/labels{/name}",
            "languages_url": "/languages",
            "merges_url": "/merges",
            "milestones_url": "/milestones{/number}",
            "notifications_url": "/notifications{?since,all,participating}",
            "pulls_url": "/pulls{/number}",
            "releases_url": "/releases{/id}",
            "stargazers_url": "/stargazers",
            "statuses_url": "/statuses/{sha}",
            "subscribers_url": "/subscribers",
            "subscription_url": "/subscription",
            "tags_url": "/tags",
            "teams_url": "/teams",
            "trees_url": "/git/trees{/sha}",
        }
        return {
            "id": repo_id,
            "node_id": node_id("Repository", repo_id),
            "name": name,
            "full_name": full_name,
            "owner": self.user(owner),
            "private": private,
            "visibility": "private" if private else "public",
            "html_url": html,
            "description": None,
            "fork": False,
            "url": url,
            **{key: url + suffix for key, suffix in templated.items()},
            "git_url": f"git://github.com/{full_name}.git",
            "ssh_url": f"git@github.com:{full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "mirror_url": None,
            "homepage": None,
            "language": "Python",
            "forks": 0,
            "forks_count": 0,
            "stargazers_count": 0,
            "watchers": 0,
            "watchers_count": 0,
            "subscribers_count": 1,
            "network_count": 0,
            "size": 1,
            "default_branch": default_branch,
            "open_issues": 0,
            "open_issues_count": 0,
            "is_template": False,
            "topics": [],
            "has_issues": True,
            "has_projects": True,
            "has_wiki": True,
            "has_pages": False,
            "has_downloads": True,
            "has_discussions": False,
            "archived": False,
            "disabled": False,
            "license": None,
            "allow_forking": True,
            "web_commit_signoff_required": False,
            "pushed_at": at,
            "created_at": at,
            "updated_at": at,
            "permissions": {"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
        }

    def label(self, full_name: str, name: str, label_id: int) -> dict[str, Any]:
        return {
            "id": label_id,
            "node_id": node_id("Label", label_id),
            "url": f"{self.api}/repos/{full_name}/labels/{name}",
            "name": name,
            "description": None,
            "color": "ededed",
            "default": False,
        }

    def reactions(self, url: str) -> dict[str, Any]:
        return {"url": f"{url}/reactions", "total_count": 0, **dict.fromkeys(REACTION_KINDS, 0)}

    def pull_request_link(self, full_name: str, number: int) -> dict[str, Any]:
        return {
            "url": f"{self.api}/repos/{full_name}/pulls/{number}",
            "html_url": f"{HTML_ROOT}/{full_name}/pull/{number}",
            "diff_url": f"{HTML_ROOT}/{full_name}/pull/{number}.diff",
            "patch_url": f"{HTML_ROOT}/{full_name}/pull/{number}.patch",
            "merged_at": None,
        }

    def commit(self, full_name: str, sha: str, message: str, author: str, at: str) -> dict[str, Any]:
        url = f"{self.api}/repos/{full_name}/commits/{sha}"
        person = {"name": author, "email": f"{author}@users.noreply.github.com", "date": at}
        return {
            "sha": sha,
            "node_id": node_id("Commit", stable_id(sha)),
            "url": url,
            "html_url": f"{HTML_ROOT}/{full_name}/commit/{sha}",
            "comments_url": f"{url}/comments",
            "commit": {
                "url": f"{self.api}/repos/{full_name}/git/commits/{sha}",
                "author": person,
                "committer": person,
                "message": message,
                "comment_count": 0,
                "tree": {"sha": hashlib.sha1(f"tree {sha}".encode()).hexdigest(), "url": url},
            },
            "author": self.user(author),
            "committer": self.user(author),
            "parents": [],
        }
