"""Wiring of the assets subgraph: database, GraphQL, internal API, consumers."""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

from mybroker.db import Database
from mybroker.events import MARKET_DATA
from mybroker.graphql import graphql_router
from mybroker.service import Infrastructure, Service, internal_api, service_app
from subgraphs.assets import consumers, tables
from subgraphs.assets.schema import schema
from subgraphs.assets.service import AssetsService

NAME = "assets"
# Alembic environment of this service's database, applied at start (`mybroker migrate` too).
MIGRATIONS = Path(__file__).parent / "migrations"


def create_service(infra: Infrastructure) -> Service:
    db = Database(infra.settings.database_url(NAME), tables.metadata, pool_timeout=infra.settings.db_pool_timeout)
    live = infra.live_feed(MARKET_DATA)
    assets = AssetsService(db, infra.cache, live)

    app = service_app("My Broker B3 - assets")
    app.include_router(graphql_router(schema, assets, infra.settings.internal_secret))

    internal = internal_api(infra.settings.internal_secret)

    @internal.get("/assets/{ticker}")
    async def asset_summary(ticker: str) -> dict[str, Any]:
        return await assets.asset_summary(ticker)

    app.include_router(internal)
    consumers.subscribe(infra.bus, assets)
    return Service(NAME, app, on_start=[partial(db.migrate, MIGRATIONS), assets.seed_catalog, assets.restore_market], on_stop=[live.close, db.dispose])
