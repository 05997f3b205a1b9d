"""Applies corporate events by themselves when their day comes: every `interval` seconds a
pass over the events that are due on the shared clock and calendar (mybroker.calendar), as
the wallet's other background work runs (mybroker.periodic). The pass is idempotent (one
application per event and wallet, in the transaction that applies it:
corporate_events_service.py), so a pass that fails half-way, a restart or a second replica
running the same pass pays no one twice; the next pass finishes what is left."""
from __future__ import annotations

import logging

from mybroker.periodic import Periodic
from subgraphs.wallet.corporate_events_service import ApplyResult, CorporateEventsService

log = logging.getLogger("mybroker.wallet.corporate_events")


class CorporateEventsJob:
    def __init__(self, service: CorporateEventsService, *, interval: float = 60.0):
        self.service = service
        # At once at start: a payment date that came while the service was down is paid
        # as soon as it is back.
        self._loop = Periodic("wallet-corporate-events", interval, self.run_once, on_error=self._failed, first_at_once=True)

    async def run_once(self) -> ApplyResult:
        result = await self.service.apply_due()
        if result.applied or result.finished or result.deferred:
            log.info("corporate events: %s", result)
        return result

    async def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()

    def _failed(self, exc: Exception) -> None:
        log.warning("corporate events pass failed (%r); the next one runs in %s s", exc, self._loop.interval)
