"""Brapi (brapi.dev) as a QuoteSource: polls `GET {base}/quote/{tickers}` in plan-sized
batches and turns each valid record into a Quote payload.

Transient failures (HTTP 429, 5xx, timeouts, dropped connections) are retried a bounded
number of times with jittered exponential backoff, honouring Retry-After; anything else
(a refused token, an unknown ticker, a body that is not the documented JSON) fails the
batch at once. A failed batch costs its tickers one round, never the feed. Records that
do not validate are logged and counted by reason and never published, and a quote
unchanged since the last poll (same market time) is not published again.

The token travels as the documented `token` query parameter, so no log line here ever
shows a request URL."""
from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable

import aiohttp
import orjson
from prometheus_client import Counter

from ingest.brapi_records import InvalidRecord, batches, quote_from_record
from ingest.retry import Backoff, parse_retry_after
from mybroker.events import parse_iso, utcnow

log = logging.getLogger("mybroker.ingest.brapi")

Quote = dict[str, Any]

INVALID_RECORDS = Counter(
    "mybroker_ingest_brapi_invalid_records", "Brapi records refused by validation, never published", ["reason"]
)
REQUESTS = Counter("mybroker_ingest_brapi_requests", "Brapi HTTP requests by outcome", ["outcome"])


class BrapiError(Exception):
    """A batch that could not be fetched; `reason` is a short, countable label.
    `transient`: Brapi was down or limiting us, so the round's other batches would fare
    no better."""

    def __init__(self, reason: str, detail: str = "", *, transient: bool = False):
        super().__init__(f"{reason}{': ' + detail if detail else ''}")
        self.reason = reason
        self.transient = transient


class _Retryable(Exception):
    def __init__(self, outcome: str, retry_after: float | None = None, detail: str = ""):
        super().__init__(outcome)
        self.outcome = outcome
        self.retry_after = retry_after
        self.detail = detail


@dataclass
class BrapiStats:
    requests: int = 0
    retries: int = 0
    failed_batches: int = 0
    skipped_batches: int = 0  # left for the next round after a batch found Brapi down
    quotes: int = 0
    unchanged: int = 0
    outcomes: Tally = field(default_factory=Tally)  # per request: ok, rate_limited, timeout, http_503, ...
    invalid_records: Tally = field(default_factory=Tally)  # per reason

    @property
    def invalid(self) -> int:
        return sum(self.invalid_records.values())


class BrapiClient:
    """One aiohttp session; `fetch(tickers)` answers the batch's raw `results[]`."""

    def __init__(
        self,
        base_url: str,
        token: str = "",
        *,
        timeout: float = 10.0,
        max_attempts: int = 4,
        backoff: Backoff = Backoff(),
        rng: random.Random | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], datetime] = utcnow,
        stats: BrapiStats | None = None,
    ):
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.stats = stats if stats is not None else BrapiStats()
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None

    async def fetch(self, tickers: list[str]) -> list[Any]:
        """The `results[]` for these tickers; raises BrapiError when the batch failed."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return await self._get(tickers)
            except _Retryable as failure:
                if attempt == self.max_attempts:
                    raise BrapiError(failure.outcome, f"gave up after {attempt} attempts", transient=True) from None
                if failure.retry_after is not None and failure.retry_after > self.backoff.max_retry_after:
                    detail = f"Retry-After {failure.retry_after:.0f}s is too long to wait"
                    raise BrapiError(failure.outcome, detail, transient=True) from None
                delay = self.backoff.delay(attempt, self._rng, failure.retry_after)
                self.stats.retries += 1
                log.info("brapi %s%s for %s; retrying in %.2fs", failure.outcome, failure.detail, ",".join(tickers), delay)
                await self._sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _get(self, tickers: list[str]) -> list[Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        params = {"token": self._token} if self._token else {}
        self.stats.requests += 1
        try:
            async with self._session.get(f"{self.base_url}/quote/{','.join(tickers)}", params=params) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                body = await response.read()
        except TimeoutError:
            raise self._outcome(_Retryable("timeout")) from None
        except aiohttp.ClientError as exc:  # refused or dropped connection, bad framing
            raise self._outcome(_Retryable("connection_error", detail=f" ({type(exc).__name__})")) from None
        if status == 429:
            raise self._outcome(_Retryable("rate_limited", parse_retry_after(retry_after, self._clock())))
        if status >= 500:
            raise self._outcome(_Retryable(f"http_{status}"))
        if status != 200:
            self._count(f"http_{status}")
            raise BrapiError(f"http_{status}", _error_message(body))
        try:
            document = orjson.loads(body)
        except ValueError:
            self._count("malformed_response")
            raise BrapiError("malformed_response", "the body is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("results"), list):
            self._count("malformed_response")
            raise BrapiError("malformed_response", "no results[] list")
        self._count("ok")
        return document["results"]

    def _outcome(self, failure: _Retryable) -> _Retryable:
        self._count(failure.outcome)
        return failure

    def _count(self, outcome: str) -> None:
        self.stats.outcomes[outcome] += 1
        REQUESTS.labels(outcome).inc()


def _error_message(body: bytes) -> str:
    """Brapi explains a refusal in {"error": true, "message": ...}; the raw body otherwise."""
    try:
        message = orjson.loads(body).get("message")
        if isinstance(message, str):
            return message[:200]
    except (ValueError, AttributeError):
        pass
    return body[:200].decode("utf-8", "replace")


class BrapiSource:
    """The QuoteSource: one round is one poll of every followed ticker."""

    def __init__(self, client: BrapiClient, tickers: list[str], batch_size: int = 1):
        if not tickers:
            raise ValueError("Brapi needs at least one ticker to follow")
        self.client = client
        self.tickers = [t.strip().upper() for t in tickers]
        if bad := [t for t in self.tickers if not t.isalnum()]:
            raise ValueError(f"not B3 tickers: {', '.join(map(repr, bad))}")
        self.batches = batches(self.tickers, batch_size)
        self._last_time: dict[str, datetime] = {}

    @property
    def stats(self) -> BrapiStats:
        return self.client.stats

    async def next_round(self, now: datetime) -> list[Quote]:
        quotes: list[Quote] = []
        for index, batch in enumerate(self.batches):
            try:
                records = await self.client.fetch(batch)
            except BrapiError as exc:
                self.stats.failed_batches += 1
                log.warning("brapi batch %s failed: %s", ",".join(batch), exc)
                if exc.transient:
                    # Down or rate limiting: the rest of the round would only retry into
                    # the same wall (and stretch the round). They go first next round.
                    self.stats.skipped_batches += len(self.batches) - index - 1
                    self._rotate(index)
                    break
                continue
            quotes.extend(self._valid_new(records, frozenset(batch)))
        self.stats.quotes += len(quotes)
        return quotes

    def _rotate(self, failed: int) -> None:
        """The batches after the failed one first, so no ticker starves behind it."""
        self.batches = self.batches[failed + 1 :] + self.batches[: failed + 1]

    def _valid_new(self, records: list[Any], wanted: frozenset[str]) -> list[Quote]:
        fresh: list[Quote] = []
        for record in records:
            try:
                quote = quote_from_record(record, wanted)
            except InvalidRecord as exc:
                self.stats.invalid_records[exc.reason] += 1
                INVALID_RECORDS.labels(exc.reason).inc()
                log.warning("brapi record refused (%s)", exc)
                continue
            moment = parse_iso(quote["time"])
            last = self._last_time.get(quote["ticker"])
            if last is not None and moment <= last:
                self.stats.unchanged += 1  # the market has not moved since the last poll
                continue
            self._last_time[quote["ticker"]] = moment
            fresh.append(quote)
        return fresh

    async def close(self) -> None:
        await self.client.close()
