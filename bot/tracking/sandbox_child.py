"""The template sandbox's child process: renders repository templates under kernel-enforced limits.

It starts from a fresh interpreter (no copy of the server's memory, an empty environment), caps its own
address space and file writes before it reads any request, and gives each rendering a CPU budget kept
by the kernel: a profiling timer whose SIGPROF, left to its default action, ends the process when the
budget is spent, even inside one C call such as a big-integer multiplication (RLIMIT_CPU would do the
same, but only in whole seconds). It answers on a private copy of stdout.

Requests are length-prefixed pickles ``(source, context)`` from the server (trusted); answers are
a kind byte, a length and UTF-8 text, so the server never unpickles anything this process wrote.
"""

from __future__ import annotations

import os
import pickle
import resource
import signal
import struct
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import jinja2

# Each rendering may use this much CPU time. The built-in block's source with 100 runs renders here in
# about 3 ms; a template needing 150 times that is computing something other than a status block.
RENDER_CPU_SECONDS = 0.5
# Memory a rendering may add to the process as it is after start-up (RLIMIT_AS; start-up needs ~47 MiB
# of address space, ~41 MiB resident). The built-in block with 100 runs needs well under 1 MiB.
RENDER_MEMORY_BYTES = 128 * 1024 * 1024
RENDERED = b"T"  # the answer is the rendered text
REFUSED = b"E"  # the answer says why the template could not be used
EXHAUSTED = b"M"  # the same, and the template hit a limit: not worth trying again on this revision
HEADER = struct.Struct(">cI")  # kind, length of the UTF-8 payload
REQUEST_HEADER = struct.Struct(">I")
MAX_PROBLEM_CHARS = 300
# A repository's template may render at most this much text (the block shares GitHub's 65,536-character
# body with the human text; a comment needs far less).
MAX_RENDERED_CHARS = 30_000


def main() -> None:
    """Serve requests on stdin until the server closes it."""
    from bot.tracking.render import bounded_sandbox  # the server imports this module for its constants

    compiled = lru_cache(maxsize=64)(bounded_sandbox().from_string)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing but answers reaches the server's pipe
    requests = os.fdopen(0, "rb")
    _limit_resources()
    while (request := _read_request(requests)) is not None:
        kind, text = _render(compiled, request)
        payload = text.encode("utf-8", errors="replace")  # a problem may quote a lone surrogate
        answers.write(HEADER.pack(kind, len(payload)) + payload)
        answers.flush()


def _limit_resources() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # no file writes
    address_space = os.sysconf("SC_PAGE_SIZE") * int(Path("/proc/self/statm").read_text().split()[0])
    limit = address_space + RENDER_MEMORY_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _read_request(requests: BinaryIO) -> bytes | None:
    header = requests.read(REQUEST_HEADER.size)
    if len(header) < REQUEST_HEADER.size:
        return None
    (length,) = REQUEST_HEADER.unpack(header)
    return requests.read(length)


def _render(compiled: Callable[[str], jinja2.Template], request: bytes) -> tuple[bytes, str]:
    source, context = pickle.loads(request)
    signal.setitimer(signal.ITIMER_PROF, RENDER_CPU_SECONDS)
    try:
        text = _bounded_render(compiled(source), context)
        text.encode("utf-8")  # lone surrogates cannot be posted to GitHub
        return RENDERED, text
    except _TooLong:
        return REFUSED, f"it rendered more than {MAX_RENDERED_CHARS:,} characters"
    except MemoryError:
        return EXHAUSTED, f"MemoryError: it needed more than {RENDER_MEMORY_BYTES // 2**20} MiB of memory"
    except Exception as error:  # whatever a template raises, the server falls back
        return REFUSED, _describe(error)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)


def _bounded_render(template: jinja2.Template, context: dict[str, Any]) -> str:
    """Stop as soon as the output passes the cap, instead of building all of it first."""
    pieces: list[str] = []
    size = 0
    for piece in template.generate(**context):
        size += len(piece)
        if size > MAX_RENDERED_CHARS:
            raise _TooLong
        pieces.append(piece)
    return "".join(pieces).strip() + "\n"


class _TooLong(Exception):
    pass


def _describe(error: Exception) -> str:
    try:
        return f"{type(error).__name__}: {error}"[:MAX_PROBLEM_CHARS]
    except Exception:  # an exception whose message cannot be built
        return type(error).__name__
