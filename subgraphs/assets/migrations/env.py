"""Alembic environment of the assets database (see mybroker.migrations)."""
from mybroker.migrations import run_environment
from subgraphs.assets.tables import metadata

run_environment(metadata)
