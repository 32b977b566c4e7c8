"""Shared fixtures: an App key, settings pointing at a fake GitHub on loopback, and the bot under test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.intake.server import create_app
from bot.settings import Settings
from bot.testing.examples import EXAMPLES
from bot.testing.fake_github import FakeGitHub
from bot.testing.loopback import serving
from tests.harness import BRANCH, INSTALLATION_ID, ISSUE, REPO, BotHarness

# PostgreSQL for the tests that need it: a fresh database per run (skipped where there is none).
pytest_plugins = ["tests.postgres"]

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_SECRET = b"It's a Secret to Everybody"
# For the tests that run the server as a process and read its states; the bot fixture generates its own.
STATE_KEY = b"a state key of its own, 32 chars or more"
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
def offline_settings(private_key_pem: bytes, tmp_path: Path) -> Settings:
    """Settings for tests that never reach GitHub (refused deliveries)."""
    return Settings(
        app_id=APP_ID,
        private_key_pem=private_key_pem,
        webhook_secret=WEBHOOK_SECRET,
        api_url="http://127.0.0.1:9",
        state_dir=tmp_path / "state",
    )


@pytest.fixture
async def github(public_key_pem: bytes) -> AsyncIterator[FakeGitHub]:
    """A fake GitHub on loopback; the test fails if the bot sent any request GitHub would refuse."""
    fake = FakeGitHub()
    await fake.start()
    fake.register_app(APP_ID, public_key_pem)
    try:
        yield fake
    finally:
        await fake.close()
    refused = [f"{r.method} {r.path}: {r.reason}" for r in fake.rejections]
    assert not refused, f"the fake GitHub refused requests: {refused}"


DEFAULT_CONFIG = """\
trackers:
  - issue: 2
    gate: ">90%"
    review:
      reviewers: [octocat]
"""


@pytest.fixture
def canonical_body() -> str:
    return (EXAMPLES / "issue-2-status-update.md").read_text(encoding="utf-8")


@pytest.fixture
async def bot(
    github: FakeGitHub, private_key_pem: bytes, canonical_body: str, tmp_path: Path
) -> AsyncIterator[BotHarness]:
    """The bot's real server wired to the fake, with the canonical tracking issue and a config."""
    repository = github.add_repository(REPO, default_branch=BRANCH)
    github.add_installation(INSTALLATION_ID, [REPO])
    github.add_collaborator(REPO, "octocat", "write")
    github.put_file(REPO, ".github/issue-status.yml", DEFAULT_CONFIG)
    github.add_issue(REPO, "Reach >90% test pass rate", canonical_body, user="zoe", number=ISSUE)
    settings = Settings(
        app_id=APP_ID,
        private_key_pem=private_key_pem,
        webhook_secret=WEBHOOK_SECRET,
        api_url=github.url,
        state_dir=tmp_path / "state",
        github_write_interval=0,
        coalesce_seconds=0,
    )
    app = create_app(settings)
    # As served: the intake's fast path first, aiohttp for what it hands over.
    async with serving(app) as url, aiohttp.ClientSession() as session:
        yield BotHarness(
            fake=github,
            app=app,
            url=url,
            secret=WEBHOOK_SECRET,
            session=session,
            repository=repository,
        )
