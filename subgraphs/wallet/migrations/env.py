"""Alembic environment of the wallet database (see mybroker.migrations)."""
from mybroker.migrations import run_environment
from subgraphs.wallet.tables import metadata

run_environment(metadata)
