"""Every service of the platform by name: the one table that says which package runs it.

A service is a package with `app.create_service(infra)` (and `migrations/` when it keeps
a database). It is imported only when it is built, so `mybroker serve wallet` loads the
wallet alone; the names are written out as "module:function" strings so the import-graph
test (tests/unit/test_layers.py) sees what this package reaches."""
from __future__ import annotations

from importlib import import_module
from pathlib import Path

from mybroker.service import Infrastructure, Service
from mybroker.settings import SERVICES

# The subgraphs (SERVICES, in start order), then the workers, which serve no GraphQL.
FACTORIES = {
    "identity": "subgraphs.identity.app:create_service",
    "wallet": "subgraphs.wallet.app:create_service",
    "assets": "subgraphs.assets.app:create_service",
    "orders": "subgraphs.orders.app:create_service",
    "reports": "subgraphs.reports.app:create_service",
    "b3-sim": "b3sim.app:create_service",
    "ingest": "ingest.app:create_service",
}
WORKERS = ("b3-sim", "ingest")
# The services that keep a database, so have migrations: every subgraph, and b3-sim's journal.
MIGRATABLE = (*SERVICES, "b3-sim")


def build_service(name: str, infra: Infrastructure) -> Service:
    """The service `name` on this infrastructure (its package imported now)."""
    module, _, function = _factory(name).partition(":")
    return getattr(import_module(module), function)(infra)


def migrations_dir(service: str) -> Path:
    """Where a service keeps its migrations, inside the installed package: a subgraph's
    beside its tables, b3-sim's in `b3sim/migrations/`."""
    if service not in MIGRATABLE:
        raise ValueError(f"unknown service {service!r}")
    package = _factory(service).partition(":")[0].rpartition(".")[0]  # its package, not its app
    module_file = import_module(package).__file__
    if module_file is None:  # a namespace package has no folder of its own to look in
        raise ValueError(f"{package} is not a regular package")
    return Path(module_file).parent / "migrations"


def _factory(name: str) -> str:
    try:
        return FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown service {name!r}") from None
