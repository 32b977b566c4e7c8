"""``python -m bot serve`` as a real process against a test's fake GitHub: what kill -9 and intake processes
are tested with."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from bot.testing.fake_github import FakeGitHub
from tests.conftest import APP_ID, STATE_KEY, WEBHOOK_SECRET


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """``python -m bot serve`` as a real process, against the fake GitHub of this test."""

    def __init__(
        self, fake: FakeGitHub, private_key_pem: bytes, state_dir: Path, *, intake_processes: int = 0
    ) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "GITHUB_APP_ID": str(APP_ID),
            "GITHUB_PRIVATE_KEY": private_key_pem.decode(),
            "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET.decode(),
            "BOT_STATE_KEY": STATE_KEY.decode(),
            "GITHUB_API_URL": fake.url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "BOT_STATE_DIR": str(state_dir),
            "GITHUB_WRITE_INTERVAL": "0",
            "BOT_COALESCE_SECONDS": "0",
            "BOT_RECONCILE_SECONDS": "0",
            "BOT_INTAKE_PROCESSES": str(intake_processes),
        }
        self.process: asyncio.subprocess.Process | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    async def start(self, session: aiohttp.ClientSession) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--log-level",
            "WARNING",
            "serve",
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its own process group: kill() takes its intake processes too
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                async with session.get(f"{self.url}/healthz") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
        raise AssertionError("the server did not start")

    async def start_all(self, session: aiohttp.ClientSession, intake_processes: int) -> set[int]:
        """Started, with all its intake processes listening (the first answers before the others are up)."""
        await self.start(session)
        deadline = time.monotonic() + 20
        while len(up := await self.intake_up(session)) < intake_processes:
            assert time.monotonic() < deadline, f"only intake processes {up} came up"
            await asyncio.sleep(0.05)
        return up

    async def intake_up(self, session: aiohttp.ClientSession) -> set[int]:
        """The intake processes listening, as /healthz lists them (empty: the server takes deliveries)."""
        async with session.get(f"{self.url}/healthz") as answer:
            return set((await answer.json())["intake_processes"])

    async def kill(self) -> None:
        """kill -9 of the whole server, as the OOM killer or a container's end does it."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def settled(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            async with session.get(f"{self.url}/healthz") as answer:
                health: dict[str, Any] = await answer.json()
            deliveries = health["deliveries"]
            if deliveries["pending"] == deliveries["in_progress"] == health["in_flight"] == 0:
                return health
            await asyncio.sleep(0.05)
        raise AssertionError(f"deliveries never settled: {health}")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()  # SIGTERM: the graceful path
            async with asyncio.timeout(30):
                assert await self.process.wait() == 0

    def intake_pids(self) -> set[int]:
        """The live processes this server started (its intake processes), from /proc."""
        assert self.process is not None
        found: set[int] = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                found.add(int(entry.name))
        return found
