"""The common delivery answered without aiohttp's request machinery; every other request is aiohttp's.

Half of the CPU an intake process spent on a delivery was aiohttp building a request and a response
around it (bench/README.md). Nearly every delivery has the same shape: one ``POST /webhook`` whose head
and whole body (at most ``FAST_PATH_BYTES``) arrive within ``PARTIAL_SECONDS``, one at a time on a
connection. ``DeliveryProtocol`` reads those with httptools (llhttp, the parser of Node.js and of
uvicorn) and answers them with the ``answer`` it is given: the same function aiohttp's handler uses.

Anything else is handed to aiohttp with every byte the connection has sent since the last answer, before
any of it was acted on, and the connection stays aiohttp's: another path or method, ``Expect``, a chunked,
missing or larger ``Content-Length``, an upgrade, a head llhttp refuses, a request slower than
``PARTIAL_SECONDS``, pipelined requests. So 411, 413, 408, 100-continue, the unverified-bytes budget
and the operators' endpoints stay one HTTP server's rules, aiohttp's.
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from typing import cast

import httptools
from aiohttp import web
from aiohttp.web_runner import BaseRunner
from multidict import CIMultiDict

from bot.intake.webhook import Answer

log = logging.getLogger(__name__)

# A request's head and body together; past this it is aiohttp's (which holds it against the budget of
# unverified bytes). Most deliveries are a few KB; a large push is what goes the other way.
FAST_PATH_BYTES = 64 * 1024
# A request not whole by then is aiohttp's, whose own deadlines (408 after 10 s of body) then apply.
PARTIAL_SECONDS = 1.0
# An idle kept-alive connection is closed after this long: aiohttp's default, longer than load
# balancers' own idle timeouts (AWS's 3,600 s), so that they close first and never write to a closed one.
KEEPALIVE_SECONDS = 3630.0
# At shutdown, deliveries being answered get this long to be journalled and answered (a journal write
# takes milliseconds; a journal that hangs has its own timeouts).
ANSWER_GRACE_SECONDS = 10.0
# GitHub sends about a dozen headers; a request with more is aiohttp's, under its own limits (a head of
# 64 KiB could otherwise hold thousands, each a Python call here).
MAX_HEADERS = 64
# Headers whose presence makes a request aiohttp's: it has the rules for them.
_AIOHTTP_HEADERS = frozenset((b"expect", b"transfer-encoding", b"upgrade"))
_WEBHOOK = b"/webhook"

Answerer = Callable[[CIMultiDict[str], bytes], Awaitable[Answer]]


class DeliveryProtocol(asyncio.Protocol):
    """One connection: deliveries answered here until a request is not one; then aiohttp's for good."""

    def __init__(self, site: DeliverySite) -> None:
        self._site = site
        self._loop = site.loop
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        # The request being read: its raw bytes (what aiohttp gets if it is handed over) and what llhttp
        # made of them.
        self._received: list[bytes] = []
        self._received_bytes = 0
        self._begun = 0
        self._complete = False
        self._ours = True
        self._url = b""
        self._headers: CIMultiDict[str] = CIMultiDict()
        self._body: list[bytes] = []
        self._keep_alive = True
        self._version = b"1.1"
        # The request being answered, and what came meanwhile (read once it is answered).
        self.answering: asyncio.Task[None] | None = None
        self._later: list[bytes] = []
        self._later_bytes = 0
        self._paused = False
        self._eof = False
        self._closing = False
        self._partial_timer: asyncio.TimerHandle | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._active = 0.0

    # asyncio's protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport (uvloop's are not asyncio.Transport's subclasses, but have its methods).
        self._transport = cast(asyncio.Transport, transport)
        self._site.connections.add(self)
        self._active = self._loop.time()
        self._idle_timer = self._loop.call_later(KEEPALIVE_SECONDS, self._close_if_idle)

    def data_received(self, data: bytes) -> None:
        self._active = self._loop.time()
        if self.answering is not None:
            self._later.append(data)
            self._later_bytes += len(data)
            if self._later_bytes > FAST_PATH_BYTES and not self._paused:
                assert self._transport is not None
                self._transport.pause_reading()
                self._paused = True
            return
        self._read(data)

    def eof_received(self) -> bool:
        """The client sent all it will: an answer under way is still written, then the connection closes."""
        self._eof = True
        return self.answering is not None

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_timers()
        self._site.connections.discard(self)
        self._transport = None

    # httptools' callbacks

    def on_message_begin(self) -> None:
        self._begun += 1
        self._ours = True
        self._url = b""
        self._headers = CIMultiDict()
        self._body = []
        self._complete = False

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._ours:
            return
        if name.lower() in _AIOHTTP_HEADERS or len(self._headers) >= MAX_HEADERS:
            self._ours = False
            return
        self._headers.add(name.decode("latin-1"), value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        parser = self._parser
        self._keep_alive = parser.should_keep_alive()
        self._version = parser.get_http_version().encode("ascii")
        if parser.get_method() != b"POST" or self._url != _WEBHOOK:
            self._ours = False
            return
        declared = self._headers.get("Content-Length")
        if declared is None or not declared.isdigit() or int(declared) > FAST_PATH_BYTES:
            self._ours = False

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._complete = True

    # reading and answering

    def _read(self, data: bytes) -> None:
        self._received.append(data)
        self._received_bytes += len(data)
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self._hand_over()
            return
        if not self._ours or self._begun > 1 or self._received_bytes > FAST_PATH_BYTES:
            self._hand_over()
        elif not self._complete:
            if self._begun and self._partial_timer is None:
                self._partial_timer = self._loop.call_later(PARTIAL_SECONDS, self._hand_over)
        else:
            self._answer_request()

    def _answer_request(self) -> None:
        if self._partial_timer is not None:
            self._partial_timer.cancel()
            self._partial_timer = None
        body = self._body[0] if len(self._body) == 1 else b"".join(self._body)
        headers, version, keep_alive = self._headers, self._version, self._keep_alive
        self._received.clear()
        self._received_bytes = 0
        self._begun = 0
        self._complete = False
        self.answering = self._loop.create_task(self._answer(headers, body, version, keep_alive))

    async def _answer(self, headers: CIMultiDict[str], body: bytes, version: bytes, keep_alive: bool) -> None:
        try:
            answer = await self._site.answer(headers, body)
        except Exception:
            log.exception("answering a delivery failed")
            answer = Answer(500, b'{"error": "internal error"}', close_connection=True)
        keep_alive = keep_alive and not (answer.close_connection or self._eof or self._closing)
        transport = self._transport
        if transport is None or transport.is_closing():
            self.answering = None
            return  # the client left: the delivery is journalled, GitHub's record shows the failure
        transport.write(self._site.response(answer, version, keep_alive))
        self.answering = None
        self._active = self._loop.time()
        if not keep_alive:
            transport.close()
            return
        if self._later:
            later = b"".join(self._later)
            self._later.clear()
            self._later_bytes = 0
            if self._paused:
                transport.resume_reading()
                self._paused = False
            self._read(later)

    def _hand_over(self) -> None:
        """aiohttp takes the connection, and reads what it sent since the last answer as if first."""
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        self._cancel_timers()
        self._site.connections.discard(self)
        received = b"".join(self._received)
        self._received.clear()
        handler = self._site.fallback()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if received:
            handler.data_received(received)

    # idleness and shutdown

    def close_when_idle(self) -> None:
        """At shutdown: closed now if idle; a request being read is aiohttp's to finish as its own are;
        one being answered is answered, then the connection closes."""
        self._closing = True
        if self.answering is not None or self._transport is None:
            return
        if self._begun:
            self._hand_over()
        else:
            self._transport.close()

    def _close_if_idle(self) -> None:
        idle_for = self._loop.time() - self._active
        if self.answering is None and not self._begun and idle_for >= KEEPALIVE_SECONDS:
            if self._transport is not None:
                self._transport.close()
            return
        self._idle_timer = self._loop.call_later(max(KEEPALIVE_SECONDS - idle_for, 1.0), self._close_if_idle)

    def _cancel_timers(self) -> None:
        for timer in (self._partial_timer, self._idle_timer):
            if timer is not None:
                timer.cancel()
        self._partial_timer = self._idle_timer = None


class DeliverySite(web.BaseSite):
    """An aiohttp site whose connections start on ``DeliveryProtocol``; the runner's server takes the rest.

    On ``host:port``, or on a socket already bound (an intake process's). Stopping it stops taking
    connections, closes idle ones and lets deliveries being answered finish (they wait on the journal
    only); connections aiohttp took are its runner's to close, as with any site.
    """

    __slots__ = ("_date", "_date_second", "_host", "_port", "_sock", "answer", "connections", "loop")

    def __init__(
        self,
        runner: BaseRunner,
        answer: Answerer,
        *,
        host: str | None = None,
        port: int = 0,
        sock: socket.socket | None = None,
        backlog: int = 128,
    ) -> None:
        super().__init__(runner, backlog=backlog)
        self.answer = answer
        self.connections: set[DeliveryProtocol] = set()
        self.loop = asyncio.get_running_loop()
        self._host = host
        self._port = port
        self._sock = sock
        self._date = b""
        self._date_second = -1

    @property
    def name(self) -> str:
        if self._sock is not None:
            host, port = self._sock.getsockname()[:2]
            return f"http://{host}:{port}"
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        if self._sock is not None:
            self._server = await self.loop.create_server(
                lambda: DeliveryProtocol(self), sock=self._sock, backlog=self._backlog
            )
        else:
            self._server = await self.loop.create_server(
                lambda: DeliveryProtocol(self),
                self._host,
                self._port,
                backlog=self._backlog,
                reuse_address=True,
            )

    async def stop(self) -> None:
        await super().stop()
        for connection in list(self.connections):
            connection.close_when_idle()
        answering = [each.answering for each in self.connections if each.answering is not None]
        if answering:
            await asyncio.wait(answering, timeout=ANSWER_GRACE_SECONDS)

    def fallback(self) -> asyncio.Protocol:
        """A new aiohttp connection handler of this site's runner."""
        server = self._runner.server
        assert server is not None
        return server()

    def response(self, answer: Answer, version: bytes, keep_alive: bool) -> bytes:
        """``answer`` as HTTP/1.x bytes, JSON as aiohttp's ``json_response`` would send it."""
        second = int(time.time())
        if second != self._date_second:
            self._date = email.utils.formatdate(second, usegmt=True).encode("ascii")
            self._date_second = second
        status = http.HTTPStatus(answer.status)
        lines = [
            b"HTTP/%s %d %s" % (version, status.value, status.phrase.encode("ascii")),
            b"Content-Type: application/json; charset=utf-8",
            b"Content-Length: %d" % len(answer.body),
            b"Date: " + self._date,
        ]
        if answer.retry_after is not None:
            lines.append(b"Retry-After: %d" % answer.retry_after)
        if not keep_alive:
            lines.append(b"Connection: close")
        elif version == b"1.0":
            lines.append(b"Connection: keep-alive")
        lines.append(b"\r\n")
        return b"\r\n".join(lines) + answer.body
