"""Production mode: `--production` or MYBROKER_ENV=production (what docker-compose.yml sets).

Development keeps everything a person exploring the API wants (GraphiQL, introspection,
query plans, a random secret made per start). Production assumes strangers can reach the
router, so it refuses to start on a guessable internal secret and hides what only helps an
attacker map the platform. docs/design.md, "Production mode and edge timeouts"."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# 32 characters of token_urlsafe is 192 bits; anything shorter was probably typed by hand.
MIN_SECRET_CHARS = 32
# Secrets that were ever published (in this repository's files), so they prove nothing.
KNOWN_DEFAULT_SECRETS = frozenset({"local-compose-secret-change-me", "change-me", "changeme", "secret"})
# Operation cost limits in production (router/cost.py; docs/router.md, "Demand control"):
# still ten times the trading screen's heaviest query (its catalog, 400; its orders page, 600).
PRODUCTION_MAX_COST = {"max_cost": 10_000, "max_cost_anonymous": 2_000}


def is_production(flag: bool, env: Mapping[str, str]) -> bool:
    """The flag, or MYBROKER_ENV=production."""
    return flag or env.get("MYBROKER_ENV", "").strip().lower() == "production"


def secret_problem(secret: str) -> str | None:
    """Why this internal secret is not fit for production, in one sentence; None if it is."""
    if not secret:
        return "MYBROKER_INTERNAL_SECRET is not set; production needs a random secret of 32 or more characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)."
    if secret in KNOWN_DEFAULT_SECRETS:
        return "MYBROKER_INTERNAL_SECRET is a published default; production needs your own random secret of 32 or more characters."
    if len(secret) < MIN_SECRET_CHARS:
        return f"MYBROKER_INTERNAL_SECRET has {len(secret)} characters; production needs a random secret of {MIN_SECRET_CHARS} or more."
    return None


def require_real_secret(secret: str) -> None:
    """Exit (status 1, one sentence on stderr) unless the secret is fit for production."""
    problem = secret_problem(secret)
    if problem:
        raise SystemExit(f"mybroker --production: {problem}")


def production_router_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Router options with what maps the API for strangers turned off: introspection and
    GraphiQL (for every caller: a signed-in trader is a stranger too, and GraphiQL is a
    developer's tool; the public schema is published in the contract instead) and query
    plans (they show which subgraph owns what). Demand control is stricter too, unless the
    operator chose a limit of their own (a value other than the development default)."""
    from router.limits import OperationLimits

    development = OperationLimits()
    stricter = {
        name: PRODUCTION_MAX_COST[name]
        for name in PRODUCTION_MAX_COST
        if name in options and options[name] == getattr(development, name)
    }
    return {**options, **stricter, "introspection": False, "graphiql": False, "query_plans": False}
