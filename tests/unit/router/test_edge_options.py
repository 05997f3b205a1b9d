"""Edge settings: defaults, MYBROKER_* variables, flags over variables, clear errors."""
from __future__ import annotations

import pytest

from launch.cli import _parser
from router.cors import CorsPolicy
from router.csrf import CsrfPolicy
from router.http import RouterConfig
from router.limits import OperationLimits
from router.options import OPTION_NAMES, config_fields, defaults, options_from_env, with_overrides


def flags(*argv: str) -> dict:
    args = _parser().parse_args(["router", "--supergraph", "s.graphql", *argv])
    return {name: getattr(args, name) for name in OPTION_NAMES}


def test_defaults_are_routerconfigs_defaults():
    fields = config_fields(defaults())
    config = RouterConfig()
    assert fields["limits"] == config.limits
    assert fields["csrf"] == config.csrf and fields["cors"] == config.cors
    for name in ("introspection", "graphiql", "persisted_queries", "metrics", "operation_timeout", "subgraph_timeout"):
        assert fields[name] == getattr(config, name), name


def test_environment_then_flags():
    env = {
        "MYBROKER_ROUTER_INTROSPECTION": "false",
        "MYBROKER_ROUTER_CSRF_HEADERS": "x-my-client, apollo-require-preflight",
        "MYBROKER_CORS_ORIGINS": "https://a.example,https://b.example",
        "MYBROKER_CORS_CREDENTIALS": "yes",
        "MYBROKER_ROUTER_MAX_DEPTH": "10",
        "MYBROKER_ROUTER_MAX_BODY_BYTES": "0",
        "MYBROKER_ROUTER_APQ_CACHE": "0",
    }
    fields = config_fields(options_from_env(env))
    assert fields["introspection"] is False and fields["graphiql"] is True
    assert fields["csrf"] == CsrfPolicy(required_headers=("x-my-client", "apollo-require-preflight"))
    assert fields["cors"] == CorsPolicy(allow_origins=("https://a.example", "https://b.example"), allow_credentials=True)
    assert fields["limits"] == OperationLimits(max_depth=10, max_body_bytes=None)
    assert fields["persisted_queries"] == 0

    overridden = with_overrides(
        options_from_env(env),
        flags("--introspection", "--no-graphiql", "--no-csrf", "--cors-origin", "*", "--max-depth", "5", "--max-tokens", "99"),
    )
    fields = config_fields(overridden)
    assert fields["introspection"] is True and fields["graphiql"] is False and fields["csrf"].enabled is False
    assert fields["cors"].allow_any_origin and fields["cors"].allow_credentials  # credentials from the environment
    assert fields["limits"] == OperationLimits(max_depth=5, max_tokens=99, max_body_bytes=None)


def test_unset_flags_change_nothing():
    assert with_overrides(defaults(), flags()) == defaults()


@pytest.mark.parametrize(
    "env, words",
    [
        ({"MYBROKER_ROUTER_GRAPHIQL": "maybe"}, "MYBROKER_ROUTER_GRAPHIQL must be true or false"),
        ({"MYBROKER_ROUTER_MAX_TOKENS": "lots"}, "MYBROKER_ROUTER_MAX_TOKENS must be a whole number"),
        ({"MYBROKER_CORS_MAX_AGE": "-1"}, "MYBROKER_CORS_MAX_AGE must be 0 or more"),
    ],
)
def test_bad_values_name_the_variable(env, words):
    with pytest.raises(ValueError, match=words):
        options_from_env(env)


def test_negative_flags_are_refused():
    with pytest.raises(ValueError, match="max-depth must be 0 or more"):
        with_overrides(defaults(), flags("--max-depth", "-3"))


def test_timeouts_are_seconds_from_the_environment_or_flags_and_0_turns_them_off():
    assert (RouterConfig().operation_timeout, RouterConfig().subgraph_timeout) == (30.0, 10.0)
    env = {"MYBROKER_ROUTER_OPERATION_TIMEOUT": "2.5", "MYBROKER_ROUTER_SUBGRAPH_TIMEOUT": "0"}
    fields = config_fields(options_from_env(env))
    assert (fields["operation_timeout"], fields["subgraph_timeout"]) == (2.5, None)
    fields = config_fields(with_overrides(options_from_env(env), flags("--operation-timeout", "0", "--subgraph-timeout", "0.2")))
    assert (fields["operation_timeout"], fields["subgraph_timeout"]) == (None, 0.2)
    for raw in ("soon", "-1", "nan"):
        with pytest.raises(ValueError, match="MYBROKER_ROUTER_SUBGRAPH_TIMEOUT"):
            options_from_env({"MYBROKER_ROUTER_SUBGRAPH_TIMEOUT": raw})
    with pytest.raises(ValueError, match="operation-timeout"):
        with_overrides(defaults(), flags("--operation-timeout", "-1"))


def test_the_timeouts_reach_the_subgraph_client_and_the_executor(supergraph):
    from router.http import create_router_app

    app = create_router_app(supergraph, RouterConfig(operation_timeout=0.5, subgraph_timeout=0.2))
    executor = app.state.pipeline.executor
    assert executor.operation_timeout == 0.5
    assert executor.client.inner.timeout == 0.2  # ObservedSubgraphClient around the pooled HttpSubgraphClient
