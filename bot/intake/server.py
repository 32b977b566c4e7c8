"""The webhook server: ``POST /webhook``; ``GET /healthz``, ``/readyz`` and ``/metrics`` for operators.

GitHub gives a receiver 10 seconds and never redelivers on its own. A delivery is verified, written to
the durable journal, and answered 202: acknowledged means persisted. The workers then make its effects;
a crash after the answer loses nothing, because unfinished entries are picked up again at start-up.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import logging
import signal
import socket
import time
from collections.abc import AsyncIterator, Mapping

import aiohttp
from aiohttp import hdrs, web
from gidgethub.routing import Router
from gidgethub.sansio import Event

from bot import __version__
from bot.app_services import GITHUB_TIMEOUT, app_services
from bot.dispatch.workers import DeliveryWorkers, journal_key
from bot.github.app_api import AppAPI
from bot.github.client import GitHubApp
from bot.handlers import router as default_router
from bot.healing.catch_up import CatchUp
from bot.intake.body_reading import READ_BODY_SECONDS, UnverifiedBodies, check_head
from bot.intake.fast_path import DeliverySite
from bot.intake.report import IntakeReport, LocalReport
from bot.intake.webhook import (
    SIGNATURE_HEADER,
    Answer,
    DeliveryRejected,
    parse_delivery,
    verify_signature,
)
from bot.journal import Journal, JournalError, journal_location, open_journal
from bot.metrics import CONTENT_TYPE, Metrics, refusal_reason
from bot.settings import Settings
from bot.updating.tracker import TrackerService

log = logging.getLogger(__name__)

# On shutdown (SIGTERM), work in flight gets this long to finish; what is cut short stays journalled.
SHUTDOWN_GRACE_SECONDS = 20
# A delivery the journal could not take is refused for now: a replica or the database may be back soon.
JOURNAL_RETRY_AFTER_SECONDS = 30
# The answers to nearly every delivery, serialised once rather than per request.
_ACCEPTED = b'{"msg": "accepted"}'
_DUPLICATE = b'{"msg": "duplicate"}'
_IGNORED = b'{"msg": "ignored"}'
_PONG = b'{"msg": "pong"}'
# /readyz: a journal that takes longer than this to answer one read is as good as unreachable.
READY_TIMEOUT_SECONDS = 2.0

SETTINGS = web.AppKey("settings", Settings)
ROUTER = web.AppKey("router", Router)
JOURNAL = web.AppKey("journal", Journal)
WORKERS = web.AppKey("workers", DeliveryWorkers)
TRACKERS = web.AppKey("trackers", TrackerService)
GITHUB = web.AppKey("github", GitHubApp)
APP_API = web.AppKey("app_api", AppAPI)
CATCH_UP = web.AppKey("catch_up", CatchUp)
UNVERIFIED = web.AppKey("unverified", UnverifiedBodies)
METRICS = web.AppKey("metrics", Metrics)
# Where the webhook handler reports arrivals and outcomes: this process's workers and metrics, or a pipe.
REPORT = web.AppKey("report", IntakeReport)
# This process's own: what intake processes report is fed to it too (bot/intake/processes.py).
LOCAL_REPORT = web.AppKey("local_report", LocalReport)
# The pids of the intake processes taking deliveries for this server; none: it takes them itself.
INTAKE_PIDS = web.AppKey("intake_pids", list[int])


async def webhook(request: web.Request) -> web.Response:
    """aiohttp's ``POST /webhook``: every delivery the fast path (``bot.intake.fast_path``) hands over."""
    app = request.app
    try:
        body = await app[UNVERIFIED].read_signed(request, app[SETTINGS].webhook_secrets)
    except DeliveryRejected as rejected:
        return _response(refusal(rejected, app[REPORT]))
    return _response(await answer_delivery(app, request.headers, body))


async def answer_whole(app: web.Application, headers: Mapping[str, str], body: bytes) -> Answer:
    """The fast path's answer to a delivery whose body came whole: its signature checked, then answered."""
    try:
        verify_signature(app[SETTINGS].webhook_secrets, headers.get(SIGNATURE_HEADER), body)
    except DeliveryRejected as rejected:
        return refusal(rejected, app[REPORT])
    return await answer_delivery(app, headers, body)


async def answer_delivery(app: web.Application, headers: Mapping[str, str], body: bytes) -> Answer:
    """A delivery whose signature verified: journalled and acknowledged, or why not."""
    try:
        delivery = parse_delivery(headers, body)
    except DeliveryRejected as rejected:
        return refusal(rejected, app[REPORT])

    if delivery.event == "ping":
        log.info("ping from GitHub: %s", delivery.payload.get("zen", ""))
        app[REPORT].delivery("ping", "ignored")
        return Answer(200, _PONG)
    event = Event(delivery.payload, event=delivery.event, delivery_id=delivery.id)
    if delivery.installation_id is None or not app[ROUTER].fetch(event):
        log.debug("%s: nothing to do", delivery.describe())
        app[REPORT].delivery(delivery.event, "ignored")
        return Answer(200, _IGNORED)

    key = journal_key(delivery.payload)
    try:
        recorded = await app[JOURNAL].record(delivery.id, delivery.event, delivery.action, body, key)
    except JournalError as error:
        # Not acknowledged: GitHub lists the delivery as failed, and the catch-up asks for it again.
        log.error(
            "%s: not recorded, the journal is unavailable: %s",
            delivery.describe(),
            error,
            extra={"delivery": delivery.id, "repository": key},
        )
        return refusal(
            DeliveryRejected(503, "the journal is unavailable", retry_after=JOURNAL_RETRY_AFTER_SECONDS),
            app[REPORT],
            reason="journal unavailable",
        )
    if not recorded:
        # GitHub's and operators' redeliveries keep the X-GitHub-Delivery id: already taken care of.
        log.info(
            "%s: already received; not processed again",
            delivery.describe(),
            extra={"delivery": delivery.id, "repository": key},
        )
        app[REPORT].delivery(delivery.event, "duplicate")
        return Answer(202, _DUPLICATE)
    app[REPORT].arrived(key)
    app[REPORT].delivery(delivery.event, "acked")
    return Answer(202, _ACCEPTED)


async def _continue_if_readable(request: web.Request) -> web.Response | None:
    """``Expect: 100-continue`` is refused instead when the body would be refused unread: it is never sent."""
    try:
        check_head(request)
    except DeliveryRejected as rejected:
        return _response(refusal(rejected, request.app[REPORT]))
    if request.version == aiohttp.HttpVersion11:  # HTTP/1.0 has no interim answers: nothing to send
        if request.headers[hdrs.EXPECT].lower() != "100-continue":
            return _response(
                refusal(DeliveryRejected(417, "only Expect: 100-continue is understood"), request.app[REPORT])
            )
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    return None


def refusal(rejected: DeliveryRejected, report: IntakeReport, *, reason: str | None = None) -> Answer:
    log.warning("refused a delivery: %s (%d)", rejected.reason, rejected.status)
    report.refused(reason or refusal_reason(rejected.status))
    return Answer(
        rejected.status,
        json.dumps({"error": rejected.reason}).encode(),
        retry_after=rejected.retry_after,
        close_connection=rejected.close_connection,
    )


def _response(answer: Answer) -> web.Response:
    response = web.Response(
        body=answer.body, status=answer.status, content_type="application/json", charset="utf-8"
    )
    if answer.retry_after is not None:
        response.headers["Retry-After"] = str(answer.retry_after)
    if answer.close_connection:
        response.force_close()
    return response


async def healthz(request: web.Request) -> web.Response:
    workers = request.app[WORKERS]
    return web.json_response(
        {
            "status": "ok",
            "in_flight": workers.in_flight,
            "processed": workers.processed,
            "failed": workers.failed,
            "deliveries": await request.app[JOURNAL].counts(),
            "github_calls": request.app[GITHUB].calls.as_json(),
            "unverified_bodies": request.app[UNVERIFIED].report(),
            "intake_processes": request.app[INTAKE_PIDS],
        }
    )


async def readyz(request: web.Request) -> web.Response:
    """503 while the journal's store cannot answer a read: a load balancer sends deliveries elsewhere.

    One read by primary key, so that probing often costs the store next to nothing.
    """
    try:
        async with asyncio.timeout(READY_TIMEOUT_SECONDS):
            await request.app[JOURNAL].get("readiness probe")
    except Exception as error:
        log.warning("not ready: the journal did not answer: %s: %s", type(error).__name__, error)
        return web.json_response({"status": "unavailable", "journal": type(error).__name__}, status=503)
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    """Prometheus' text format; the journal's backlog is read now, the rest is counted as it happens."""
    app = request.app
    journal = app[JOURNAL]
    try:
        counts = await journal.counts()
        oldest = await journal.oldest_unfinished()
    except Exception as error:
        log.warning("metrics without the journal's backlog: %s: %s", type(error).__name__, error)
        app[METRICS].journal_reachable.set(0)
    else:
        age = None if oldest is None else max(0.0, time.time() - oldest)
        app[METRICS].journal(counts, age)
    return web.Response(body=app[METRICS].exposition(), headers={"Content-Type": CONTENT_TYPE})


def add_webhook_route(app: web.Application) -> None:
    """``POST /webhook``; the app provides SETTINGS, UNVERIFIED, ROUTER, JOURNAL and REPORT."""
    app.router.add_post("/webhook", webhook, expect_handler=_continue_if_readable)


def delivery_site(
    runner: web.AppRunner,
    *,
    host: str | None = None,
    port: int = 0,
    sock: socket.socket | None = None,
    backlog: int = 128,
) -> DeliverySite:
    """Where ``runner``'s app takes deliveries: the fast path first, aiohttp for every other request."""
    return DeliverySite(
        runner, functools.partial(answer_whole, runner.app), host=host, port=port, sock=sock, backlog=backlog
    )


def stop_requested() -> asyncio.Event:
    """An event set on SIGTERM or SIGINT, what every process of the server stops on."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def serve_alone(settings: Settings) -> None:
    """``serve`` without intake processes: this process takes the deliveries too, until SIGTERM or SIGINT."""
    # On SIGTERM, requests being read get as long as a body may take, then work in flight its grace.
    runner = web.AppRunner(create_app(settings), access_log=None, shutdown_timeout=READ_BODY_SECONDS)
    await runner.setup()
    try:
        await delivery_site(runner, host=settings.host, port=settings.port).start()
        await stop_requested().wait()
    finally:
        await runner.cleanup()


def create_app(settings: Settings, *, router: Router = default_router) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app[UNVERIFIED] = UnverifiedBodies()
    app[ROUTER] = router
    app[METRICS] = Metrics()
    app[REPORT] = app[LOCAL_REPORT] = LocalReport(app[METRICS])
    app[INTAKE_PIDS] = []
    add_webhook_route(app)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.cleanup_ctx.append(_services)
    return app


async def _services(app: web.Application) -> AsyncIterator[None]:
    """The journal, the GitHub session and the workers, started together and stopped in reverse."""
    settings = app[SETTINGS]
    journal = await open_journal(
        settings.database_url, settings.state_dir, lease_seconds=settings.claim_lease_seconds
    )
    app[JOURNAL] = journal
    async with aiohttp.ClientSession(timeout=GITHUB_TIMEOUT) as session:
        services = await app_services(session, settings, journal, metrics=app[METRICS])
        app[GITHUB] = services.github
        app[APP_API] = services.app_api
        app[TRACKERS] = trackers = services.trackers
        workers = DeliveryWorkers(
            journal,
            app[ROUTER],
            trackers,
            coalesce_seconds=settings.coalesce_seconds,
            metrics=app[METRICS],
        )
        app[WORKERS] = workers
        app[LOCAL_REPORT].workers = workers
        workers.start()
        catch_up = CatchUp(services.app_api, trackers, journal, interval=settings.reconcile_seconds)
        app[CATCH_UP] = catch_up
        catch_up.start()
        # What start-up built (modules, templates, schemas) lives as long as the process: frozen, the
        # collector stops rescanning it, which halved intake p99 (bench/intake.py).
        gc.freeze()
        log.info(
            "issue-status-bot %s starting on %s:%d, journal: %s, %d trackers known",
            __version__,
            settings.host,
            settings.port,
            journal_location(settings.database_url, settings.state_dir),
            await journal.tracker_count(),
        )
        try:
            yield
        finally:
            await catch_up.stop()
            try:
                async with asyncio.timeout(SHUTDOWN_GRACE_SECONDS):
                    await workers.stop()
            except TimeoutError:
                log.warning("work still in flight at shutdown stays journalled for the next start")
            await journal.close()
