"""Repository reads: the repository, file contents, commits, branches and collaborator permissions."""

from __future__ import annotations

from typing import Any

from bot.testing.fake_github.calls import Answer, Call, paginate
from bot.testing.fake_github.records import not_found
from bot.testing.fake_github.shapes import HTML_ROOT, blob_sha, wrap_base64
from bot.testing.fake_github.state import Repository

# The legacy ``permission`` field folds the finer roles into admin / write / read.
LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
}


def get_repository(call: Call) -> Answer:
    return Answer(200, call.repository().json)


def _commit_or_404(repo: Repository, ref: str | None) -> str:
    sha = repo.resolve(ref)
    if sha is None:
        raise not_found(f"{repo.full_name} has no ref {ref!r}", rejection=False)
    return sha


def _content_entry(
    call: Call, repo: Repository, path: str, ref: str, content: bytes | None
) -> dict[str, Any]:
    api = f"{call.world.shapes.api}/repos/{repo.full_name}"
    is_file = content is not None
    sha = blob_sha(content) if content is not None else blob_sha(path.encode())
    url = f"{api}/contents/{path}?ref={ref}"
    git_url = f"{api}/git/{'blobs' if is_file else 'trees'}/{sha}"
    html_url = f"{HTML_ROOT}/{repo.full_name}/{'blob' if is_file else 'tree'}/{ref}/{path}"
    return {
        "type": "file" if is_file else "dir",
        "size": len(content) if content is not None else 0,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "url": url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}"
        if is_file
        else None,
        "_links": {"self": url, "git": git_url, "html": html_url},
    }


def get_content(call: Call) -> Answer:
    repo = call.repository()
    ref = call.query.get("ref") or repo.default_branch
    tree = repo.commits[_commit_or_404(repo, ref)]
    path = str(call.params["path"]).strip("/")
    if path in tree:
        entry = _content_entry(call, repo, path, ref, tree[path])
        entry.update(content=wrap_base64(tree[path]), encoding="base64")
        return Answer(200, entry)
    children = sorted({p[len(path) + 1 :].split("/")[0] for p in tree if p.startswith(path + "/")})
    if not children:
        raise not_found(f"{repo.full_name} has no {path} at {ref}", rejection=False)
    listing = []
    for child in children:
        full = f"{path}/{child}"
        listing.append(_content_entry(call, repo, full, ref, tree.get(full)))
    return Answer(200, listing)


def _ancestry(repo: Repository, sha: str) -> list[dict[str, Any]]:
    by_sha = {commit["sha"]: commit for commit in repo.history}
    return [by_sha[ancestor] for ancestor in repo.ancestry(sha)]


def list_commits(call: Call) -> Answer:
    repo = call.repository()
    if not repo.commits:
        raise not_found("Git Repository is empty.", rejection=False)
    commits = _ancestry(repo, _commit_or_404(repo, call.query.get("sha")))
    path = call.query.get("path")
    if path is not None:
        commits = [c for c in commits if path in repo.commits[c["sha"]]]
    page, headers = paginate(call, commits)
    return Answer(200, page, headers)


def get_branch(call: Call) -> Answer:
    repo = call.repository()
    name = str(call.params["branch"])
    if name not in repo.branches:
        raise not_found(f"{repo.full_name} has no branch {name}", rejection=False)
    commit = _ancestry(repo, repo.branches[name])[0]
    url = f"{call.world.shapes.api}/repos/{repo.full_name}/branches/{name}"
    return Answer(
        200,
        {
            "name": name,
            "commit": commit,
            "_links": {"self": url, "html": f"{HTML_ROOT}/{repo.full_name}/tree/{name}"},
            "protected": False,
            "protection": {
                "enabled": False,
                "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
            },
            "protection_url": f"{url}/protection",
        },
    )


def get_collaborator_permission_level(call: Call) -> Answer:
    """A non-collaborator reads as 'read' on a public repository and 'none' on a private one."""
    repo = call.repository()
    login = str(call.params["username"])
    role = repo.collaborators.get(login.lower())
    if role is None:
        role = "none" if repo.json["private"] else "read"
    user = call.world.shapes.user(login)
    user["role_name"] = role
    permission = LEGACY_PERMISSION.get(role, "none")
    return Answer(200, {"permission": permission, "role_name": role, "user": user})


def compare_commits(call: Call) -> Answer:
    """``BASE...HEAD`` as GitHub compares them: the status says where HEAD stands relative to BASE
    ("ahead": BASE is an ancestor of HEAD), the commits listed are those of HEAD not in BASE."""
    repo = call.repository()
    base_ref, separator, head_ref = str(call.params["basehead"]).partition("...")
    if not separator:
        raise not_found(f"{call.params['basehead']!r} is not BASE...HEAD", rejection=False)
    base, head = _commit_or_404(repo, base_ref), _commit_or_404(repo, head_ref)
    base_line, head_line = repo.ancestry(base), repo.ancestry(head)
    merge_base = next((sha for sha in head_line if sha in base_line), None)
    if merge_base is None:
        raise not_found(f"{base_ref} and {head_ref} share no history", rejection=False)
    ahead_by, behind_by = head_line.index(merge_base), base_line.index(merge_base)
    status = (
        "identical"
        if not ahead_by and not behind_by
        else "ahead"
        if not behind_by
        else "behind"
        if not ahead_by
        else "diverged"
    )
    commits = _ancestry(repo, head)[:ahead_by][::-1]  # oldest first, as GitHub lists them
    page, headers = paginate(call, commits)
    html = f"{HTML_ROOT}/{repo.full_name}/compare/{base_ref}...{head_ref}"
    return Answer(
        200,
        {
            "url": f"{call.world.shapes.api}/repos/{repo.full_name}/compare/{base_ref}...{head_ref}",
            "html_url": html,
            "permalink_url": f"{HTML_ROOT}/{repo.full_name}/compare/{base}...{head}",
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "base_commit": _ancestry(repo, base)[0],
            "merge_base_commit": _ancestry(repo, merge_base)[0],
            "status": status,
            "ahead_by": ahead_by,
            "behind_by": behind_by,
            "total_commits": ahead_by,
            "commits": page,
            "files": [],
        },
        headers,
    )
