"""The App's long-lived GitHub objects, built alike for the server and one-off commands.

Both ``serve`` and ``reconcile`` act as the same App: one HTTP session, tokens minted from the App's key,
a client per installation, and the tracker service that updates issues through them.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from bot.github.app_api import AppAPI
from bot.github.auth import InstallationTokens
from bot.github.blobs import BlobReader
from bot.github.client import GitHubApp
from bot.github.throttle import SharedPacing
from bot.metrics import Metrics
from bot.results.commit import result_collector
from bot.settings import Settings
from bot.tracking.keeper import StateKeeper, TrackerStateStore, deployment_state_key
from bot.tracking.per_test import PerTestMemory
from bot.tracking.state import StateCodec
from bot.updating.tracker import TrackerService

# Outgoing calls to GitHub give up after this long rather than hang a worker.
GITHUB_TIMEOUT = aiohttp.ClientTimeout(total=60, sock_connect=10)


@dataclass(frozen=True)
class AppServices:
    github: GitHubApp  # installation clients (tokens, retries, throttling)
    app_api: AppAPI  # calls as the App itself (installations, the delivery log)
    trackers: TrackerService


async def app_services(
    session: aiohttp.ClientSession,
    settings: Settings,
    store: TrackerStateStore,
    *,
    metrics: Metrics | None = None,
) -> AppServices:
    """``store`` (the journal) keeps the state key and the last state written for each tracker; the
    server's ``metrics`` count the GitHub calls."""
    tokens = InstallationTokens(
        session,
        api_url=settings.api_url,
        app_id=settings.app_id,
        private_key_pem=settings.private_key_pem,
    )
    app_api = AppAPI(session, api_url=settings.api_url, app_key=tokens.app_key)
    # The App's clients know who the App is, so that only its own comments are believed.
    github = GitHubApp(
        session,
        tokens,
        api_url=settings.api_url,
        write_interval=settings.github_write_interval,
        identity=app_api,
        metrics=metrics,
        # Replicas sharing a PostgreSQL journal pace each installation's calls together through it.
        shared_pacing=store if isinstance(store, SharedPacing) else None,
    )
    key = await deployment_state_key(store, settings.state_key)
    codec = StateCodec(key, legacy_secrets=settings.webhook_secrets)
    trackers = TrackerService(
        github,
        result_collector(BlobReader(session)),
        states=StateKeeper(codec, store),
        per_test=PerTestMemory(store),
    )
    return AppServices(github=github, app_api=app_api, trackers=trackers)
