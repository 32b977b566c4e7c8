"""Reading job logs and artifact archives from the storage GitHub redirects to.

GitHub answers a log or archive request with a 302 to a short-lived signed URL on another host. That host
gets no credentials (the signed URL is the credential), is read in bounded chunks, and is never trusted for
size: logs reach hundreds of MB and archives come from untrusted workflows.
"""

from __future__ import annotations

import tempfile
from collections import deque
from typing import IO

import aiohttp

CHUNK_BYTES = 64 * 1024
# Archives this small stay in memory; larger ones spill to a temporary file.
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024


class BlobUnavailable(Exception):
    """The blob could not be read within the bounds; ``reason`` says why, for the status block."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BlobReader:
    """Unauthenticated, bounded downloads over the App's shared HTTP session."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def tail(self, url: str, size: int, *, max_bytes: int) -> bytes:
        """The last ``size`` bytes of a blob.

        Asks for just those bytes (a suffix Range, which blob storage honours); a server that sends the
        whole body instead is streamed through a window of ``size`` bytes, up to ``max_bytes`` read.
        """
        async with self._session.get(url, headers={"Range": f"bytes=-{size}"}) as answer:
            if answer.status == 206:
                return await _read_at_most(answer, size)
            if answer.status != 200:
                raise BlobUnavailable(f"storage answered {answer.status}")
            window: deque[bytes] = deque()
            kept = read = 0
            async for chunk in answer.content.iter_chunked(CHUNK_BYTES):
                read += len(chunk)
                if read > max_bytes:
                    raise BlobUnavailable(f"larger than the {max_bytes // 2**20} MiB read limit")
                window.append(chunk)
                kept += len(chunk)
                while kept - len(window[0]) >= size:
                    kept -= len(window.popleft())
            return b"".join(window)[-size:]

    async def download(self, url: str, *, max_bytes: int) -> IO[bytes]:
        """The whole blob in a (spooled) temporary file, refused beyond ``max_bytes``."""
        async with self._session.get(url) as answer:
            if answer.status != 200:
                raise BlobUnavailable(f"storage answered {answer.status}")
            if answer.content_length is not None and answer.content_length > max_bytes:
                raise BlobUnavailable(f"larger than the {max_bytes // 2**20} MiB download limit")
            spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115 (returned open)
            read = 0
            async for chunk in answer.content.iter_chunked(CHUNK_BYTES):
                read += len(chunk)
                if read > max_bytes:
                    spool.close()
                    raise BlobUnavailable(f"larger than the {max_bytes // 2**20} MiB download limit")
                spool.write(chunk)
            spool.seek(0)
            return spool


async def _read_at_most(answer: aiohttp.ClientResponse, size: int) -> bytes:
    parts: list[bytes] = []
    read = 0
    async for chunk in answer.content.iter_chunked(CHUNK_BYTES):
        parts.append(chunk)
        read += len(chunk)
        if read >= size:
            break
    return b"".join(parts)[:size]
