"""Bounded in-process retries, the same on every bus (memory, Kafka, RabbitMQ)."""
from __future__ import annotations

import asyncio
import logging
from typing import Sequence

from mybroker.bus.port import Handler
from mybroker.events import Envelope

log = logging.getLogger("mybroker.bus")


async def deliver(
    handlers: Sequence[Handler], message: Envelope, *, where: str, max_attempts: int, retry_delay: float
) -> Exception | None:
    """Runs each handler of a group on one message with up to `max_attempts` tries
    (linear backoff), as the memory bus does. None when every handler returned, else the
    last error of a handler that gave up (the message is then dead-lettered once)."""
    failure: Exception | None = None
    for handler in handlers:
        for attempt in range(1, max_attempts + 1):
            try:
                await handler(message)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a consumer must survive any handler failure
                if attempt == max_attempts:
                    log.error("giving up on %s %s on %s after %d attempts: %r", message.type, message.id, where, attempt, exc)
                    failure = exc
                    break
                log.warning("retrying %s %s on %s (attempt %d): %r", message.type, message.id, where, attempt, exc)
                await asyncio.sleep(retry_delay * attempt)
    return failure
