"""What the benchmarks share: an App key, a fake GitHub to start against, and the bot as a real process.

The bot runs as ``python -m bot serve`` (its own process, so its CPU and peak RSS are its own) against a
fake GitHub served by the benchmark's process; the load tools in ``../shared/bench`` are found relative to
this file, never to the working directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg

from bot.testing.fake_github import FakeGitHub
from bot.testing.loopback import AppKey

ROOT = Path(__file__).resolve().parents[1]
SHARED_BENCH = ROOT.parent / "shared" / "bench"
EXAMPLE = ROOT / "bot/testing/payloads/check_run.completed.json"
APP_ID = 4242
SECRET = "bench-secret"
# ``python -m bot`` as it is deployed, or with uvloop installed first, to measure what uvloop buys.
LAUNCHERS = {
    "asyncio": ("-m", "bot"),
    "uvloop": ("-c", "import sys, uvloop; uvloop.install(); from bot.ops.cli import main; sys.exit(main())"),
}


async def start_fake(key: AppKey) -> FakeGitHub:
    fake = FakeGitHub()
    await fake.start()
    fake.register_app(APP_ID, key.public_pem)
    return fake


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def example_with_installation(installation_id: int) -> dict[str, Any]:
    """GitHub's published ``check_run.completed`` example, as an App receives it (with ``installation``)."""
    payload: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    payload["installation"] = {"id": installation_id, "node_id": f"MDIzOkluc3RhbGxhdGlvbi{installation_id}"}
    return payload


class BotProcess:
    """``python -m bot serve`` in its own process, with production settings unless ``env`` says otherwise."""

    def __init__(
        self, key: AppKey, api_url: str, env: Mapping[str, str] | None = None, *, loop: str = "asyncio"
    ) -> None:
        self._launcher = LAUNCHERS[loop]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._state = tempfile.TemporaryDirectory(prefix="bench-bot-")
        self._env = {
            **os.environ,
            "GITHUB_APP_ID": str(APP_ID),
            "GITHUB_PRIVATE_KEY": key.private_pem.decode(),
            "GITHUB_WEBHOOK_SECRET": SECRET,
            "GITHUB_API_URL": api_url,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "BOT_STATE_DIR": self._state.name,
            "BOT_RECONCILE_SECONDS": "0",
            **(env or {}),
        }
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, log_level: str = "WARNING") -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, *self._launcher, "--log-level", log_level, "serve", env=self._env, cwd=ROOT
        )
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                try:
                    await self.health(session)
                    return
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
        raise RuntimeError("the bot did not start listening")

    async def health(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(f"{self.url}/healthz") as answer:
            health: dict[str, Any] = await answer.json()
            return health

    def pids(self) -> list[int]:
        """The server and its intake processes (bot/intake/processes.py), while they run."""
        found = [self.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == self.pid:
                        found.append(int(entry.name))
        return found

    def peak_rss_mib(self) -> float:
        """VmHWM, the most resident memory each process ever had, summed over the server's processes
        (pages they share are counted in each)."""
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        if not total:
            raise RuntimeError("no VmHWM in /proc status")
        return total / 1024

    def cpu_seconds(self) -> float:
        """User and system CPU of the server's processes, and of intake processes it has waited for."""
        ticks = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])
                if pid == self.pid:
                    ticks += int(fields[13]) + int(fields[14])  # children reaped: cutime, cstime
        return ticks / os.sysconf("SC_CLK_TCK")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        self._state.cleanup()


@contextlib.asynccontextmanager
async def journal_env(postgres: str | None) -> AsyncIterator[dict[str, str]]:
    """The bot's journal: SQLite in its state directory (``postgres`` None), or a database made on the
    PostgreSQL server at ``postgres`` for this run alone and dropped after."""
    if postgres is None:
        yield {}
        return
    name = f"bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(postgres)
        yield {"DATABASE_URL": urlunsplit((parts.scheme, parts.netloc, f"/{name}", "", ""))}
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def sha_of(label: str) -> str:
    """A commit sha made up from ``label``, the same for the same label."""
    return hashlib.sha1(label.encode()).hexdigest()


def journal_name(postgres: str | None) -> str:
    return "PostgreSQL" if postgres else "SQLite"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine() -> str:
    """The line a result is quoted with: when, on what."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown CPU",
    )
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"{when}; {os.cpu_count()} CPUs ({os.uname().machine}, {model}); Python {sys.version.split()[0]}"


async def run_shared(tool: str, *args: str) -> str:
    """Run a tool from ``../shared/bench`` without blocking the loop (the fake GitHub keeps answering)."""
    process = await asyncio.create_subprocess_exec(
        str(SHARED_BENCH / tool), *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"{tool} failed ({process.returncode}): {err.decode()[-2000:]}")
    return out.decode()
