"""The router's rate limits shared through Redis (issue 13): two limiters on one Redis (two
router processes, `--workers 2`, two hosts) draw from one bucket, the script decides as
the in-memory store does, survives a server that forgot it, and an unreachable Redis
lets traffic through."""
from __future__ import annotations

import random

import pytest

from launch.router_app import bucket_store
from router.auth import ANONYMOUS, Caller
from router.rate_limit import Bucket, MemoryBucketStore, RateLimiter, RateLimits, RedisBucketStore
from tests.integration.support import unique

pytestmark = pytest.mark.asyncio

OFF = Bucket(0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = 1_765_000_000.0  # wall-clock seconds, as RedisBucketStore uses

    def __call__(self) -> float:
        return self.now


def limits(**buckets: Bucket) -> RateLimits:
    return RateLimits(**{"ip": OFF, "user": OFF, "ip_total": OFF, "ip_cost": OFF, "user_cost": OFF, **buckets})


@pytest.fixture
async def stores(settings):
    namespace = unique("it-ratelimit") + ":"
    made: list[RedisBucketStore] = []

    def make() -> RedisBucketStore:
        made.append(RedisBucketStore(settings.redis_url, namespace))
        return made[-1]

    yield make
    for store in made:
        keys = [key async for key in store._redis.scan_iter(namespace + "*")]
        if keys:
            await store._redis.delete(*keys)
        await store.close()


async def test_two_router_processes_share_one_bucket(stores):
    clock = Clock()
    shape = limits(ip=Bucket(1, 4))
    first, second = RateLimiter(shape, stores(), clock=clock), RateLimiter(shape, stores(), clock=clock)
    for router in (first, second, first, second):  # the burst of 4, spread over both
        assert await router.admit(ANONYMOUS, "198.51.100.7") is None
    for router in (first, second):
        refused = await router.admit(ANONYMOUS, "198.51.100.7")
        assert refused is not None and refused.scope == "ip" and refused.retry_after == pytest.approx(1.0)
    assert await second.admit(ANONYMOUS, "198.51.100.8") is None  # another address: its own bucket
    clock.now += 1.0
    assert await second.admit(ANONYMOUS, "198.51.100.7") is None  # one token back, for either
    assert await first.admit(ANONYMOUS, "198.51.100.7") is not None


async def test_the_script_decides_as_the_memory_store_does(stores):
    """The same random traffic (callers, addresses, costs, pauses) through both stores."""
    shape = limits(ip=Bucket(3, 5), user=Bucket(2, 4), ip_total=Bucket(5, 8), ip_cost=Bucket(10, 20), user_cost=Bucket(6, 12))
    clocks = Clock(), Clock()
    redis_limiter = RateLimiter(shape, stores(), clock=clocks[0])
    memory_limiter = RateLimiter(shape, MemoryBucketStore(), clock=clocks[1])
    rng = random.Random(13)
    decisions: list[tuple] = []
    for _ in range(400):
        caller = rng.choice([ANONYMOUS, Caller("1"), Caller("2")])
        address = rng.choice(["198.51.100.1", "198.51.100.2"])
        cost = rng.choice([None, 1, 3, 30])
        pause = rng.choice([0.0, 0.0, 0.05, 0.3, 1.0])
        outcome = []
        for limiter, clock in ((redis_limiter, clocks[0]), (memory_limiter, clocks[1])):
            clock.now += pause
            refusal = await limiter.admit(caller, address, cost)
            outcome.append(None if refusal is None else (refusal.scope, round(refusal.retry_after, 3)))
        assert outcome[0] == outcome[1], (caller, address, cost)
        decisions.append(outcome[0])
    assert None in decisions and any(decisions)  # the traffic met the limits and was also let through


async def test_a_redis_that_forgot_the_script_loads_it_again(stores):
    store = stores()
    store._draw.sha = "0" * 40  # as after a Redis restart: EVALSHA answers NOSCRIPT
    limiter = RateLimiter(limits(ip=Bucket(1, 1)), store, clock=Clock())
    assert await limiter.admit(ANONYMOUS, "198.51.100.7") is None
    assert await limiter.admit(ANONYMOUS, "198.51.100.7") is not None
    assert not limiter.outage.in_outage


async def test_a_bucket_key_expires_once_the_bucket_would_be_full(stores):
    store = stores()
    limiter = RateLimiter(limits(user=Bucket(2, 10)), store, clock=Clock())
    assert await limiter.admit(Caller("5"), "198.51.100.7") is None
    ttl = await store._redis.pttl(store.prefix + "user:5")
    assert 5_000 < ttl <= 6_000  # 10 tokens at 2 a second, plus a second


async def test_an_unreachable_redis_fails_open():
    store = RedisBucketStore("redis://127.0.0.1:1/0")  # nothing listens on port 1
    limiter = RateLimiter(limits(ip=Bucket(1, 1)), store, clock=Clock())
    try:
        assert all([await limiter.admit(ANONYMOUS, "198.51.100.7") is None for _ in range(5)])
        assert limiter.outage.failures == 5
    finally:
        await store.close()


async def test_real_infrastructure_puts_the_buckets_in_redis(settings):
    assert settings.cache == "redis"  # MYBROKER_INFRA=real, as identity's login throttle
    shared = bucket_store(settings)
    try:
        assert isinstance(shared, RedisBucketStore)
    finally:
        await shared.close()
    assert isinstance(bucket_store(settings.with_overrides(cache="memory")), MemoryBucketStore)
