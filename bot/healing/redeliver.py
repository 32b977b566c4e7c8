"""Asking GitHub again for the deliveries that never reached us.

GitHub does not retry a webhook our server failed to take (it was down, or answered 5xx), but for 3 days
an App may ask for it again. The delivery log lists every attempt, and an event's attempts share a guid
(the ``X-GitHub-Delivery`` id the journal is keyed by), so an event needs asking for when none of its
attempts succeeded and the journal has never seen it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

import aiohttp
import cachetools
from gidgethub import GitHubException

from bot.github.app_api import AppAPI, HookDelivery
from bot.github.client import GitHubUnavailable
from bot.journal import REDELIVERY_WINDOW_SECONDS, Journal

log = logging.getLogger(__name__)

# Remembered requests; more failed events than this within 3 days is an outage reconcile heals anyway.
MAX_REMEMBERED = 100_000


def undelivered(attempts: Iterable[HookDelivery], *, since: float) -> list[HookDelivery]:
    """The latest attempt of each event with no successful attempt since ``since``, oldest event first."""
    by_guid: dict[str, list[HookDelivery]] = {}
    for attempt in attempts:
        if attempt.delivered_at >= since:
            by_guid.setdefault(attempt.guid, []).append(attempt)
    failed = [group for group in by_guid.values() if not any(a.succeeded for a in group)]
    failed.sort(key=lambda group: min(a.id for a in group))
    return [max(group, key=lambda a: a.id) for group in failed]


class Redeliverer:
    """Asks for each undelivered event once per process; what the journal holds is never asked for."""

    def __init__(
        self,
        app_api: AppAPI,
        journal: Journal,
        *,
        window: float = REDELIVERY_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._app_api = app_api
        self._journal = journal
        self._window = window
        self._clock = clock
        # Past the window GitHub refuses to redeliver, so nothing needs remembering longer.
        self._asked: cachetools.TTLCache[str, bool] = cachetools.TTLCache(
            maxsize=MAX_REMEMBERED, ttl=window, timer=clock
        )

    async def redeliver_failed(self) -> list[str]:
        """Ask for every undelivered event of the last 3 days; returns the guids asked for."""
        since = self._clock() - self._window
        asked: list[str] = []
        for delivery in undelivered(await self._app_api.hook_deliveries(since=since), since=since):
            if delivery.guid in self._asked or await self._journal.get(delivery.guid) is not None:
                continue
            try:
                await self._app_api.redeliver(delivery.id)
            except (GitHubException, GitHubUnavailable, aiohttp.ClientError, TimeoutError) as error:
                # Not remembered: the next round asks again.
                log.warning("could not ask for delivery %s again: %s", delivery.guid, error)
                continue
            self._asked[delivery.guid] = True
            asked.append(delivery.guid)
            log.info(
                "asked GitHub to redeliver %s (delivery %s, last answered %d)",
                delivery.event,
                delivery.guid,
                delivery.status_code,
            )
        return asked
