"""What the router child is told: everything the platform decided for itself."""
from __future__ import annotations

from pathlib import Path

from launch.router_process import router_environment
from mybroker.settings import SERVICES, Settings


def test_the_child_gets_the_platforms_own_secret_ports_and_issuer_over_the_parents_environment():
    settings = Settings.from_env(
        env={}, data_dir=Path("/tmp/x"), ports={"router": 5000, **{name: 5001 + i for i, name in enumerate(SERVICES)}}
    ).ensure_internal_secret()
    env = router_environment(settings, {"MYBROKER_INTERNAL_SECRET": "stale", "MYBROKER_MAX_DEPTH": "12", "PATH": "/bin"})
    assert env["MYBROKER_INTERNAL_SECRET"] == settings.internal_secret != "stale"
    assert env["MYBROKER_ROUTER_PORT"] == "5000"
    assert env["MYBROKER_JWKS_URL"] == f"http://127.0.0.1:{settings.port('identity')}/.well-known/jwks.json"
    assert env["MYBROKER_JWT_ISSUER"] == settings.jwt_issuer and env["MYBROKER_JWT_AUDIENCE"] == settings.jwt_audience
    for name in SERVICES:
        assert env[f"MYBROKER_{name.upper()}_URL"] == f"http://127.0.0.1:{settings.port(name)}"
    assert env["MYBROKER_MAX_DEPTH"] == "12" and env["PATH"] == "/bin"  # edge options and the rest pass through
    # What the child builds from it is the parent's view of the platform.
    child = Settings.from_env(env=env)
    assert child.graphql_url("wallet") == settings.graphql_url("wallet") and child.jwks() == settings.jwks()


def test_a_production_platform_runs_a_production_router():
    """`mybroker up --production` sets production by flag, not by MYBROKER_ENV: the child
    must be told, or it would serve GraphiQL, introspection and development rate limits."""
    settings = Settings.from_env(env={}, production=True).ensure_internal_secret()
    env = router_environment(settings, {"PATH": "/bin"})
    assert env["MYBROKER_ENV"] == "production" and Settings.from_env(env=env).production
    development = router_environment(Settings.from_env(env={}).ensure_internal_secret(), {"PATH": "/bin"})
    assert Settings.from_env(env=development).production is False
