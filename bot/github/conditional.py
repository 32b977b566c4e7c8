"""Answers kept for conditional requests: a 304 costs no rate limit, and the kept answer stands in for it.

One budget in bytes for every installation together, least recently used answers dropped first. Keys
are (installation, URL): an installation is never served an answer fetched with another's permissions.
Answers are kept as GitHub sent them, the body's bytes, and decoded again when served: the budget counts
what is held (decoded JSON takes several times its bytes), and no caller can change a kept answer by
changing the one it was given. gidgethub looks the kept answer up before every GET it sends, and most are
answered anew (200): the kept body is decoded only once a 304 makes it the answer (``answered``).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import cachetools
from gidgethub import sansio

# All installations together. A list page of 100 check runs is about 300 KB: this keeps a few hundred.
ANSWER_CACHE_BYTES = 32 * 1024 * 1024
# The key, the validators and the bookkeeping of one kept answer, roughly.
_ENTRY_BYTES = 300

# What gidgethub keeps per URL: ETag, Last-Modified, the decoded body, the next page's URL.
CachedAnswer = tuple[str | None, str | None, Any, str | None]


@dataclass(frozen=True, slots=True)
class _Kept:
    etag: str | None
    last_modified: str | None
    content_type: str | None
    body: bytes
    more: str | None

    @property
    def size(self) -> int:
        return _ENTRY_BYTES + len(self.body)

    def decoded(self) -> Any:
        headers = {"content-type": self.content_type} if self.content_type else {}
        data, _, _ = sansio.decipher_response(200, headers, self.body)
        return data


def answered(data: Any) -> Any:
    """The data gidgethub gives for a call: a kept answer's (it was answered 304) decoded now."""
    return data.decoded() if isinstance(data, _Kept) else data


class ConditionalAnswers:
    """The answers of every installation, within ``max_bytes``."""

    def __init__(self, max_bytes: int = ANSWER_CACHE_BYTES) -> None:
        self._kept: cachetools.LRUCache[tuple[int, str], _Kept] = cachetools.LRUCache(
            maxsize=max_bytes, getsizeof=lambda kept: kept.size
        )

    @property
    def kept_bytes(self) -> int:
        return int(self._kept.currsize)

    def for_installation(self, installation_id: int) -> InstallationAnswers:
        return InstallationAnswers(self._kept, installation_id)

    def forget(self, installation_id: int) -> None:
        """Drop what an uninstalled installation was answered: it may never be served again."""
        for key in [key for key in list(self._kept) if key[0] == installation_id]:
            self._kept.pop(key, None)


class InstallationAnswers(MutableMapping[str, CachedAnswer]):
    """One client's view, by URL, as gidgethub uses its cache.

    gidgethub stores the decoded answer right after ``_request`` returns, with no wait in between, so
    the body the client noted last (``received``) is the one being stored.
    """

    def __init__(self, kept: cachetools.LRUCache[tuple[int, str], _Kept], installation_id: int) -> None:
        self._kept = kept
        self._installation_id = installation_id
        self._received: tuple[str | None, bytes] = (None, b"")

    def received(self, content_type: str | None, body: bytes) -> None:
        """The answer the client has just been given, before gidgethub decodes and stores it."""
        self._received = (content_type, body)

    def __getitem__(self, url: str) -> CachedAnswer:
        """The kept answer, its body not decoded yet (see ``answered``)."""
        kept = self._kept[(self._installation_id, url)]
        return kept.etag, kept.last_modified, kept, kept.more

    def __setitem__(self, url: str, answer: CachedAnswer) -> None:
        etag, last_modified, _, more = answer
        content_type, body = self._received
        kept = _Kept(etag, last_modified, content_type, body, more)
        if kept.size <= self._kept.maxsize:
            self._kept[(self._installation_id, url)] = kept

    def __delitem__(self, url: str) -> None:
        del self._kept[(self._installation_id, url)]

    def __iter__(self) -> Iterator[str]:
        return (url for installation, url in list(self._kept) if installation == self._installation_id)

    def __len__(self) -> int:
        return sum(1 for _ in self)
