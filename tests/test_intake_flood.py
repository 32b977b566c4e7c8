"""Unsigned traffic cannot make the server hold more than its budget, and signed pings are answered meanwhile.

Requests are written by hand on raw sockets where the test needs to stop half-way: headers without a body,
or a body that stalls after its first MiB. What the server holds is read from its own accounting (/healthz).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.intake.body_reading import (
    LARGE_BODIES_BUDGET,
    MAX_WAITING,
    READ_BODY_SECONDS,
    WAIT_FOR_ROOM_SECONDS,
    UnverifiedBodies,
)
from bot.intake.server import UNVERIFIED, create_app
from bot.intake.webhook import MAX_PAYLOAD_BYTES
from bot.settings import Settings
from bot.testing.deliveries import example, signed_headers
from tests.conftest import WEBHOOK_SECRET

MIB = 1024 * 1024
LARGE_BODY = MAX_PAYLOAD_BYTES - 1024  # the largest body GitHub may send
WRONG_SIGNATURE = "sha256=" + "0" * 64
ANSWER_SECONDS = 10


ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
def make_server(aiohttp_server: Any, offline_settings: Settings) -> ServerFactory:
    """The real server; only the waiting limits are lowered where a test reaches them."""

    async def start(
        *,
        wait_for_room: float = WAIT_FOR_ROOM_SECONDS,
        max_waiting: int = MAX_WAITING,
        read_body_seconds: float = READ_BODY_SECONDS,
    ) -> TestServer:
        app = create_app(offline_settings)
        app[UNVERIFIED] = UnverifiedBodies(
            wait_for_room=wait_for_room, max_waiting=max_waiting, read_body_seconds=read_body_seconds
        )
        server: TestServer = await aiohttp_server(app)
        return server

    return start


class RawRequest:
    """A POST /webhook written by hand, so that it can stop after its headers or part of its body."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def send_head(
        cls,
        server: TestServer,
        *,
        length: int | None,
        signature: str | None = WRONG_SIGNATURE,
        headers: Mapping[str, str] | None = None,
    ) -> RawRequest:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        fields = {
            "Host": server.host,
            "Content-Type": "application/json",
            "X-GitHub-Event": "check_run",
            "X-GitHub-Delivery": "0b989ba4-242f-11e5-81e1-c7b6966d2516",
        }
        if length is not None:
            fields["Content-Length"] = str(length)
        else:
            fields["Transfer-Encoding"] = "chunked"
        if signature is not None:
            fields["X-Hub-Signature-256"] = signature
        fields.update(headers or {})
        lines = ["POST /webhook HTTP/1.1", *(f"{name}: {value}" for name, value in fields.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()
        return cls(reader, writer)

    async def send(self, body: bytes | memoryview) -> None:
        for start in range(0, len(body), MIB):
            self.writer.write(body[start : start + MIB])
            await self.writer.drain()

    async def answer(self) -> tuple[int, dict[str, str]]:
        """The status and headers of the answer, which may come before the body was sent."""
        async with asyncio.timeout(ANSWER_SECONDS):
            status = int((await self.reader.readline()).split()[1])
            headers = {}
            while (line := await self.reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
        return status, headers

    async def close(self) -> None:
        self.writer.close()
        await asyncio.gather(self.writer.wait_closed(), return_exceptions=True)


async def unverified_bodies(server: TestServer) -> dict[str, dict[str, int]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(server.make_url("/healthz")) as answer,
    ):
        report: dict[str, dict[str, int]] = (await answer.json())["unverified_bodies"]
        return report


async def until(server: TestServer, condition: Callable[[dict[str, dict[str, int]]], bool]) -> None:
    """Poll the server's accounting until ``condition`` holds (the flood reaches its steady state)."""
    async with asyncio.timeout(ANSWER_SECONDS):
        while not condition(await unverified_bodies(server)):  # noqa: ASYNC110 (the server's state)
            await asyncio.sleep(0.02)


async def signed_ping(server: TestServer) -> int:
    body = json.dumps(example("ping")).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server.make_url("/webhook"), data=body, headers=signed_headers(WEBHOOK_SECRET, "ping", body)
        ) as answer,
    ):
        return answer.status


async def test_an_oversized_content_length_is_refused_413_before_the_body_is_sent(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    request = await RawRequest.send_head(server, length=MAX_PAYLOAD_BYTES + 1)
    status, headers = await request.answer()
    await request.close()
    assert status == 413
    assert headers["connection"] == "close"


async def test_expect_100_continue_is_answered_only_for_a_body_that_will_be_read(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    expect = {"Expect": "100-continue"}
    oversized = await RawRequest.send_head(server, length=MAX_PAYLOAD_BYTES + 1, headers=expect)
    status, _ = await oversized.answer()
    await oversized.close()
    assert status == 413  # instead of 100: a client that waits for it never sends the body

    body = json.dumps(example("ping")).encode()
    signed = await RawRequest.send_head(
        server, length=len(body), headers={**signed_headers(WEBHOOK_SECRET, "ping", body), **expect}
    )
    assert (await signed.answer())[0] == 100
    await signed.send(body)
    assert (await signed.answer())[0] == 200
    await signed.close()

    unknown = await RawRequest.send_head(server, length=len(body), headers={"Expect": "something-else"})
    assert (await unknown.answer())[0] == 417
    await unknown.close()


async def test_an_unsigned_body_is_refused_401_before_it_is_sent(make_server: ServerFactory) -> None:
    server = await make_server()
    request = await RawRequest.send_head(server, length=LARGE_BODY, signature=None)
    status, _ = await request.answer()
    await request.close()
    assert status == 401
    assert (await unverified_bodies(server))["large"]["peak"] == 0


async def test_a_body_of_undeclared_length_is_refused_411(make_server: ServerFactory) -> None:
    server = await make_server()
    request = await RawRequest.send_head(server, length=None)
    status, headers = await request.answer()
    await request.close()
    assert status == 411
    assert headers["connection"] == "close"


async def test_a_flood_of_large_unsigned_bodies_stays_within_budget_and_a_signed_ping_is_answered(
    make_server: ServerFactory,
) -> None:
    server = await make_server()
    flood = 4
    first, rest = memoryview(bytes(MIB)), memoryview(bytes(LARGE_BODY - MIB))
    go_on = asyncio.Event()

    async def unsigned_body_stalling_after_its_first_mib() -> int:
        request = await RawRequest.send_head(server, length=LARGE_BODY)
        try:
            await request.send(first)
            await go_on.wait()
            await request.send(rest)
            status, _ = await request.answer()
            return status
        finally:
            await request.close()

    senders = [asyncio.create_task(unsigned_body_stalling_after_its_first_mib()) for _ in range(flood)]
    # Two bodies of GitHub's largest size are read at once; the others wait their turn, unread.
    held_by_two = 2 * LARGE_BODY
    await until(server, lambda u: u["large"]["held"] == held_by_two and u["large"]["waiting"] == flood - 2)

    assert await signed_ping(server) == 200
    assert (await unverified_bodies(server))["large"]["held"] == held_by_two  # the flood is still on

    go_on.set()
    assert await asyncio.gather(*senders) == [401] * flood
    large = (await unverified_bodies(server))["large"]
    assert large == {"capacity": LARGE_BODIES_BUDGET, "held": 0, "peak": held_by_two, "waiting": 0}
    assert large["peak"] <= LARGE_BODIES_BUDGET


async def test_a_body_that_finds_no_room_in_time_is_refused_503_with_retry_after(
    make_server: ServerFactory,
) -> None:
    server = await make_server(wait_for_room=0.2)
    stalled = [await RawRequest.send_head(server, length=LARGE_BODY) for _ in range(2)]
    await until(server, lambda u: u["large"]["held"] == 2 * LARGE_BODY)

    late = await RawRequest.send_head(server, length=LARGE_BODY)
    status, headers = await late.answer()
    await late.close()
    assert status == 503
    assert int(headers["retry-after"]) > 0

    for request in stalled:  # senders that go away give their room back
        await request.close()
    await until(server, lambda u: u["large"]["held"] == 0 and u["large"]["waiting"] == 0)


async def test_a_body_beyond_a_full_waiting_line_is_refused_503_at_once(make_server: ServerFactory) -> None:
    server = await make_server(max_waiting=1)
    stalled = [await RawRequest.send_head(server, length=LARGE_BODY) for _ in range(3)]
    await until(server, lambda u: u["large"]["held"] == 2 * LARGE_BODY and u["large"]["waiting"] == 1)

    late = await RawRequest.send_head(server, length=LARGE_BODY)
    status, headers = await late.answer()
    await late.close()
    assert status == 503
    assert "retry-after" in headers

    for request in stalled:
        await request.close()
    await until(server, lambda u: u["large"]["held"] == 0 and u["large"]["waiting"] == 0)


async def test_a_body_that_does_not_arrive_in_time_is_refused_408(make_server: ServerFactory) -> None:
    server = await make_server(read_body_seconds=0.2)
    request = await RawRequest.send_head(server, length=100)
    await request.send(b'{"zen": ')
    status, headers = await request.answer()
    await request.close()
    assert status == 408
    assert headers["connection"] == "close"
    assert (await unverified_bodies(server))["small"]["held"] == 0
