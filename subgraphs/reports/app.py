"""Wiring of the reports subgraph: the projection's database, GraphQL and consumers."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from mybroker.db import Database
from mybroker.download_links import DownloadLinks, documents_router
from mybroker.graphql import graphql_router
from mybroker.service import Infrastructure, Service, service_app
from subgraphs.reports import consumers, tables
from subgraphs.reports.internal_api import fills_router
from subgraphs.reports.schema import schema
from subgraphs.reports.service import ReportsService

NAME = "reports"
# Alembic environment of this service's database, applied at start (`mybroker migrate` too).
MIGRATIONS = Path(__file__).parent / "migrations"


def create_service(infra: Infrastructure) -> Service:
    db = Database(infra.settings.database_url(NAME), tables.metadata, pool_timeout=infra.settings.db_pool_timeout)
    reports = ReportsService(db, infra.cache, infra.settings.fee_schedule(), links=DownloadLinks(infra.settings.internal_secret, NAME))

    app = service_app("My Broker B3 - reports")
    app.include_router(graphql_router(schema, reports, infra.settings.internal_secret))
    app.include_router(fills_router(reports, infra.settings.internal_secret))
    app.include_router(documents_router(infra.settings.internal_secret, reports.document))
    consumers.subscribe(infra.bus, reports)
    return Service(NAME, app, on_start=[partial(db.migrate, MIGRATIONS)], on_stop=[db.dispose])
