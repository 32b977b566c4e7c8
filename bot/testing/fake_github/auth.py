"""GitHub App authentication as GitHub enforces it: the app's JWT, then installation tokens.

Messages are GitHub's own where known. GitHub documents that ``iat`` must not be in the future (clients
backdate it 60 s) and that ``exp`` may be at most 10 minutes ahead; the fake allows no clock skew.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import jwt

from bot.testing.fake_github.records import GitHubError

JWT_MAX_LIFETIME = 10 * 60  # GitHub: "exp" at most 10 minutes in the future
TOKEN_LIFETIME = 60 * 60  # installation tokens expire after one hour
TOKEN_PREFIX = "ghs_"
BAD_CREDENTIALS = "Bad credentials"
UNDECODABLE_JWT = "A JSON web token could not be decoded"
EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future"
EXP_PAST = (
    "'Expiration time' claim ('exp') must be a numeric value representing the future time at which"
    " the assertion expires"
)
IAT_INVALID = (
    "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
)
ISS_INVALID = "'Issuer' claim ('iss') must be an Integer"


@dataclass
class RegisteredApp:
    app_id: int
    public_key_pem: bytes
    slug: str
    permissions: dict[str, str]


@dataclass
class InstallationToken:
    token: str
    installation_id: int
    expires_at: float
    permissions: dict[str, str]
    repositories: list[str] | None  # None: every repository of the installation
    revoked: bool = False

    def expired(self, now: float) -> bool:
        return self.revoked or now >= self.expires_at


@dataclass
class Credentials:
    """What an Authorization header turned out to be."""

    scheme: str
    secret: str


def parse_authorization(header: str | None) -> Credentials | None:
    if not header or " " not in header.strip():
        return None
    scheme, _, secret = header.strip().partition(" ")
    if scheme.lower() not in ("token", "bearer"):
        return None
    return Credentials(scheme=scheme, secret=secret.strip())


def looks_like_jwt(secret: str) -> bool:
    return secret.count(".") == 2 and not secret.startswith(TOKEN_PREFIX)


def _unauthorized(message: str, reason: str | None = None) -> GitHubError:
    return GitHubError(401, message, reason=reason or message)


def verify_app_jwt(token: str, apps: dict[int, RegisteredApp], now: float) -> RegisteredApp:
    """The app a JWT authenticates, or a 401 with GitHub's message for what is wrong with it."""
    try:
        header = jwt.get_unverified_header(token)
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise _unauthorized(UNDECODABLE_JWT, f"JWT does not parse: {error}") from error
    if header.get("alg") != "RS256":
        raise _unauthorized(UNDECODABLE_JWT, f"JWT alg is {header.get('alg')!r}, GitHub needs RS256")
    issuer = claims.get("iss")
    if isinstance(issuer, bool) or not (
        isinstance(issuer, int) or (isinstance(issuer, str) and issuer.isdigit())
    ):
        raise _unauthorized(ISS_INVALID, f"JWT iss is {issuer!r}")
    app = apps.get(int(issuer))
    if app is None:
        raise _unauthorized(UNDECODABLE_JWT, f"JWT iss {issuer!r} is not a registered app")
    try:
        jwt.decode(
            token,
            app.public_key_pem,
            algorithms=["RS256"],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.PyJWTError as error:
        raise _unauthorized(UNDECODABLE_JWT, f"JWT signature: {error}") from error
    _check_times(claims, now)
    return app


def _check_times(claims: dict[str, Any], now: float) -> None:
    issued, expires = _number(claims.get("iat")), _number(claims.get("exp"))
    if issued is None or issued > now:
        raise _unauthorized(IAT_INVALID, f"JWT iat {claims.get('iat')!r} is missing or in the future")
    if expires is None or expires <= now:
        raise _unauthorized(EXP_PAST, f"JWT exp {claims.get('exp')!r} is missing or past")
    if expires > now + JWT_MAX_LIFETIME:
        raise _unauthorized(EXP_TOO_FAR, f"JWT exp is {expires - now:.0f} s ahead (max 600)")


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


@dataclass
class TokenStore:
    """Installation tokens minted so far; expiring them all models a long-running bot's tokens aging."""

    tokens: dict[str, InstallationToken] = field(default_factory=dict)
    minted: dict[int, int] = field(default_factory=dict)

    def mint(
        self,
        installation_id: int,
        now: float,
        permissions: dict[str, str],
        repositories: list[str] | None,
    ) -> InstallationToken:
        token = InstallationToken(
            token=TOKEN_PREFIX + secrets.token_urlsafe(27)[:36],
            installation_id=installation_id,
            expires_at=now + TOKEN_LIFETIME,
            permissions=permissions,
            repositories=repositories,
        )
        self.tokens[token.token] = token
        self.minted[installation_id] = self.minted.get(installation_id, 0) + 1
        return token

    def expire_all(self) -> None:
        for token in self.tokens.values():
            token.revoked = True

    def authenticate(self, credentials: Credentials | None, now: float) -> InstallationToken:
        """The installation token behind an Authorization header, or GitHub's 401."""
        if credentials is None:
            raise _unauthorized("Requires authentication", "no Authorization header")
        if looks_like_jwt(credentials.secret):
            raise _unauthorized(BAD_CREDENTIALS, "a JWT was used where GitHub needs an installation token")
        token = self.tokens.get(credentials.secret)
        if token is None:
            raise _unauthorized(BAD_CREDENTIALS, "unknown token")
        if token.expired(now):
            # A bot meets this in normal life; it must mint again. Recorded, not a test failure.
            raise GitHubError(401, BAD_CREDENTIALS, reason="token expired", rejection=False)
        return token
