"""FakeGitHub: GitHub's REST API on loopback, refusing (and recording) what GitHub would refuse.

Every request goes through the same gate GitHub's front end applies, in GitHub's order: User-Agent,
API version, route and inputs against the committed OpenAPI subset, authentication, the token's
permissions. Only then does a handler change state. Answers carry ETags (a matching If-None-Match gets
304 and costs no rate limit) and the x-ratelimit-* headers.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDictProxy

from bot.testing.fake_github.auth import RegisteredApp, parse_authorization, verify_app_jwt
from bot.testing.fake_github.blobs import BlobStore
from bot.testing.fake_github.calls import Answer, Call
from bot.testing.fake_github.handlers import HANDLERS, PERMISSIONS
from bot.testing.fake_github.handlers.apps import LEVELS
from bot.testing.fake_github.records import DOCS_ROOT, Clock, GitHubError, RecordedRequest
from bot.testing.fake_github.seeding import Seeding
from bot.testing.fake_github.shapes import Shapes
from bot.testing.fake_github.state import World
from bot.testing.openapi import OpenAPISubset

RATE_LIMIT = 5000
API_VERSIONS = frozenset({"2022-11-28", "2026-03-10"})
USER_AGENT_REQUIRED = (
    "Request forbidden by administrative rules. Please make sure your request has a User-Agent header"
    " (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required)."
)
CHUNK = 64 * 1024


@dataclass
class Fault:
    """An answer to give instead of the real one (outages, rate limiting) for the next request."""

    status: int
    message: str
    headers: dict[str, str]


def _redact(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    """Headers as received, with credentials reduced to their scheme."""
    kept = dict(headers)
    for name in list(kept):
        if name.lower() == "authorization":
            kept[name] = kept[name].split(" ", 1)[0] + " <redacted>"
    return kept


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None


def etag_of(body: bytes) -> str:
    return f'W/"{hashlib.sha256(body).hexdigest()[:40]}"'


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    wanted = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in wanted or etag.removeprefix("W/") in wanted


class FakeGitHub(Seeding):
    """An in-process GitHub: seed it, point the bot at ``url``, then inspect what it did."""

    def __init__(self) -> None:
        self.clock = Clock()
        self.subset = OpenAPISubset.load()
        self.url = ""
        blobs = BlobStore(self.clock)
        self.world = World(shapes=Shapes(""), clock=self.clock, blobs=blobs)
        self.requests: list[RecordedRequest] = []
        self.rejections: list[RecordedRequest] = []
        self.faults: deque[Fault] = deque()
        self.rate_remaining = RATE_LIMIT
        self._runners: list[web.AppRunner] = []
        self._documentation = {op.operation_id: op.documentation_url for op in self.subset.operations}

    # -- lifecycle ---------------------------------------------------------------------------

    def api_app(self) -> web.Application:
        application = web.Application(client_max_size=100 * 1024 * 1024)
        application.router.add_route("*", "/{tail:.*}", self._serve_api)
        return application

    def blob_app(self) -> web.Application:
        application = web.Application()
        application.router.add_route("*", "/{tail:.*}", self._serve_blob)
        return application

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the API and the blob origin on loopback; returns the API base URL."""
        self.world.blobs.url = await self._serve(self.blob_app(), host, 0)
        self.url = await self._serve(self.api_app(), host, port)
        self.world.shapes.api = self.url
        return self.url

    async def _serve(self, application: web.Application, host: str, port: int) -> str:
        runner = web.AppRunner(application, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runners.append(runner)
        bound_host, bound_port = runner.addresses[0][:2]
        return f"http://{bound_host}:{bound_port}"

    async def close(self) -> None:
        while self._runners:
            await self._runners.pop().cleanup()

    # -- inspection --------------------------------------------------------------------------

    @property
    def tokens_minted(self) -> dict[int, int]:
        return self.world.tokens.minted

    def expire_tokens(self) -> None:
        """Every token minted so far answers 401 from now on, as an hour-old token does."""
        self.world.tokens.expire_all()

    def advance(self, seconds: float) -> None:
        """Move the fake's clock (tokens, JWT checks, signed blob URLs) forward."""
        self.clock.advance(seconds)

    def calls(self, method: str | None = None, path_prefix: str | None = None) -> list[RecordedRequest]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method.upper())
            and (path_prefix is None or r.path.startswith(path_prefix))
        ]

    def fail_next(
        self, count: int, status: int, *, message: str = "Server Error", retry_after: int | None = None
    ) -> None:
        """Answer the next ``count`` API requests with ``status`` instead (nothing changes state)."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self.faults.extend(Fault(status, message, headers) for _ in range(count))

    # -- the API origin ----------------------------------------------------------------------

    async def _serve_api(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        record = RecordedRequest(
            method=request.method,
            path=request.raw_path.split("?", 1)[0],
            query=dict(request.query),
            headers=_redact(request.headers),
            json=_json_or_none(raw),
        )
        self.requests.append(record)
        try:
            response = self._render(request, self._answer(request, raw, record), record)
        except GitHubError as error:
            response = self._refuse(error, record)
        except Exception as error:  # a fake that crashes must fail the test, not hide
            failure = GitHubError(500, "Server Error", reason=f"the fake GitHub crashed: {error!r}")
            response = self._refuse(failure, record)
        record.status = response.status
        if response.status != 304:
            self.rate_remaining = max(self.rate_remaining - 1, 0)
        response.headers.update(self._rate_headers())
        return response

    def _answer(self, request: web.Request, raw: bytes, record: RecordedRequest) -> Answer:
        if self.faults:
            fault = self.faults.popleft()
            raise GitHubError(
                fault.status, fault.message, reason="injected fault", rejection=False, headers=fault.headers
            )
        if not request.headers.get("User-Agent"):
            raise GitHubError(403, USER_AGENT_REQUIRED, reason="no User-Agent header")
        version = request.headers.get("X-GitHub-Api-Version")
        if version is not None and version not in API_VERSIONS:
            raise GitHubError(400, f"API version {version} is not supported.")
        check = self.subset.check(request.method, record.path, list(request.query.items()), raw)
        record.notes.extend(check.notes)
        operation = check.operation
        if operation is not None:
            record.operation_id = operation.operation_id
        if not check.accepted:
            status = check.violations[0].status
            message = {404: "Not Found", 400: "Problems parsing JSON"}.get(
                status, check.violations[0].message
            )
            reasons = "; ".join(v.message for v in check.violations)
            raise GitHubError(status, message, reason=reasons)
        assert operation is not None
        call = Call(
            world=self.world,
            url=self.url + record.path,
            params=check.path_params,
            query=check.query,
            body=check.body,
            notes=record.notes,
        )
        credentials = parse_authorization(request.headers.get("Authorization"))
        if operation.template.startswith("/app/"):
            if credentials is None:
                raise GitHubError(401, "A JSON web token could not be decoded", reason="no JWT")
            call.app = verify_app_jwt(credentials.secret, self.world.apps, self.clock.now())
        else:
            call.token = self.world.tokens.authenticate(credentials, self.clock.now())
            self._check_permission(operation.operation_id, call.token.permissions)
        try:
            return HANDLERS[operation.operation_id](call)
        except GitHubError:
            raise
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise GitHubError(500, "Server Error", reason=f"handler failed: {error!r}") from error

    @staticmethod
    def _check_permission(operation_id: str, granted: dict[str, str]) -> None:
        needed = PERMISSIONS.get(operation_id)
        if needed is None:
            return
        name, level = needed
        if LEVELS.get(granted.get(name, ""), 0) < LEVELS[level]:
            raise GitHubError(
                403,
                "Resource not accessible by integration",
                reason=f"{operation_id} needs {name}: {level}; the token has {granted.get(name)}",
            )

    def _render(self, request: web.Request, answer: Answer, record: RecordedRequest) -> web.Response:
        headers = {"X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(), **answer.headers}
        if answer.json is None:
            return web.Response(status=answer.status, headers=headers)
        body = json.dumps(answer.json).encode()
        if request.method == "GET" and answer.status == 200:
            etag = etag_of(body)
            headers["ETag"] = etag
            if _etag_matches(request.headers.get("If-None-Match"), etag):
                return web.Response(status=304, headers=headers)
        return web.Response(status=answer.status, body=body, headers=headers, content_type="application/json")

    def _refuse(self, error: GitHubError, record: RecordedRequest) -> web.Response:
        """GitHub's error answer, linking the operation's documentation as GitHub does."""
        docs = self._documentation.get(record.operation_id or "", DOCS_ROOT)
        record.reason = error.reason
        if error.rejection:
            record.rejected = True
            self.rejections.append(record)
        return web.json_response(error.body(docs), status=error.status, headers=error.headers)

    def _rate_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(self.rate_remaining),
            "X-RateLimit-Used": str(RATE_LIMIT - self.rate_remaining),
            "X-RateLimit-Reset": str(int(self.clock.now()) + 3600),
            "X-RateLimit-Resource": "core",
        }

    # -- the blob origin ---------------------------------------------------------------------

    async def _serve_blob(self, request: web.Request) -> web.StreamResponse:
        record = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=_redact(request.headers),
            json=None,
            origin="blob",
        )
        self.requests.append(record)
        key = request.path.removeprefix("/blobs/")
        try:
            blob = self.world.blobs.open(key, dict(request.query), request.headers.get("Authorization"))
        except GitHubError as error:
            record.reason, record.rejected, record.status = error.reason, True, error.status
            self.rejections.append(record)
            return web.Response(status=error.status, text=error.message)
        response = web.StreamResponse(status=200, headers={"Content-Type": blob.content_type})
        response.content_length = len(blob.content)
        await response.prepare(request)
        for start in range(0, len(blob.content), CHUNK):
            await response.write(blob.content[start : start + CHUNK])
        await response.write_eof()
        record.status = 200
        return response


__all__ = ["FakeGitHub", "Fault", "RegisteredApp"]
