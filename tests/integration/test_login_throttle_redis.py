"""The login throttle shared through Redis (issue 13): two identity processes' throttles on
one Redis enforce one limit, so an attacker cannot spread guesses over the processes."""
from __future__ import annotations

import pytest

from mybroker.errors import DomainError
from subgraphs.identity.throttle import LoginThrottle, RedisAttemptStore, ThrottlePolicy
from tests.integration.support import unique

pytestmark = pytest.mark.asyncio


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_two_processes_share_the_lock(settings):
    namespace = unique("it-throttle") + ":"
    clock = Clock()
    policy = ThrottlePolicy(account_max_failures=4, free_failures=10, lock_seconds=60.0)
    stores = [RedisAttemptStore(settings.redis_url, namespace) for _ in range(2)]
    first, second = (LoginThrottle(policy, store, clock) for store in stores)
    try:
        email = "victim@example.com"
        for throttle in (first, second, first, second):  # four failures spread over both
            await throttle.check(email, None)
            await throttle.failed(email, None)
        for throttle in (first, second):
            with pytest.raises(DomainError) as refused:
                await throttle.check(email, None)
            assert refused.value.code.value == "RATE_LIMITED"
        attempts = await stores[1].get("account:" + email)
        assert attempts.failures == 4 and attempts.locked_until == clock.now + 60.0
        # Another e-mail is untouched; a success clears the account everywhere.
        await second.check("other@example.com", None)
        clock.now += 61.0
        await first.check(email, None)
        await first.succeeded(email)
        assert (await stores[1].get("account:" + email)).failures == 0
    finally:
        for store in stores:
            await store._redis.delete(*[k async for k in store._redis.scan_iter(namespace + "*")] or ["-"])
            await store.close()


async def test_the_key_expires_after_the_lock(settings):
    store = RedisAttemptStore(settings.redis_url, unique("it-throttle") + ":")
    try:
        await store.record_failure("account:x", 1.0, ThrottlePolicy(lock_seconds=5.0), 10)
        ttl = await store._redis.pttl(store.prefix + "account:x")
        assert 0 < ttl <= 5000
    finally:
        await store.clear("account:x")
        await store.close()
