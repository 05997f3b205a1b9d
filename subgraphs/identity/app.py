"""Wiring: identity's database, keys, GraphQL endpoint and JWKS."""
from __future__ import annotations

import time
from functools import partial
from pathlib import Path

from fastapi.responses import JSONResponse

from mybroker.db import Database, OutboxRelay
from mybroker.graphql import graphql_router
from mybroker.service import Infrastructure, Service, internal_api, service_app
from subgraphs.identity.keys import load_key_ring
from subgraphs.identity import consumers
from subgraphs.identity.mail import FileMailbox
from subgraphs.identity.schema import schema
from subgraphs.identity.service import IdentityService
from subgraphs.identity.tables import metadata
from subgraphs.identity.throttle import LoginThrottle, MemoryAttemptStore, RedisAttemptStore, ThrottlePolicy
from subgraphs.identity.tokens import AccessTokenIssuer

NAME = "identity"
# Alembic environment of this service's database, applied at start (`mybroker migrate` too).
MIGRATIONS = Path(__file__).parent / "migrations"
JWKS_PATH = "/.well-known/jwks.json"
# Sessions signed out whose access tokens may still be unexpired (internal token required);
# polled by the router's mybroker.auth.SessionRevocations.
REVOKED_SESSIONS_PATH = "/internal/sessions/revoked"


def create_service(infra: Infrastructure) -> Service:
    settings = infra.settings
    db = Database(settings.database_url(NAME), metadata, pool_timeout=settings.db_pool_timeout)
    keys = load_key_ring(settings)
    # Real infrastructure may run several identity processes: one shared count in Redis.
    shared = settings.cache == "redis"
    attempts = RedisAttemptStore(settings.redis_url, settings.channel_namespace) if shared else MemoryAttemptStore()
    identity = IdentityService(
        db,
        keys,
        AccessTokenIssuer(keys, settings.jwt_issuer, settings.jwt_audience, settings.access_token_ttl),
        refresh_token_ttl=settings.refresh_token_ttl,
        password_reset_ttl=settings.password_reset_ttl,
        throttle=LoginThrottle(
            ThrottlePolicy(
                account_max_failures=settings.login_max_failures,
                address_max_failures=settings.login_address_max_failures,
                lock_seconds=settings.login_lock_seconds,
                base_delay=settings.login_base_delay,
                max_delay=settings.login_max_delay,
            ),
            store=attempts,
            clock=time.time if shared else time.monotonic,
        ),
    )
    relay = OutboxRelay(db, infra.bus)
    consumers.subscribe(infra.bus, FileMailbox(settings.mailbox_path))

    app = service_app("My Broker B3 — identity")
    app.include_router(graphql_router(schema, identity, settings.internal_secret))

    @app.get(JWKS_PATH)
    async def jwks() -> JSONResponse:
        # Short caching: verifiers refetch on an unknown kid anyway, so rotation stays quick.
        return JSONResponse(identity.jwks(), headers={"Cache-Control": "public, max-age=300"})

    internal = internal_api(settings.internal_secret)

    @internal.get(REVOKED_SESSIONS_PATH.removeprefix("/internal"))
    async def revoked_sessions() -> JSONResponse:
        return JSONResponse({"revoked": await identity.revoked_sessions()}, headers={"Cache-Control": "no-store"})

    app.include_router(internal)

    # Service.stop runs these in reverse: the relay stops before its database closes.
    return Service(NAME, app, on_start=[partial(db.migrate, MIGRATIONS), relay.start], on_stop=[relay.stop, db.dispose, *([attempts.close] if shared else [])])  # type: ignore[union-attr]  # shared: Redis's store
