"""Migrations of every service, found by name (launch/registry.py): what `mybroker
migrate` applies, and new revisions. How a migration runs (Alembic configured in code,
one environment per service) is the kernel's, `mybroker.migrations`; which services have
one, and where, is the composition root's. A new revision, from the repository root:

    python -c "from launch.migrations import revision; revision('wallet', 'what changed')"
"""
from __future__ import annotations

import asyncio
import tempfile

from alembic import command

from launch.registry import MIGRATABLE, migrations_dir
from mybroker.migrations import Migration, alembic_config, migrate
from mybroker.settings import Settings

__all__ = ["MIGRATABLE", "migrate_services", "migrations_dir", "revision"]


async def migrate_services(settings: Settings, services: tuple[str, ...] = MIGRATABLE):
    """Migrates each service's configured database in turn, yielding (service, Migration)."""
    for service in services:
        url = settings.database_url(service)
        if service == "b3-sim":  # a sharded exchange keeps one journal database per shard
            from b3sim.sharding import Shard

            url = Shard.from_settings(settings).journal_url(url)
        done: Migration = await migrate(url, migrations_dir(service))
        yield service, done


def revision(service: str, message: str, *, autogenerate: bool = True) -> None:
    """Writes a new revision for `service` by comparing its MetaData with a scratch SQLite
    database migrated to head (review it: autogenerate misses some changes)."""
    directory = migrations_dir(service)
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite+aiosqlite:///{scratch}/scratch.db"
        asyncio.run(migrate(url, directory))
        command.revision(alembic_config(url, directory), message=message, autogenerate=autogenerate)
