"""docker-compose.yml: valid for Compose, and wired as the deployment needs.

Needs Debian's docker-compose (v1) on PATH, which scripts/services.sh installs; no Docker
daemon is needed (`config` only reads and validates the file)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"

APPS = ("router", "identity", "wallet", "assets", "orders", "reports", "b3-sim", "ingest")
INFRA = ("kafka", "rabbitmq", "mysql", "postgres", "mongodb", "redis")
SUBGRAPHS = ("identity", "wallet", "assets", "orders", "reports")
# What each app service needs healthy before it starts.
NEEDS = {
    "router": set(SUBGRAPHS),
    **{name: {"mysql", "kafka", "rabbitmq", "redis"} for name in SUBGRAPHS},
    "assets": {"mysql", "mongodb", "kafka", "rabbitmq", "redis"},
    "b3-sim": {"postgres", "kafka", "rabbitmq", "redis"},
    "ingest": {"mongodb", "kafka", "rabbitmq", "redis"},
}


# Compose refuses the file without a secret (no public fallback): the tests give one.
SECRET = "test-secret-" + "x" * 32
ENV = {**os.environ, "MYBROKER_INTERNAL_SECRET": SECRET}


def _docker_compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed: run `bash scripts/services.sh up` "
                    "(it installs Debian's docker-compose package)")
    return exe


@pytest.fixture(scope="module")
def config() -> dict:
    """The file as Compose resolves it (anchors, merge keys and ${VAR:-default} applied)."""
    result = subprocess.run([_docker_compose(), "-f", str(COMPOSE_FILE), "config"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, env=ENV)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid():
    result = subprocess.run([_docker_compose(), "-f", str(COMPOSE_FILE), "config", "-q"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, env=ENV)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_without_an_internal_secret():
    env = {k: v for k, v in os.environ.items() if k != "MYBROKER_INTERNAL_SECRET"}
    result = subprocess.run([_docker_compose(), "-f", str(COMPOSE_FILE), "config", "-q"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode != 0
    assert "MYBROKER_INTERNAL_SECRET" in result.stderr


def test_every_service_exists(config):
    assert set(config["services"]) == set(APPS) | set(INFRA)


@pytest.mark.parametrize("name", APPS)
def test_app_service_runs_the_image_on_real_infra(config, name):
    service = config["services"][name]
    assert service["command"] == ["serve", name]
    env = service["environment"]
    assert env["MYBROKER_INFRA"] == "real"
    assert env["MYBROKER_HOST"] == "0.0.0.0"
    assert env["MYBROKER_INTERNAL_SECRET"] == SECRET
    assert env["MYBROKER_ENV"] == "production"
    assert env["MYBROKER_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert "@rabbitmq:5672" in env["MYBROKER_RABBITMQ_URL"]
    assert env["MYBROKER_REDIS_URL"].startswith("redis://redis:6379")
    assert env["MYBROKER_MONGODB_URL"].startswith("mongodb://mongodb:27017")
    assert "@mysql:3306" in env["MYBROKER_MYSQL_URL"]
    assert "@postgres:5432/mybroker_b3sim" in env["MYBROKER_POSTGRES_URL"]
    for sub in ("router", *SUBGRAPHS):
        assert env[f"MYBROKER_{sub.upper()}_URL"].startswith(f"http://{sub}:")


@pytest.mark.parametrize("name", APPS)
def test_app_service_waits_for_healthy_dependencies(config, name):
    depends = config["services"][name].get("depends_on", {})
    assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
    missing = NEEDS[name] - set(depends)
    assert not missing, f"{name} does not depend on {sorted(missing)}"
    for dep, spec in depends.items():
        assert spec.get("condition") == "service_healthy", f"{name} -> {dep}"
        assert "healthcheck" in config["services"][dep], f"{name} waits on {dep}, which has no healthcheck"


@pytest.mark.parametrize("name", INFRA)
def test_infra_service_has_healthcheck_and_volume(config, name):
    service = config["services"][name]
    assert service["healthcheck"]["test"], name
    assert service.get("volumes"), f"{name} keeps no data in a named volume"
    assert "ports" not in service, f"{name} must not be published"


def test_only_router_port_4000_is_published(config):
    published = {name: svc["ports"] for name, svc in config["services"].items() if svc.get("ports")}
    assert list(published) == ["router"]
    (port,) = published["router"]
    if isinstance(port, dict):  # `config` prints the long syntax
        assert (int(port["published"]), int(port["target"])) == (4000, 4000)
    else:
        assert str(port) == "4000:4000"


def test_mysql_init_creates_databases_and_user(config):
    volumes = config["services"]["mysql"]["volumes"]
    assert any("mysql-init.sql" in str(v) and "docker-entrypoint-initdb.d" in str(v) for v in volumes)
    sql = (ROOT / "deploy" / "mysql-init.sql").read_text()
    for service in SUBGRAPHS:
        assert f"CREATE DATABASE IF NOT EXISTS mybroker_{service}" in sql
    assert "CREATE USER IF NOT EXISTS 'mybroker'" in sql
    assert "GRANT ALL PRIVILEGES ON `mybroker\\_%`.*" in sql


def _networks(service: dict) -> set[str]:
    """A service's networks, whichever syntax `config` prints (a list or a mapping)."""
    networks = service.get("networks")
    assert networks, "a service without networks joins Compose's default network, which is not internal"
    return set(networks)


def test_the_internal_network_has_no_route_out(config):
    networks = config["networks"]
    assert networks["internal"].get("internal") is True
    assert not (networks.get("public") or {}).get("internal")


def test_router_is_on_both_networks_and_every_other_service_only_on_the_internal_one(config):
    for name, service in config["services"].items():
        expected = {"internal", "public"} if name == "router" else {"internal"}
        assert _networks(service) == expected, name
        if name != "router":
            assert not service.get("ports") and not service.get("network_mode"), f"{name} must not be reachable from outside"


def test_the_secret_has_no_fallback_and_every_app_runs_in_production():
    """Read from the file as written (`config` would show the secret already substituted)."""
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))  # PyYAML applies anchors and merge keys
    for name in APPS:
        env = raw["services"][name]["environment"]
        assert env["MYBROKER_ENV"] == "production", name
        secret = env["MYBROKER_INTERNAL_SECRET"]
        assert secret.startswith("${MYBROKER_INTERNAL_SECRET:?") and secret.endswith("}"), f"{name}: {secret}"
