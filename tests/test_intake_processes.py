"""Intake in several processes (BOT_INTAKE_PROCESSES): real processes, real HTTP, the fake GitHub.

What one process promises holds with intake processes: 202 only once journalled, each delivery id once
however the kernel spreads its copies over the processes, the same refusals, one /metrics and /healthz for
the whole server; and an intake process that dies is replaced, while one left without its serving process
stops.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp

from bot.testing.deliveries import signed_headers
from bot.testing.fake_github import FakeGitHub
from tests.conftest import WEBHOOK_SECRET
from tests.server_process import ServerProcess
from tests.test_durability import tracked_story

INTAKE_PROCESSES = 2


async def post(
    session: aiohttp.ClientSession, url: str, payload: dict[str, Any], delivery_id: str
) -> tuple[int, dict[str, Any]]:
    body = json.dumps(payload).encode()
    headers = signed_headers(WEBHOOK_SECRET, "check_run", body, delivery_id)
    # A connection of its own each time, so that copies of a delivery reach different processes.
    async with session.post(
        f"{url}/webhook", data=body, headers={**headers, "Connection": "close"}
    ) as answer:
        return answer.status, await answer.json()


def counted(metrics: str, series: str) -> float:
    """The value of one series line of /metrics (0 when it is absent)."""
    found = re.search(rf"^{re.escape(series)} (\S+)$", metrics, re.MULTILINE)
    return float(found[1]) if found else 0.0


async def until(check: Any, seconds: float = 20.0) -> None:
    """Poll ``check()`` (a sync callable) until true, or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.05)


async def test_copies_of_deliveries_spread_over_intake_processes_are_journalled_once_and_worked_off(
    github: FakeGitHub, private_key_pem: bytes, canonical_body: str, tmp_path: Path
) -> None:
    deliveries = tracked_story(github, canonical_body, "p", 10)
    server = ServerProcess(github, private_key_pem, tmp_path / "state", intake_processes=INTAKE_PROCESSES)
    try:
        async with aiohttp.ClientSession() as session:
            assert len(await server.start_all(session, INTAKE_PROCESSES)) == INTAKE_PROCESSES
            answers = await asyncio.gather(
                *(post(session, server.url, payload, delivery_id) for delivery_id, payload in deliveries * 4)
            )
            health = await server.settled(session)
            async with session.get(f"{server.url}/metrics") as answer:
                metrics = await answer.text()
    finally:
        await server.stop()
    assert sorted(status for status, _ in answers) == [202] * 40
    assert sorted(body["msg"] for _, body in answers) == ["accepted"] * 10 + ["duplicate"] * 30
    assert health["deliveries"]["done"] == 10 and health["processed"] == 10  # the serving process's own
    acked = 'issue_status_bot_deliveries_total{event="check_run",outcome="acked"}'
    duplicate = 'issue_status_bot_deliveries_total{event="check_run",outcome="duplicate"}'
    assert (counted(metrics, acked), counted(metrics, duplicate)) == (10, 30)


async def test_refusals_through_intake_processes_are_those_of_one_process_and_counted_once(
    github: FakeGitHub, private_key_pem: bytes, canonical_body: str, tmp_path: Path
) -> None:
    ((delivery_id, payload),) = tracked_story(github, canonical_body, "r", 1)
    body = json.dumps(payload).encode()
    server = ServerProcess(github, private_key_pem, tmp_path / "state", intake_processes=INTAKE_PROCESSES)
    url = f"{server.url}/webhook"
    try:
        async with aiohttp.ClientSession() as session:
            await server.start_all(session, INTAKE_PROCESSES)
            headers = signed_headers(WEBHOOK_SECRET, "check_run", body, delivery_id)
            forged = {**headers, "X-Hub-Signature-256": "sha256=" + "0" * 64}
            not_json = signed_headers(WEBHOOK_SECRET, "check_run", b"{not json", delivery_id)
            too_large = {**headers, "Content-Length": str(26 * 1024 * 1024)}
            statuses = []
            for data, sent in ((body, forged), (b"{not json", not_json)):
                async with session.post(url, data=data, headers=sent) as answer:
                    statuses.append(answer.status)
            async with session.post(url, data=b"", headers=too_large, skip_auto_headers=()) as answer:
                statuses.append(answer.status)
            async with session.post(url, data=body, headers=headers) as answer:
                statuses.append(answer.status)  # the refusals recorded nothing: the genuine one is new
            await asyncio.sleep(0.1)  # the intake processes report every few milliseconds
            async with session.get(f"{server.url}/metrics") as answer:
                metrics = await answer.text()
    finally:
        await server.stop()
    assert statuses == [401, 400, 413, 202]
    for reason in ("signature", "malformed", "too large"):
        assert counted(metrics, f'issue_status_bot_deliveries_refused_total{{reason="{reason}"}}') == 1


async def test_a_killed_intake_process_is_replaced_and_deliveries_are_still_acknowledged(
    github: FakeGitHub, private_key_pem: bytes, canonical_body: str, tmp_path: Path
) -> None:
    deliveries = tracked_story(github, canonical_body, "k", 20)
    server = ServerProcess(github, private_key_pem, tmp_path / "state", intake_processes=INTAKE_PROCESSES)
    try:
        async with aiohttp.ClientSession() as session:
            first = await server.start_all(session, INTAKE_PROCESSES)
            victim = min(first)
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 20
            while len(await server.intake_up(session) - {victim}) < INTAKE_PROCESSES:
                assert time.monotonic() < deadline, "the killed intake process was not replaced"
                await asyncio.sleep(0.05)
            answers = await asyncio.gather(*(post(session, server.url, p, d) for d, p in deliveries))
            health = await server.settled(session)
            after = await server.intake_up(session)
    finally:
        await server.stop()
    assert victim not in after and len(after & first) == INTAKE_PROCESSES - 1
    assert [status for status, _ in answers] == [202] * 20
    assert health["deliveries"]["done"] == 20


async def test_intake_processes_stop_when_their_serving_process_is_killed(
    github: FakeGitHub, private_key_pem: bytes, tmp_path: Path
) -> None:
    server = ServerProcess(github, private_key_pem, tmp_path / "state", intake_processes=INTAKE_PROCESSES)
    async with aiohttp.ClientSession() as session:
        await server.start_all(session, INTAKE_PROCESSES)
    orphans = server.intake_pids()
    assert server.process is not None
    server.process.send_signal(signal.SIGKILL)  # the serving process alone
    await server.process.wait()
    await until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in orphans))


async def test_a_server_whose_intake_processes_keep_dying_stops_with_an_error(
    github: FakeGitHub, private_key_pem: bytes, tmp_path: Path
) -> None:
    server = ServerProcess(github, private_key_pem, tmp_path / "state", intake_processes=INTAKE_PROCESSES)
    async with aiohttp.ClientSession() as session:
        await server.start_all(session, INTAKE_PROCESSES)
    assert server.process is not None
    killed: set[int] = set()
    while server.process.returncode is None:
        for pid in server.intake_pids() - killed:
            killed.add(pid)
            os.kill(pid, signal.SIGKILL)
        await asyncio.sleep(0.05)
    assert server.process.returncode == 3  # EXIT_INTAKE_FAILED, not a silent half-serving server
    await until(lambda: not server.intake_pids())
