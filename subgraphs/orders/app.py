"""Wiring of the orders subgraph: database, clients of assets and wallet, GraphQL, consumers,
the internal API (reservation checks, reconciliation) and the periodic reconciliation."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from mybroker.db import Database, OutboxRelay
from mybroker.events import EXECUTIONS, ORDER_EVENTS
from mybroker.graphql import graphql_router
from mybroker.metrics import Metrics
from mybroker.service import Infrastructure, Service, service_app
from subgraphs.orders.clients import AssetDirectory, AssetsClient, FillProjection, ReportsClient, Reservations, WalletClient
from subgraphs.orders.consumers import GROUP, execution_reports
from subgraphs.orders.internal_api import orders_internal_router
from subgraphs.orders.metrics import OrdersMetrics
from subgraphs.orders.reconcile import Reconciler
from subgraphs.orders.schema import build_schema
from subgraphs.orders.service import OrderService
from subgraphs.orders.tables import metadata

NAME = "orders"
EXECUTIONS_IN_FLIGHT = 32
# Alembic environment of this service's database, applied at start (`mybroker migrate` too).
MIGRATIONS = Path(__file__).parent / "migrations"


def create_service(
    infra: Infrastructure,
    *,
    assets: AssetDirectory | None = None,
    wallet: Reservations | None = None,
    projection: FillProjection | None = None,
) -> Service:
    """`assets`, `wallet` and `projection` (reports) default to the HTTP clients of the
    sibling services."""
    settings = infra.settings
    db = Database(settings.database_url(NAME), metadata, pool_timeout=settings.db_pool_timeout)
    closers = []
    if assets is None:
        assets = AssetsClient(infra.internal_client("assets"))
        closers.append(assets.close)
    if wallet is None:
        wallet = WalletClient(infra.internal_client("wallet"))
        closers.append(wallet.close)
    if projection is None:
        # Short: a fill must not wait long on the projection, which also reads order events.
        reports = ReportsClient(infra.internal_client("reports", timeout=2.0))
        projection = reports
        closers.append(reports.close)
    live = infra.live_feed(ORDER_EVENTS)
    metrics = Metrics()
    counters = OrdersMetrics(metrics)
    orders = OrderService(
        db,
        assets,
        wallet,
        market_order_collar=settings.market_order_collar,
        live=live,
        projection=projection,
        metrics=counters,
        fees=settings.fee_schedule(),
    )
    reconciler = Reconciler(
        orders,
        interval=settings.reconcile_interval,
        pending_grace=settings.reconcile_pending_grace,
        reply_timeout=settings.reconcile_timeout,
        metrics=counters,
    )

    app = service_app("My Broker B3 - orders", metrics=metrics)
    app.include_router(graphql_router(build_schema(), orders, settings.internal_secret))
    app.include_router(orders_internal_router(orders.orphans, reconciler, settings.internal_secret))
    # Many orders' reports at once, each order's in sequence (they are published keyed by
    # order id): one at a time, the wallet and reports calls of each report queued every
    # other order behind them, and the platform completed about ten orders a second.
    infra.bus.subscribe(EXECUTIONS, GROUP, execution_reports(orders), concurrency=EXECUTIONS_IN_FLIGHT, per_key=True)

    relay = OutboxRelay(db, infra.bus)
    return Service(
        NAME,
        app,
        on_start=[partial(db.migrate, MIGRATIONS), orders.load_calendar, relay.start, reconciler.start],
        on_stop=[reconciler.stop, live.close, relay.stop, db.dispose, *closers],
    )
