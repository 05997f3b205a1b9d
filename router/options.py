"""The router's edge settings as plain values: read from MYBROKER_* variables, overridden by
`mybroker router` flags, turned into RouterConfig fields. Plain (JSON-able) so that
`--workers N` can hand the same settings to every worker process.

| variable | flag | default |
|---|---|---|
| MYBROKER_ROUTER_INTROSPECTION | --[no-]introspection | true |
| MYBROKER_ROUTER_GRAPHIQL | --[no-]graphiql | true |
| MYBROKER_ROUTER_CSRF | --[no-]csrf | true |
| MYBROKER_ROUTER_CSRF_HEADERS | --csrf-header NAME ... | x-apollo-operation-name,apollo-require-preflight |
| MYBROKER_CORS_ORIGINS | --cors-origin URL ... ("*": any) | none: same-origin only |
| MYBROKER_CORS_CREDENTIALS | --[no-]cors-credentials | false |
| MYBROKER_CORS_MAX_AGE | --cors-max-age S | 600 |
| MYBROKER_ROUTER_MAX_DEPTH / _MAX_ALIASES / _MAX_ROOT_FIELDS / _MAX_TOKENS / _MAX_FIELDS / _MAX_BODY_BYTES | --max-depth ... | see OperationLimits; 0 = no limit |
| MYBROKER_ROUTER_MAX_COST / _MAX_COST_ANONYMOUS | --max-cost N / --max-cost-anonymous N | 20000 / 5000 (production: 10000 / 2000); 0 = no limit |
| MYBROKER_ROUTER_APQ_CACHE | --apq-cache N (0: APQ off) | 1000 |
| MYBROKER_ROUTER_METRICS | --[no-]metrics | true |
| MYBROKER_ROUTER_OPERATION_TIMEOUT | --operation-timeout S | 30 (seconds, fractions allowed); 0 = no deadline |
| MYBROKER_ROUTER_SUBGRAPH_TIMEOUT | --subgraph-timeout S | 10 (seconds per subgraph request); 0 = no limit |
| MYBROKER_ROUTER_RATE_LIMIT | --[no-]rate-limit | true |
| MYBROKER_ROUTER_RATE_LIMIT_IP_PER_SECOND / _IP_BURST | --rate-limit-ip-per-second N, --rate-limit-ip-burst N | 10000 / 20000 (production 50 / 100) |
| MYBROKER_ROUTER_RATE_LIMIT_USER_PER_SECOND / _USER_BURST | --rate-limit-user-per-second N, --rate-limit-user-burst N | 5000 / 10000 (production 20 / 40) |
| MYBROKER_ROUTER_RATE_LIMIT_IP_TOTAL_PER_SECOND / _IP_TOTAL_BURST | --rate-limit-ip-total-per-second N, --rate-limit-ip-total-burst N | 20000 / 40000 (production 200 / 400) |
| MYBROKER_ROUTER_RATE_LIMIT_IP_COST_PER_SECOND / _IP_COST_BURST | --rate-limit-ip-cost-per-second N, --rate-limit-ip-cost-burst N | 100000 / 200000 (production 1000 / 4000) |
| MYBROKER_ROUTER_RATE_LIMIT_USER_COST_PER_SECOND / _USER_COST_BURST | --rate-limit-user-cost-per-second N, --rate-limit-user-cost-burst N | 50000 / 100000 (production 5000 / 20000) |

Rate limits (router/rate_limit.py): `ip` and `ip_cost` are anonymous callers per client
address, `user` and `user_cost` signed-in callers per user id, `ip_total` every request from
one address; a per-second of 0 turns that bucket off. Production values: launch/production.py.
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Mapping

from router.cors import CorsPolicy
from router.csrf import DEFAULT_REQUIRED_HEADERS, CsrfPolicy
from router.executor import OPERATION_TIMEOUT_SECONDS
from router.limits import OperationLimits
from router.rate_limit import SCOPES, Bucket, RateLimits
from router.subgraph_client import SUBGRAPH_TIMEOUT_SECONDS

_LIMITS = tuple(f.name for f in fields(OperationLimits))
# rate_limit_<scope>_per_second and rate_limit_<scope>_burst for every bucket.
_RATES = tuple(f"rate_limit_{scope}_{part}" for scope in SCOPES for part in ("per_second", "burst"))
_BOOLEANS = ("introspection", "graphiql", "csrf", "cors_credentials", "metrics", "rate_limit")
_INTEGERS = ("cors_max_age", "apq_cache", *_LIMITS, *_RATES)
# Seconds, fractions allowed (tests use 0.2); 0 turns the timeout off like a limit.
_SECONDS = ("operation_timeout", "subgraph_timeout")
_LISTS = ("csrf_headers", "cors_origins")
_ENV = {
    "introspection": "MYBROKER_ROUTER_INTROSPECTION",
    "graphiql": "MYBROKER_ROUTER_GRAPHIQL",
    "csrf": "MYBROKER_ROUTER_CSRF",
    "csrf_headers": "MYBROKER_ROUTER_CSRF_HEADERS",
    "cors_origins": "MYBROKER_CORS_ORIGINS",
    "cors_credentials": "MYBROKER_CORS_CREDENTIALS",
    "cors_max_age": "MYBROKER_CORS_MAX_AGE",
    "apq_cache": "MYBROKER_ROUTER_APQ_CACHE",
    "metrics": "MYBROKER_ROUTER_METRICS",
    "operation_timeout": "MYBROKER_ROUTER_OPERATION_TIMEOUT",
    "subgraph_timeout": "MYBROKER_ROUTER_SUBGRAPH_TIMEOUT",
    **{name: f"MYBROKER_ROUTER_{name.upper()}" for name in _LIMITS},
    "rate_limit": "MYBROKER_ROUTER_RATE_LIMIT",
    **{name: f"MYBROKER_ROUTER_{name.upper()}" for name in _RATES},
}
OPTION_NAMES = tuple(_ENV)


def env_variable(name: str) -> str:
    """The MYBROKER_* variable of an option."""
    return _ENV[name]


def rate_limit_options(limits: RateLimits) -> dict[str, Any]:
    """RateLimits as options (rate_limit, rate_limit_<scope>_per_second / _burst)."""
    options: dict[str, Any] = {"rate_limit": limits.enabled}
    for scope in SCOPES:
        bucket = getattr(limits, scope)
        options[f"rate_limit_{scope}_per_second"] = int(bucket.per_second)
        options[f"rate_limit_{scope}_burst"] = int(bucket.burst)
    return options


def defaults() -> dict[str, Any]:
    limits = OperationLimits()
    return {
        "introspection": True,
        "graphiql": True,
        "csrf": True,
        "csrf_headers": list(DEFAULT_REQUIRED_HEADERS),
        "cors_origins": [],
        "cors_credentials": False,
        "cors_max_age": CorsPolicy().max_age,
        "apq_cache": 1000,
        "metrics": True,
        "operation_timeout": OPERATION_TIMEOUT_SECONDS,
        "subgraph_timeout": SUBGRAPH_TIMEOUT_SECONDS,
        **{name: getattr(limits, name) for name in _LIMITS},
        **rate_limit_options(RateLimits()),
    }


def options_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The defaults, overridden by whichever MYBROKER_* variables are set; raises
    ValueError naming the variable when a value does not parse."""
    options = defaults()
    for name, variable in _ENV.items():
        raw = env.get(variable)
        if raw is None or raw.strip() == "":
            continue
        options[name] = _parse(name, raw.strip(), variable)
    return options


def with_overrides(options: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Flags win over the environment; a flag left unset (None) changes nothing."""
    merged = dict(options)
    merged.update({name: value for name, value in overrides.items() if name in _ENV and value is not None})
    for name in (*_INTEGERS, *_SECONDS):
        if merged[name] is not None and not merged[name] >= 0:  # NaN too
            raise ValueError(f"{name.replace('_', '-')} must be 0 or more, not {merged[name]}")
    return merged


def config_fields(options: Mapping[str, Any]) -> dict[str, Any]:
    """RouterConfig keyword arguments for these options."""
    origins = [origin for origin in options["cors_origins"] if origin != "*"]
    return {
        "introspection": options["introspection"],
        "graphiql": options["graphiql"],
        "csrf": CsrfPolicy(enabled=options["csrf"], required_headers=tuple(h.lower() for h in options["csrf_headers"])),
        "cors": CorsPolicy(
            allow_origins=tuple(origins),
            allow_any_origin="*" in options["cors_origins"],
            allow_credentials=options["cors_credentials"],
            max_age=options["cors_max_age"],
        ),
        "persisted_queries": options["apq_cache"],
        "metrics": options["metrics"],
        # 0 means "no limit" on the command line and in the environment.
        "operation_timeout": options["operation_timeout"] or None,
        "subgraph_timeout": options["subgraph_timeout"] or None,
        "limits": OperationLimits(**{name: options[name] or None for name in _LIMITS}),
        # Off in production only (launch/production.py); no flag of its own.
        "expose_query_plan": options.get("query_plans", True),
        "rate_limits": RateLimits(
            enabled=options["rate_limit"],
            **{
                scope: Bucket(options[f"rate_limit_{scope}_per_second"], options[f"rate_limit_{scope}_burst"])
                for scope in SCOPES
            },
        ),
    }


def _parse(name: str, raw: str, variable: str) -> Any:
    if name in _BOOLEANS:
        lowered = raw.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{variable} must be true or false, not {raw!r}")
    if name in _LISTS:
        return [item.strip() for item in raw.split(",") if item.strip()]
    if name in _SECONDS:
        try:
            seconds = float(raw)
        except ValueError:
            raise ValueError(f"{variable} must be a number of seconds, not {raw!r}") from None
        if not seconds >= 0:  # NaN too
            raise ValueError(f"{variable} must be a number of seconds from 0, not {raw!r}")
        return seconds
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{variable} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{variable} must be 0 or more, not {value}")
    return value
