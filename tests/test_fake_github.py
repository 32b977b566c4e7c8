"""The fake GitHub refuses what GitHub refuses, keeps state as GitHub does, and answers in GitHub's shapes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import subprocess
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gidgethub.apps import get_jwt
from multidict import CIMultiDictProxy

from bot.testing.fake_github import FakeGitHub
from bot.testing.fake_github.auth import EXP_PAST, IAT_INVALID
from bot.testing.fake_github.handlers import HANDLERS
from bot.testing.fake_github.shapes import blob_sha
from bot.testing.openapi import OpenAPISubset
from bot.testing.openapi.subset import SUBSET_PATH

APP_ID = 4242
INSTALLATION = 77
REPO = "platform-wrapper/backend"
OTHER_REPO = "platform-wrapper/secrets"


def _pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def stranger_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def fake(app_key: rsa.RSAPrivateKey) -> AsyncIterator[FakeGitHub]:
    github = FakeGitHub()
    await github.start()
    public = app_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    github.register_app(APP_ID, public)
    github.add_repository(REPO)
    github.add_repository(OTHER_REPO, private=True)
    github.add_installation(INSTALLATION, [REPO])
    github.add_issue(REPO, "Reach >90% test pass rate", "- [ ] >90% test pass rate achieved\n", number=2)
    try:
        yield github
    finally:
        await github.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def app_jwt(app_key: rsa.RSAPrivateKey) -> str:
    return get_jwt(app_id=str(APP_ID), private_key=_pem(app_key))


@pytest.fixture
async def token(fake: FakeGitHub, session: aiohttp.ClientSession, app_jwt: str) -> str:
    status, body, _ = await call(
        session, fake, "POST", f"/app/installations/{INSTALLATION}/access_tokens", auth=f"Bearer {app_jwt}"
    )
    assert status == 201
    return str(body["token"])


async def call(
    session: aiohttp.ClientSession,
    fake: FakeGitHub,
    method: str,
    path: str,
    *,
    auth: str | None = None,
    json: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, CIMultiDictProxy[str]]:
    sent = dict(headers or {})
    if auth is not None:
        sent["Authorization"] = auth
    async with session.request(
        method, fake.url + path, json=json, data=data, headers=sent, allow_redirects=False
    ) as answer:
        raw = await answer.read()
        body = await answer.json() if raw and answer.content_type == "application/json" else raw
        return answer.status, body, answer.headers


# -- the subset validator, pure ---------------------------------------------------------------

SUBSET = OpenAPISubset.load()


@pytest.mark.parametrize(
    ("method", "path", "operation_id"),
    [
        ("GET", "/repos/o/r/issues/2", "issues/get"),
        ("PATCH", "/repos/o/r/issues/2", "issues/update"),
        ("POST", "/repos/o/r/issues/comments/9/reactions", "reactions/create-for-issue-comment"),
        ("GET", "/repos/o/r/contents/.github/issue-status.yml", "repos/get-content"),
        ("GET", "/repos/o/r/contents/.github%2Fissue-status.yml", "repos/get-content"),
        ("GET", "/repos/o/r/commits/heads/fix/infra/check-runs", "checks/list-for-ref"),
        ("GET", "/repos/o/r/branches/fix/test-infrastructure", "repos/get-branch"),
        ("DELETE", "/repos/o/r/issues/2", None),
        ("GET", "/repos/o/r/issue/2", None),
    ],
)
def test_subset_routes_requests_as_githubs_router_does(
    method: str, path: str, operation_id: str | None
) -> None:
    operation = SUBSET.match(method, path)
    assert (operation.operation_id if operation else None) == operation_id


def test_subset_decodes_and_types_path_parameters() -> None:
    check = SUBSET.check("GET", "/repos/o/r/contents/.github%2Fissue-status.yml", [("ref", "main")])
    assert check.accepted
    assert check.path_params == {"owner": "o", "repo": "r", "path": ".github/issue-status.yml"}
    assert check.query == {"ref": "main"}


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "status", "message"),
    [
        ("GET", "/repos/o/r/issues/two", [], b"", 404, "issue_number='two'"),
        ("DELETE", "/repos/o/r/issues/2", [], b"", 404, "DELETE is not an operation"),
        ("GET", "/repos/o/r/tracking", [], b"", 404, "no operation of the subset matches"),
        ("GET", "/repos/o/r/pulls", [("state", "bogus")], b"", 422, "'bogus' is not one of"),
        ("GET", "/repos/o/r/pulls", [("page", "first")], b"", 422, "query parameter page='first'"),
        ("PATCH", "/repos/o/r/issues/2", [], b'{"body": 5}', 422, "For 'body', 5 is not of type"),
        ("PATCH", "/repos/o/r/issues/2", [], b'{"state": "done"}', 422, "For 'state', 'done'"),
        ("PATCH", "/repos/o/r/issues/2", [], b'{"body": "x"', 400, "Problems parsing JSON"),
        ("POST", "/repos/o/r/issues/2/comments", [], b"", 422, "No body was supplied"),
        ("POST", "/repos/o/r/issues/2/comments", [], b"{}", 422, "'body' is a required property"),
        ("POST", "/repos/o/r/issues/2/labels", [], b'{"labels": []}', 422, "should be non-empty"),
    ],
)
def test_subset_refuses_with_githubs_status(
    method: str, path: str, query: list[tuple[str, str]], body: bytes, status: int, message: str
) -> None:
    check = SUBSET.check(method, path, query, body)
    assert check.status == status
    assert message in check.violations[0].message


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "note"),
    [
        ("PATCH", "/repos/o/r/issues/2", [], b'{"body": null, "milestone": null}', None),
        ("GET", "/repos/o/r/pulls", [("per_page", "500")], b"", None),  # no maximum in the spec
        ("GET", "/repos/o/r/pulls", [("labels", "x")], b"", "unknown query parameter labels"),
        ("GET", "/repos/o/r/issues/2", [], b'{"a": 1}', "issues/get takes no body"),
    ],
)
def test_subset_accepts_what_github_accepts_and_notes_what_it_ignores(
    method: str, path: str, query: list[tuple[str, str]], body: bytes, note: str | None
) -> None:
    check = SUBSET.check(method, path, query, body)
    assert check.accepted, check.violations
    if note is None:
        assert check.notes == []
    else:
        assert len(check.notes) == 1 and note in check.notes[0]


def test_subset_is_self_contained_and_versioned() -> None:
    text = SUBSET_PATH.read_text(encoding="utf-8")
    assert '"$ref"' not in text
    assert SUBSET_PATH.stat().st_size < 2_000_000
    version = (SUBSET_PATH.parent / "VERSION").read_text(encoding="utf-8")
    assert f"version: {SUBSET.version}" in version
    assert "scripts/update_openapi_subset.py" in version


def test_every_operation_of_the_subset_has_a_handler() -> None:
    assert {op.operation_id for op in SUBSET.operations} == set(HANDLERS)


@pytest.mark.parametrize("content", [b"", b"trackers: []\n", "ünïcode\r\n".encode()])
def test_blob_sha_is_what_git_hash_object_computes(content: bytes) -> None:
    git = subprocess.run(["git", "hash-object", "--stdin"], input=content, capture_output=True, check=True)
    assert blob_sha(content) == git.stdout.decode().strip()


# -- GitHub App authentication ----------------------------------------------------------------


async def test_a_well_formed_app_jwt_mints_an_installation_token_for_one_hour(
    fake: FakeGitHub, session: aiohttp.ClientSession, app_jwt: str
) -> None:
    status, body, _ = await call(
        session, fake, "POST", f"/app/installations/{INSTALLATION}/access_tokens", auth=f"Bearer {app_jwt}"
    )
    assert status == 201
    assert body["token"].startswith("ghs_")
    expires = time.mktime(time.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert abs(expires - (time.time() + 3600)) < 5
    assert fake.tokens_minted == {INSTALLATION: 1}
    assert fake.rejections == []


def _claims(now: int, **changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"iat": now - 60, "exp": now + 540, "iss": str(APP_ID)}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("exp 11 minutes ahead", "'Expiration time' claim ('exp') is too far in the future"),
        ("exp in the past", EXP_PAST),
        ("no exp", EXP_PAST),
        ("iat in the future", IAT_INVALID),
        ("another app's iss", "A JSON web token could not be decoded"),
        ("iss not a number", "'Issuer' claim ('iss') must be an Integer"),
        ("HS256", "A JSON web token could not be decoded"),
        ("signed with another key", "A JSON web token could not be decoded"),
        ("not a JWT", "A JSON web token could not be decoded"),
    ],
)
async def test_an_app_jwt_github_would_refuse_answers_401_and_mints_nothing(
    fake: FakeGitHub,
    session: aiohttp.ClientSession,
    app_key: rsa.RSAPrivateKey,
    stranger_key: rsa.RSAPrivateKey,
    case: str,
    message: str,
) -> None:
    now = int(time.time())
    key, algorithm, claims = _pem(app_key), "RS256", _claims(now)
    if case == "exp 11 minutes ahead":
        claims = _claims(now, exp=now + 660)
    elif case == "exp in the past":
        claims = _claims(now, iat=now - 700, exp=now - 10)
    elif case == "no exp":
        claims = _claims(now, exp=None)
    elif case == "iat in the future":
        claims = _claims(now, iat=now + 30)
    elif case == "another app's iss":
        claims = _claims(now, iss="4243")
    elif case == "iss not a number":
        claims = _claims(now, iss="issue-status-bot")
    elif case == "HS256":
        key, algorithm = b"a-shared-secret-that-is-long-enough-for-hs256", "HS256"
    elif case == "signed with another key":
        key = _pem(stranger_key)
    token = "not.a.jwt" if case == "not a JWT" else jwt.encode(claims, key, algorithm=algorithm)
    status, body, _ = await call(
        session, fake, "POST", f"/app/installations/{INSTALLATION}/access_tokens", auth=f"Bearer {token}"
    )
    assert (status, body["message"]) == (401, message)
    assert body["documentation_url"].startswith("https://docs.github.com/")
    assert fake.tokens_minted == {}
    assert [r.status for r in fake.rejections] == [401]


async def test_a_token_for_an_unknown_installation_is_not_found(
    fake: FakeGitHub, session: aiohttp.ClientSession, app_jwt: str
) -> None:
    status, body, _ = await call(
        session, fake, "POST", "/app/installations/999/access_tokens", auth=f"Bearer {app_jwt}"
    )
    assert (status, body["message"]) == (404, "Not Found")
    assert fake.rejections[0].operation_id == "apps/create-installation-access-token"


async def test_a_token_asking_for_more_than_the_app_was_granted_is_refused(
    fake: FakeGitHub, session: aiohttp.ClientSession, app_jwt: str
) -> None:
    status, _, _ = await call(
        session,
        fake,
        "POST",
        f"/app/installations/{INSTALLATION}/access_tokens",
        auth=f"Bearer {app_jwt}",
        json={"permissions": {"contents": "write"}},
    )
    assert status == 422


@pytest.mark.parametrize("scheme", ["token", "Bearer"])
async def test_an_installation_token_works_with_either_scheme_until_it_expires(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str, scheme: str
) -> None:
    path = f"/repos/{REPO}/issues/2"
    assert (await call(session, fake, "GET", path, auth=f"{scheme} {token}"))[0] == 200
    fake.expire_tokens()
    status, body, _ = await call(session, fake, "GET", path, auth=f"{scheme} {token}")
    assert (status, body["message"]) == (401, "Bad credentials")
    assert fake.calls("GET", path)[-1].reason == "token expired"
    assert fake.rejections == []  # a bot meets expiry in normal life: it must mint again


async def test_an_installation_token_expires_after_an_hour_on_the_fakes_clock(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    path = f"/repos/{REPO}"
    fake.advance(3599)
    assert (await call(session, fake, "GET", path, auth=f"token {token}"))[0] == 200
    fake.advance(2)
    assert (await call(session, fake, "GET", path, auth=f"token {token}"))[0] == 401


@pytest.mark.parametrize(
    ("auth", "message", "reason"),
    [
        (None, "Requires authentication", "no Authorization header"),
        ("token ghs_000000000000000000000000000000000000", "Bad credentials", "unknown token"),
        ("jwt", "Bad credentials", "a JWT was used where GitHub needs an installation token"),
    ],
)
async def test_repository_endpoints_refuse_anything_but_a_live_installation_token(
    fake: FakeGitHub,
    session: aiohttp.ClientSession,
    app_jwt: str,
    auth: str | None,
    message: str,
    reason: str,
) -> None:
    header = f"Bearer {app_jwt}" if auth == "jwt" else auth
    status, body, _ = await call(session, fake, "GET", f"/repos/{REPO}/issues/2", auth=header)
    assert (status, body["message"]) == (401, message)
    assert [r.reason for r in fake.rejections] == [reason]


async def test_a_repository_outside_the_installation_is_not_found(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    status, body, _ = await call(session, fake, "GET", f"/repos/{OTHER_REPO}", auth=f"token {token}")
    assert (status, body) == (
        404,
        {
            "message": "Not Found",
            "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository",
            "status": "404",
        },
    )
    assert len(fake.rejections) == 1


async def test_a_token_without_the_permission_gets_resource_not_accessible(
    fake: FakeGitHub, session: aiohttp.ClientSession, app_jwt: str
) -> None:
    _, minted, _ = await call(
        session,
        fake,
        "POST",
        f"/app/installations/{INSTALLATION}/access_tokens",
        auth=f"Bearer {app_jwt}",
        json={"permissions": {"issues": "read"}},
    )
    status, body, _ = await call(
        session, fake, "PATCH", f"/repos/{REPO}/issues/2", auth=f"token {minted['token']}", json={"body": "x"}
    )
    assert (status, body["message"]) == (403, "Resource not accessible by integration")
    assert fake.issue(REPO, 2)["body"] == "- [ ] >90% test pass rate achieved\n"


# -- refusals are recorded and change nothing -------------------------------------------------


async def test_an_unknown_path_is_404_and_recorded(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    status, _, _ = await call(session, fake, "GET", f"/repos/{REPO}/tracking-issues/2", auth=f"token {token}")
    assert status == 404
    (refused,) = fake.rejections
    assert (refused.method, refused.path, refused.operation_id) == (
        "GET",
        f"/repos/{REPO}/tracking-issues/2",
        None,
    )
    assert refused.headers["Authorization"] == "token <redacted>"


async def test_patching_an_issue_body_of_the_wrong_type_is_422_and_changes_nothing(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    status, body, _ = await call(
        session, fake, "PATCH", f"/repos/{REPO}/issues/2", auth=f"token {token}", json={"body": 5}
    )
    assert status == 422
    assert body["message"] == "Invalid request.\n\nFor 'body', 5 is not of type 'string', 'null'."
    assert fake.rejections[0].json == {"body": 5}
    assert fake.issue(REPO, 2)["body"] == "- [ ] >90% test pass rate achieved\n"


async def test_listing_pulls_with_an_unknown_state_is_422(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    status, _, _ = await call(session, fake, "GET", f"/repos/{REPO}/pulls?state=bogus", auth=f"token {token}")
    assert status == 422
    assert fake.rejections[0].query == {"state": "bogus"}


@pytest.mark.parametrize(("length", "status"), [(65_536, 200), (65_537, 422)])
async def test_an_issue_body_may_hold_65536_characters_and_no_more(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str, length: int, status: int
) -> None:
    text = "é" * length
    answer, body, _ = await call(
        session, fake, "PATCH", f"/repos/{REPO}/issues/2", auth=f"token {token}", json={"body": text}
    )
    assert answer == status
    if status == 422:
        assert body["errors"][0]["message"] == "body is too long (maximum is 65536 characters)"
        assert fake.issue(REPO, 2)["body"] != text
    else:
        assert fake.issue(REPO, 2)["body"] == text


async def test_a_comment_over_65536_characters_is_refused(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    path = f"/repos/{REPO}/issues/2/comments"
    status, _, _ = await call(session, fake, "POST", path, auth=f"token {token}", json={"body": "x" * 65_537})
    assert status == 422
    assert fake.comments(REPO, 2) == []


async def test_a_crashing_handler_answers_500_and_is_recorded(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(_: object) -> None:
        raise KeyError("boom")

    monkeypatch.setitem(HANDLERS, "repos/get", broken)
    status, _, _ = await call(session, fake, "GET", f"/repos/{REPO}", auth=f"token {token}")
    assert status == 500
    assert "KeyError" in str(fake.rejections[0].reason)


# -- state as GitHub keeps it -----------------------------------------------------------------


async def test_issue_updates_and_comments_read_back_as_written(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    auth = f"token {token}"
    await call(
        session,
        fake,
        "PATCH",
        f"/repos/{REPO}/issues/2",
        auth=auth,
        json={"body": "new\r\nbody", "labels": ["quality"]},
    )
    status, comment, _ = await call(
        session, fake, "POST", f"/repos/{REPO}/issues/2/comments", auth=auth, json={"body": "Gate met"}
    )
    assert status == 201
    assert comment["user"]["login"] == "issue-status-bot[bot]"
    assert comment["html_url"].endswith(f"/issues/2#issuecomment-{comment['id']}")
    _, issue, _ = await call(session, fake, "GET", f"/repos/{REPO}/issues/2", auth=auth)
    assert (issue["body"], [label["name"] for label in issue["labels"]], issue["comments"]) == (
        "new\r\nbody",
        ["quality"],
        1,
    )


async def test_assigning_a_non_collaborator_is_silently_ignored(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    fake.add_collaborator(REPO, "octocat")
    path = f"/repos/{REPO}/issues/2/assignees"
    status, issue, _ = await call(
        session, fake, "POST", path, auth=f"token {token}", json={"assignees": ["octocat", "mallory", "zoe"]}
    )
    assert status == 201
    assert [u["login"] for u in issue["assignees"]] == ["octocat", "zoe"]  # zoe wrote the issue
    assert fake.rejections == []


async def test_contents_come_back_base64_in_60_character_lines_with_the_git_blob_sha(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    content = ("trackers:\n  - issue: 2\n" + "# ünïcode padding line\n" * 8).encode()
    sha = fake.put_file(REPO, ".github/issue-status.yml", content)
    assert sha == blob_sha(content)
    status, body, _ = await call(
        session, fake, "GET", f"/repos/{REPO}/contents/.github/issue-status.yml", auth=f"token {token}"
    )
    assert status == 200
    assert (body["type"], body["encoding"], body["sha"], body["size"]) == (
        "file",
        "base64",
        sha,
        len(content),
    )
    assert {len(line) for line in body["content"].splitlines()[:-1]} == {60}
    assert base64.b64decode(body["content"]) == content


async def test_contents_follow_the_ref_and_a_missing_file_is_a_plain_404(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    fake.put_file(REPO, "README.md", "main\n")
    fake.put_file(REPO, "README.md", "branch\n", ref="fix/infra")
    auth = f"token {token}"
    _, on_branch, _ = await call(
        session, fake, "GET", f"/repos/{REPO}/contents/README.md?ref=fix/infra", auth=auth
    )
    _, on_main, _ = await call(session, fake, "GET", f"/repos/{REPO}/contents/README.md", auth=auth)
    assert (base64.b64decode(on_branch["content"]), base64.b64decode(on_main["content"])) == (
        b"branch\n",
        b"main\n",
    )
    status, _, _ = await call(
        session, fake, "GET", f"/repos/{REPO}/contents/.github/issue-status.yml", auth=auth
    )
    assert status == 404
    assert fake.rejections == []  # looking for an optional file is what clients do


async def test_a_matching_if_none_match_is_304_and_costs_no_rate_limit(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    path, auth = f"/repos/{REPO}/issues/2", f"token {token}"
    _, _, headers = await call(session, fake, "GET", path, auth=auth)
    remaining = int(headers["X-RateLimit-Remaining"])
    status, body, again = await call(
        session, fake, "GET", path, auth=auth, headers={"If-None-Match": headers["ETag"]}
    )
    assert (status, body, int(again["X-RateLimit-Remaining"])) == (304, b"", remaining)
    assert fake.requests[-1].status == 304
    fake.edit_issue_body(REPO, 2, "edited by a human")
    status, _, _ = await call(
        session, fake, "GET", path, auth=auth, headers={"If-None-Match": headers["ETag"]}
    )
    assert status == 200


async def test_lists_are_paginated_with_absolute_link_headers(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    for n in range(5):
        fake.add_comment(REPO, 2, f"comment {n}")
    path = f"/repos/{REPO}/issues/2/comments"
    _, first, headers = await call(session, fake, "GET", f"{path}?per_page=2", auth=f"token {token}")
    assert [c["body"] for c in first] == ["comment 0", "comment 1"]
    assert headers["Link"] == (
        f'<{fake.url}{path}?per_page=2&page=2>; rel="next", <{fake.url}{path}?per_page=2&page=3>; rel="last"'
    )
    _, last, headers = await call(session, fake, "GET", f"{path}?per_page=2&page=3", auth=f"token {token}")
    assert [c["body"] for c in last] == ["comment 4"]
    assert 'rel="next"' not in headers["Link"] and 'rel="first"' in headers["Link"]


async def test_check_runs_filter_latest_keeps_the_newest_run_of_each_name(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    sha = hashlib.sha1(b"c1").hexdigest()
    fake.add_check_run(REPO, sha, "tests (3.11)", conclusion="failure")
    rerun = fake.add_check_run(REPO, sha, "tests (3.11)", conclusion="success")
    lint = fake.add_check_run(REPO, sha, "lint")
    path = f"/repos/{REPO}/commits/{sha}/check-runs"
    _, latest, _ = await call(session, fake, "GET", path, auth=f"token {token}")
    assert latest["total_count"] == 2
    assert {r["id"] for r in latest["check_runs"]} == {rerun["id"], lint["id"]}
    _, everything, _ = await call(
        session, fake, "GET", f"{path}?filter=all&check_name=tests%20(3.11)", auth=f"token {token}"
    )
    assert [r["conclusion"] for r in everything["check_runs"]] == ["success", "failure"]


async def test_reviews_may_only_be_requested_from_collaborators_other_than_the_author(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    fake.add_collaborator(REPO, "octocat")
    pull = fake.add_pull_request(REPO, head_ref="fix/infra", head_sha="a" * 40, user="zoe")
    assert pull["number"] == 3  # issues and pull requests share numbers
    path, auth = f"/repos/{REPO}/pulls/3/requested_reviewers", f"token {token}"
    status, body, _ = await call(session, fake, "POST", path, auth=auth, json={"reviewers": ["mallory"]})
    assert status == 422
    assert body["message"].startswith("Reviews may only be requested from collaborators.")
    status, body, _ = await call(session, fake, "POST", path, auth=auth, json={"reviewers": ["zoe"]})
    assert (status, body["message"]) == (422, "Review cannot be requested from pull request author.")
    assert fake.requested_reviewers(REPO, 3) == {"users": [], "teams": []}
    status, _, _ = await call(session, fake, "POST", path, auth=auth, json={"reviewers": ["octocat"]})
    assert status == 201
    assert fake.requested_reviewers(REPO, 3) == {"users": ["octocat"], "teams": []}


async def test_pulls_filter_by_head_in_user_ref_form(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    fake.add_pull_request(REPO, head_ref="fix/infra", head_sha="a" * 40)
    fake.add_pull_request(REPO, head_ref="other", head_sha="b" * 40)
    fake.add_pull_request(REPO, head_ref="old", head_sha="c" * 40, state="closed")
    auth = f"token {token}"
    _, found, _ = await call(
        session, fake, "GET", f"/repos/{REPO}/pulls?head=platform-wrapper:fix/infra", auth=auth
    )
    assert [p["head"]["ref"] for p in found] == ["fix/infra"]
    _, every, _ = await call(session, fake, "GET", f"/repos/{REPO}/pulls?state=all&direction=asc", auth=auth)
    assert [p["head"]["ref"] for p in every] == ["fix/infra", "other", "old"]


# -- logs and artifacts live on another origin ------------------------------------------------


async def test_job_logs_redirect_to_another_origin_that_refuses_authorization_headers(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    fake.add_job_log(REPO, 55, "===== 84 failed, 143 passed =====\n")
    status, _, headers = await call(
        session, fake, "GET", f"/repos/{REPO}/actions/jobs/55/logs", auth=f"token {token}"
    )
    assert status == 302
    location = headers["Location"]
    assert not location.startswith(fake.url) and "sig=" in location
    async with session.get(location) as blob:
        assert (blob.status, await blob.text()) == (200, "===== 84 failed, 143 passed =====\n")
    assert fake.rejections == []
    async with session.get(location, headers={"Authorization": f"token {token}"}) as refused:
        assert refused.status == 400
    assert [(r.origin, r.status) for r in fake.rejections] == [("blob", 400)]


async def test_a_blob_url_expires_after_a_minute(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    fake.add_job_log(REPO, 55, "log")
    _, _, headers = await call(
        session, fake, "GET", f"/repos/{REPO}/actions/jobs/55/logs", auth=f"token {token}"
    )
    fake.advance(61)
    async with session.get(headers["Location"]) as blob:
        assert blob.status == 403


async def test_artifacts_are_listed_downloaded_and_gone_once_expired(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    fresh = fake.add_artifact(REPO, 9, "junit", b"PK\x05\x06" + bytes(18))
    stale = fake.add_artifact(REPO, 9, "old-junit", b"PK", expired=True)
    auth = f"token {token}"
    _, listing, _ = await call(
        session, fake, "GET", f"/repos/{REPO}/actions/runs/9/artifacts?name=junit", auth=auth
    )
    assert [a["id"] for a in listing["artifacts"]] == [fresh["id"]]
    status, _, headers = await call(
        session, fake, "GET", f"/repos/{REPO}/actions/artifacts/{fresh['id']}/zip", auth=auth
    )
    assert status == 302
    async with session.get(headers["Location"]) as blob:
        assert await blob.read() == b"PK\x05\x06" + bytes(18)
    status, _, _ = await call(
        session, fake, "GET", f"/repos/{REPO}/actions/artifacts/{stale['id']}/zip", auth=auth
    )
    assert status == 410


async def test_a_missing_job_log_is_a_plain_404(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    status, _, _ = await call(
        session, fake, "GET", f"/repos/{REPO}/actions/jobs/56/logs", auth=f"token {token}"
    )
    assert status == 404


# -- answers in GitHub's shapes ---------------------------------------------------------------


async def test_the_fakes_answers_satisfy_githubs_response_schemas(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    fake.add_collaborator(REPO, "octocat")
    fake.put_file(REPO, ".github/issue-status.yml", "trackers: []\n")
    fake.add_pull_request(REPO, head_ref="fix/infra", head_sha="a" * 40, number=3)
    run = fake.add_check_run(REPO, "a" * 40, "tests", output={"title": "pytest", "summary": "1 passed"})
    fake.add_artifact(REPO, 9, "junit", b"PK")
    comment = fake.add_comment(REPO, 2, "hello")
    auth = f"token {token}"
    requests: list[tuple[str, str, Any]] = [
        ("GET", f"/repos/{REPO}", None),
        ("GET", f"/repos/{REPO}/contents/.github/issue-status.yml", None),
        ("GET", f"/repos/{REPO}/commits", None),
        ("GET", f"/repos/{REPO}/branches/main", None),
        ("GET", f"/repos/{REPO}/collaborators/octocat/permission", None),
        ("GET", f"/repos/{REPO}/commits/{'a' * 40}/check-runs", None),
        ("GET", f"/repos/{REPO}/commits/{'a' * 40}/check-suites", None),
        ("GET", f"/repos/{REPO}/check-runs/{run['id']}", None),
        ("GET", f"/repos/{REPO}/issues/2", None),
        ("PATCH", f"/repos/{REPO}/issues/2", {"body": "b", "assignees": ["octocat"]}),
        ("GET", f"/repos/{REPO}/issues/2/comments", None),
        ("POST", f"/repos/{REPO}/issues/2/comments", {"body": "c"}),
        ("POST", f"/repos/{REPO}/issues/2/assignees", {"assignees": ["octocat"]}),
        ("POST", f"/repos/{REPO}/issues/2/labels", {"labels": ["quality"]}),
        ("POST", f"/repos/{REPO}/issues/comments/{comment['id']}/reactions", {"content": "rocket"}),
        ("GET", f"/repos/{REPO}/pulls", None),
        ("POST", f"/repos/{REPO}/pulls/3/requested_reviewers", {"reviewers": ["octocat"]}),
        ("GET", f"/repos/{REPO}/actions/runs/9/artifacts", None),
        ("GET", "/installation/repositories", None),
        ("GET", f"/repos/{REPO}/compare/{'a' * 40}...main", None),
    ]
    for method, path, body in requests:
        status, answer, _ = await call(session, fake, method, path, auth=auth, json=body)
        operation = SUBSET.match(method, path)
        assert operation is not None
        validator = operation.response_validator(status)
        assert validator is not None, (method, path, status)
        problems = [
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(answer)
        ]
        assert problems == [], (method, path, problems[:3])
    assert fake.rejections == []


async def test_get_app_answers_the_apps_own_jwt_with_its_slug(
    fake: FakeGitHub, session: aiohttp.ClientSession, app_jwt: str, token: str
) -> None:
    status, answer, _ = await call(session, fake, "GET", "/app", auth=f"Bearer {app_jwt}")
    assert status == 200 and answer["slug"] == "issue-status-bot" and answer["id"] == APP_ID
    operation = SUBSET.match("GET", "/app")
    assert operation is not None
    validator = operation.response_validator(200)
    assert validator is not None and list(validator.iter_errors(answer)) == []
    status, _, _ = await call(session, fake, "GET", "/app", auth=f"token {token}")
    assert status == 401  # an installation token is not the App


async def test_compare_says_where_a_commit_stands_against_a_branch(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    old = fake.head(REPO)
    fake.add_commit(REPO, "b" * 40, branch="main")
    fake.add_commit(REPO, "c" * 40, branch="main")
    fake.add_commit(REPO, "f" * 40, branch=None, parent=old)  # a fork's commit, on no branch of ours

    async def compare(basehead: str) -> tuple[int, Any]:
        status, answer, _ = await call(
            session, fake, "GET", f"/repos/{REPO}/compare/{basehead}", auth=f"token {token}"
        )
        return status, answer

    status, answer = await compare(f"{'b' * 40}...main")
    assert (status, answer["status"], answer["ahead_by"], answer["behind_by"]) == (200, "ahead", 1, 0)
    assert [c["sha"] for c in answer["commits"]] == ["c" * 40]
    assert (await compare(f"{'c' * 40}...main"))[1]["status"] == "identical"
    assert (await compare(f"main...{'b' * 40}"))[1]["status"] == "behind"
    status, answer = await compare(f"{'f' * 40}...main")
    assert (answer["status"], answer["ahead_by"], answer["behind_by"]) == ("diverged", 2, 1)
    assert answer["merge_base_commit"]["sha"] == old
    assert (await compare(f"{'e' * 40}...main"))[0] == 404  # no such commit
    assert fake.rejections == []


# -- injected faults --------------------------------------------------------------------------


async def test_an_injected_failure_answers_instead_and_changes_nothing(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    path = f"/repos/{REPO}/issues/2/comments"
    fake.fail_next(1, 502, message="Bad Gateway", retry_after=3)
    status, body, headers = await call(session, fake, "POST", path, auth=f"token {token}", json={"body": "x"})
    assert (status, body["message"], headers["Retry-After"]) == (502, "Bad Gateway", "3")
    assert fake.comments(REPO, 2) == [] and fake.rejections == []
    status, _, _ = await call(session, fake, "POST", path, auth=f"token {token}", json={"body": "x"})
    assert status == 201


async def test_a_fault_aimed_at_a_method_and_path_lets_other_requests_through(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    issue, auth = f"/repos/{REPO}/issues/2", f"token {token}"
    fake.fail_next(1, 500, method="PATCH", path=issue)
    assert (await call(session, fake, "GET", issue, auth=auth))[0] == 200
    assert (await call(session, fake, "PATCH", issue, auth=auth, json={"body": "b"}))[0] == 500
    assert (await call(session, fake, "PATCH", issue, auth=auth, json={"body": "b"}))[0] == 200


async def test_a_spent_quota_answers_with_no_remaining_requests_and_the_reset_time(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    fake.rate_limit_next(reset_at=1_750_000_042, status=429)
    status, body, headers = await call(session, fake, "GET", f"/repos/{REPO}/issues/2", auth=f"token {token}")
    assert (status, headers["X-RateLimit-Remaining"], headers["X-RateLimit-Reset"]) == (
        429,
        "0",
        "1750000042",
    )
    assert body["message"].startswith("API rate limit exceeded")


@pytest.mark.parametrize("retry_after", [None, 30])
async def test_a_secondary_rate_limit_says_so_and_may_carry_retry_after(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str, retry_after: int | None
) -> None:
    fake.secondary_rate_limit_next(retry_after=retry_after)
    status, body, headers = await call(session, fake, "GET", f"/repos/{REPO}/issues/2", auth=f"token {token}")
    assert status == 403 and "secondary rate limit" in body["message"]
    assert headers.get("Retry-After") == (None if retry_after is None else str(retry_after))
    assert int(headers["X-RateLimit-Remaining"]) > 0


async def test_a_hanging_request_is_answered_late_and_counted_in_flight_meanwhile(
    fake: FakeGitHub, session: aiohttp.ClientSession, token: str
) -> None:
    fake.hang_next(2, 0.3)
    started = time.monotonic()
    answers = await asyncio.gather(
        *(call(session, fake, "GET", f"/repos/{REPO}/issues/2", auth=f"token {token}") for _ in range(3))
    )
    assert sorted(status for status, _, _ in answers) == [200, 200, 200]
    assert time.monotonic() - started >= 0.3
    assert fake.peak_in_flight == 3 and fake.in_flight == 0
    arrivals = [r.at for r in fake.requests[-3:]]
    assert max(arrivals) - min(arrivals) < 0.3  # recorded when they arrived, not when answered
