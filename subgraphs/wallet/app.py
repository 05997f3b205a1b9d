"""Wiring: the wallet's database, GraphQL endpoint, and the reservation and settlement API
orders calls."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from mybroker.db import Database, OutboxRelay
from mybroker.graphql import graphql_router
from mybroker.service import Infrastructure, Service, service_app
from subgraphs.wallet.domain import FeeSchedule
from subgraphs.wallet.internal_api import reservations_router
from subgraphs.wallet.schema import schema
from subgraphs.wallet.service import WalletService
from subgraphs.wallet.tables import metadata

NAME = "wallet"
# Alembic environment of this service's database, applied at start (`mybroker migrate` too).
MIGRATIONS = Path(__file__).parent / "migrations"


def create_service(infra: Infrastructure) -> Service:
    settings = infra.settings
    db = Database(settings.database_url(NAME), metadata)
    wallet = WalletService(db, fees=FeeSchedule(settings.trading_fee_rate))
    relay = OutboxRelay(db, infra.bus)

    app = service_app("My Broker B3 — wallet")
    app.include_router(graphql_router(schema, wallet, settings.internal_secret))
    app.include_router(reservations_router(wallet, settings.internal_secret))

    # Service.stop runs these in reverse: the relay stops before its database closes.
    return Service(NAME, app, on_start=[partial(db.migrate, MIGRATIONS), relay.start], on_stop=[relay.stop, db.dispose])
