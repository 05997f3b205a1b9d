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


# Rate limits for strangers (router/rate_limit.py, docs/router.md "Rate limits"): a person
# at a trading screen makes a few operations a second, a dozen when a screen opens. So per
# user 20/s with a burst of 40; anonymous callers per address 50/s (several visitors may
# share a NAT) with 100; every caller of one address together 200/s with 400 (an office of
# about ten active traders), so one address cannot multiply its share with many accounts.
# Cost per second (each operation's estimated cost, router/cost.py): anonymous lower than
# signed in, each burst twice the most one operation may cost (PRODUCTION_MAX_COST), so the
# dearest allowed operation can run twice in a row; a visitor opening the trading screen
# spends about 1,000 (catalog 400, quotes 400, chart 121, the book).
PRODUCTION_RATE_LIMITS = {
    "rate_limit_ip_per_second": 50,
    "rate_limit_ip_burst": 100,
    "rate_limit_user_per_second": 20,
    "rate_limit_user_burst": 40,
    "rate_limit_ip_total_per_second": 200,
    "rate_limit_ip_total_burst": 400,
    "rate_limit_ip_cost_per_second": 1000,
    "rate_limit_ip_cost_burst": 4000,
    "rate_limit_user_cost_per_second": 5000,
    "rate_limit_user_cost_burst": 20000,
}


def production_router_options(options: Mapping[str, Any], env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Router options with what maps the API for strangers turned off: introspection and
    GraphiQL (for every caller: a signed-in trader is a stranger too, and GraphiQL is a
    developer's tool; the public schema is published in the contract instead) and query
    plans (they show which subgraph owns what). The strict rate limits and cost limits
    replace the development ones unless `env` sets that limit itself (flags still win
    afterwards)."""
    from router.options import env_variable

    env = env or {}
    stricter = {**PRODUCTION_RATE_LIMITS, **PRODUCTION_MAX_COST}
    strict = {name: value for name, value in stricter.items() if not env.get(env_variable(name), "").strip()}
    return {**options, **strict, "introspection": False, "graphiql": False, "query_plans": False}
