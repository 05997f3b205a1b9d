"""Store outages, logged as three kinds of line: one when it starts (what failed), at most
one summary per interval while it lasts (a count), one when it ends (count and duration).
The rate limiter's Redis store uses it: a Redis outage must not write a line per request.

The router's own copy of mybroker/outage_log.py's OutageLog (the router imports nothing of
the broker's); the broker's also carries the aiokafka repeat filter, which the router has
no use for."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable

SUMMARY_INTERVAL_SECONDS = 30.0


class OutageLog:
    """One per retry loop. Call failed(exc) on each failed attempt, recovered() on success."""

    def __init__(self, logger: logging.Logger, what: str, *, interval: float = SUMMARY_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.logger, self.what, self.interval, self.clock = logger, what, interval, clock
        self.failures = 0
        self.started = self.last_line = 0.0

    @property
    def in_outage(self) -> bool:
        return self.failures > 0

    def failed(self, error: BaseException | str) -> None:
        now = self.clock()
        self.failures += 1
        if self.failures == 1:
            self.started = self.last_line = now
            self.logger.error("%s failed: %s; retrying (one summary every %gs until it recovers)",
                              self.what, _describe(error), self.interval)
        elif now - self.last_line >= self.interval:
            self.last_line = now
            self.logger.warning("%s still failing: %d failures in %.0fs, last: %s",
                                self.what, self.failures, now - self.started, _describe(error))

    def recovered(self) -> None:
        if not self.failures:
            return
        self.logger.warning("%s recovered after %d failures in %.1fs", self.what, self.failures, self.clock() - self.started)
        self.failures = 0


def _describe(error: BaseException | str) -> str:
    return error if isinstance(error, str) else f"{type(error).__name__}: {error}"
