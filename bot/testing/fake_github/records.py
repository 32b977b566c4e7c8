"""What the fake remembers about each request, GitHub's error shape, and the clock it judges time by."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DOCS_ROOT = "https://docs.github.com/rest"


@dataclass
class RecordedRequest:
    """One request as the fake received it; ``reason`` says why GitHub would have refused or failed it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    status: int = 0
    operation_id: str | None = None
    reason: str | None = None
    rejected: bool = False
    notes: list[str] = field(default_factory=list)
    origin: str = "api"  # "api" or "blob" (the second origin that serves logs and artifacts)
    at: float = field(default_factory=time.monotonic)  # when it arrived, to check clients' pacing


class GitHubError(Exception):
    """An answer GitHub gives instead of doing the work.

    ``rejection`` is False for answers a correct client meets in normal life (a file that does not
    exist, an expired token it should re-mint): those are recorded but do not fail the tests.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        reason: str | None = None,
        rejection: bool = True,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.reason = reason or message
        self.rejection = rejection
        self.errors = errors
        self.headers = headers or {}

    def body(self, documentation_url: str = DOCS_ROOT) -> dict[str, Any]:
        """GitHub's error JSON; since 2023 it carries the status as a string too."""
        payload: dict[str, Any] = {"message": self.message, "documentation_url": documentation_url}
        if self.errors:
            payload["errors"] = self.errors
        payload["status"] = str(self.status)
        return payload


def not_found(reason: str, *, rejection: bool = True) -> GitHubError:
    return GitHubError(404, "Not Found", reason=reason, rejection=rejection)


class Clock:
    """Wall-clock time plus an offset tests move forward to expire tokens and signed URLs."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def iso(self, at: float | None = None) -> str:
        """GitHub's timestamp form: ISO 8601, seconds, 'Z'."""
        moment = self.now() if at is None else at
        return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
