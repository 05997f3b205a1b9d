"""Alembic environment of b3-sim's journal database (see mybroker.migrations)."""
from b3sim.journal import metadata
from mybroker.migrations import run_environment

run_environment(metadata)
