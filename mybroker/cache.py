"""The key-value cache seam (Redis in production): latest quotes, reference prices.

The channel namespace (MYBROKER_CHANNEL_NAMESPACE) prefixes every key here, in the
cache itself, so platforms sharing one Redis stay apart whichever service writes: a
prefix left to each caller was forgotten by two of them."""
from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes) -> None: ...

    async def get_many(self, keys: list[str]) -> list[bytes | None]: ...

    async def close(self) -> None:
        """Releases connections; whoever created the cache (the platform) calls it once,
        after every service using it has stopped."""


class MemoryCache:
    def __init__(self) -> None:
        self._values: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self._values.get(key)

    async def set(self, key: str, value: bytes) -> None:
        self._values[key] = value

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        return [self._values.get(key) for key in keys]

    async def close(self) -> None:
        pass


class RedisCache:
    """Redis through one connection pool (redis.asyncio). Values stay bytes both ways
    (no decode_responses), so callers see the same types as with MemoryCache."""

    def __init__(self, url: str, *, namespace: str = "", max_connections: int = 50):
        import redis.asyncio as redis  # lazy: the embedded default never needs the client

        self._redis = redis.Redis.from_url(url, max_connections=max_connections)
        self.namespace = namespace

    async def get(self, key: str) -> bytes | None:
        return await self._redis.get(self.namespace + key)  # type: ignore[return-value]  # bytes: decode_responses is off

    async def set(self, key: str, value: bytes) -> None:
        await self._redis.set(self.namespace + key, value)

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        if not keys:
            return []  # MGET with no keys is a Redis error
        return await self._redis.mget([self.namespace + key for key in keys])  # type: ignore[return-value]  # bytes, as above

    async def close(self) -> None:
        await self._redis.aclose()  # also disconnects the pool from_url created


def create_cache(settings) -> Cache:
    if settings.cache == "memory":
        return MemoryCache()
    if settings.cache == "redis":
        return RedisCache(settings.redis_url, namespace=settings.channel_namespace)
    raise ValueError(f"unknown cache {settings.cache!r} ('memory' or 'redis')")
