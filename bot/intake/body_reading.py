"""Reading a delivery's body so that unsigned traffic cannot make the server hold more than a bound.

Before any of the body is read, the request must declare its size (``Content-Length``: 411 without it),
at most GitHub's 25 MB (413), and carry a well-formed ``X-Hub-Signature-256`` claim (401). The declared
size is then held from a budget of unverified bytes while the body streams in, each chunk fed to the HMACs
as it arrives: a 25 MiB body is ~19 ms of SHA-256, which in one piece would stall every other request.
Once verified (or refused) the bytes are given back.

Bodies up to ``SMALL_BODY_BYTES`` (every GitHub event but the largest pushes) have a budget of their own,
so a flood of large unsigned bodies never makes a small signed delivery wait. A body waits at most
``WAIT_FOR_ROOM_SECONDS`` in line, then is refused 503: waiting longer would overrun GitHub's 10 s, and a
delivery GitHub saw fail is asked for again by the catch-up (``bot.healing.catch_up``). A body that takes
longer than ``READ_BODY_SECONDS`` to arrive is refused 408, so that slow senders cannot keep the budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import web

from bot.intake.byte_budget import ByteBudget, NoRoom
from bot.intake.free_memory import release_free_memory
from bot.intake.webhook import (
    MAX_PAYLOAD_BYTES,
    SIGNATURE_HEADER,
    BodySignature,
    DeliveryRejected,
    claimed_digest,
    signed_by_one_of,
)

SMALL_BODY_BYTES = 1024 * 1024
SMALL_BODIES_BUDGET = 16 * SMALL_BODY_BYTES
LARGE_BODIES_BUDGET = 2 * MAX_PAYLOAD_BYTES  # two of GitHub's largest deliveries read at once
WAIT_FOR_ROOM_SECONDS = 5.0
# Past this many waiting, a request is refused at once: each waiting connection has up to ~0.4 MiB buffered
# in the HTTP layer (one 256 KiB read from the socket on top of aiohttp's 128 KiB high-water mark).
MAX_WAITING = 64
READ_BODY_SECONDS = 10.0  # GitHub's whole timeout for a delivery: a body slower than that is not GitHub's
RETRY_AFTER_SECONDS = 10


def check_head(request: web.BaseRequest) -> tuple[int, bytes]:
    """The declared size and claimed digest, if the body is one to read; else DeliveryRejected."""
    size = request.content_length
    if size is None:
        raise DeliveryRejected(411, "Content-Length is required", close_connection=True)
    if size > MAX_PAYLOAD_BYTES:
        raise DeliveryRejected(413, f"payload larger than {MAX_PAYLOAD_BYTES} bytes", close_connection=True)
    claimed = claimed_digest(request.headers.get(SIGNATURE_HEADER))
    if claimed is None:
        raise DeliveryRejected(401, f"missing or invalid {SIGNATURE_HEADER}")
    return size, claimed


class UnverifiedBodies:
    """The bytes held by bodies whose signature is not verified yet, in two budgets: small and large."""

    def __init__(
        self,
        *,
        small_budget: int = SMALL_BODIES_BUDGET,
        large_budget: int = LARGE_BODIES_BUDGET,
        wait_for_room: float = WAIT_FOR_ROOM_SECONDS,
        max_waiting: int = MAX_WAITING,
        read_body_seconds: float = READ_BODY_SECONDS,
    ) -> None:
        self.small = ByteBudget(small_budget, max_waiting=max_waiting)
        self.large = ByteBudget(large_budget, max_waiting=max_waiting)
        self._wait_for_room = wait_for_room
        self._read_body_seconds = read_body_seconds

    def report(self) -> dict[str, dict[str, int]]:
        """Each budget's capacity, bytes held now and at most, and requests waiting, for /healthz."""
        return {
            name: {
                "capacity": budget.capacity,
                "held": budget.held,
                "peak": budget.peak,
                "waiting": budget.waiting,
            }
            for name, budget in (("small", self.small), ("large", self.large))
        }

    async def read_signed(self, request: web.Request, secrets: Sequence[bytes]) -> bytes:
        """The body, once its signature verified under one of ``secrets``; else DeliveryRejected."""
        size, claimed = check_head(request)
        if request.content.is_eof() and request.content.exception() is None:
            # The whole body came with the head (a small delivery, as most are): it is held already, and
            # there is nothing to wait for or stream; one HMAC call per secret, no deadline.
            whole = request.content.read_nowait()
            if not signed_by_one_of(secrets, claimed, whole):
                raise DeliveryRejected(401, f"missing or invalid {SIGNATURE_HEADER}")
            return whole
        budget = self.small if size <= SMALL_BODY_BYTES else self.large
        try:
            async with budget.hold(size, wait=self._wait_for_room):
                body = await self._read_verifying(request, BodySignature(secrets, claimed))
        except NoRoom as no_room:
            raise DeliveryRejected(
                503, f"too many unverified bodies in flight: {no_room}", retry_after=RETRY_AFTER_SECONDS
            ) from None
        finally:
            if budget is self.large and not budget.held:
                release_free_memory()  # the last large body is done: what it used goes back
        if body is None:
            raise DeliveryRejected(401, f"missing or invalid {SIGNATURE_HEADER}")
        return body

    async def _read_verifying(self, request: web.Request, signature: BodySignature) -> bytes | None:
        """The body if it matches ``signature``, else None; chunks are kept only until they are joined."""
        chunks: list[bytes] = []
        try:
            async with asyncio.timeout(self._read_body_seconds):
                # Chunks as received (readany joins what is buffered: a copy of unverified bytes per read).
                while chunk := (await request.content.readchunk())[0]:
                    signature.update(chunk)
                    chunks.append(chunk)
        except TimeoutError:
            raise DeliveryRejected(
                408, f"body not received within {self._read_body_seconds:g} s", close_connection=True
            ) from None
        if not signature.matches():
            return None
        return b"".join(chunks)  # one chunk (a small body) is returned as is, without a copy
