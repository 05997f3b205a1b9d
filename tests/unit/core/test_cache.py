"""The cache seam: the in-memory adapter and the choice of adapter by settings (the Redis
round trip itself is in tests/integration/test_stores_real.py)."""
from __future__ import annotations

import pytest

from mybroker.cache import MemoryCache, RedisCache, create_cache
from mybroker.settings import Settings


async def test_memory_cache_round_trip_and_get_many_in_key_order():
    cache = MemoryCache()
    await cache.set("a", b"1")
    await cache.set("b", b"2")
    assert await cache.get("a") == b"1" and await cache.get("zz") is None
    assert await cache.get_many(["b", "zz", "a"]) == [b"2", None, b"1"]
    await cache.close()  # a no-op, so callers close whichever cache they have


async def test_settings_choose_the_adapter_and_redis_connects_lazily():
    assert isinstance(create_cache(Settings()), MemoryCache)
    cache = create_cache(Settings(cache="redis", redis_url="redis://127.0.0.1:1/0"))  # nothing listens there
    assert isinstance(cache, RedisCache)
    assert await cache.get_many([]) == []  # no MGET without keys (Redis refuses it)
    await cache.close()
    assert Settings.from_env(env={"MYBROKER_INFRA": "real"}).cache == "redis"


def test_an_unknown_cache_is_refused():
    with pytest.raises(ValueError, match="unknown cache"):
        create_cache(Settings(cache="memcached"))
