"""The second origin that serves logs and artifact archives, as GitHub's blob storage does.

The API answers 302 with a short-lived signed URL on another host. Like real blob storage, it refuses a
request that carries an Authorization header (a client must not forward its GitHub token there).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

from bot.testing.fake_github.records import Clock, GitHubError

URL_LIFETIME = 60  # GitHub: "This URL expires after 1 minute"


@dataclass
class Blob:
    content: bytes
    content_type: str
    # A huge blob (a 200 MB log) is generated chunk by chunk instead of held in memory.
    generate: Callable[[], Iterator[bytes]] | None = None
    size: int | None = None

    @property
    def length(self) -> int:
        return self.size if self.size is not None else len(self.content)


@dataclass
class BlobStore:
    clock: Clock
    url: str = ""  # base URL of the blob site, set when it starts
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    blobs: dict[str, Blob] = field(default_factory=dict)
    # Blob storage answers a Range request with 206 and just those bytes; switch off to test clients
    # that must cope with a server sending the whole body.
    honour_ranges: bool = True

    def _signature(self, key: str, expires: int) -> str:
        return hmac.new(self.secret, f"{key}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def signed_url(self, key: str) -> str:
        expires = int(self.clock.now()) + URL_LIFETIME
        query = urlencode({"se": expires, "sp": "r", "sig": self._signature(key, expires)})
        return f"{self.url}/blobs/{key}?{query}"

    def open(self, key: str, query: dict[str, str], authorization: str | None) -> Blob:
        """The blob a signed URL names, or the refusal blob storage answers."""
        if authorization is not None:
            raise GitHubError(
                400,
                "Authentication information is not given in the correct format.",
                reason="blob storage refuses requests carrying an Authorization header",
            )
        expires = query.get("se", "")
        signature = query.get("sig", "")
        if not expires.isdigit() or not hmac.compare_digest(signature, self._signature(key, int(expires))):
            raise GitHubError(403, "Signature did not match.", reason="bad blob URL signature")
        if int(expires) <= self.clock.now():
            raise GitHubError(403, "Signed expiry time has passed.", reason="blob URL expired")
        blob = self.blobs.get(key)
        if blob is None:
            raise GitHubError(404, "The specified blob does not exist.", reason=f"no blob {key}")
        return blob
