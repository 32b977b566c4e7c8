"""The client survives GitHub's outages and limits, paces itself per installation, and counts every call.

Each test runs the real client against the fake GitHub on loopback, with faults injected. Waits go
through a manual clock that records what was asked for, so the suite checks the exact delays without
sleeping them; only the pacing tests use the real clock.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from gidgethub import BadRequest, RedirectionException, sansio

from bot.github.auth import InstallationTokens
from bot.github.client import GitHubApp, GitHubUnavailable, InstallationClient
from bot.github.retry import RetryPolicy
from bot.github.throttle import Clock
from bot.testing.fake_github import FakeGitHub
from tests.conftest import APP_ID

REPO = "platform-wrapper/backend"
OTHER_REPO = "platform-wrapper/frontend"
INSTALLATION = 77
OTHER_INSTALLATION = 78
ISSUE = 2
ISSUE_URL = "/repos/{owner}/{repo}/issues/{number}"
ISSUE_PATH = f"/repos/{REPO}/issues/{ISSUE}"
COMMENTS_URL = "/repos/{owner}/{repo}/issues/{number}/comments"
ISSUE_VARS: dict[str, Any] = {"owner": "platform-wrapper", "repo": "backend", "number": ISSUE}
GET_ISSUE = f"GET {ISSUE_URL}"
WALL_START = 1_750_000_000.0


class ManualClock:
    """Time that moves only when the client waits; every requested wait is kept."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL_START + self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def clock(self) -> Clock:
        return Clock(monotonic=self.monotonic, wall=self.wall, sleep=self.sleep)


def no_jitter(ceiling: float) -> float:
    return ceiling


@pytest.fixture
async def fake(github: FakeGitHub) -> FakeGitHub:
    github.add_repository(REPO)
    github.add_repository(OTHER_REPO)
    github.add_installation(INSTALLATION, [REPO])
    github.add_installation(OTHER_INSTALLATION, [OTHER_REPO])
    github.add_issue(REPO, "Reach >90% test pass rate", "- [ ] >90% test pass rate achieved\n", number=ISSUE)
    return github


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


AppFactory = Callable[..., GitHubApp]


@pytest.fixture
def make_app(
    fake: FakeGitHub, session: aiohttp.ClientSession, private_key_pem: bytes, clock: ManualClock
) -> AppFactory:
    """A GitHubApp on the fake: manual clock, no jitter, no write spacing unless a test asks."""

    def make(*, api_url: str | None = None, clock_: Clock | None = None, **options: Any) -> GitHubApp:
        url = api_url or fake.url
        tokens = InstallationTokens(session, api_url=url, app_id=APP_ID, private_key_pem=private_key_pem)
        policy = options.pop("policy", RetryPolicy(attempt_timeout=5, jitter=no_jitter))
        options.setdefault("write_interval", 0)
        return GitHubApp(
            session, tokens, api_url=url, policy=policy, clock=clock_ or clock.clock(), **options
        )

    return make


@pytest.fixture
def gh(make_app: AppFactory) -> InstallationClient:
    return make_app().client(INSTALLATION)


async def get_issue(client: InstallationClient) -> dict[str, Any]:
    answer: dict[str, Any] = await client.getitem(ISSUE_URL, ISSUE_VARS)
    return answer


def statuses(fake: FakeGitHub, method: str = "GET", path: str = ISSUE_PATH) -> list[int]:
    return [r.status for r in fake.calls(method, path) if r.path == path]


# -- transient failures -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_retried_with_exponential_backoff_until_the_call_succeeds(
    fake: FakeGitHub, gh: InstallationClient, clock: ManualClock, status: int
) -> None:
    fake.fail_next(2, status, path=ISSUE_PATH)
    assert (await get_issue(gh))["number"] == ISSUE
    assert clock.slept == [1.0, 2.0]
    assert statuses(fake) == [status, status, 200]


async def test_a_hanging_answer_is_abandoned_after_the_attempt_timeout_and_retried(
    fake: FakeGitHub, make_app: AppFactory, clock: ManualClock
) -> None:
    app = make_app(policy=RetryPolicy(attempt_timeout=0.2, jitter=no_jitter))
    fake.hang_next(1, 30, path=ISSUE_PATH)
    started = time.monotonic()
    assert (await get_issue(app.client(INSTALLATION)))["number"] == ISSUE
    assert time.monotonic() - started < 5
    assert clock.slept == [1.0]
    assert len(fake.calls("GET", ISSUE_PATH)) == 2
    assert (app.calls[(GET_ISSUE, "timeout")], app.calls[(GET_ISSUE, 200)]) == (1, 1)


# -- rate limits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry_after", "waited"),
    [(403, 7, 7.0), (429, 3, 3.0), (403, None, 60.0), (429, None, 60.0)],
)
async def test_a_secondary_rate_limit_waits_as_github_says_or_a_minute(
    fake: FakeGitHub,
    gh: InstallationClient,
    clock: ManualClock,
    status: int,
    retry_after: int | None,
    waited: float,
) -> None:
    fake.secondary_rate_limit_next(retry_after=retry_after, status=status, path=ISSUE_PATH)
    assert (await get_issue(gh))["number"] == ISSUE
    assert clock.slept == [waited]
    assert statuses(fake) == [status, 200]


async def test_a_429_with_retry_after_is_honoured_whatever_its_message(
    fake: FakeGitHub, gh: InstallationClient, clock: ManualClock
) -> None:
    fake.fail_next(1, 429, message="Too Many Requests", retry_after=2, path=ISSUE_PATH)
    await get_issue(gh)
    assert clock.slept == [2.0]


@pytest.mark.parametrize("status", [403, 429])
async def test_a_spent_quota_waits_until_x_ratelimit_reset(
    fake: FakeGitHub, gh: InstallationClient, clock: ManualClock, status: int
) -> None:
    fake.rate_limit_next(reset_at=int(WALL_START) + 42, status=status, path=ISSUE_PATH)
    assert (await get_issue(gh))["number"] == ISSUE
    assert clock.slept == [42.0]


async def test_after_a_rate_limit_every_call_of_the_installation_waits_not_only_the_refused_one(
    fake: FakeGitHub, make_app: AppFactory, clock: ManualClock
) -> None:
    app = make_app()
    fake.rate_limit_next(reset_at=int(WALL_START) + 42, path=ISSUE_PATH)
    await get_issue(app.client(INSTALLATION))
    clock.now -= 10  # another client starts a call 10 s before the limit resets
    await get_issue(app.client(INSTALLATION))
    assert clock.slept == [42.0, 10.0]


async def test_a_plain_403_is_permissions_and_not_retried(
    fake: FakeGitHub, gh: InstallationClient, clock: ManualClock
) -> None:
    fake.fail_next(1, 403, message="Resource not accessible by integration", path=ISSUE_PATH)
    with pytest.raises(BadRequest) as refused:
        await get_issue(gh)
    assert refused.value.status_code == 403
    assert clock.slept == []


# -- authentication -------------------------------------------------------------------------------


async def test_an_expired_token_is_minted_again_once_and_the_call_succeeds(
    fake: FakeGitHub, gh: InstallationClient, clock: ManualClock
) -> None:
    await get_issue(gh)
    fake.expire_tokens()
    assert (await get_issue(gh))["number"] == ISSUE
    assert fake.tokens_minted[INSTALLATION] == 2
    assert statuses(fake) == [200, 401, 304]
    assert clock.slept == []


async def test_a_server_error_while_minting_the_token_is_retried_like_any_other(
    fake: FakeGitHub, make_app: AppFactory, clock: ManualClock
) -> None:
    app = make_app()
    fake.fail_next(1, 502, path=f"/app/installations/{INSTALLATION}/access_tokens")
    assert (await get_issue(app.client(INSTALLATION)))["number"] == ISSUE
    assert clock.slept == [1.0]
    assert app.calls[("POST /app/installations/{installation_id}/access_tokens", 502)] == 1


async def test_a_second_401_after_a_fresh_token_is_reported_not_retried(
    fake: FakeGitHub, gh: InstallationClient
) -> None:
    fake.fail_next(2, 401, message="Bad credentials", path=ISSUE_PATH)
    with pytest.raises(BadRequest) as refused:
        await get_issue(gh)
    assert refused.value.status_code == 401
    assert fake.tokens_minted[INSTALLATION] == 2


async def test_credentials_go_only_to_the_api_origin_never_to_the_storage_a_redirect_names(
    fake: FakeGitHub, gh: InstallationClient
) -> None:
    fake.add_job_log(REPO, 55, "===== 84 failed, 143 passed =====\n")
    with pytest.raises(RedirectionException) as redirect:
        await gh.getitem("/repos/{owner}/{repo}/actions/jobs/{job_id}/logs", {**ISSUE_VARS, "job_id": 55})
    location = redirect.value.headers["Location"]
    assert not location.startswith(fake.url)
    assert await gh.getitem(location) == "===== 84 failed, 143 passed =====\n"
    api, blob = fake.requests[-2:]
    assert (api.origin, api.headers["Authorization"]) == ("api", "token <redacted>")
    assert blob.origin == "blob" and "Authorization" not in blob.headers and blob.status == 200


# -- giving up --------------------------------------------------------------------------------------


async def test_an_outage_longer_than_the_budget_gives_up_with_the_reason_logged(
    fake: FakeGitHub, make_app: AppFactory, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(policy=RetryPolicy(budget=10, attempt_timeout=5, jitter=no_jitter))
    fake.fail_next(50, 502, path=ISSUE_PATH)
    with caplog.at_level(logging.WARNING), pytest.raises(GitHubUnavailable) as gave_up:
        await get_issue(app.client(INSTALLATION))
    reason = "GitHub answered 502 after 4 attempts in 7.0 s; waiting 8.0 s more would exceed the 10 s budget"
    assert (gave_up.value.operation, gave_up.value.reason, gave_up.value.attempts) == (GET_ISSUE, reason, 4)
    assert clock.slept == [1.0, 2.0, 4.0]
    assert f"gave up on {GET_ISSUE} for installation {INSTALLATION}: {reason}" in caplog.messages


async def test_a_rate_limit_resetting_beyond_the_budget_gives_up_at_once(
    fake: FakeGitHub, gh: InstallationClient, clock: ManualClock
) -> None:
    fake.rate_limit_next(reset_at=int(WALL_START) + 3600, path=ISSUE_PATH)
    with pytest.raises(
        GitHubUnavailable, match=re.escape("waiting 3600.0 s more would exceed the 300 s budget")
    ):
        await get_issue(gh)
    with pytest.raises(GitHubUnavailable, match="rate limited for another 3600 s, beyond the 300 s budget"):
        await gh.post(COMMENTS_URL, ISSUE_VARS, data={"body": "x"})
    assert clock.slept == []
    assert statuses(fake) == [403] and fake.calls("POST", f"{ISSUE_PATH}/comments") == []


async def test_a_post_is_retried_after_a_502_and_posts_once(
    fake: FakeGitHub, gh: InstallationClient, clock: ManualClock
) -> None:
    fake.fail_next(1, 502, method="POST", path=f"{ISSUE_PATH}/comments")
    await gh.post(COMMENTS_URL, ISSUE_VARS, data={"body": "gate met"})
    assert [c["body"] for c in fake.comments(REPO, ISSUE)] == ["gate met"]
    assert clock.slept == [1.0]


async def test_a_post_that_timed_out_is_not_repeated_since_github_may_have_acted(
    fake: FakeGitHub, make_app: AppFactory
) -> None:
    gh = make_app(policy=RetryPolicy(attempt_timeout=0.2, jitter=no_jitter)).client(INSTALLATION)
    fake.hang_next(1, 30, method="POST", path=f"{ISSUE_PATH}/comments")
    with pytest.raises(GitHubUnavailable, match=re.escape("no answer within 0.2 s; a POST is not retried")):
        await gh.post(COMMENTS_URL, ISSUE_VARS, data={"body": "gate met"})
    assert len(fake.calls("POST", f"{ISSUE_PATH}/comments")) == 1


async def test_a_post_that_could_not_connect_is_retried_until_the_budget_is_spent(
    make_app: AppFactory, clock: ManualClock
) -> None:
    app = make_app(api_url="http://127.0.0.1:9", policy=RetryPolicy(budget=5, jitter=no_jitter))
    with pytest.raises(GitHubUnavailable, match="could not connect") as gave_up:
        await app.client(INSTALLATION).post(COMMENTS_URL, ISSUE_VARS, data={"body": "x"})
    assert gave_up.value.attempts == 3
    assert clock.slept == [1.0, 2.0]


# -- pacing -----------------------------------------------------------------------------------------


async def test_writes_of_one_installation_are_spaced_by_the_write_interval_across_clients(
    fake: FakeGitHub, make_app: AppFactory
) -> None:
    app = make_app(clock_=Clock(), write_interval=0.2)
    await get_issue(app.client(INSTALLATION))  # mint the token first: only writes are measured
    await asyncio.gather(
        *(
            app.client(INSTALLATION).post(COMMENTS_URL, ISSUE_VARS, data={"body": f"comment {n}"})
            for n in range(4)
        )
    )
    arrivals = [r.at for r in fake.calls("POST", f"{ISSUE_PATH}/comments")]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert len(gaps) == 3 and min(gaps) >= 0.2


async def test_writes_of_different_installations_do_not_wait_for_each_other(
    fake: FakeGitHub, make_app: AppFactory, clock: ManualClock
) -> None:
    fake.add_issue(OTHER_REPO, "Other", "", number=ISSUE)
    app = make_app(write_interval=30)
    for installation, repo in ((INSTALLATION, "backend"), (OTHER_INSTALLATION, "frontend")):
        await app.client(installation).post(COMMENTS_URL, {**ISSUE_VARS, "repo": repo}, data={"body": "x"})
    assert clock.slept == []
    await app.client(INSTALLATION).post(COMMENTS_URL, ISSUE_VARS, data={"body": "y"})
    assert clock.slept == [30.0]


@pytest.mark.parametrize(("cap", "peak"), [(2, 2), (8, 6)])
async def test_calls_in_flight_per_installation_are_capped(
    fake: FakeGitHub, make_app: AppFactory, cap: int, peak: int
) -> None:
    app = make_app(max_in_flight=cap)
    await get_issue(app.client(INSTALLATION))
    fake.hang_next(6, 0.2, path=ISSUE_PATH)
    await asyncio.gather(*(get_issue(app.client(INSTALLATION)) for _ in range(6)))
    assert fake.peak_in_flight == peak


# -- conditional requests and counts -----------------------------------------------------------------


async def test_an_installation_is_never_served_another_installations_cached_answer(
    fake: FakeGitHub, make_app: AppFactory
) -> None:
    app = make_app()
    await get_issue(app.client(INSTALLATION))
    with pytest.raises(BadRequest) as hidden:
        await get_issue(app.client(OTHER_INSTALLATION))
    assert hidden.value.status_code == 404
    first, other = fake.calls("GET", ISSUE_PATH)
    assert "If-None-Match" not in first.headers and "If-None-Match" not in other.headers
    assert [r.reason for r in fake.rejections] == [f"installation 78's token cannot see {REPO}"]
    fake.rejections.clear()  # the refusal is what this test expects


async def test_an_unchanged_answer_is_a_304_served_from_the_cache_and_counted_as_such(
    fake: FakeGitHub, make_app: AppFactory
) -> None:
    app = make_app()
    first = await get_issue(app.client(INSTALLATION))
    remaining = fake.rate_remaining
    assert await get_issue(app.client(INSTALLATION)) == first
    assert statuses(fake) == [200, 304]
    assert fake.rate_remaining == remaining
    assert (app.calls[(GET_ISSUE, 200)], app.calls[(GET_ISSUE, 304)]) == (1, 1)


async def test_a_call_fills_its_url_once_and_decodes_only_the_answer_it_gives(
    fake: FakeGitHub, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The template is filled in once (uritemplate is a good part of a call's CPU), and an answer kept for
    a conditional request is decoded only when a 304 makes it the answer."""
    filled: list[str] = []
    decoded: list[bytes] = []
    format_url, decipher = sansio.format_url, sansio.decipher_response

    def counted_format(url: str, *args: Any, **kwargs: Any) -> str:
        filled.append(url)
        return format_url(url, *args, **kwargs)

    def counted_decipher(status: int, headers: Any, body: bytes) -> Any:
        decoded.append(body)
        return decipher(status, headers, body)

    monkeypatch.setattr(sansio, "format_url", counted_format)
    monkeypatch.setattr(sansio, "decipher_response", counted_decipher)
    number = 4242  # an issue no other test asks for: its URL was never filled in before
    fake.add_issue(REPO, "Another tracker", "- [ ] >90% test pass rate achieved\n", number=number)
    path, url_vars = f"/repos/{REPO}/issues/{number}", {**ISSUE_VARS, "number": number}
    client = make_app().client(INSTALLATION)
    await client.getitem(ISSUE_URL, url_vars)
    fake.edit_issue_body(REPO, number, "- [x] >90% test pass rate achieved\n")
    changed = await client.getitem(ISSUE_URL, url_vars)
    assert changed["body"] == "- [x] >90% test pass rate achieved\n"
    assert statuses(fake, path=path) == [200, 200]
    assert filled.count(ISSUE_URL) == 1  # once for the first call, remembered for the second
    issues = [body for body in decoded if b"test pass rate" in body]
    assert len(issues) == 2  # each 200's body, not the kept one before it
    assert await client.getitem(ISSUE_URL, url_vars) == changed
    assert statuses(fake, path=path) == [200, 200, 304]
    assert len([body for body in decoded if b"test pass rate" in body]) == 3  # the kept one, for the 304


async def test_answers_kept_for_conditional_requests_stay_within_their_byte_budget(
    fake: FakeGitHub, make_app: AppFactory
) -> None:
    numbers = range(10, 50)
    for number in numbers:  # 40 issues of 60 KB: 2.4 MB of answers, ten times the budget
        fake.add_issue(REPO, f"issue {number}", "x" * 60_000, number=number)
    budget = 256 * 1024
    app = make_app(answer_cache_bytes=budget)
    client = app.client(INSTALLATION)
    tracemalloc.start()
    try:
        for number in numbers:
            await client.getitem(ISSUE_URL, {**ISSUE_VARS, "number": number})
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 0 < app.answers.kept_bytes <= budget
    assert held < 1024 * 1024, f"{held / 2**20:.1f} MiB held after 40 answers"
    # The most recent answers are kept: asking again costs a 304, and gives the same issue.
    again = await client.getitem(ISSUE_URL, {**ISSUE_VARS, "number": numbers[-1]})
    assert again["number"] == numbers[-1] and again["body"] == "x" * 60_000
    assert [r.status for r in fake.calls("GET", f"/repos/{REPO}/issues/{numbers[-1]}")][-1] == 304


async def test_calls_are_counted_by_operation_template_including_later_pages(
    fake: FakeGitHub, make_app: AppFactory
) -> None:
    for n in range(3):
        fake.add_comment(REPO, ISSUE, f"comment {n}")
    fake.fail_next(1, 502, path=f"{ISSUE_PATH}/comments")
    app = make_app()
    client = app.client(INSTALLATION)
    template = COMMENTS_URL + "{?per_page}"
    bodies = [c["body"] async for c in client.getiter(template, {**ISSUE_VARS, "per_page": 1})]
    await client.patch(ISSUE_URL, ISSUE_VARS, data={"body": "edited"})
    assert bodies == ["comment 0", "comment 1", "comment 2"]
    assert app.calls.as_json() == {
        f"GET {COMMENTS_URL}": {"200": 3, "502": 1},
        f"PATCH {ISSUE_URL}": {"200": 1},
    }
