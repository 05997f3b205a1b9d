"""Wiring: the wallet's database, GraphQL endpoint, the reservation and settlement API
orders calls, the sweeper of reservations with no order behind them, the job that
applies corporate events when their day comes, and the one that posts each trading day's
end (day-trade fees, IRRF)."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from mybroker.db import Database, OutboxRelay
from mybroker.download_links import DownloadLinks, documents_router
from mybroker.graphql import graphql_router
from mybroker.metrics import Metrics
from mybroker.service import Infrastructure, Service, service_app
from subgraphs.wallet.corporate_events_job import CorporateEventsJob
from subgraphs.wallet.corporate_events_service import CorporateEventsService
from subgraphs.wallet.day_end import TradingDayEnd, TradingDayEndJob
from subgraphs.wallet.internal_api import reservations_router
from subgraphs.wallet.schema import schema
from subgraphs.wallet.service import WalletService
from subgraphs.wallet.sweeper import OrderDirectory, OrdersClient, ReservationSweeper, SweeperMetrics
from subgraphs.wallet.tables import metadata

NAME = "wallet"
# Alembic environment of this service's database, applied at start (`mybroker migrate` too).
MIGRATIONS = Path(__file__).parent / "migrations"


def create_service(infra: Infrastructure, *, orders: OrderDirectory | None = None) -> Service:
    """`orders` (what the sweeper asks about reservations) defaults to the orders service's
    internal API."""
    settings = infra.settings
    db = Database(settings.database_url(NAME), metadata, pool_timeout=settings.db_pool_timeout)
    wallet = WalletService(db, fees=settings.fee_schedule(), links=DownloadLinks(settings.internal_secret, NAME))
    corporate_events = CorporateEventsService(db, calendar=wallet.calendar)
    events_job = CorporateEventsJob(corporate_events, interval=settings.corporate_events_interval)
    day_end_job = TradingDayEndJob(
        TradingDayEnd(db, fees=wallet.fees, calendar=wallet.calendar), interval=settings.day_end_interval
    )
    relay = OutboxRelay(db, infra.bus)
    closers = []
    if orders is None:
        client = OrdersClient(infra.internal_client("orders"))
        orders, closers = client, [client.close]
    metrics = Metrics()
    sweeper = ReservationSweeper(
        db,
        wallet,
        orders,
        grace=settings.reservation_grace_seconds,
        interval=settings.reservation_sweep_interval,
        metrics=SweeperMetrics(metrics),
    )

    app = service_app("My Broker B3 — wallet", metrics=metrics)
    app.include_router(graphql_router(schema, wallet, settings.internal_secret))
    app.include_router(reservations_router(wallet, settings.internal_secret))
    app.include_router(documents_router(settings.internal_secret, wallet.document))

    # Stopped in this order: the sweeper and the relay before their database closes.
    return Service(
        NAME,
        app,
        on_start=[partial(db.migrate, MIGRATIONS), wallet.load_calendar, relay.start, sweeper.start, events_job.start,
                  day_end_job.start],
        on_stop=[day_end_job.stop, events_job.stop, sweeper.stop, relay.stop, db.dispose, *closers],
    )
