"""How long to wait before trying a request again. Pure: the random source and the
clock come in as arguments.

Exponential backoff with full jitter (a random wait between zero and the exponential
cap), so clients that failed together do not retry together; a server's Retry-After is
honoured as the minimum wait."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


@dataclass(frozen=True)
class Backoff:
    base: float = 0.5  # seconds; the cap of the first retry's wait
    cap: float = 10.0  # no exponential wait grows beyond this
    max_retry_after: float = 60.0  # a longer Retry-After gives up the request instead

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """The wait before attempt `attempt + 1` (`attempt` counts from 1)."""
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        jittered = rng.uniform(0, ceiling)
        if retry_after is None:
            return jittered
        # The server said when; a little jitter on top spreads the clients it told the same.
        return retry_after + rng.uniform(0, min(self.base, ceiling))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent
    or unreadable, so the caller falls back to its own backoff."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - now).total_seconds())
