"""Trading the code GitHub redirected with for the new App's credentials.

``POST /app-manifests/{code}/conversions`` needs no authentication: the code is the credential. GitHub
keeps it for one hour and accepts it once; after that it answers 404 (or 422, per its REST description).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.github.client import USER_AGENT

API_VERSION = "2022-11-28"
TIMEOUT = aiohttp.ClientTimeout(total=30)


class ExchangeFailed(Exception):
    """GitHub did not hand over the App's credentials; the message says what to do next."""


@dataclass(frozen=True)
class NewApp:
    """The App GitHub created from the manifest, with the secrets it generated once."""

    app_id: int
    slug: str
    name: str
    html_url: str
    private_key_pem: str = field(repr=False)
    webhook_secret: str = field(repr=False)


async def convert_code(session: aiohttp.ClientSession, api_url: str, code: str) -> NewApp:
    url = f"{api_url}/app-manifests/{quote(code, safe='')}/conversions"
    headers = {
        "Accept": "application/vnd.github+json",
        "User-Agent": USER_AGENT,
        "X-GitHub-Api-Version": API_VERSION,
    }
    try:
        async with session.post(url, headers=headers, timeout=TIMEOUT) as response:
            status = response.status
            answer: Any = await response.json(content_type=None) if status == 201 else None
    except (aiohttp.ClientError, TimeoutError, ValueError) as error:
        raise ExchangeFailed(
            f"could not reach GitHub's API at {api_url} ({error.__class__.__name__})"
        ) from None
    if status in (404, 422):
        raise ExchangeFailed(
            "GitHub did not accept the registration code: it is valid for one hour and for one use."
            " Run `issue-status-bot register` again (an App it created is listed in your GitHub settings,"
            " under Developer settings > GitHub Apps, if you want to delete it)"
        )
    if status != 201:
        raise ExchangeFailed(f"GitHub's API at {api_url} answered {status} to the code exchange; try again")
    try:
        return NewApp(
            app_id=int(answer["id"]),
            slug=str(answer["slug"]),
            name=str(answer["name"]),
            html_url=str(answer["html_url"]),
            private_key_pem=str(answer["pem"]),
            webhook_secret=str(answer["webhook_secret"] or ""),
        )
    except (KeyError, TypeError, ValueError):
        raise ExchangeFailed("GitHub's answer to the code exchange lacks the App's id, key or page") from None
