"""The intake's fast path (bot/intake/fast_path.py), byte by byte over real sockets to the served bot.

Which HTTP server answered shows in the answer: aiohttp's carries its ``Server`` header, the fast path's
does not. Every request must get the answer the README promises whichever of the two answers it.
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.intake.fast_path import FAST_PATH_BYTES
from bot.intake.server import JOURNAL
from bot.testing.deliveries import check_run_completed, pushed, signed_headers
from tests.harness import BRANCH, INSTALLATION_ID, BotHarness, sha_of


class Answer:
    def __init__(self, head: bytes, body: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        self.status = int(lines[0].split()[1])
        self.headers = {
            name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:])
        }
        self.body = body

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def by_aiohttp(self) -> bool:
        return "aiohttp" in self.headers.get("server", "")


class Connection:
    """One TCP connection to the bot, written and read as raw HTTP/1.x."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self) -> Answer:
        async with asyncio.timeout(10):
            head = (await self.reader.readuntil(b"\r\n\r\n"))[:-4]
            if head.startswith(b"HTTP/1.1 100"):
                head = (await self.reader.readuntil(b"\r\n\r\n"))[:-4]
            answer = Answer(head, b"")
            answer.body = await self.reader.readexactly(int(answer.headers["content-length"]))
            return answer

    async def closed(self) -> bool:
        """The bot closed the connection (its next read is the end)."""
        async with asyncio.timeout(10):
            return await self.reader.read(1) == b""


@pytest.fixture
async def connect(bot: BotHarness) -> Any:
    opened: list[asyncio.StreamWriter] = []
    address = urlsplit(bot.url)

    async def connect() -> Connection:
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        opened.append(writer)
        return Connection(reader, writer)

    yield connect
    for writer in opened:
        writer.close()


def delivery(
    bot: BotHarness,
    *,
    payload: dict[str, Any] | None = None,
    event: str = "check_run",
    delivery_id: str | None = None,
    path: str = "/webhook",
    version: str = "1.1",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    drop: tuple[str, ...] = (),
) -> bytes:
    """A delivery as GitHub writes it on the wire (a check_run of commit ``c1`` unless told otherwise)."""
    if body is None:
        if payload is None:
            run = bot.fake.add_check_run(
                bot.repository["full_name"], sha_of("c1"), "tests", conclusion="success"
            )
            payload = check_run_completed(
                bot.repository, run, installation_id=INSTALLATION_ID, head_branch=BRANCH
            )
        body = json.dumps(payload).encode()
    sent = {
        "Host": "bot.example",
        **signed_headers(bot.secret, event, body, delivery_id),
        "Content-Length": str(len(body)),
        **(headers or {}),
    }
    lines = [f"POST {path} HTTP/{version}"] + [
        f"{name}: {value}" for name, value in sent.items() if name not in drop
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def test_deliveries_on_a_kept_alive_connection_are_answered_by_the_fast_path_and_journalled(
    bot: BotHarness, connect: Any
) -> None:
    connection = await connect()
    ids = [str(uuid.uuid4()) for _ in range(3)]
    for delivery_id in ids:
        await connection.send(delivery(bot, delivery_id=delivery_id))
        answer = await connection.answer()
        assert (answer.status, answer.json) == (202, {"msg": "accepted"})
        assert not answer.by_aiohttp
        assert answer.status_line == "HTTP/1.1 202 Accepted"
        assert answer.headers["content-type"] == "application/json; charset=utf-8"
        assert "connection" not in answer.headers
    for delivery_id in ids:
        entry = await bot.app[JOURNAL].get(delivery_id)
        assert entry is not None and entry.event == "check_run"


async def test_a_redelivery_the_fast_path_takes_is_a_duplicate(bot: BotHarness, connect: Any) -> None:
    connection = await connect()
    request = delivery(bot, delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958")
    await connection.send(request)
    assert (await connection.answer()).json == {"msg": "accepted"}
    await connection.send(request)
    again = await connection.answer()
    assert (again.status, again.json, again.by_aiohttp) == (202, {"msg": "duplicate"}, False)


async def test_the_fast_path_refuses_as_aiohttp_does(bot: BotHarness, connect: Any) -> None:
    """A wrong signature, a missing one, malformed JSON, a missing event header: the same answers."""
    forged = delivery(bot, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64})
    unsigned = delivery(bot, drop=("X-Hub-Signature-256",))
    not_json = delivery(bot, body=b'{"action": "completed",')
    no_event = delivery(bot, drop=("X-GitHub-Event",))
    expected = [
        (401, {"error": "missing or invalid X-Hub-Signature-256"}),
        (401, {"error": "missing or invalid X-Hub-Signature-256"}),
        (400, {"error": "payload is not valid JSON"}),
        (400, {"error": "missing X-GitHub-Event header"}),
    ]
    connection = await connect()
    for request, (status, error) in zip((forged, unsigned, not_json, no_event), expected, strict=True):
        await connection.send(request)
        answer = await connection.answer()
        assert (answer.status, answer.json, answer.by_aiohttp) == (status, error, False)
    async with bot.session.get(bot.url.replace("/webhook", "/metrics")) as metrics:
        text = await metrics.text()
    assert 'issue_status_bot_deliveries_refused_total{reason="signature"} 2.0' in text
    assert 'issue_status_bot_deliveries_refused_total{reason="malformed"} 2.0' in text


async def test_a_ping_and_an_event_for_no_one_are_answered_without_journalling(
    bot: BotHarness, connect: Any
) -> None:
    connection = await connect()
    await connection.send(delivery(bot, event="ping", body=b'{"zen": "Keep it logically awesome."}'))
    pong = await connection.answer()
    await connection.send(delivery(bot, event="star", body=b'{"action": "created"}'))
    ignored = await connection.answer()
    assert (pong.status, pong.json, pong.by_aiohttp) == (200, {"msg": "pong"}, False)
    assert (ignored.status, ignored.json, ignored.by_aiohttp) == (200, {"msg": "ignored"}, False)
    assert sum((await bot.app[JOURNAL].counts()).values()) == 0


async def test_another_request_makes_the_connection_aiohttps_which_answers_everything_after(
    bot: BotHarness, connect: Any
) -> None:
    connection = await connect()
    await connection.send(delivery(bot))
    assert not (await connection.answer()).by_aiohttp
    await connection.send(b"GET /healthz HTTP/1.1\r\nHost: bot.example\r\n\r\n")
    health = await connection.answer()
    assert (health.status, health.json["status"], health.by_aiohttp) == (200, "ok", True)
    await connection.send(delivery(bot))
    after = await connection.answer()
    assert (after.status, after.json, after.by_aiohttp) == (202, {"msg": "accepted"}, True)


@pytest.mark.parametrize(
    "shape",
    [{"path": "/webhook?from=github"}, {"headers": {"Expect": "100-continue"}}],
    ids=["a query string", "Expect: 100-continue"],
)
async def test_a_delivery_of_another_shape_is_accepted_by_aiohttp(
    bot: BotHarness, connect: Any, shape: dict[str, Any]
) -> None:
    connection = await connect()
    await connection.send(delivery(bot, **shape))
    answer = await connection.answer()
    assert (answer.status, answer.json, answer.by_aiohttp) == (202, {"msg": "accepted"}, True)


async def test_http_1_0_kept_alive_is_answered_in_kind(bot: BotHarness, connect: Any) -> None:
    connection = await connect()
    for _ in range(2):
        await connection.send(delivery(bot, version="1.0", headers={"Connection": "keep-alive"}))
        answer = await connection.answer()
        assert (answer.status, answer.by_aiohttp) == (202, False)
        assert answer.status_line == "HTTP/1.0 202 Accepted"
        assert answer.headers["connection"] == "keep-alive"


async def test_a_delivery_larger_than_the_fast_paths_bound_is_read_by_aiohttp_against_the_budget(
    bot: BotHarness, connect: Any
) -> None:
    payload = pushed(
        bot.repository,
        branch=BRANCH,
        before=sha_of("c0"),
        after=sha_of("c1"),
        paths=[f"src/module_{n}.py" for n in range(3000)],
        installation_id=INSTALLATION_ID,
    )
    request = delivery(bot, event="push", payload=payload)
    assert len(request) > FAST_PATH_BYTES
    connection = await connect()
    await connection.send(request)
    answer = await connection.answer()
    assert (answer.status, answer.by_aiohttp) == (202, True)


async def test_a_head_with_more_headers_than_github_sends_is_aiohttps(bot: BotHarness, connect: Any) -> None:
    padding = {f"X-Padding-{n}": "x" for n in range(100)}
    connection = await connect()
    await connection.send(delivery(bot, headers=padding))
    answer = await connection.answer()
    assert (answer.status, answer.by_aiohttp) == (202, True)


async def test_a_chunked_body_is_aiohttps_and_refused_for_its_missing_length(
    bot: BotHarness, connect: Any
) -> None:
    body = b'{"action": "completed"}'
    request = delivery(bot, body=body, drop=("Content-Length",), headers={"Transfer-Encoding": "chunked"})
    head = request[: -len(body)]
    connection = await connect()
    await connection.send(head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
    answer = await connection.answer()
    assert (answer.status, answer.json["error"], answer.by_aiohttp) == (
        411,
        "Content-Length is required",
        True,
    )


async def test_a_body_in_pieces_is_awaited_and_answered_by_the_fast_path(
    bot: BotHarness, connect: Any
) -> None:
    request = delivery(bot)
    connection = await connect()
    for start in range(0, len(request), 1000):
        await connection.send(request[start : start + 1000])
        await asyncio.sleep(0.01)
    answer = await connection.answer()
    assert (answer.status, answer.by_aiohttp) == (202, False)


async def test_a_request_not_whole_within_a_second_is_handed_to_aiohttp_with_what_came(
    bot: BotHarness, connect: Any
) -> None:
    request = delivery(bot)
    connection = await connect()
    await connection.send(request[:200])
    await asyncio.sleep(1.3)
    await connection.send(request[200:])
    answer = await connection.answer()
    assert (answer.status, answer.json, answer.by_aiohttp) == (202, {"msg": "accepted"}, True)


async def test_pipelined_deliveries_are_answered_in_order(bot: BotHarness, connect: Any) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    connection = await connect()
    await connection.send(b"".join(delivery(bot, delivery_id=each) for each in ids))
    answers = [await connection.answer() for _ in ids]
    assert [(a.status, a.json) for a in answers] == [(202, {"msg": "accepted"})] * 3
    for delivery_id in ids:
        assert await bot.app[JOURNAL].get(delivery_id) is not None


async def test_a_delivery_sent_while_another_is_answered_waits_its_turn(
    bot: BotHarness, connect: Any
) -> None:
    """The second request arrives during the first's journal write: both answered, in order."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    connection = await connect()
    await connection.send(delivery(bot, delivery_id=first))
    await connection.send(delivery(bot, delivery_id=second))
    answers = [await connection.answer() for _ in range(2)]
    assert [a.status for a in answers] == [202, 202]
    assert await bot.app[JOURNAL].get(first) is not None and await bot.app[JOURNAL].get(second) is not None


@pytest.mark.parametrize(
    ("version", "headers"), [("1.1", {"Connection": "close"}), ("1.0", {})], ids=["1.1 close", "1.0"]
)
async def test_a_connection_not_kept_alive_is_answered_then_closed(
    bot: BotHarness, connect: Any, version: str, headers: dict[str, str]
) -> None:
    connection = await connect()
    await connection.send(delivery(bot, version=version, headers=headers))
    answer = await connection.answer()
    assert (answer.status, answer.headers["connection"], answer.by_aiohttp) == (202, "close", False)
    assert answer.status_line.startswith(f"HTTP/{version} 202")
    assert await connection.closed()


async def test_a_client_that_stops_sending_after_its_request_still_gets_the_answer(
    bot: BotHarness, connect: Any
) -> None:
    connection = await connect()
    await connection.send(delivery(bot))
    connection.writer.write_eof()
    answer = await connection.answer()
    assert (answer.status, answer.by_aiohttp) == (202, False)
    assert await connection.closed()


@pytest.mark.parametrize(
    "garbage",
    [
        b"POST /webhook HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"POST /webhook HTTP/1.1\r\nContent Length: 5\r\n\r\nhello",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # a TLS hello on the plain port
        b"POST /webhook HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    ],
    ids=["two lengths", "bad header name", "tls", "negative length"],
)
async def test_a_malformed_request_is_refused_by_aiohttp_and_the_server_goes_on(
    bot: BotHarness, connect: Any, garbage: bytes
) -> None:
    connection = await connect()
    await connection.send(garbage)
    answer = await connection.answer()
    assert answer.status == 400 and answer.by_aiohttp
    fresh = await connect()
    await fresh.send(delivery(bot))
    assert (await fresh.answer()).status == 202


@pytest.mark.parametrize("seed", range(12))
async def test_any_mix_of_requests_cut_anywhere_gets_one_answer_each_in_order(
    bot: BotHarness, connect: Any, seed: int
) -> None:
    """Deliveries, redeliveries, operators' GETs and forged deliveries, written as one stream cut at random
    places with pauses between the pieces: the fast path and aiohttp between them answer each request once,
    in order, and journal exactly the deliveries they accept."""
    chance = random.Random(seed)
    requests: list[tuple[bytes, int]] = []
    accepted: list[str] = []
    for _ in range(chance.randint(2, 6)):
        kind = chance.choice(["delivery", "delivery", "redelivery", "health", "forged"])
        if kind == "health":
            requests.append((b"GET /healthz HTTP/1.1\r\nHost: bot.example\r\n\r\n", 200))
        elif kind == "forged":
            requests.append((delivery(bot, headers={"X-Hub-Signature-256": "sha256=" + "1" * 64}), 401))
        elif kind == "redelivery" and accepted:
            requests.append((delivery(bot, delivery_id=accepted[-1]), 202))
        else:
            accepted.append(str(uuid.uuid4()))
            requests.append((delivery(bot, delivery_id=accepted[-1]), 202))
    stream = b"".join(request for request, _ in requests)
    cuts = sorted(chance.sample(range(1, len(stream)), chance.randint(0, 8)))
    connection = await connect()
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        await connection.send(stream[start:end])
        await asyncio.sleep(chance.choice([0, 0, 0.005, 0.02]))
    answers = [await connection.answer() for _ in requests]
    assert [answer.status for answer in answers] == [status for _, status in requests]
    for delivery_id in accepted:
        assert await bot.app[JOURNAL].get(delivery_id) is not None
    counts = await bot.app[JOURNAL].counts()
    assert sum(count for status, count in counts.items() if status != "in_progress") == len(accepted)
