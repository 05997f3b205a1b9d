"""Alembic environment of the reports database (see mybroker.migrations)."""
from mybroker.migrations import run_environment
from subgraphs.reports.tables import metadata

run_environment(metadata)
