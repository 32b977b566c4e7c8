"""A request as a handler sees it (already checked against the description) and the answer it gives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from bot.testing.fake_github.auth import InstallationToken, RegisteredApp
from bot.testing.fake_github.records import not_found
from bot.testing.fake_github.state import Repository, World

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100  # GitHub serves at most 100 a page and quietly caps larger per_page values


@dataclass
class Call:
    world: World
    url: str  # absolute URL of the request on the fake, without the query
    params: dict[str, Any]
    query: dict[str, Any]
    body: Any
    token: InstallationToken | None = None
    app: RegisteredApp | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def json(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    def repository(self) -> Repository:
        """The repository in the path, if the installation token may see it (else GitHub's 404)."""
        full_name = f"{self.params['owner']}/{self.params['repo']}"
        repo = self.world.repository(full_name)
        if self.token is not None:
            allowed = self.world.installations.get(self.token.installation_id, [])
            if self.token.repositories is not None:
                allowed = self.token.repositories
            if full_name.lower() not in (name.lower() for name in allowed):
                raise not_found(f"installation {self.token.installation_id}'s token cannot see {full_name}")
        return repo


@dataclass
class Answer:
    status: int
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Answer]


def paginate(call: Call, items: Sequence[Any]) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` and GitHub's Link header (absolute URLs, other query params kept)."""
    per_page = int(call.query.get("per_page", DEFAULT_PER_PAGE))
    if per_page > MAX_PER_PAGE:
        call.notes.append(f"per_page={per_page} capped at {MAX_PER_PAGE}, as GitHub does")
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    page = max(int(call.query.get("page", 1)), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    start = (page - 1) * per_page
    links = []

    def link(number: int, rel: str) -> str:
        query = {**{k: str(v) for k, v in call.query.items()}, "per_page": str(per_page)}
        query["page"] = str(number)
        return f'<{call.url}?{urlencode(query)}>; rel="{rel}"'

    if page > 1:
        links += [link(page - 1, "prev"), link(1, "first")]
    if page < last:
        links += [link(page + 1, "next"), link(last, "last")]
    headers = {"Link": ", ".join(links)} if links else {}
    return list(items[start : start + per_page]), headers
