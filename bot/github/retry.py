"""When a failed call to GitHub is worth another attempt, and how long to wait first.

Pure decisions over plain values (status, headers, body, the error's type), so every rule is tested
without a network. The client in ``bot.github.client`` applies them.

Writes: GETs, PUTs, DELETEs and GitHub's PATCHes (which set fields to given values) are retried after
any transient failure. A POST is retried only when it certainly did not reach GitHub (the connection
was never made) or GitHub answered that it did not do the work (5xx, 429, a rate-limit 403): after a
timeout or a dropped connection the comment may exist already, and posting again would double it.
Duplicates that slip through a 5xx are caught by the idempotency keys kept with the tracker's state.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import aiohttp

# GitHub: on a secondary rate limit without retry-after, "wait for at least one minute before retrying".
SECONDARY_RATE_LIMIT_WAIT = 60.0
NOT_IDEMPOTENT = frozenset({"POST"})


def full_jitter(ceiling: float) -> float:
    """A wait drawn uniformly from [0, ceiling]: retries of many clients spread out instead of colliding."""
    return random.uniform(0.0, ceiling)


@dataclass(frozen=True)
class RetryPolicy:
    budget: float = 300.0  # seconds one call may take, waits included, before it gives up
    attempt_timeout: float = 30.0  # seconds one attempt may take, body included
    base_delay: float = 1.0
    max_delay: float = 60.0
    jitter: Callable[[float], float] = full_jitter

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter for the wait after the ``attempt``-th failure."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return self.jitter(ceiling)


@dataclass(frozen=True)
class Failure:
    """An attempt that did not produce GitHub's final answer."""

    outcome: int | str  # the HTTP status, or "timeout" / "connection error"
    reason: str
    post_safe: bool  # a POST may be retried: GitHub certainly did not act on it
    wait: float | None = None  # what GitHub asked for (Retry-After, x-ratelimit-reset)


@dataclass(frozen=True)
class Retry:
    delay: float


@dataclass(frozen=True)
class GiveUp:
    reason: str


def failure_of_answer(status: int, headers: Mapping[str, str], body: bytes, *, now: float) -> Failure | None:
    """The failure an answer describes, or None when it is final (success, 304, or a 4xx to report).

    ``now`` is the wall clock in seconds since the epoch, to turn x-ratelimit-reset into a wait.
    """
    if status >= 500:
        return Failure(status, f"GitHub answered {status}", post_safe=True)
    if status not in (403, 429):
        return None
    message = _message(body)
    retry_after = _retry_after(headers.get("retry-after"), now=now)
    if headers.get("x-ratelimit-remaining") == "0":
        reset = _number(headers.get("x-ratelimit-reset"))
        wait = retry_after
        if wait is None and reset is not None:
            wait = max(reset - now, 0.0)
        return Failure(status, f"primary rate limit exhausted ({status})", post_safe=True, wait=wait)
    if "secondary rate limit" in message.lower() or retry_after is not None or status == 429:
        wait = retry_after if retry_after is not None else SECONDARY_RATE_LIMIT_WAIT
        return Failure(status, f"secondary rate limit ({status})", post_safe=True, wait=wait)
    return None  # a plain 403: permissions, which no wait will change


def failure_of_transport(error: BaseException, *, attempt_timeout: float) -> Failure:
    """A failure to exchange the request with GitHub at all."""
    if isinstance(error, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        # The connection was never established, so GitHub never saw the request.
        return Failure("connection error", f"could not connect ({error})", post_safe=True)
    if isinstance(error, TimeoutError):
        return Failure("timeout", f"no answer within {attempt_timeout:g} s", post_safe=False)
    return Failure("connection error", f"connection failed ({error!r})", post_safe=False)


def next_step(
    policy: RetryPolicy, *, method: str, failure: Failure, attempt: int, elapsed: float
) -> Retry | GiveUp:
    """Retry after a delay, or give up with the reason an operator will read in the log."""
    if method.upper() in NOT_IDEMPOTENT and not failure.post_safe:
        return GiveUp(f"{failure.reason}; a {method} is not retried when GitHub may have acted on it")
    delay = failure.wait if failure.wait is not None else policy.backoff(attempt)
    if elapsed + delay > policy.budget:
        return GiveUp(
            f"{failure.reason} after {attempt} attempt{'s' if attempt > 1 else ''} in {elapsed:.1f} s; "
            f"waiting {delay:.1f} s more would exceed the {policy.budget:g} s budget"
        )
    return Retry(delay)


def _message(body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
    return str(answer.get("message", "")) if isinstance(answer, dict) else ""


def _number(raw: str | None) -> float | None:
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _retry_after(raw: str | None, *, now: float) -> float | None:
    """Retry-After in seconds: GitHub sends an integer, HTTP also allows a date."""
    if raw is None:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        return max(parsedate_to_datetime(raw).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return None
