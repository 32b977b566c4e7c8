"""The webhook server: ``POST /webhook`` and ``GET /healthz``.

GitHub gives a receiver 10 seconds and never redelivers on its own, so a delivery is verified, answered
202 at once, and only then worked on in the background.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable

import aiohttp
from aiohttp import web
from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot.github.auth import InstallationTokens
from bot.github.blobs import BlobReader
from bot.github.client import GitHubApp
from bot.handlers import router as default_router
from bot.results.commit import result_collector
from bot.settings import Settings
from bot.tracker import TrackerService
from bot.webhook import MAX_PAYLOAD_BYTES, Delivery, DeliveryRejected, parse_delivery

log = logging.getLogger(__name__)

# Outgoing calls to GitHub give up after this long rather than hang a worker.
GITHUB_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)
# On shutdown, in-flight work gets this long to finish.
SHUTDOWN_GRACE_SECONDS = 20


class BackgroundWork:
    """Deliveries being worked on after their acknowledgement, with counts for /healthz."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self.processed = 0
        self.failed = 0

    def start(self, delivery: Delivery, work: Awaitable[None]) -> None:
        task = asyncio.create_task(self._run(delivery, work), name=delivery.describe())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, delivery: Delivery, work: Awaitable[None]) -> None:
        try:
            await work
        except Exception:
            self.failed += 1
            log.exception("%s failed", delivery.describe())
        else:
            self.processed += 1

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def join(self) -> None:
        """Wait until no delivery is being worked on (new ones started meanwhile included)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


SETTINGS = web.AppKey("settings", Settings)
WORK = web.AppKey("work", BackgroundWork)
TRACKERS = web.AppKey("trackers", TrackerService)
GITHUB = web.AppKey("github", GitHubApp)
ROUTER = web.AppKey("router", Router)


async def webhook(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _refuse(413, f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        delivery = parse_delivery(request.headers, body, settings.webhook_secret)
    except DeliveryRejected as rejected:
        return _refuse(rejected.status, rejected.reason)

    if delivery.event == "ping":
        log.info("ping from GitHub: %s", delivery.payload.get("zen", ""))
        return web.json_response({"msg": "pong"})
    event = Event(delivery.payload, event=delivery.event, delivery_id=delivery.id)
    router = request.app[ROUTER]
    if delivery.installation_id is None or not router.fetch(event):
        log.debug("%s: nothing to do", delivery.describe())
        return web.json_response({"msg": "ignored"}, status=200)

    # Answer first, so GitHub's 10 s limit never depends on GitHub's own API latency.
    response = web.json_response({"msg": "accepted"}, status=202)
    await response.prepare(request)
    await response.write_eof()
    request.app[WORK].start(delivery, router.dispatch(event, request.app[TRACKERS]))
    return response


def _refuse(status: int, reason: str) -> web.Response:
    log.warning("refused a delivery: %s (%d)", reason, status)
    return web.json_response({"error": reason}, status=status)


async def healthz(request: web.Request) -> web.Response:
    work = request.app[WORK]
    return web.json_response(
        {
            "status": "ok",
            "in_flight": work.in_flight,
            "processed": work.processed,
            "failed": work.failed,
            "github_calls": request.app[GITHUB].calls.as_json(),
        }
    )


def create_app(settings: Settings, *, router: Router = default_router) -> web.Application:
    # Payloads reach 25 MB; aiohttp's default cap is 1 MiB. Larger bodies get 413.
    app = web.Application(client_max_size=MAX_PAYLOAD_BYTES)
    app[SETTINGS] = settings
    app[WORK] = BackgroundWork()
    app[ROUTER] = router
    app.router.add_post("/webhook", webhook)
    app.router.add_get("/healthz", healthz)
    app.cleanup_ctx.append(_github_session)
    return app


async def _github_session(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    async with aiohttp.ClientSession(timeout=GITHUB_TIMEOUT) as session:
        tokens = InstallationTokens(
            session,
            api_url=settings.api_url,
            app_id=settings.app_id,
            private_key_pem=settings.private_key_pem,
        )
        github = GitHubApp(
            session, tokens, api_url=settings.api_url, write_interval=settings.github_write_interval
        )
        app[GITHUB] = github
        results = result_collector(BlobReader(session))
        app[TRACKERS] = TrackerService(github, results, state_secret=settings.webhook_secret)
        yield
        try:
            async with asyncio.timeout(SHUTDOWN_GRACE_SECONDS):
                await app[WORK].join()
        except TimeoutError:
            log.warning("%d deliveries still in flight at shutdown", app[WORK].in_flight)
