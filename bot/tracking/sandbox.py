"""Rendering repository templates off the event loop, in a child process with hard limits.

A repository's template is code its authors control: Jinja's sandbox keeps it away from Python's
internals, but not from loops, recursion, huge numbers or huge strings that would stall the event loop
or exhaust the server's memory. So overrides render in one persistent child process (see
``sandbox_child``): a fresh interpreter with an empty environment (no secret reaches it), capped in
memory and CPU time by the kernel, and killed and replaced when a rendering takes too long or breaks
it. The server talks to it from a thread of its own, so the event loop only awaits the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import select
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.tracking.sandbox_child import (
    EXHAUSTED,
    HEADER,
    MAX_RENDERED_CHARS,
    RENDER_CPU_SECONDS,
    RENDERED,
    REQUEST_HEADER,
)

log = logging.getLogger(__name__)

# A rendering that has not answered after this long is killed with its process: the CPU budget
# (RENDER_CPU_SECONDS, kept by the kernel) usually ends a hostile template first; this covers a child
# starved of CPU on a busy host, and the first rendering's wait for the child to start (~0.3 s).
RENDER_TIMEOUT_SECONDS = 5.0
# An honest child's answer is at most the output cap in UTF-8 (4 bytes a character) plus the newline.
MAX_ANSWER_BYTES = 4 * (MAX_RENDERED_CHARS + 1)
# The directory holding the ``bot`` package, for the child's import path (its own -I ignores ours).
_SOURCE_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD = "import sys; sys.path.insert(0, sys.argv[1]); from bot.tracking.sandbox_child import main; main()"


@dataclass(frozen=True)
class Refusal:
    """Why a template could not be used; ``exhausted`` when it hit a limit (time, memory, a dead child)."""

    reason: str
    exhausted: bool


class _ChildGone(Exception):
    pass


class TemplateSandbox:
    """One child process, used by one thread, started on first use and replaced after a limit is hit."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="template-sandbox")
        self._child: subprocess.Popen[bytes] | None = None

    async def render(self, source: str, context: dict[str, Any]) -> str | Refusal:
        """``source`` rendered with ``context`` (renderings queue for the one child)."""
        request = pickle.dumps((source, context), protocol=pickle.HIGHEST_PROTOCOL)
        return await asyncio.get_running_loop().run_in_executor(self._thread, self._exchange, request)

    def _exchange(self, request: bytes) -> str | Refusal:
        child = self._running_child()
        assert child.stdin is not None and child.stdout is not None
        deadline = time.monotonic() + RENDER_TIMEOUT_SECONDS
        try:
            _write(child.stdin.fileno(), REQUEST_HEADER.pack(len(request)) + request, deadline)
            kind, length = HEADER.unpack(_read(child.stdout.fileno(), HEADER.size, deadline))
            if length > MAX_ANSWER_BYTES:
                raise _ChildGone(f"its answer of {length:,} bytes is over the cap")
            text = _read(child.stdout.fileno(), length, deadline).decode("utf-8")
        except TimeoutError:
            self._stop(child)
            return Refusal(f"it took longer than {RENDER_TIMEOUT_SECONDS:g} s to render", exhausted=True)
        except (_ChildGone, OSError, UnicodeDecodeError) as error:
            return Refusal(self._gone(child, str(error)), exhausted=True)
        if kind == RENDERED:
            return text
        if kind == EXHAUSTED:
            self._stop(child)  # a fresh child gets the whole memory budget back
        return Refusal(text, exhausted=kind == EXHAUSTED)

    def _running_child(self) -> subprocess.Popen[bytes]:
        if self._child is not None and self._child.poll() is not None:
            self._stop(self._child)  # it died between renderings
        if self._child is None:
            child = subprocess.Popen(
                [sys.executable, "-I", "-c", _CHILD, _SOURCE_ROOT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env={},  # nothing of the server's environment (its secrets) reaches the child
                cwd="/",
            )
            assert child.stdin is not None and child.stdout is not None
            os.set_blocking(child.stdin.fileno(), False)  # the deadline bounds every write and read
            os.set_blocking(child.stdout.fileno(), False)
            log.info("template sandbox started (pid %d)", child.pid)
            self._child = child
        return self._child

    def _gone(self, child: subprocess.Popen[bytes], error: str) -> str:
        """Why the child stopped answering, once it is reaped."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1)
        self._stop(child)
        if child.returncode == -signal.SIGPROF:
            return f"it used more than {RENDER_CPU_SECONDS:g} s of CPU time"
        log.warning("template sandbox (pid %d) stopped: %s (%s)", child.pid, error, child.returncode)
        return f"the template renderer stopped (exit status {child.returncode})"

    def _stop(self, child: subprocess.Popen[bytes]) -> None:
        child.kill()
        child.wait()
        for pipe in (child.stdin, child.stdout):
            if pipe is not None:
                pipe.close()
        if self._child is child:
            self._child = None


def _write(fd: int, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        _wait(fd, select.POLLOUT, deadline)
        view = view[os.write(fd, view) :]


def _read(fd: int, size: int, deadline: float) -> bytes:
    data = bytearray()
    while len(data) < size:
        _wait(fd, select.POLLIN, deadline)
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise _ChildGone("it closed its answers")
        data += chunk
    return bytes(data)


def _wait(fd: int, event: int, deadline: float) -> None:
    poller = select.poll()
    poller.register(fd, event)
    remaining = deadline - time.monotonic()
    if remaining <= 0 or not poller.poll(remaining * 1000):
        raise TimeoutError


# The server's one sandbox: renderings of every repository queue for it.
SANDBOX = TemplateSandbox()
