"""Intake in several processes: one event loop caps how many deliveries Python can verify and journal.

With ``BOT_INTAKE_PROCESSES`` = N > 0, ``serve`` binds N listening sockets on its port and starts an intake
process (``bot.intake.child``) on each: each verifies, journals and acknowledges the deliveries the kernel
hands it (202 still means committed). This process, the serving one, accepts no connection there: it
works deliveries off (the workers, the catch-up), hears from each intake process over a pipe of its own
which repository just had a delivery (the coalescing window counts from it), counts their deliveries in its
metrics, and answers ``/healthz``, ``/readyz`` and ``/metrics`` on a Unix socket the intake processes
forward those to. SQLite's writers take turns on the journal's lock file; the delivery id's UNIQUE key
keeps dedupe whole across processes.

An intake process that exits unexpectedly is started again; more than ``MAX_RESTARTS`` within
``RESTART_WINDOW_SECONDS``, or one that does not come up, stops the whole server with an error: it never
goes on half-serving. SIGTERM stops the intake processes first (each finishes the deliveries it is reading
and answering), then the workers, as in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import tempfile
import time
from collections import deque
from collections.abc import Mapping
from functools import partial

from aiohttp import web

from bot.intake.body_reading import READ_BODY_SECONDS
from bot.intake.report import IntakeReport, ReportReader
from bot.intake.server import INTAKE_PIDS, LOCAL_REPORT, create_app, stop_requested
from bot.settings import Settings

log = logging.getLogger(__name__)

# An intake process has this long to open the journal and listen.
START_SECONDS = 60.0
MAX_RESTARTS = 5
RESTART_WINDOW_SECONDS = 60.0
# What a stopping intake process gets beyond a body's read time before it is killed, and what requests
# to the serving process's Unix socket (operators' GETs) get: with the workers' 20 s, SIGTERM still ends
# within the 40 s the README asks a supervisor to allow.
STOP_GRACE_SECONDS = 3.0
OPS_SHUTDOWN_SECONDS = 1.0


class IntakeFailed(Exception):
    """Intake processes could not be kept running: the server stops rather than half-serve."""


class IntakeProcesses:
    """An intake process per socket of ``listening``, kept running until ``stop``."""

    def __init__(
        self,
        listening: list[socket.socket],
        environ: Mapping[str, str],
        ops_socket: str,
        report: IntakeReport,
        up: list[int],
    ) -> None:
        """``up``: the pids of the intake processes listening, kept here as they come and go (/healthz)."""
        self._listening = listening
        self._environ = dict(environ)
        self._ops_socket = ops_socket
        self._report = report
        self.up = up
        self._lifeline_read, self._lifeline_write = os.pipe()  # its end tells the children we are gone
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self._readers: dict[int, ReportReader] = {}
        self._watchers: set[asyncio.Task[None]] = set()
        self._restarts: deque[float] = deque()
        self._stopping = False
        self.failed: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def start(self) -> None:
        """Every intake process listening; IntakeFailed if one does not come up."""
        started = await asyncio.gather(
            *(self._start(slot) for slot in range(len(self._listening))), return_exceptions=True
        )
        for outcome in started:
            if isinstance(outcome, BaseException):
                raise outcome

    async def stop(self) -> None:
        """SIGTERM to each intake process, which finishes what it is answering; killed if it takes long."""
        self._stopping = True
        for watcher in self._watchers:
            watcher.cancel()
        for process in self._processes.values():
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for slot, process in self._processes.items():
            try:
                await asyncio.wait_for(process.wait(), READ_BODY_SECONDS + STOP_GRACE_SECONDS)
            except TimeoutError:
                log.error("intake process %d (pid %d) did not stop: killed", slot, process.pid)
                process.kill()
                await process.wait()
        for reader in self._readers.values():
            reader.close()
        os.close(self._lifeline_write)
        os.close(self._lifeline_read)

    async def _start(self, slot: int) -> None:
        report_read, report_write = os.pipe()
        ready = asyncio.get_running_loop().create_future()
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.intake.child",
                "--listen-fd",
                str(self._listening[slot].fileno()),
                "--report-fd",
                str(report_write),
                "--lifeline-fd",
                str(self._lifeline_read),
                "--ops-socket",
                self._ops_socket,
                "--log-level",
                logging.getLevelName(logging.getLogger().getEffectiveLevel()),
                env=self._environ,
                pass_fds=(self._listening[slot].fileno(), report_write, self._lifeline_read),
            )
        finally:
            os.close(report_write)
        old = self._readers.pop(slot, None)
        if old is not None:
            old.close()
        self._readers[slot] = ReportReader(report_read, self._report, partial(_set_once, ready))
        self._processes[slot] = process
        exited = asyncio.ensure_future(process.wait())
        await asyncio.wait((ready, exited), timeout=START_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            exited.cancel()
            if process.returncode is None:
                process.kill()
                await process.wait()
            raise IntakeFailed(
                f"intake process {slot} did not start (exit code {process.returncode}): see its log above"
            )
        watcher = asyncio.create_task(self._watch(slot, process, exited), name=f"intake process {slot}")
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        self.up.append(process.pid)
        log.debug("intake process %d (pid %d) listening", slot, process.pid)

    async def _watch(
        self, slot: int, process: asyncio.subprocess.Process, exited: asyncio.Future[int]
    ) -> None:
        code = await exited
        self.up.remove(process.pid)
        if self._stopping:
            return
        now = time.monotonic()
        self._restarts.append(now)
        while self._restarts and self._restarts[0] < now - RESTART_WINDOW_SECONDS:
            self._restarts.popleft()
        if len(self._restarts) > MAX_RESTARTS:
            self._fail(
                f"intake processes exited {len(self._restarts)} times within {RESTART_WINDOW_SECONDS:g} s"
            )
            return
        log.error(
            "intake process %d (pid %d) exited with code %s: starting it again", slot, process.pid, code
        )
        try:
            await self._start(slot)
        except IntakeFailed as error:
            self._fail(str(error))

    def _fail(self, reason: str) -> None:
        if not self.failed.done():
            self.failed.set_result(reason)


def _set_once(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def bind(host: str, port: int, count: int) -> list[socket.socket]:
    """A socket per intake process, all bound to ``host:port`` (``SO_REUSEPORT``), listening only once
    their intake process serves (asyncio's server calls ``listen``).

    The kernel spreads new connections evenly over the listening ones: one socket shared by all would give
    most to whichever process happens to be waiting in ``accept``; a socket listening before its process
    is up would hold its share of connections until then. Each stays open here while its process is
    restarted, so connections waiting in its backlog are answered by the next one. The port is first bound
    alone, so that a port in use fails as it does without intake processes instead of sharing connections
    with whatever holds it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    socket.create_server((host, port), family=family).close()  # OSError when the port is taken
    bound: list[socket.socket] = []
    try:
        for _ in range(count):
            each = socket.socket(family, socket.SOCK_STREAM)
            bound.append(each)
            each.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            each.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            each.bind((host, port))
    except OSError:
        for each in bound:
            each.close()
        raise
    return bound


async def serve_in_processes(settings: Settings, environ: Mapping[str, str]) -> None:
    """``serve`` with intake processes: until SIGTERM or SIGINT; IntakeFailed if they cannot be kept up."""
    runner = web.AppRunner(create_app(settings), access_log=None, shutdown_timeout=OPS_SHUTDOWN_SECONDS)
    await runner.setup()  # the journal opened (and migrated) before any intake process opens it
    try:
        with tempfile.TemporaryDirectory(prefix="issue-status-bot-") as private:
            ops_socket = os.path.join(private, "ops.sock")
            await web.UnixSite(runner, ops_socket).start()
            listening = bind(settings.host, settings.port, settings.intake_processes)
            try:
                app = runner.app
                await _run(
                    IntakeProcesses(listening, environ, ops_socket, app[LOCAL_REPORT], app[INTAKE_PIDS])
                )
            finally:
                for each in listening:
                    each.close()
    finally:
        await runner.cleanup()


async def _run(intake: IntakeProcesses) -> None:
    stop = stop_requested()
    try:
        await intake.start()
        log.debug("taking deliveries in intake processes %s", intake.up)
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait((stopped, intake.failed), return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
    finally:
        await intake.stop()
    if intake.failed.done():
        raise IntakeFailed(intake.failed.result())
