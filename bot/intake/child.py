"""An intake process: takes deliveries on the serving process's listening socket, journals and answers them.

    python -m bot.intake.child --listen-fd N --report-fd N --lifeline-fd N --ops-socket PATH

Started by ``bot.intake.processes``, never by hand. Its ``POST /webhook`` is the server's own handler
(verify, journal, 202 once committed); what it learns goes to the serving process over the report pipe;
``/healthz``, ``/readyz`` and ``/metrics`` are the serving process's, asked over its Unix socket, so that an
operator sees one server whichever process the kernel gave the connection to. It stops on SIGTERM, and when
the serving process is gone (the lifeline pipe reaches its end): never acknowledging with no one to work.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import os
import socket
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from bot.handlers import router as default_router
from bot.intake.body_reading import READ_BODY_SECONDS, UnverifiedBodies
from bot.intake.report import PipeReport
from bot.intake.server import (
    JOURNAL,
    REPORT,
    ROUTER,
    SETTINGS,
    UNVERIFIED,
    add_webhook_route,
    delivery_site,
    stop_requested,
)
from bot.journal import open_journal
from bot.logs import configure_logging
from bot.settings import Settings, log_format

log = logging.getLogger(__name__)

OPS_SOCKET = web.AppKey("ops_socket", str)
OPS_SESSION = web.AppKey("ops_session", aiohttp.ClientSession)
# The serving process answers its operators' endpoints at once; one that does not is as good as down.
OPS_TIMEOUT_SECONDS = 5.0
# Connections waiting to be accepted, per intake process (aiohttp's default is 128).
LISTEN_BACKLOG = 1024


def create_intake_app(settings: Settings, report: PipeReport, ops_socket: str) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app[UNVERIFIED] = UnverifiedBodies()
    app[ROUTER] = default_router
    app[REPORT] = report
    app[OPS_SOCKET] = ops_socket
    add_webhook_route(app)
    app.router.add_get("/{path:.*}", _ask_serving_process)
    app.cleanup_ctx.append(_journal)
    return app


async def _journal(app: web.Application) -> AsyncIterator[None]:
    """This process's own connection to the deployment's journal; it claims nothing."""
    settings = app[SETTINGS]
    journal = await open_journal(
        settings.database_url, settings.state_dir, lease_seconds=settings.claim_lease_seconds, replica=False
    )
    app[JOURNAL] = journal
    connector = aiohttp.UnixConnector(path=app[OPS_SOCKET])
    timeout = aiohttp.ClientTimeout(total=OPS_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        app[OPS_SESSION] = session
        try:
            yield
        finally:
            await journal.close()


async def _ask_serving_process(request: web.Request) -> web.Response:
    """The serving process's answer to an operator's GET (``/healthz``, ``/readyz``, ``/metrics``)."""
    try:
        async with request.app[OPS_SESSION].get(f"http://serving{request.rel_url}") as answer:
            body = await answer.read()
            content_type = answer.headers.get("Content-Type", "application/octet-stream")
            return web.Response(body=body, status=answer.status, headers={"Content-Type": content_type})
    except (aiohttp.ClientError, TimeoutError) as error:
        log.error("the serving process did not answer %s: %s", request.path, type(error).__name__)
        return web.json_response(
            {"status": "unavailable", "serving_process": type(error).__name__}, status=503
        )


async def serve_intake(
    settings: Settings, listen_fd: int, report_fd: int, lifeline_fd: int, ops: str
) -> None:
    """Answer deliveries until SIGTERM or the serving process is gone; then finish those being answered."""
    report = PipeReport(report_fd)
    runner = web.AppRunner(
        create_intake_app(settings, report, ops), access_log=None, shutdown_timeout=READ_BODY_SECONDS
    )
    await runner.setup()
    try:
        await delivery_site(runner, sock=socket.socket(fileno=listen_fd), backlog=LISTEN_BACKLOG).start()
        loop = asyncio.get_running_loop()
        stop = stop_requested()
        loop.add_reader(lifeline_fd, stop.set)  # readable only at its end: the serving process is gone
        gc.freeze()  # as in the serving process: start-up's objects are not rescanned by the collector
        report.ready()
        await stop.wait()
        loop.remove_reader(lifeline_fd)
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.intake.child", description=__doc__)
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--report-fd", type=int, required=True)
    parser.add_argument("--lifeline-fd", type=int, required=True)
    parser.add_argument("--ops-socket", required=True)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    configure_logging(args.log_level, log_format(os.environ))
    settings = Settings.from_env(os.environ)
    asyncio.run(serve_intake(settings, args.listen_fd, args.report_fd, args.lifeline_fd, args.ops_socket))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
