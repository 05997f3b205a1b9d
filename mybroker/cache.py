"""The key-value cache seam (Redis in production): latest quotes, reference prices."""
from __future__ import annotations

from typing import Protocol


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes) -> None: ...

    async def get_many(self, keys: list[str]) -> list[bytes | None]: ...


class MemoryCache:
    def __init__(self) -> None:
        self._values: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self._values.get(key)

    async def set(self, key: str, value: bytes) -> None:
        self._values[key] = value

    async def get_many(self, keys: list[str]) -> list[bytes | None]:
        return [self._values.get(key) for key in keys]


def create_cache(settings) -> Cache:
    if settings.cache == "memory":
        return MemoryCache()
    raise ValueError(f"unknown cache {settings.cache!r} (the embedded default is 'memory')")
