"""A flood of unsigned 25 MiB bodies: the bot's peak memory, and how fast a signed ping is answered meanwhile.

    .venv/bin/python bench/unsigned_flood.py [--connections 48] [--seconds 10] [--requests 480]

Each of ``connections`` senders posts, one request after another on a fresh connection, a body just under
GitHub's 25 MiB cap with a well-formed but wrong ``X-Hub-Signature-256`` (what anyone who knows the URL can
send), until ``seconds`` have passed or ``requests`` were started; requests in flight then finish. The
senders write in 1 MiB slices, so this process holds one copy of the body, not one per connection.
Meanwhile a signed ``ping`` (GitHub's published example) is posted every 100 ms on a connection of its own
and timed from connect to answer; a few are timed before the flood too, for comparison.

The bot is ``python -m bot serve`` in its own process (production settings). Printed: the answers the flood
got, the ping latencies and failures, the bot's RSS before, its peak (``VmHWM``), and its RSS 3 s after the
flood, when whatever is released has been.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import time
from pathlib import Path

import aiohttp
from harness import SECRET, BotProcess, machine, start_fake

from bot.testing.deliveries import example, signed_headers
from bot.testing.loopback import new_app_key

BODY_BYTES = 25 * 1024 * 1024 - 1024  # just under GitHub's cap: the largest body the bot must take
SLICE = 1024 * 1024
PING_EVERY = 0.1
REQUEST_TIMEOUT = 60.0


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


async def post_unsigned(port: int, body: memoryview) -> str:
    """One unsigned delivery; the answer's status (it may come before the body is sent), or why none came."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "X-GitHub-Event: check_run\r\nX-GitHub-Delivery: flood\r\n"
        f"X-Hub-Signature-256: sha256={'0' * 64}\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    )

    async def send() -> None:
        writer.write(head.encode())
        for start in range(0, len(body), SLICE):
            writer.write(body[start : start + SLICE])
            await writer.drain()

    sending = asyncio.create_task(send())
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            status_line = await reader.readline()
        return status_line.split()[1].decode() if status_line else "closed without an answer"
    except (ConnectionError, TimeoutError) as exc:
        return type(exc).__name__
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        writer.close()
        await asyncio.gather(writer.wait_closed(), return_exceptions=True)


async def flood(port: int, connections: int, seconds: float, requests: int) -> collections.Counter[str]:
    body = memoryview(b'{"padding": "' + b"a" * (BODY_BYTES - 16) + b'"}')
    answers: collections.Counter[str] = collections.Counter()
    started = 0
    deadline = time.monotonic() + seconds

    async def sender() -> None:
        nonlocal started
        while started < requests and time.monotonic() < deadline:
            started += 1
            answers[await post_unsigned(port, body)] += 1

    await asyncio.gather(*(sender() for _ in range(connections)))
    return answers


async def ping(url: str) -> float | None:
    """Seconds from connect to a 200 answer for one signed ping; None if it was not answered 200."""
    body = json.dumps(example("ping")).encode()
    started = time.perf_counter()
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)) as session,
            session.post(url, data=body, headers=signed_headers(SECRET.encode(), "ping", body)) as answer,
        ):
            await answer.read()
            return time.perf_counter() - started if answer.status == 200 else None
    except (aiohttp.ClientError, TimeoutError):
        return None


async def pings_until(url: str, done: asyncio.Event) -> list[float | None]:
    timings: list[float | None] = []
    while not done.is_set():
        timings.append(await ping(url))
        await asyncio.sleep(PING_EVERY)
    return timings


def describe(timings: list[float | None]) -> str:
    answered = sorted(t * 1000 for t in timings if t is not None)
    if not answered:
        return f"{len(timings)} sent, none answered 200"
    p99 = answered[min(len(answered) - 1, round(0.99 * (len(answered) - 1)))]
    return (
        f"{len(timings)} sent, {len(timings) - len(answered)} not answered 200;"
        f" median {answered[len(answered) // 2]:.1f} ms, p99 {p99:.1f} ms, max {answered[-1]:.1f} ms"
    )


async def main(connections: int, seconds: float, requests: int) -> None:
    key = new_app_key()
    fake = await start_fake(key)
    bot = BotProcess(key, fake.url)
    await bot.start()
    url = f"{bot.url}/webhook"
    try:
        print(machine())
        print(
            f"flood: {connections} connections, unsigned {BODY_BYTES / 2**20:.1f} MiB bodies,"
            f" for {seconds:g} s or {requests} requests; a signed ping every {PING_EVERY * 1000:.0f} ms"
        )
        quiet = [await ping(url) for _ in range(20)]
        print(f"pings before the flood: {describe(quiet)}")
        rss_before = rss_mib(bot.pid)
        done = asyncio.Event()
        pinger = asyncio.create_task(pings_until(url, done))
        started = time.monotonic()
        answers = await flood(bot.port, connections, seconds, requests)
        elapsed = time.monotonic() - started
        done.set()
        during = await pinger
        sent = sum(answers.values())
        print(
            f"flood: {sent} requests ({sent * BODY_BYTES / 2**30:.1f} GiB offered) in {elapsed:.1f} s;"
            f" answers {dict(sorted(answers.items()))}"
        )
        print(f"pings during the flood: {describe(during)}")
        await asyncio.sleep(3)
        print(
            f"bot RSS: {rss_before:.0f} MiB before, peak {rss_mib(bot.pid, 'VmHWM'):.0f} MiB,"
            f" {rss_mib(bot.pid):.0f} MiB 3 s after the flood"
        )
        async with aiohttp.ClientSession() as session:
            health = await bot.health(session)
        print(f"bot /healthz after: {json.dumps(health.get('unverified_bodies', 'not reported'))}")
    finally:
        await bot.stop()
        await fake.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=48)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=480)
    args = parser.parse_args()
    asyncio.run(main(args.connections, args.seconds, args.requests))
