"""Alembic environment of the identity database (see mybroker.migrations)."""
from mybroker.migrations import run_environment
from subgraphs.identity.tables import metadata

run_environment(metadata)
