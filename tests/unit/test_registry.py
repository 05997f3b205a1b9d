"""The composition root's registry of services by name (launch/registry.py)."""
from __future__ import annotations

import pytest

from launch.registry import FACTORIES, MIGRATABLE, WORKERS, build_service, migrations_dir
from mybroker.settings import SERVICES


def test_every_service_and_worker_is_registered_in_start_order():
    assert tuple(FACTORIES) == (*SERVICES, *WORKERS)


@pytest.mark.parametrize("service", MIGRATABLE)
def test_each_service_with_a_database_finds_its_own_migrations(service):
    directory = migrations_dir(service)
    assert (directory / "env.py").is_file()
    package = "b3sim" if service == "b3-sim" else service
    assert directory.parent.name == package


def test_ingest_keeps_no_database_and_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown service 'ingest'"):
        migrations_dir("ingest")
    with pytest.raises(ValueError, match="unknown service 'ledger'"):
        build_service("ledger", infra=None)


def test_a_service_is_built_by_its_registered_factory(monkeypatch):
    import subgraphs.wallet.app as wallet_app

    monkeypatch.setattr(wallet_app, "create_service", lambda infra: ("wallet", infra))
    assert build_service("wallet", "the infrastructure") == ("wallet", "the infrastructure")
