"""The GitHub client the bot uses for one installation, built on gidgethub's transport.

gidgethub builds headers once per logical request; this subclass attaches the installation token on each
attempt instead, so that after a 401 the retry carries a freshly minted token. Credentials are attached only
to the configured API origin: a redirect to blob storage (logs, artifacts) must never receive the token.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
import cachetools
from gidgethub import HTTPException
from gidgethub.aiohttp import GitHubAPI

if TYPE_CHECKING:
    from bot.github.auth import InstallationTokens

log = logging.getLogger(__name__)

USER_AGENT = "issue-status-bot"
# Responses kept for conditional requests, per installation (304 answers cost no rate limit).
ETAG_CACHE_ENTRIES = 512


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


class InstallationClient(GitHubAPI):
    """A gidgethub client acting as one installation of the App."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: InstallationTokens,
        installation_id: int,
        *,
        base_url: str,
        cache: cachetools.LRUCache[str, Any],
    ) -> None:
        super().__init__(session, USER_AGENT, cache=cache, base_url=base_url)
        self.installation_id = installation_id
        self._tokens = tokens
        self._api_origin = origin(base_url)
        self._last_token: str | None = None

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        headers = dict(headers)
        if origin(url) == self._api_origin:
            self._last_token = await self._tokens.token_for(self.installation_id)
            headers["authorization"] = f"token {self._last_token}"
        else:
            headers.pop("authorization", None)
        return await super()._request(method, url, headers, body)

    async def handle_rate_limit_error(
        self, *, method: str, url: str, exception: HTTPException, attempt: int
    ) -> bool:
        """Retry once after a 401: the token expired or was revoked, so mint another."""
        if exception.status_code == 401 and attempt == 1 and self._last_token is not None:
            log.info("GitHub answered 401 to %s %s; minting a new token", method, url)
            self._tokens.invalidate(self.installation_id, self._last_token)
            return True
        return False


class GitHubApp:
    """The App's view of GitHub: one shared HTTP session, tokens, and a client per installation."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tokens: InstallationTokens,
        *,
        api_url: str,
        max_installations: int = 1024,
    ) -> None:
        self.session = session
        self.tokens = tokens
        self.api_url = api_url
        # One ETag cache per installation: keyed by URL alone, a shared cache could serve one
        # installation an answer fetched with another's permissions.
        self._etag_caches: cachetools.LRUCache[int, cachetools.LRUCache[str, Any]] = cachetools.LRUCache(
            maxsize=max_installations
        )

    def client(self, installation_id: int) -> InstallationClient:
        cache = self._etag_caches.get(installation_id)
        if cache is None:
            cache = cachetools.LRUCache(maxsize=ETAG_CACHE_ENTRIES)
            self._etag_caches[installation_id] = cache
        return InstallationClient(
            self.session, self.tokens, installation_id, base_url=self.api_url, cache=cache
        )
