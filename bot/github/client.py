"""The GitHub client the bot uses for one installation, built on gidgethub's transport.

gidgethub sends one request per call and nothing more. This subclass makes each call survive GitHub's
bad moments and respect its limits:

- each attempt has its own timeout, and connection errors, timeouts, 5xx and rate-limit answers (429,
  403 with no quota left, secondary limits) are retried as ``bot.github.retry`` decides, waiting as GitHub
  says or backing off with jitter, until the call's time budget runs out (then ``GitHubUnavailable``);
- a 401 drops the installation token and the call is retried once with a freshly minted one;
- calls of one installation go through its shared throttle (few in flight, writes spaced);
- the token is attached on each attempt and only for the configured API origin, and redirects are not
  followed, so blob storage (logs, artifacts) a redirect points to never receives it;
- every exchange is counted by operation and outcome in ``GitHubApp.calls`` (and ``GitHubApp.metrics``,
  with retries, the rate limit each installation has left, and the writes GitHub accepted);
- each retry and failure is logged naming the repository (and issue) the call was about.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import aiohttp
import cachetools
from gidgethub import GitHubBroken, sansio
from gidgethub.aiohttp import GitHubAPI

from bot.github.conditional import ANSWER_CACHE_BYTES, ConditionalAnswers, answered
from bot.github.retry import Failure, GiveUp, RetryPolicy, failure_of_answer, failure_of_transport, next_step
from bot.github.throttle import (
    DEFAULT_MAX_IN_FLIGHT,
    DEFAULT_WRITE_INTERVAL,
    Clock,
    InstallationThrottle,
    PausedBeyondDeadline,
    SharedPacing,
)
from bot.logs import ExpectedFailure
from bot.metrics import CallCounts, Metrics

if TYPE_CHECKING:
    from bot.github.auth import InstallationTokens

log = logging.getLogger(__name__)

USER_AGENT = "issue-status-bot"
MINT_OPERATION = "POST /app/installations/{installation_id}/access_tokens"
_ABOUT = re.compile(r"/repos/(?P<repository>[^/]+/[^/?]+)(?:/(?:issues|pulls)/(?P<issue>\d+))?")


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def operation_name(method: str, url: str, base_url: str) -> str:
    """``GET /repos/{owner}/{repo}/issues/{number}`` from the template a caller passed (query dropped)."""
    path = url.removeprefix(base_url.rstrip("/"))
    return f"{method.upper()} {path.split('{?', 1)[0].split('?', 1)[0]}"


def filled_url(url: str, url_vars: Mapping[str, Any] | None, base_url: str) -> str:
    """``url`` (a URI template) filled with ``url_vars`` and joined to ``base_url``, as gidgethub does it;
    remembered, since uritemplate takes ~40 µs a URL and an update asks for the same few again and again."""
    try:
        return _filled_url(url, tuple(url_vars.items()) if url_vars else (), base_url)
    except TypeError:  # a value that cannot be a key (a list, for an exploded variable)
        return sansio.format_url(url, url_vars, base_url=base_url)


@functools.lru_cache(maxsize=256)
def _filled_url(url: str, url_vars: tuple[tuple[str, Any], ...], base_url: str) -> str:
    return sansio.format_url(url, dict(url_vars), base_url=base_url)


def about(url: str) -> dict[str, str | int]:
    """The repository (and issue) a call is about, for its log lines: ``{"repository": "o/r", "issue": 2}``"""
    found = _ABOUT.search(urlsplit(url).path)
    if found is None:
        return {}
    named: dict[str, str | int] = {"repository": found["repository"]}
    if found["issue"] is not None:
        named["issue"] = int(found["issue"])
    return named


class GitHubUnavailable(ExpectedFailure):
    """GitHub did not give a final answer within the call's budget; ``reason`` says what went wrong."""

    def __init__(self, operation: str, reason: str, *, attempts: int) -> None:
        super().__init__(f"{operation}: {reason}")
        self.operation = operation
        self.reason = reason
        self.attempts = attempts


class InstallationGone(Exception):
    """GitHub refuses the App a token for this installation: uninstalled (404) or suspended (403).

    Nothing the bot does for the installation can succeed until it is installed or unsuspended again,
    so a delivery that meets this is parked with the reason rather than retried or read as "no file".
    """

    def __init__(self, installation_id: int, status: int) -> None:
        why = "it is suspended" if status == 403 else "the App was uninstalled, or the id is wrong"
        super().__init__(
            f"installation {installation_id} is gone: GitHub answered {status} to minting its token ({why})"
        )
        self.installation_id = installation_id
        self.status = status


@dataclass
class Installation:
    """What every client acting for one installation shares."""

    id: int
    throttle: InstallationThrottle


class AppIdentity(Protocol):
    """Who the App is on GitHub: the login of its bot account, as GitHub (never a payload) says."""

    async def bot_login(self) -> str: ...


class InstallationClient(GitHubAPI):
    """A gidgethub client acting as one installation of the App."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: InstallationTokens,
        installation: Installation,
        *,
        answers: ConditionalAnswers,
        base_url: str,
        calls: CallCounts,
        metrics: Metrics,
        policy: RetryPolicy,
        clock: Clock,
        identity: AppIdentity | None = None,
    ) -> None:
        self._answers = answers.for_installation(installation.id)
        super().__init__(session, USER_AGENT, cache=self._answers, base_url=base_url)
        self.installation_id = installation.id
        self.identity = identity
        self.policy = policy
        self._tokens = tokens
        self._throttle = installation.throttle
        self._calls = calls
        self._metrics = metrics
        self._rate_limit_remaining = metrics.rate_limit_remaining.labels(str(installation.id))
        self._clock = clock
        self._api_origin = origin(base_url)
        self._last_token: str | None = None
        # (method, path) -> operation, so later pages of a list count under the template of the first.
        self._operations: dict[tuple[str, str], str] = {}

    async def _make_request(
        self, method: str, url: str, url_vars: Mapping[str, Any] | None, *args: Any, **kwargs: Any
    ) -> tuple[bytes, str | None, int]:
        """The call, with its URL filled in once here (gidgethub would fill in the template again)."""
        filled = filled_url(url, url_vars, self.base_url)
        operation = operation_name(method, url, self.base_url)
        self._operations.setdefault((method, urlsplit(filled).path), operation)
        data, more, status = await super()._make_request(method, filled, None, *args, **kwargs)
        return answered(data), more, status

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        """GitHub's final answer to one call, after as many attempts as the policy allows."""
        operation = self._operation_of(method, url)
        last: list[Failure] = []
        try:
            async with asyncio.timeout(self.policy.budget):
                answer = await self._attempts(method, url, headers, body, operation, last)
                self._answers.received(answer[1].get("content-type"), answer[2])
                return answer
        except TimeoutError:
            # A safety net: waits for a turn or a rate-limit pause also count against the budget.
            cause = last[-1].reason if last else "waiting for its turn"
            reason = f"no final answer within the {self.policy.budget:g} s budget (last: {cause})"
            self._give_up(operation, url, reason)
            raise GitHubUnavailable(operation, reason, attempts=len(last)) from None

    async def _attempts(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        operation: str,
        failures: list[Failure],
    ) -> tuple[int, Mapping[str, str], bytes]:
        started = self._clock.monotonic()
        deadline = started + self.policy.budget
        reminted = False
        attempt = 0
        while True:
            attempt += 1
            try:
                async with (
                    self._throttle.slot(method, deadline=deadline),
                    asyncio.timeout(self.policy.attempt_timeout),
                ):
                    status, answer_headers, answer_body = await self._exchange(
                        method, url, headers, body, operation
                    )
            except PausedBeyondDeadline as paused:
                reason = (
                    f"the installation is rate limited for another {paused.seconds:.0f} s, "
                    f"beyond the {self.policy.budget:g} s budget"
                )
                self._give_up(operation, url, reason)
                raise GitHubUnavailable(operation, reason, attempts=attempt - 1) from None
            except (aiohttp.ClientError, TimeoutError) as error:
                failure = failure_of_transport(error, attempt_timeout=self.policy.attempt_timeout)
                self._calls.record(operation, failure.outcome)
            except GitHubBroken as broken:
                # Only minting the token deciphers an answer inside an attempt; the call itself was not sent.
                status = int(broken.status_code)
                failure = Failure(status, f"minting a token: GitHub answered {status}", post_safe=True)
                self._calls.record(MINT_OPERATION, status)
            else:
                api = origin(url) == self._api_origin
                if status == 401 and api and not reminted and self._last_token is not None:
                    # The token expired or was revoked: mint another and try once more.
                    log.info("GitHub answered 401 to %s; minting a new token", operation, extra=about(url))
                    self._tokens.invalidate(self.installation_id, self._last_token)
                    reminted = True
                    continue
                answer = failure_of_answer(status, answer_headers, answer_body, now=self._clock.wall())
                if answer is None:
                    return status, answer_headers, answer_body
                failure = answer
                if failure.wait is not None:
                    self._throttle.pause(failure.wait)
            failures.append(failure)
            elapsed = self._clock.monotonic() - started
            step = next_step(self.policy, method=method, failure=failure, attempt=attempt, elapsed=elapsed)
            if isinstance(step, GiveUp):
                self._give_up(operation, url, step.reason)
                raise GitHubUnavailable(operation, step.reason, attempts=attempt)
            self._metrics.github_retries.labels(operation, str(failure.outcome)).inc()
            log.info("retrying %s in %.2f s: %s", operation, step.delay, failure.reason, extra=about(url))
            await self._clock.sleep(step.delay)

    async def _exchange(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes, operation: str
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One attempt. Credentials go to the API origin only; redirects are not followed (gidgethub
        raises ``RedirectionException``), so where a log or archive is fetched from stays the caller's
        explicit choice."""
        sent = dict(headers)
        sent.pop("authorization", None)
        api = origin(url) == self._api_origin
        if api:
            self._last_token = await self._tokens.token_for(self.installation_id)
            sent["authorization"] = f"token {self._last_token}"
        async with self._session.request(
            method, url, headers=sent, data=body, allow_redirects=False
        ) as response:
            answer = response.status, response.headers, await response.read()
        self._calls.record(operation, answer[0])
        remaining = answer[1].get("x-ratelimit-remaining")
        if api and remaining is not None and remaining.isdigit():
            self._rate_limit_remaining.set(int(remaining))
        return answer

    def _give_up(self, operation: str, url: str, reason: str) -> None:
        log.warning(
            "gave up on %s for installation %s: %s", operation, self.installation_id, reason, extra=about(url)
        )

    def _operation_of(self, method: str, url: str) -> str:
        if origin(url) != self._api_origin:
            scheme, host = origin(url)
            return f"{method} {scheme}://{host}"
        path = urlsplit(url).path
        return self._operations.get((method, path)) or operation_name(method, path, "")


class GitHubApp:
    """The App's view of GitHub: one shared HTTP session, tokens, and a client per installation.

    Per installation it keeps the throttle, so that every client created for the installation shares it;
    the answers kept for conditional requests share one budget in bytes, keyed by installation and URL.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: InstallationTokens,
        *,
        api_url: str,
        policy: RetryPolicy | None = None,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        write_interval: float = DEFAULT_WRITE_INTERVAL,
        clock: Clock | None = None,
        max_installations: int = 1024,
        answer_cache_bytes: int = ANSWER_CACHE_BYTES,
        identity: AppIdentity | None = None,
        metrics: Metrics | None = None,
        shared_pacing: SharedPacing | None = None,
    ) -> None:
        self.session = session
        self.identity = identity
        self.shared_pacing = shared_pacing  # other replicas' throttles, agreed with through the journal
        self.tokens = tokens
        self.api_url = api_url
        self.policy = policy or RetryPolicy()
        self.max_in_flight = max_in_flight
        self.write_interval = write_interval
        self.clock = clock or Clock()
        self.metrics = metrics or Metrics()
        self.calls = CallCounts(self.metrics)
        self.answers = ConditionalAnswers(answer_cache_bytes)
        self._installations: cachetools.LRUCache[int, Installation] = cachetools.LRUCache(
            maxsize=max_installations
        )

    def forget_installation(self, installation_id: int) -> None:
        """The App was uninstalled: its token, its throttle and the answers kept for it are of no use."""
        self.tokens.forget(installation_id)
        self.answers.forget(installation_id)
        self._installations.pop(installation_id, None)

    def installation(self, installation_id: int) -> Installation:
        shared = self._installations.get(installation_id)
        if shared is None:
            throttle = InstallationThrottle(
                max_in_flight=self.max_in_flight,
                write_interval=self.write_interval,
                clock=self.clock,
                installation_id=installation_id,
                shared=self.shared_pacing,
            )
            shared = Installation(installation_id, throttle)
            self._installations[installation_id] = shared
        return shared

    def client(self, installation_id: int) -> InstallationClient:
        return InstallationClient(
            self.session,
            self.tokens,
            self.installation(installation_id),
            answers=self.answers,
            base_url=self.api_url,
            calls=self.calls,
            metrics=self.metrics,
            policy=self.policy,
            clock=self.clock,
            identity=self.identity,
        )
