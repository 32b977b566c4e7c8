"""The server's catching-up schedule: failed deliveries asked for again, trackers reconciled.

Shortly after start-up the deliveries missed while the server was down are asked for; then, every
``interval`` seconds, both that and a full reconcile run. A round that fails is logged and the schedule
goes on. Replicas sharing a journal take turns through its lease: one runs the rounds, the others skip
them until its lease lapses (it died, or stopped).
"""

from __future__ import annotations

import asyncio
import logging

from bot.github.app_api import AppAPI
from bot.healing.reconcile import reconcile
from bot.healing.redeliver import Redeliverer
from bot.journal import Journal
from bot.updating.tracker import TrackerService

log = logging.getLogger(__name__)

# GitHub's redeliveries must find the server listening; it starts listening only after start-up.
STARTUP_DELAY_SECONDS = 10.0
LEASE_TASK = "catch-up"
# The leader renews at each round; a round may take up to an interval before another replica steps in.
LEASE_INTERVALS = 2


class CatchUp:
    """The background task; an ``interval`` of 0 turns it off."""

    def __init__(
        self,
        app_api: AppAPI,
        trackers: TrackerService,
        journal: Journal,
        *,
        interval: float,
        startup_delay: float = STARTUP_DELAY_SECONDS,
    ) -> None:
        self._app_api = app_api
        self._trackers = trackers
        self.redeliverer = Redeliverer(app_api, journal)
        self._journal = journal
        self._interval = interval
        self._startup_delay = startup_delay
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._interval > 0:
            self._task = asyncio.create_task(self._run(), name="catch up")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        await asyncio.sleep(self._startup_delay)
        if await self._leading():
            await self._redeliver()
        while True:
            await asyncio.sleep(self._interval)
            if not await self._leading():
                continue
            await self._redeliver()
            try:
                await reconcile(self._app_api, self._trackers)
            except Exception:
                log.exception("reconcile failed; trying again in %g s", self._interval)

    async def _leading(self) -> bool:
        """Whether this process runs the round: replicas sharing the journal take it one at a time."""
        try:
            return await self._journal.lead(LEASE_TASK, self._interval * LEASE_INTERVALS)
        except Exception as error:
            log.warning("cannot take the catch-up lease, skipping this round: %s", error)
            return False

    async def _redeliver(self) -> None:
        try:
            await self.redeliverer.redeliver_failed()
        except Exception:
            log.exception("listing failed deliveries failed; trying again in %g s", self._interval)
