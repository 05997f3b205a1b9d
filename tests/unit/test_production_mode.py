"""Production mode: a weak internal secret stops every entry point; introspection, GraphiQL
and query plans are off."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from launch.production import (
    KNOWN_DEFAULT_SECRETS,
    is_production,
    production_router_options,
    secret_problem,
)
from mybroker.settings import Settings
from router.options import config_fields, defaults

ROOT = Path(__file__).resolve().parents[2]
GOOD = "a" * 32


@pytest.mark.parametrize("secret", ["", "short-secret", *sorted(KNOWN_DEFAULT_SECRETS), "x" * 31])
def test_weak_secrets_are_refused_with_one_sentence(secret):
    problem = secret_problem(secret)
    assert problem and "MYBROKER_INTERNAL_SECRET" in problem and "\n" not in problem


def test_a_long_random_secret_is_accepted():
    assert secret_problem(GOOD) is None


def test_production_comes_from_the_flag_or_mybroker_env():
    assert is_production(True, {})
    assert is_production(False, {"MYBROKER_ENV": "Production"})
    assert not is_production(False, {"MYBROKER_ENV": "development"})
    assert not is_production(False, {})


def test_settings_read_mybroker_env(monkeypatch):
    monkeypatch.delenv("MYBROKER_ENV", raising=False)
    assert Settings.from_env().production is False
    monkeypatch.setenv("MYBROKER_ENV", "production")
    assert Settings.from_env().production is True


def test_production_turns_off_introspection_graphiql_and_query_plans():
    assert config_fields(defaults())["expose_query_plan"] is True  # development keeps them
    fields = config_fields(production_router_options(defaults()))
    assert (fields["introspection"], fields["graphiql"], fields["expose_query_plan"]) == (False, False, False)


def _cli(*args: str, secret: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYBROKER_")}
    env["PYTHONPATH"] = f"{ROOT}{os.pathsep}{ROOT / 'b3-sim'}"
    if secret is not None:
        env["MYBROKER_INTERNAL_SECRET"] = secret
    return subprocess.run([sys.executable, "-m", "launch.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", [("serve", "identity", "--production"), ("up", "--production"),
                                     ("router", "--production", "--supergraph", "missing.graphql")])
@pytest.mark.parametrize("secret", [None, "local-compose-secret-change-me", "too-short"])
def test_every_entry_point_refuses_to_start_on_a_weak_secret(command, secret):
    result = _cli(*command, secret=secret)
    assert result.returncode != 0
    assert "mybroker --production: MYBROKER_INTERNAL_SECRET" in result.stderr


def test_mybroker_env_production_is_enough(tmp_path):
    env_result = subprocess.run(
        [sys.executable, "-m", "launch.cli", "serve", "identity"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("MYBROKER_")},
             "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'b3-sim'}", "MYBROKER_ENV": "production",
             "MYBROKER_INTERNAL_SECRET": "local-compose-secret-change-me"})
    assert env_result.returncode != 0
    assert "published default" in env_result.stderr
