"""FakeGitHub: GitHub's REST API on loopback, refusing (and recording) what GitHub would refuse.

A third origin serves what a browser sees of GitHub (``web_url``: the App manifest flow's pages, and the
API again under ``/api/v3`` as GitHub Enterprise Server lays it out).

Every request goes through the same gate GitHub's front end applies, in GitHub's order: User-Agent,
API version, route and inputs against the committed OpenAPI subset, authentication, the token's
permissions. Only then does a handler change state. Answers carry ETags (a matching If-None-Match gets
304 and costs no rate limit) and the x-ratelimit-* headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
from bot.testing.fake_github.web import WebOrigin
from bot.testing.openapi import OpenAPISubset

RATE_LIMIT = 5000
API_VERSIONS = frozenset({"2022-11-28", "2026-03-10"})
USER_AGENT_REQUIRED = (
    "Request forbidden by administrative rules. Please make sure your request has a User-Agent header"
    " (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required)."
)
CHUNK = 64 * 1024
# The code is the credential: GitHub takes no Authorization for these.
UNAUTHENTICATED = frozenset({"apps/create-from-manifest"})
# GitHub's wording; clients recognise a secondary limit by it.
SECONDARY_RATE_LIMIT = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    " If you reach out to GitHub Support for help, please include the request ID {request_id}."
)


@dataclass
class Fault:
    """What to do instead of (or before) the real answer to the next matching request.

    ``status`` None answers as usual after ``delay`` seconds: a slow GitHub, whose work may still happen
    after the client gave up waiting. ``method`` and ``path`` (a prefix) narrow which requests it hits.
    """

    status: int | None
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    method: str | None = None
    path: str | None = None

    def hits(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (
            self.path is None or path.startswith(self.path)
        )


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
        self.web_url = ""
        blobs = BlobStore(self.clock)
        self.world = World(shapes=Shapes(""), clock=self.clock, blobs=blobs)
        self.requests: list[RecordedRequest] = []
        self.rejections: list[RecordedRequest] = []
        self.faults: deque[Fault] = deque()
        self.rate_remaining = RATE_LIMIT
        self.in_flight = 0
        self.peak_in_flight = 0  # most API requests being answered at once
        self._closing = asyncio.Event()
        self._runners: list[web.AppRunner] = []
        self._after: list[tuple[str, str, Callable[[], None]]] = []
        self._documentation = {op.operation_id: op.documentation_url for op in self.subset.operations}
        self.web = WebOrigin(self.world, self.requests, self.rejections, self._serve_api)

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
        """Serve the API, the blob and the web origins on loopback; returns the API base URL."""
        self.world.blobs.url = await self._serve(self.blob_app(), host, 0)
        self.web_url = self.web.url = await self._serve(self.web.app(), host, 0)
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
        self._closing.set()  # release hanging answers
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
        self,
        count: int,
        status: int,
        *,
        message: str = "Server Error",
        retry_after: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``count`` API requests with ``status`` instead (nothing changes state)."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self._inject(count, Fault(status, message, headers, method=method, path=path))

    def rate_limit_next(
        self,
        count: int = 1,
        *,
        reset_at: int,
        status: int = 403,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The installation's hourly quota is spent until ``reset_at`` (seconds since the epoch)."""
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset_at)}
        message = "API rate limit exceeded for installation."
        self._inject(count, Fault(status, message, headers, method=method, path=path))

    def secondary_rate_limit_next(
        self,
        count: int = 1,
        *,
        retry_after: int | None = None,
        status: int = 403,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """GitHub's answer to bursts: quota left, but "You have exceeded a secondary rate limit"."""
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        message = SECONDARY_RATE_LIMIT.format(request_id=uuid.uuid4().hex[:20].upper())
        self._inject(count, Fault(status, message, headers, method=method, path=path))

    def hang_next(
        self, count: int, seconds: float, *, method: str | None = None, path: str | None = None
    ) -> None:
        """Hold the next ``count`` API requests ``seconds`` before answering them as usual."""
        self._inject(count, Fault(None, delay=seconds, method=method, path=path))

    def after_next(self, method: str, path_prefix: str, action: Callable[[], None]) -> None:
        """Run ``action`` once, right after answering the next matching request: a human acting
        between two of the bot's requests (an edit between its read and its write)."""
        self._after.append((method.upper(), path_prefix, action))

    def _run_after(self, method: str, path: str) -> None:
        for hook in self._after:
            if hook[0] == method and path.startswith(hook[1]):
                self._after.remove(hook)
                hook[2]()
                return

    def _inject(self, count: int, fault: Fault) -> None:
        self.faults.extend(replace(fault) for _ in range(count))

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.hits(method, path):
                self.faults.remove(fault)
                return fault
        return None

    # -- the API origin ----------------------------------------------------------------------

    async def _serve_api(self, request: web.Request, prefix: str = "") -> web.StreamResponse:
        raw = await request.read()
        record = RecordedRequest(
            method=request.method,
            path=request.raw_path.split("?", 1)[0].removeprefix(prefix),
            query=dict(request.query),
            headers=_redact(request.headers),
            json=_json_or_none(raw),
        )
        self.requests.append(record)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            fault = self._take_fault(record.method, record.path)
            if fault is not None and fault.delay:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), fault.delay)
            response = self._render(request, self._answer(request, raw, record, fault), record)
        except GitHubError as error:
            response = self._refuse(error, record)
        except Exception as error:  # a fake that crashes must fail the test, not hide
            failure = GitHubError(500, "Server Error", reason=f"the fake GitHub crashed: {error!r}")
            response = self._refuse(failure, record)
        finally:
            self.in_flight -= 1
        record.status = response.status
        if response.status != 304:
            self.rate_remaining = max(self.rate_remaining - 1, 0)
        for name, value in self._rate_headers().items():
            response.headers.setdefault(name, value)  # an injected rate limit's own values win
        self._run_after(record.method, record.path)
        return response

    def _answer(
        self, request: web.Request, raw: bytes, record: RecordedRequest, fault: Fault | None
    ) -> Answer:
        if fault is not None and fault.status is not None:
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
        if operation.operation_id in UNAUTHENTICATED:
            pass
        elif operation.template == "/app" or operation.template.startswith("/app/"):
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
        wanted = _byte_range(request.headers.get("Range"), blob.length)
        if not self.world.blobs.honour_ranges:
            wanted = None
        status = 200 if wanted is None else 206
        response = web.StreamResponse(status=status, headers={"Content-Type": blob.content_type})
        if wanted is None:
            response.content_length = blob.length
        else:
            first, last = wanted
            response.headers["Content-Range"] = f"bytes {first}-{last}/{blob.length}"
            response.content_length = last - first + 1
        await response.prepare(request)
        if blob.generate is not None:
            first, last = wanted or (0, blob.length - 1)
            offset = 0
            for chunk in blob.generate():
                piece = chunk[max(0, first - offset) : max(0, last + 1 - offset)]
                offset += len(chunk)
                if piece:
                    await response.write(piece)
        else:
            first, last = wanted or (0, blob.length - 1)
            for start in range(first, last + 1, CHUNK):
                await response.write(blob.content[start : min(start + CHUNK, last + 1)])
        await response.write_eof()
        record.status = status
        return response


def _byte_range(header: str | None, length: int) -> tuple[int, int] | None:
    """The inclusive byte range of a single-range ``Range`` header, as blob storage reads it."""
    if not header or not header.startswith("bytes=") or "," in header or length == 0:
        return None
    first, _, last = header.removeprefix("bytes=").partition("-")
    if not first and last.isdigit():  # a suffix: the last N bytes
        return max(0, length - int(last)), length - 1
    if first.isdigit() and (not last or last.isdigit()):
        end = min(int(last), length - 1) if last else length - 1
        return (int(first), end) if int(first) <= end else None
    return None


__all__ = ["FakeGitHub", "Fault", "RegisteredApp"]
