"""Which failed attempts are retried, after how long, and when a call gives up: pure decisions."""

from __future__ import annotations

import json

import aiohttp
import pytest

from bot.github.retry import (
    SECONDARY_RATE_LIMIT_WAIT,
    Failure,
    GiveUp,
    Retry,
    RetryPolicy,
    failure_of_answer,
    failure_of_transport,
    full_jitter,
    next_step,
)

NOW = 1_750_000_000.0
SECONDARY = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."


def body(message: str) -> bytes:
    return json.dumps({"message": message, "documentation_url": "https://docs.github.com/rest"}).encode()


@pytest.mark.parametrize(
    ("status", "headers", "message", "expected"),  # NOW is 2025-06-15 15:06:40 GMT
    [
        (200, {}, "", None),
        (304, {}, "", None),
        (404, {}, "Not Found", None),
        (422, {}, "Validation Failed", None),
        (403, {"x-ratelimit-remaining": "12"}, "Resource not accessible by integration", None),
        (500, {}, "Server Error", Failure(500, "GitHub answered 500", post_safe=True)),
        (502, {}, "", Failure(502, "GitHub answered 502", post_safe=True)),
        (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) + 90)},
            "API rate limit exceeded for installation.",
            Failure(403, "primary rate limit exhausted (403)", post_safe=True, wait=90.0),
        ),
        (
            429,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW) - 5)},
            "",
            Failure(429, "primary rate limit exhausted (429)", post_safe=True, wait=0.0),
        ),
        (
            403,
            {"x-ratelimit-remaining": "4000"},
            SECONDARY,
            Failure(403, "secondary rate limit (403)", post_safe=True, wait=SECONDARY_RATE_LIMIT_WAIT),
        ),
        (
            403,
            {"retry-after": "17"},
            "",
            Failure(403, "secondary rate limit (403)", post_safe=True, wait=17.0),
        ),
        (
            429,
            {"retry-after": "Sun, 15 Jun 2025 15:07:00 GMT"},
            "",
            Failure(429, "secondary rate limit (429)", post_safe=True, wait=20.0),
        ),
        (429, {}, "", Failure(429, "secondary rate limit (429)", post_safe=True, wait=60.0)),
    ],
)
def test_answers_are_final_or_failures_with_the_wait_github_asked_for(
    status: int, headers: dict[str, str], message: str, expected: Failure | None
) -> None:
    assert failure_of_answer(status, headers, body(message), now=NOW) == expected


@pytest.mark.parametrize(
    ("error", "outcome", "post_safe"),
    [
        (aiohttp.ConnectionTimeoutError("connect"), "connection error", True),
        (TimeoutError(), "timeout", False),
        (aiohttp.ServerDisconnectedError(), "connection error", False),
    ],
)
def test_a_post_is_safe_to_retry_only_when_the_connection_was_never_made(  # refused: see client tests
    error: BaseException, outcome: str, post_safe: bool
) -> None:
    failure = failure_of_transport(error, attempt_timeout=30)
    assert (failure.outcome, failure.post_safe) == (outcome, post_safe)


POLICY = RetryPolicy(budget=100, jitter=lambda ceiling: ceiling)
TIMEOUT = Failure("timeout", "no answer within 30 s", post_safe=False)


@pytest.mark.parametrize(
    ("method", "failure", "attempt", "elapsed", "expected"),
    [
        ("GET", TIMEOUT, 1, 0.0, Retry(1.0)),
        ("PATCH", TIMEOUT, 3, 10.0, Retry(4.0)),
        ("POST", Failure(502, "GitHub answered 502", post_safe=True), 2, 1.0, Retry(2.0)),
        (
            "POST",
            TIMEOUT,
            1,
            0.0,
            GiveUp("no answer within 30 s; a POST is not retried when GitHub may have acted on it"),
        ),
        ("GET", Failure(429, "secondary rate limit (429)", post_safe=True, wait=45.0), 1, 0.0, Retry(45.0)),
        (
            "GET",
            Failure(502, "GitHub answered 502", post_safe=True),
            7,
            63.0,
            GiveUp(
                "GitHub answered 502 after 7 attempts in 63.0 s; "
                "waiting 60.0 s more would exceed the 100 s budget"
            ),
        ),
    ],
)
def test_next_step_retries_within_the_budget_and_never_repeats_a_post_github_may_have_done(
    method: str, failure: Failure, attempt: int, elapsed: float, expected: Retry | GiveUp
) -> None:
    assert next_step(POLICY, method=method, failure=failure, attempt=attempt, elapsed=elapsed) == expected


def test_backoff_draws_from_a_ceiling_that_doubles_up_to_the_cap() -> None:
    ceilings: list[float] = []

    def half_of(ceiling: float) -> float:
        ceilings.append(ceiling)
        return ceiling / 2

    policy = RetryPolicy(base_delay=1, max_delay=60, jitter=half_of)
    assert [policy.backoff(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert ceilings == [1, 2, 4, 8, 16, 32, 60, 60]


def test_full_jitter_stays_between_zero_and_the_ceiling() -> None:
    draws = [full_jitter(4.0) for _ in range(200)]
    assert all(0.0 <= d <= 4.0 for d in draws) and len(set(draws)) > 100
