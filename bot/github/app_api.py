"""What the App sees beyond one repository: its installations, their repositories, its delivery log.

``/app/...`` endpoints answer only to the App's own JWT, never to an installation token, so they go
through a plain gidgethub client here rather than ``InstallationClient`` (which attaches a token to every
request). These calls run in the background on a schedule: a failed one is retried at the next round.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime

import aiohttp
from gidgethub.aiohttp import GitHubAPI

from bot.github.auth import AppKey
from bot.github.client import USER_AGENT, InstallationClient
from bot.github.repository import PAGE_SIZE


@dataclass(frozen=True)
class InstalledRepository:
    """A repository of an installation, with what a ``CommitEvent`` needs to know about it."""

    full_name: str
    html_url: str
    default_branch: str


@dataclass(frozen=True)
class HookDelivery:
    """One attempt GitHub made at delivering a webhook to the App."""

    id: int  # this attempt; what a redelivery is asked for
    guid: str  # the X-GitHub-Delivery header, shared by every attempt at the same event
    delivered_at: float  # seconds since the epoch
    status_code: int  # our server's answer; 0 or 5xx when it could not be reached
    redelivery: bool
    event: str

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status_code < 300


def timestamp(iso: str) -> float:
    """Seconds since the epoch of GitHub's ``2021-05-12T20:33:44Z``."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class AppAPI:
    """Calls authenticated as the App itself, with a JWT signed by its private key."""

    def __init__(self, session: aiohttp.ClientSession, *, api_url: str, app_key: AppKey) -> None:
        self._gh = GitHubAPI(session, USER_AGENT, base_url=api_url)
        self._key = app_key
        self._bot_login: str | None = None
        self._learning = asyncio.Lock()

    def _jwt(self) -> str:
        return self._key.jwt()

    async def bot_login(self) -> str:
        """The App's bot account, ``<slug>[bot]``: the author of every comment the App writes.

        Learnt from ``GET /app`` once per process, never from a payload, which anyone can make say
        anything; the comments' hidden markers are trusted only from this author.
        """
        async with self._learning:
            if self._bot_login is None:
                app = await self._gh.getitem("/app", jwt=self._jwt())
                self._bot_login = f"{app['slug']}[bot]"
        return self._bot_login

    async def installation_ids(self) -> list[int]:
        """Every installation of the App."""
        url, url_vars = "/app/installations{?per_page}", {"per_page": PAGE_SIZE}
        return [int(i["id"]) async for i in self._gh.getiter(url, url_vars, jwt=self._jwt())]

    async def hook_deliveries(self, *, since: float) -> list[HookDelivery]:
        """The delivery attempts made since ``since`` (seconds since the epoch), newest first.

        GitHub lists attempts newest first, a page at a time by cursor; reading stops at the first older
        one, so the cost follows recent traffic, not the length of the log.
        """
        url, url_vars = "/app/hook/deliveries{?per_page}", {"per_page": PAGE_SIZE}
        deliveries: list[HookDelivery] = []
        pages = self._gh.getiter(url, url_vars, jwt=self._jwt())
        async with contextlib.aclosing(pages):
            async for item in pages:
                delivery = HookDelivery(
                    id=int(item["id"]),
                    guid=str(item["guid"]),
                    delivered_at=timestamp(str(item["delivered_at"])),
                    status_code=int(item.get("status_code") or 0),
                    redelivery=bool(item.get("redelivery")),
                    event=str(item.get("event", "")),
                )
                if delivery.delivered_at < since:
                    break
                deliveries.append(delivery)
        return deliveries

    async def redeliver(self, delivery_id: int) -> None:
        """Ask GitHub to send a delivery again (GitHub allows this for 3 days); it keeps its guid."""
        await self._gh.post(
            "/app/hook/deliveries/{delivery_id}/attempts",
            {"delivery_id": delivery_id},
            data=b"",
            jwt=self._jwt(),
        )


async def installed_repository(gh: InstallationClient, full_name: str) -> InstalledRepository:
    """One repository the installation was just granted, read directly: GitHub's listing of an
    installation's repositories can lag behind the event that granted it."""
    owner, name = full_name.split("/", 1)
    repo = await gh.getitem("/repos/{owner}/{repo}", {"owner": owner, "repo": name})
    return InstalledRepository(
        full_name=str(repo["full_name"]),
        html_url=str(repo["html_url"]),
        default_branch=str(repo.get("default_branch") or "main"),
    )


async def installation_repositories(gh: InstallationClient) -> list[InstalledRepository]:
    """The repositories an installation was granted, as its own token sees them."""
    url, url_vars = "/installation/repositories{?per_page}", {"per_page": PAGE_SIZE}
    return [
        InstalledRepository(
            full_name=str(repo["full_name"]),
            html_url=str(repo["html_url"]),
            default_branch=str(repo.get("default_branch") or "main"),
        )
        async for repo in gh.getiter(url, url_vars, iterable_key="repositories")
    ]
