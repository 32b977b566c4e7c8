"""App authentication: the JWT GitHub expects, one mint per installation, a fresh token after a 401."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web

from bot.github.auth import TOKEN_REFRESH_MARGIN_SECONDS, InstallationTokens
from tests.conftest import APP_ID


class TokenEndpoint:
    """Records what the App sends to the token endpoint and answers like GitHub."""

    def __init__(self) -> None:
        self.authorizations: list[str] = []
        self.expires_in = 3600

    async def mint(self, request: web.Request) -> web.Response:
        self.authorizations.append(request.headers["Authorization"])
        await asyncio.sleep(0.01)  # let concurrent callers pile up
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + self.expires_in))
        number = len(self.authorizations)
        return web.json_response({"token": f"ghs_{number}", "expires_at": expires}, status=201)


@pytest.fixture
async def endpoint(aiohttp_server: Any) -> tuple[TokenEndpoint, str]:
    recorder = TokenEndpoint()
    app = web.Application()
    app.router.add_post("/app/installations/{id}/access_tokens", recorder.mint)
    server = await aiohttp_server(app)
    return recorder, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def tokens(endpoint: tuple[TokenEndpoint, str], private_key_pem: bytes) -> Any:
    async with aiohttp.ClientSession() as session:
        yield InstallationTokens(session, api_url=endpoint[1], app_id=APP_ID, private_key_pem=private_key_pem)


async def test_jwt_is_rs256_backdated_60s_and_expires_in_9_minutes(
    endpoint: tuple[TokenEndpoint, str], tokens: InstallationTokens, public_key_pem: bytes
) -> None:
    await tokens.token_for(1)
    scheme, token = endpoint[0].authorizations[0].split(" ")
    assert scheme.lower() == "bearer"
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, public_key_pem, algorithms=["RS256"])
    now = time.time()
    assert claims["iss"] == str(APP_ID)
    assert now - 62 <= claims["iat"] <= now - 58
    assert now + 538 <= claims["exp"] <= now + 542


async def test_concurrent_deliveries_share_one_mint_per_installation(
    endpoint: tuple[TokenEndpoint, str], tokens: InstallationTokens
) -> None:
    first = await asyncio.gather(*(tokens.token_for(1) for _ in range(20)))
    second = await asyncio.gather(*(tokens.token_for(2) for _ in range(5)))
    assert set(first) == {"ghs_1"} and len(set(second)) == 1
    assert len(endpoint[0].authorizations) == 2 == tokens.minted


async def test_a_refused_token_is_replaced_but_a_newer_one_is_kept(
    tokens: InstallationTokens,
) -> None:
    old = await tokens.token_for(1)
    tokens.invalidate(1, old)
    new = await tokens.token_for(1)
    assert new != old
    tokens.invalidate(1, old)  # a late 401 for the old token must not drop the new one
    assert await tokens.token_for(1) == new
    assert tokens.minted == 2


async def test_a_token_close_to_expiry_is_not_used(
    endpoint: tuple[TokenEndpoint, str], tokens: InstallationTokens
) -> None:
    endpoint[0].expires_in = TOKEN_REFRESH_MARGIN_SECONDS - 10
    await tokens.token_for(1)
    await tokens.token_for(1)
    assert tokens.minted == 2
