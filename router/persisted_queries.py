"""Automatic persisted queries (Apollo's APQ protocol).

A client sends `extensions.persistedQuery = {version: 1, sha256Hash}` without the query
text; if the router knows the hash it runs the stored text, else it answers
PERSISTED_QUERY_NOT_FOUND and the client sends the hash again with the query, which the
router verifies and stores. Apollo clients react to the message "PersistedQueryNotFound",
so that exact text is part of the protocol, and answer with HTTP 200 like Apollo Router."""
from __future__ import annotations

import hashlib
import re
from typing import Any

from router.errors import RequestError, RouterErrorCode
from router.operation_cache import LruCache

SUPPORTED_VERSION = 1
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


class PersistedQueries:
    """Resolves a request's query text from its APQ extension; holds the known queries in
    an LRU. `enabled=False` answers every APQ request PERSISTED_QUERY_NOT_SUPPORTED."""

    def __init__(self, cache_size: int = 1000, *, enabled: bool = True):
        self.enabled = enabled and cache_size > 0
        self._queries: LruCache[str] = LruCache(max(cache_size, 1))

    def resolve(self, query: Any, extensions: Any) -> Any:
        """The query text to run: `query` itself for a plain request; raises RequestError."""
        if extensions is None:
            return query
        if not isinstance(extensions, dict):
            raise RequestError(RouterErrorCode.BAD_USER_INPUT, "extensions must be a JSON object.")
        persisted = extensions.get("persistedQuery")
        if persisted is None:
            return query
        if not self.enabled:
            raise RequestError(RouterErrorCode.PERSISTED_QUERY_NOT_SUPPORTED, "PersistedQueryNotSupported", status=200)
        if not isinstance(persisted, dict):
            raise RequestError(RouterErrorCode.BAD_USER_INPUT, "extensions.persistedQuery must be a JSON object.")
        if persisted.get("version") != SUPPORTED_VERSION:
            raise RequestError(
                RouterErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
                f"Unsupported persisted query version {persisted.get('version')!r}: this router speaks version 1.",
            )
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str) or not _SHA256_HEX.fullmatch(digest):
            raise RequestError(RouterErrorCode.BAD_USER_INPUT, "extensions.persistedQuery.sha256Hash must be a SHA-256 hex digest.")
        digest = digest.lower()
        if query is None:
            known = self._queries.get(digest)
            if known is None:
                raise RequestError(RouterErrorCode.PERSISTED_QUERY_NOT_FOUND, "PersistedQueryNotFound", status=200)
            return known
        if not isinstance(query, str):
            return query  # the pipeline reports a query that is not text
        if hashlib.sha256(query.encode("utf-8")).hexdigest() != digest:
            raise RequestError(RouterErrorCode.PERSISTED_QUERY_HASH_MISMATCH, "provided sha does not match query")
        self._queries.put(digest, query)
        return query

    def __len__(self) -> int:
        return len(self._queries)
