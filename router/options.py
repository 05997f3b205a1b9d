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
| MYBROKER_ROUTER_MAX_DEPTH / _MAX_ALIASES / _MAX_ROOT_FIELDS / _MAX_TOKENS / _MAX_BODY_BYTES | --max-depth ... | see OperationLimits; 0 = no limit |
| MYBROKER_ROUTER_MAX_COST / _MAX_COST_ANONYMOUS | --max-cost N / --max-cost-anonymous N | 20000 / 5000 (production: 10000 / 2000); 0 = no limit |
| MYBROKER_ROUTER_APQ_CACHE | --apq-cache N (0: APQ off) | 1000 |
| MYBROKER_ROUTER_METRICS | --[no-]metrics | true |
"""
from __future__ import annotations

from dataclasses import fields
from typing import Any, Mapping

from router.cors import CorsPolicy
from router.csrf import DEFAULT_REQUIRED_HEADERS, CsrfPolicy
from router.limits import OperationLimits

_LIMITS = tuple(f.name for f in fields(OperationLimits))
_BOOLEANS = ("introspection", "graphiql", "csrf", "cors_credentials", "metrics")
_INTEGERS = ("cors_max_age", "apq_cache", *_LIMITS)
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
    **{name: f"MYBROKER_ROUTER_{name.upper()}" for name in _LIMITS},
}
OPTION_NAMES = tuple(_ENV)


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
        **{name: getattr(limits, name) for name in _LIMITS},
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
    for name in _INTEGERS:
        if merged[name] is not None and merged[name] < 0:
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
        "limits": OperationLimits(**{name: options[name] or None for name in _LIMITS}),
        # Off in production only (mybroker/production.py); no flag of its own.
        "expose_query_plan": options.get("query_plans", True),
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
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{variable} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{variable} must be 0 or more, not {value}")
    return value
