"""Turning an HTTP request from GitHub into a verified delivery, or a precise refusal.

The signature is checked over the raw bytes before anything is parsed. Only ``X-Hub-Signature-256`` is
accepted: the legacy SHA-1 header alone, or no signature, is refused (gidgethub's ``Event.from_http``
would accept both).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

# GitHub caps webhook payloads at 25 MB; anything larger is not from GitHub.
MAX_PAYLOAD_BYTES = 25 * 1024 * 1024
SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_PREFIX = "sha256="


class DeliveryRejected(Exception):
    """The request is not an acceptable delivery; ``status`` is the HTTP answer to give."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    """A delivery whose signature verified and whose payload is a JSON object."""

    id: str
    event: str
    payload: dict[str, Any]

    @property
    def action(self) -> str | None:
        action = self.payload.get("action")
        return action if isinstance(action, str) else None

    @property
    def installation_id(self) -> int | None:
        installation = self.payload.get("installation")
        if isinstance(installation, dict) and isinstance(installation.get("id"), int):
            return int(installation["id"])
        return None

    @property
    def repository(self) -> str | None:
        repo = self.payload.get("repository")
        if isinstance(repo, dict) and isinstance(repo.get("full_name"), str):
            return str(repo["full_name"])
        return None

    def describe(self) -> str:
        """A log-friendly name: ``check_run.completed (delivery 72d3...)``."""
        kind = f"{self.event}.{self.action}" if self.action else self.event
        return f"{kind} (delivery {self.id})"


def sign(secret: bytes, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return _SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_is_valid(secret: bytes, body: bytes, header: str | None) -> bool:
    """Constant-time comparison of the received signature with the expected one."""
    if not header or not header.startswith(_SIGNATURE_PREFIX):
        return False
    expected = hmac.digest(secret, body, hashlib.sha256).hex()  # one-shot: no HMAC object per delivery
    return hmac.compare_digest(expected.encode(), header.strip()[len(_SIGNATURE_PREFIX) :].encode())


def parse_delivery(headers: Mapping[str, str], body: bytes, secret: bytes) -> Delivery:
    """Verify and decode a delivery; raises DeliveryRejected with the status GitHub should see."""
    if not signature_is_valid(secret, body, headers.get(SIGNATURE_HEADER)):
        raise DeliveryRejected(401, f"missing or invalid {SIGNATURE_HEADER}")
    event = headers.get("X-GitHub-Event", "").strip()
    delivery_id = headers.get("X-GitHub-Delivery", "").strip()
    if not event:
        raise DeliveryRejected(400, "missing X-GitHub-Event header")
    if not delivery_id:
        raise DeliveryRejected(400, "missing X-GitHub-Delivery header")
    try:
        # orjson parses a 12 KB check_run payload 2.5x faster than json (12 vs 30 µs; bench/README.md).
        payload = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise DeliveryRejected(400, "payload is not valid JSON") from None
    if not isinstance(payload, dict):
        raise DeliveryRejected(400, "payload is not a JSON object")
    return Delivery(id=delivery_id, event=event, payload=payload)
