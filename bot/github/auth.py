"""GitHub App authentication: a short-lived RS256 JWT exchanged for installation tokens.

Installation tokens live one hour. They are cached per installation until shortly before they expire, minted
at most once at a time per installation however many deliveries arrive together, and dropped after a 401 so
the next request mints a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
import cachetools
from gidgethub.aiohttp import GitHubAPI
from gidgethub.apps import get_installation_access_token

from bot.github.client import USER_AGENT

log = logging.getLogger(__name__)

# Mint a new token this long before the old one expires, so no request goes out with a dying token.
TOKEN_REFRESH_MARGIN_SECONDS = 5 * 60


@dataclass(frozen=True)
class InstallationToken:
    value: str = field(repr=False)
    expires_at: float  # seconds since the epoch


class InstallationTokens:
    """Mints and caches installation access tokens for one GitHub App."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_url: str,
        app_id: int,
        private_key_pem: bytes,
        clock: Callable[[], float] = time.time,
        max_installations: int = 10_000,
    ) -> None:
        self._session = session
        self._api_url = api_url
        self._app_id = str(app_id)
        self._private_key = private_key_pem
        self._cache: cachetools.TLRUCache[int, InstallationToken] = cachetools.TLRUCache(
            maxsize=max_installations,
            ttu=lambda _id, token, _now: token.expires_at - TOKEN_REFRESH_MARGIN_SECONDS,
            timer=clock,
        )
        self._minting: dict[int, asyncio.Lock] = {}
        self.minted = 0

    async def token_for(self, installation_id: int) -> str:
        """A valid token for the installation, minting one only when none is cached."""
        cached = self._cache.get(installation_id)
        if cached is not None:
            return cached.value
        lock = self._minting.setdefault(installation_id, asyncio.Lock())
        async with lock:
            cached = self._cache.get(installation_id)
            if cached is None:
                cached = await self._mint(installation_id)
                self._cache[installation_id] = cached
            return cached.value

    def invalidate(self, installation_id: int, token: str) -> None:
        """Forget a token GitHub refused (401), unless a newer one already replaced it."""
        cached = self._cache.get(installation_id)
        if cached is not None and cached.value == token:
            del self._cache[installation_id]

    async def _mint(self, installation_id: int) -> InstallationToken:
        gh = GitHubAPI(self._session, USER_AGENT, base_url=self._api_url)
        answer = await get_installation_access_token(
            gh,
            installation_id=str(installation_id),
            app_id=self._app_id,
            private_key=self._private_key,
        )
        self.minted += 1
        expires_at = datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00"))
        log.info("minted an installation token for installation %s", installation_id)
        return InstallationToken(value=answer["token"], expires_at=expires_at.timestamp())
