"""What the demo, the tests' helpers and the benchmarks share: a fresh App key, and the bot's real server
listening on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.intake.server import delivery_site


@dataclass(frozen=True)
class AppKey:
    """A GitHub App's RSA key pair: the bot signs its JWTs with the private half, the fake checks them."""

    private_pem: bytes = field(repr=False)
    public_pem: bytes


def new_app_key() -> AppKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return AppKey(private, public)


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on a free loopback port; yields its webhook URL, and stops it (cleanly) on exit."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await delivery_site(runner, host="127.0.0.1").start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}/webhook"
    finally:
        await runner.cleanup()
