"""Alembic environment of the orders database (see mybroker.migrations)."""
from mybroker.migrations import run_environment
from subgraphs.orders.tables import metadata

run_environment(metadata)
