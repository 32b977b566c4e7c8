"""Shared fixtures: an App key, settings pointing at a fake GitHub on loopback, and the bot under test."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_SECRET = b"It's a Secret to Everybody"
APP_ID = 4242


@pytest.fixture(scope="session")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def private_key_pem(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="session")
def public_key_pem(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@pytest.fixture
def offline_settings(private_key_pem: bytes) -> Settings:
    """Settings for tests that never reach GitHub (refused deliveries)."""
    return Settings(
        app_id=APP_ID,
        private_key_pem=private_key_pem,
        webhook_secret=WEBHOOK_SECRET,
        api_url="http://127.0.0.1:9",
    )
