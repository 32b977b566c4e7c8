"""GitHub App authentication: a short-lived RS256 JWT exchanged for installation tokens.

Installation tokens live one hour. They are cached per installation until shortly before they expire, minted
at most once at a time per installation however many deliveries arrive together, and dropped after a 401 so
the next request mints a fresh one. The App's key is parsed once, when the tokens are set up: parsing a PEM
costs about 40 ms of the event loop, signing with the parsed key a fraction of one.

GitHub answers 404 to a mint for an installation that no longer exists (the App was uninstalled) and 403
for a suspended one; that is ``InstallationGone``, never mistaken for a missing file of the repository.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp
import cachetools
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from gidgethub import BadRequest, RateLimitExceeded
from gidgethub.aiohttp import GitHubAPI

from bot.github.client import USER_AGENT, InstallationGone

log = logging.getLogger(__name__)

# Mint a new token this long before the old one expires, so no request goes out with a dying token.
TOKEN_REFRESH_MARGIN_SECONDS = 5 * 60
# GitHub accepts an App JWT for at most 10 minutes; it is backdated a minute against clock drift.
JWT_LIFETIME_SECONDS = 10 * 60
JWT_BACKDATE_SECONDS = 60


@dataclass(frozen=True)
class InstallationToken:
    value: str = field(repr=False)
    expires_at: float  # seconds since the epoch


class AppKey:
    """The App's private key, parsed once, and the JWTs signed with it."""

    def __init__(self, app_id: int, private_key_pem: bytes) -> None:
        key = load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, RSAPrivateKey):
            raise ValueError("a GitHub App key is an RSA private key")
        self._key = key
        self._app_id = str(app_id)

    def jwt(self) -> str:
        """The App's own credential, valid for GitHub's 10 minutes, backdated against clock drift."""
        issued_at = int(time.time()) - JWT_BACKDATE_SECONDS
        claims = {"iat": issued_at, "exp": issued_at + JWT_LIFETIME_SECONDS, "iss": self._app_id}
        return jwt.encode(claims, self._key, algorithm="RS256")


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
        self.app_key = AppKey(app_id, private_key_pem)  # AppAPI signs with it too: parsed once
        self._cache: cachetools.TLRUCache[int, InstallationToken] = cachetools.TLRUCache(
            maxsize=max_installations,
            ttu=lambda _id, token, _now: token.expires_at - TOKEN_REFRESH_MARGIN_SECONDS,
            timer=clock,
        )
        # Only installations being minted for right now have a lock: the table empties itself.
        self._minting: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self.minted = 0

    async def token_for(self, installation_id: int) -> str:
        """A valid token for the installation, minting one only when none is cached."""
        cached = self._cache.get(installation_id)
        if cached is not None:
            return cached.value
        lock = self._minting.get(installation_id)
        if lock is None:
            lock = self._minting[installation_id] = asyncio.Lock()
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

    def forget(self, installation_id: int) -> None:
        """The App was uninstalled: its token is of no use, and must not be kept."""
        self._cache.pop(installation_id, None)

    @property
    def minting(self) -> int:
        """Installations a token is being minted for right now (the size of the lock table)."""
        return len(self._minting)

    async def _mint(self, installation_id: int) -> InstallationToken:
        gh = GitHubAPI(self._session, USER_AGENT, base_url=self._api_url)
        try:
            answer = await gh.post(
                "/app/installations/{installation_id}/access_tokens",
                {"installation_id": installation_id},
                data=b"",
                jwt=self.app_key.jwt(),
            )
        except BadRequest as refused:
            status = int(refused.status_code)
            if status in (403, 404) and not isinstance(refused, RateLimitExceeded):
                # No local name for the error: frame and traceback would keep each other (and the lock).
                log.warning("GitHub refused a token for installation %s: %s", installation_id, status)
                raise InstallationGone(installation_id, status) from None
            raise
        self.minted += 1
        expires_at = datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00"))
        log.info("minted an installation token for installation %s", installation_id)
        return InstallationToken(value=answer["token"], expires_at=expires_at.timestamp())
