"""Rate limits at the router: token buckets per client address and per signed-in user
(issue 13), checked at the edge before an operation runs. docs/router.md, "Rate limits".

Why token buckets: two numbers say everything (a sustained rate and a burst), so a trading
screen that opens with a dozen queries at once is served while a script that keeps asking
is held to the rate; a fixed window lets twice the limit through around each window's edge,
and a sliding log stores every request. A bucket's state is two numbers (tokens left, as of
when), which one atomic Redis script can read and write for every router process at once.

Which buckets a request draws from:

| caller | operations (1 each) | cost (the operation's estimated cost: 1 at the door, the rest once demand control knows it; subscriptions 1) |
|---|---|---|
| anonymous | `ip`: its client address | `ip_cost`: its client address |
| signed in | `user`: its user id | `user_cost`: its user id |
| everyone | `ip_total`: its client address, wider | |

A signed-in trader is limited by account, not by address, so an office behind one NAT is
not held to one trader's share; the wider `ip_total` bucket still stops one address that
spreads its traffic over many accounts (or mixes accounts with anonymous calls). A request
draws from all of its buckets or from none: one that is refused costs nothing.

The bucket maths is pure (`refill`, `shortfall`) with the time passed in, so tests step a
fake clock instead of sleeping. State lives in a BucketStore: MemoryBucketStore (one
process, the embedded default) or RedisBucketStore (every router process shares the
buckets). If the store cannot be reached the limiter fails open: traffic passes unchecked,
and the outage is logged once with a count (router.outage_log.OutageLog), because a
Redis outage must not take the whole API down with it."""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence

from router.auth import Caller
from router.errors import RouterErrorCode
from router.outage_log import OutageLog

log = logging.getLogger("router.rate_limit")

SCOPES = ("ip", "user", "ip_total", "ip_cost", "user_cost")
# After the store failed, requests pass unchecked for this long before it is asked again, so
# a Redis that hangs costs one timeout a second, not one per request.
STORE_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class Bucket:
    """`per_second` tokens flow in, up to `burst`; 0 per second is no limit."""

    per_second: float
    burst: float

    @property
    def limited(self) -> bool:
        return self.per_second > 0

    @property
    def capacity(self) -> float:
        return max(self.burst, 1.0)  # a bucket that cannot hold one token would refuse everything


def refill(tokens: float, at: float, now: float, bucket: Bucket) -> tuple[float, float]:
    """(tokens, as of) at `now`. Time never runs backwards for a bucket: a clock behind the
    one that last wrote it (another host's) refills nothing until it catches up."""
    if now <= at:
        return tokens, at
    return min(bucket.capacity, tokens + (now - at) * bucket.per_second), now


def shortfall(tokens: float, amount: float, bucket: Bucket) -> float:
    """Seconds until `tokens` cover `amount` (0: they do now). An amount larger than the
    whole bucket needs a full bucket, never more, so no operation is refused forever."""
    need = min(amount, bucket.capacity)
    return 0.0 if tokens >= need else (need - tokens) / bucket.per_second


def whole_seconds(wait: float) -> int:
    """Retry-After in whole seconds, rounded up (at least 1: 0 would invite an instant retry).
    The tiny tolerance keeps 1.0000000001 of float noise from becoming 2."""
    return max(1, math.ceil(wait - 1e-9))


@dataclass(frozen=True)
class Draw:
    """`amount` tokens from the bucket `key` (shaped `bucket`), for the refusal's `scope`."""

    key: str
    bucket: Bucket
    amount: float
    scope: str


@dataclass(frozen=True)
class Shortfall:
    """The draw that would wait longest (its index in the request) and for how long."""

    index: int
    wait: float


class BucketStoreUnavailable(Exception):
    """The store cannot be reached; the limiter lets the request through."""


class BucketStore(Protocol):
    # The clock its times are read from: monotonic in one process, wall time across hosts.
    clock: Callable[[], float]

    async def draw(self, draws: Sequence[Draw], now: float) -> Shortfall | None:
        """Atomically: if every bucket holds its draw's amount, takes them all and returns
        None; otherwise takes nothing and returns the longest wait."""

    async def close(self) -> None: ...


class MemoryBucketStore:
    """One process's buckets. A full bucket is the same as an absent one, so when the map
    grows past `max_entries` the full ones are dropped (and, if that is not enough, the
    oldest: memory stays bounded whatever an attacker sends)."""

    clock = staticmethod(time.monotonic)

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._buckets: dict[str, tuple[float, float, float]] = {}  # key -> (tokens, as of, full at)

    async def draw(self, draws: Sequence[Draw], now: float) -> Shortfall | None:
        states = [refill(*self._buckets.get(d.key, (d.bucket.capacity, now))[:2], now, d.bucket) for d in draws]
        worst = _worst(shortfall(tokens, d.amount, d.bucket) for (tokens, _), d in zip(states, draws))
        for (tokens, at), d in zip(states, draws):
            if worst is None:
                tokens -= min(d.amount, d.bucket.capacity)
            self._buckets[d.key] = (tokens, at, at + (d.bucket.capacity - tokens) / d.bucket.per_second)
        if len(self._buckets) > self.max_entries:
            self._forget(now)
        return worst

    def _forget(self, now: float) -> None:
        for key in [key for key, (_, _, full_at) in self._buckets.items() if full_at <= now]:
            del self._buckets[key]
        while len(self._buckets) > self.max_entries:
            del self._buckets[next(iter(self._buckets))]

    def __len__(self) -> int:
        return len(self._buckets)

    async def close(self) -> None:
        pass


def _worst(waits) -> Shortfall | None:
    worst = None
    for index, wait in enumerate(waits):
        if wait > 0 and (worst is None or wait > worst.wait):
            worst = Shortfall(index, wait)
    return worst


# Every bucket of one request in one step (Redis runs a script alone): refill each, and take
# from all of them only if all hold enough. Numbers travel as strings: Redis would truncate a
# Lua number to an integer. Each key lives as long as its bucket takes to fill (then it is the
# same as absent), plus a second.
_DRAW = """
local now = tonumber(ARGV[1])
local tokens, ats, worst, wait = {}, {}, 0, 0
for i = 1, #KEYS do
  local rate, burst, amount = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  local state = redis.call('HMGET', KEYS[i], 't', 'at')
  local t, at = tonumber(state[1]), tonumber(state[2])
  if t == nil or at == nil then t, at = burst, now end
  if now > at then t, at = math.min(burst, t + (now - at) * rate), now end
  tokens[i], ats[i] = t, at
  local need = math.min(amount, burst)
  if t < need and (need - t) / rate > wait then worst, wait = i, (need - t) / rate end
end
for i = 1, #KEYS do
  local rate, burst, amount = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), tonumber(ARGV[3 * i + 1])
  if worst == 0 then tokens[i] = tokens[i] - math.min(amount, burst) end
  redis.call('HSET', KEYS[i], 't', tostring(tokens[i]), 'at', tostring(ats[i]))
  redis.call('PEXPIRE', KEYS[i], math.ceil(burst / rate * 1000) + 1000)
end
return {worst, tostring(wait)}
"""


class RedisBucketStore:
    """Buckets in Redis hashes (`<namespace>ratelimit:<key>`), shared by every router process
    (`--workers N`, several hosts). One script call per request (EVALSHA; redis-py loads
    the script and retries when the server does not know it, after a restart). Times are
    wall-clock seconds, comparable across hosts. Short timeouts and no retries: a slow
    Redis must cost a request milliseconds, and the limiter fails open instead."""

    clock = staticmethod(time.time)

    def __init__(self, url: str, namespace: str = "", *, timeout: float = 0.25) -> None:
        import redis.asyncio as redis  # lazy: the embedded default never needs the client
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._redis = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0)
        )
        self.prefix = namespace + "ratelimit:"
        self._draw = self._redis.register_script(_DRAW)

    async def draw(self, draws: Sequence[Draw], now: float) -> Shortfall | None:
        from redis.exceptions import RedisError

        args: list[Any] = [repr(now)]
        for d in draws:
            args += [repr(float(d.bucket.per_second)), repr(d.bucket.capacity), repr(float(d.amount))]
        try:
            worst, wait = await self._draw(keys=[self.prefix + d.key for d in draws], args=args)
        except (RedisError, OSError) as error:
            raise BucketStoreUnavailable(f"{type(error).__name__}: {error}") from error
        return Shortfall(int(worst) - 1, float(wait)) if int(worst) else None

    async def close(self) -> None:
        await self._redis.aclose()


@dataclass(frozen=True)
class RateLimits:
    """The buckets' shapes (router/options.py reads them from MYBROKER_ROUTER_RATE_LIMIT_*).
    These defaults are the development ones: generous enough that the project's own
    benchmarks (wrk at thousands of requests a second from 127.0.0.1, 50 traders of
    `mybroker bench orders` from one address) never meet them, about 6x the router's best
    measured rate. launch/production.py sets the strict ones."""

    enabled: bool = True
    ip: Bucket = Bucket(10_000, 20_000)
    user: Bucket = Bucket(5_000, 10_000)
    ip_total: Bucket = Bucket(20_000, 40_000)
    ip_cost: Bucket = Bucket(100_000, 200_000)
    user_cost: Bucket = Bucket(50_000, 100_000)


@dataclass(frozen=True)
class RateLimited:
    """A refusal: which bucket ran dry and how long until it holds enough again."""

    scope: str
    retry_after: float

    @property
    def seconds(self) -> int:
        return whole_seconds(self.retry_after)

    def headers(self) -> dict[str, str]:
        return {"retry-after": str(self.seconds)}

    def error(self) -> dict[str, Any]:
        who = "this account" if self.scope.startswith("user") else "this address"
        return {
            "message": f"Too many requests from {who}; try again in {self.seconds} s.",
            "extensions": {"code": RouterErrorCode.RATE_LIMITED.value, "retryAfter": self.seconds},
        }


@dataclass
class RateLimiter:
    """Decides, per request, whether the caller's buckets allow it.

    `admit` is the edge's check (1 operation, and 1 of cost unless a cost is given);
    `consume` charges more cost to the caller's cost bucket (demand control, once it knows
    an operation's cost)."""

    limits: RateLimits = field(default_factory=RateLimits)
    store: BucketStore = field(default_factory=MemoryBucketStore)
    clock: Callable[[], float] | None = None  # None: the store's own clock
    retry_seconds: float = STORE_RETRY_SECONDS

    def __post_init__(self) -> None:
        self.clock = self.clock or self.store.clock
        self.outage = OutageLog(log, "rate limit store (requests pass unchecked)")
        self._unavailable_until = float("-inf")
        self._last_error = ""

    @staticmethod
    def owner(caller: Caller, address: str | None) -> tuple[str, str]:
        """Whose buckets: ("user", its id) if signed in, else ("ip", its client address)."""
        return ("user", str(caller.user_id)) if caller.user_id is not None else ("ip", address or "unknown")

    async def admit(self, caller: Caller, address: str | None, cost: float | None = None) -> RateLimited | None:
        scope, who = self.owner(caller, address)
        limits = self.limits
        draws = [
            Draw(f"{scope}:{who}", getattr(limits, scope), 1, scope),
            self._cost_draw(scope, who, 1 if cost is None else cost),
            Draw(f"ip_total:{address or 'unknown'}", limits.ip_total, 1, "ip_total"),
        ]
        return await self._draw(draws)

    async def consume(self, caller: Caller, address: str | None, amount: float) -> RateLimited | None:
        """Charges `amount` more cost to the caller's cost bucket."""
        return await self._draw([self._cost_draw(*self.owner(caller, address), amount)])

    def _cost_draw(self, scope: str, who: str, amount: float) -> Draw:
        return Draw(f"{scope}_cost:{who}", getattr(self.limits, scope + "_cost"), amount, scope + "_cost")

    async def _draw(self, draws: list[Draw]) -> RateLimited | None:
        draws = [d for d in draws if d.bucket.limited]
        if not self.limits.enabled or not draws:
            return None
        now = (self.clock or self.store.clock)()  # set in __post_init__; the `or` tells mypy
        if now < self._unavailable_until:
            self.outage.failed(self._last_error)
            return None
        try:
            worst = await self.store.draw(draws, now)
        except BucketStoreUnavailable as error:
            self._last_error = str(error)
            self._unavailable_until = now + self.retry_seconds
            self.outage.failed(self._last_error)
            return None
        self.outage.recovered()
        return None if worst is None else RateLimited(draws[worst.index].scope, worst.wait)

    async def close(self) -> None:
        await self.store.close()
