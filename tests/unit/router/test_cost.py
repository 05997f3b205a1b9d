"""Demand control (router/cost.py): the cost maths over the test supergraph, the refusal
before any subgraph is called, anonymous and signed-in limits, and the cost metrics."""
from __future__ import annotations

import aiohttp
import pytest
from graphql import parse

from router.identity_headers import internal_headers
from launch.production import production_router_options
from router.cost import CostModel
from router.errors import RequestError
from router.executor import Executor
from router.limits import OperationLimits
from router.operation import normalize
from router.options import config_fields, defaults, options_from_env
from router.pipeline import GraphQLRequest, RouterPipeline

from .edge_support import edge_router
from .router_fixture_subgraphs import SCHEMAS, SECRET, url_of
from .test_router_http import post

NESTED = "{ latestReviews(first: 3) { body author { reviews { body } } } }"  # 3 x (1 + 1 + 10 reviews) = 36


def cost(supergraph, query: str, variables: dict | None = None, **model) -> int:
    document = parse(query)
    return CostModel(supergraph.api_schema, **model).estimate(normalize(document, None), variables)


@pytest.mark.parametrize(
    "query, expected",
    [
        # scalars cost nothing, objects 1: a nullable object field
        ("{ me { name } }", 1),
        ("{ whoami warehouseCount }", 0),
        # a list's size from its `first` literal, else the argument's schema default (5)
        ("{ topProducts(first: 2) { name } }", 2),
        ("{ topProducts { name } }", 5),
        # a list with no size argument: the default list size (10); nested lists multiply
        ("{ me { reviews { body } } }", 1 + 10),
        (NESTED, 3 * (1 + 1 + 10)),
        ("{ latestReviews(first: 2) { author { reviews { author { reviews { id } } } } } }", 2 * (1 + 1 + 10 * (1 + 1 + 10))),
        # aliases are separate fields: their costs add up
        ("{ a: topProducts(first: 2) { name } b: topProducts(first: 3) { name } }", 5),
        # a named fragment counts where it is spread, as many times as it is spread
        ("{ latestReviews(first: 2) { ...R } } fragment R on Review { author { reviews { body } } }", 2 * (1 + 1 + 10)),
        ("{ a: me { ...U } b: me { ...U } } fragment U on User { reviews { id } }", 2 * (1 + 10)),
        # on an abstract type, fragments on different types are alternatives: the dearest counts
        ("{ search(text: \"x\") { ... on User { reviews { id } } ... on Book { author { name } } } }", 10 * (1 + 10)),
        ("{ latestReviews(first: 2) { product { ... on Book { author { name } } ... on Furniture { name } } } }", 2 * (1 + 1 + 1)),
        # a fragment on the field's own type is no alternative: it adds
        ("{ me { ... on User { reviews { id } } name } }", 1 + 10),
        # introspection and __typename cost nothing
        ("{ __schema { types { name fields { name } } } }", 0),
        ("{ __typename me { __typename } }", 1),
        # a negative size (refused by the subgraph anyway) costs nothing
        ("{ topProducts(first: -4) { name } }", 0),
    ],
)
def test_estimated_cost(supergraph, query, expected):
    assert cost(supergraph, query) == expected


def test_list_sizes_from_variables_and_their_defaults(supergraph):
    query = "query($n: Int!) { latestReviews(first: $n) { author { name } } }"
    assert cost(supergraph, query, {"n": 4}) == 4 * 2
    assert cost(supergraph, query, {"n": 0}) == 0
    # a variable the request leaves out: the argument's schema default
    assert cost(supergraph, "query($n: Int) { topProducts(first: $n) { name } }", {}) == 5


def test_one_compiled_operation_answers_each_request_with_its_variables(supergraph):
    model = CostModel(supergraph.api_schema)
    compiled = model.compile(normalize(parse("query($n: Int!) { topProducts(first: $n) { name } }"), None))
    assert [compiled.estimate({"n": n}) for n in (1, 2, 3)] == [1, 2, 3]


def test_weights_and_list_sizes_are_configurable(supergraph):
    assert cost(supergraph, "{ topProducts(first: 2) { name } }", weights={"Query.topProducts": 4}) == 8
    # a scalar can be made to cost: a computed field, say
    assert cost(supergraph, "{ me { name } whoami }", weights={"Query.whoami": 3}) == 4
    assert cost(supergraph, "{ me { reviews { body } } }", list_sizes={"User.reviews": 50}) == 51
    assert cost(supergraph, "{ me { reviews { body } } }", default_list_size=2) == 3


def test_a_size_is_capped_where_the_subgraph_caps_it(supergraph):
    caps = {"Query.topProducts": 3}
    assert cost(supergraph, "{ topProducts(first: 1000) { name } }", list_caps=caps) == 3
    assert cost(supergraph, "query($n: Int!) { topProducts(first: $n) { name } }", {"n": 10**9}, list_caps=caps) == 3


def test_actual_cost_counts_the_real_list_lengths(supergraph):
    compiled = CostModel(supergraph.api_schema).compile(normalize(parse(NESTED), None))
    data = {"latestReviews": [
        {"body": "a", "author": {"reviews": [{"body": "x"}, {"body": "y"}]}},
        {"body": "b", "author": {"reviews": []}},
    ]}
    assert compiled.actual(data) == (1 + 1 + 2) + (1 + 1)
    assert compiled.actual({"latestReviews": []}) == 0
    assert compiled.actual(None) == 0
    # fragments that did not match leave no keys, and cost nothing
    union = "{ search(text: \"x\") { ... on User { reviews { id } } ... on Book { name } } }"
    compiled = CostModel(supergraph.api_schema).compile(normalize(parse(union), None))
    assert compiled.actual({"search": [{"reviews": [{"id": "1"}]}, {"name": "SICP"}]}) == (1 + 1) + 1


# ---------------------------------------------------------------- the limits


def pipeline_with(supergraph, client, **limits) -> RouterPipeline:
    executor = Executor(client, {name: url_of(name) for name in SCHEMAS})
    return RouterPipeline(supergraph, executor, limits=OperationLimits(**limits))


async def test_anonymous_callers_get_the_lower_limit(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_cost=40, max_cost_anonymous=10)
    anonymous = await pipeline.execute(GraphQLRequest(NESTED), internal_headers(SECRET))
    assert anonymous.status == 400
    assert anonymous.body["errors"][0]["extensions"] == {"code": "OPERATION_TOO_COMPLEX", "cost": 36, "maxCost": 10}
    assert "36" in anonymous.body["errors"][0]["message"] and "10" in anonymous.body["errors"][0]["message"]
    assert client.calls == []
    signed_in = await pipeline.execute(GraphQLRequest(NESTED), internal_headers(SECRET, "1"))
    assert "errors" not in signed_in.body and signed_in.body["data"]["latestReviews"]
    over = await pipeline.execute(GraphQLRequest("{ latestReviews(first: 4) { author { reviews { body } } } }"), internal_headers(SECRET, "1"))
    assert over.body["errors"][0]["extensions"] == {"code": "OPERATION_TOO_COMPLEX", "cost": 48, "maxCost": 40}


async def test_the_limit_applies_to_the_variables_sent(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_cost_anonymous=20)
    query = "query($n: Int!) { latestReviews(first: $n) { author { reviews { body } } } }"
    small = await pipeline.execute(GraphQLRequest(query, {"n": 1}), internal_headers(SECRET))
    assert "errors" not in small.body
    big = await pipeline.execute(GraphQLRequest(query, {"n": 2}), internal_headers(SECRET))
    assert big.body["errors"][0]["extensions"]["cost"] == 24


async def test_no_limit_when_the_limit_is_none(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_cost=None, max_cost_anonymous=None)
    outcome = await pipeline.execute(GraphQLRequest("{ latestReviews(first: 1000) { author { reviews { body } } } }"), internal_headers(SECRET))
    assert "errors" not in outcome.body


async def test_refused_at_the_http_edge_before_any_subgraph_is_called(supergraph, store, client):
    limits = OperationLimits(max_cost_anonymous=10)
    async with edge_router(supergraph, store, client=client, limits=limits) as (url, _):
        status, body = await post(url, {"query": NESTED})
        assert status == 400
        assert body["errors"][0]["extensions"] == {"code": "OPERATION_TOO_COMPLEX", "cost": 36, "maxCost": 10}
        assert body.get("data") is None
        # SSE goes through the subscription engine: refused the same way
        async with aiohttp.ClientSession() as session:
            async with session.post(url + "/graphql", json={"query": NESTED}, headers={"accept": "text/event-stream"}) as response:
                assert response.status == 400
                assert (await response.json())["errors"][0]["extensions"]["code"] == "OPERATION_TOO_COMPLEX"
        assert client.calls == []
        status, body = await post(url, {"query": "{ topProducts(first: 2) { name } }"})
        assert status == 200 and len(body["data"]["topProducts"]) == 2


async def test_subscriptions_are_checked_with_the_connections_caller(supergraph, store, client):
    subscription = "subscription { reviewAdded { author { reviews { body } } } }"  # 1 + 1 + 10
    async with edge_router(supergraph, store, client=client, limits=OperationLimits(max_cost=20, max_cost_anonymous=10)) as (_, app):
        engine = app.state.subscriptions.engine
        with pytest.raises(RequestError) as raised:
            engine.prepare(GraphQLRequest(subscription), headers=internal_headers(SECRET))
        assert raised.value.to_errors()[0]["extensions"] == {"code": "OPERATION_TOO_COMPLEX", "cost": 12, "maxCost": 10}
        assert engine.prepare(GraphQLRequest(subscription), headers=internal_headers(SECRET, "1")).is_subscription
    assert client.calls == []


async def test_estimated_and_actual_costs_and_refusals_are_in_metrics(supergraph, store, client):
    async with edge_router(supergraph, store, client=client, limits=OperationLimits(max_cost_anonymous=10)) as (url, _):
        await post(url, {"query": "{ topProducts(first: 2) { name } }"})
        await post(url, {"query": "{ me { reviews { body } } }"})  # estimated 11: refused
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/metrics") as response:
                text = await response.text()
    lines = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert lines["router_operation_cost_estimated_count"] == "1.0"
    assert lines["router_operation_cost_estimated_sum"] == "2.0"
    assert lines["router_operation_cost_actual_sum"] == "2.0"
    assert lines['router_operation_cost_refusals_total{caller="anonymous"}'] == "1.0"


# ---------------------------------------------------------------- settings


def test_limits_come_from_the_environment_and_zero_is_no_limit():
    options = options_from_env({"MYBROKER_ROUTER_MAX_COST": "123", "MYBROKER_ROUTER_MAX_COST_ANONYMOUS": "0"})
    limits = config_fields(options)["limits"]
    assert (limits.max_cost, limits.max_cost_anonymous) == (123, None)
    with pytest.raises(ValueError, match="MYBROKER_ROUTER_MAX_COST"):
        options_from_env({"MYBROKER_ROUTER_MAX_COST": "lots"})


def test_anonymous_is_lower_and_production_is_stricter_unless_chosen():
    development = config_fields(defaults())["limits"]
    assert 0 < development.max_cost_anonymous < development.max_cost
    production = config_fields(production_router_options(defaults()))["limits"]
    assert production.max_cost < development.max_cost
    assert production.max_cost_anonymous < development.max_cost_anonymous
    env = {"MYBROKER_ROUTER_MAX_COST": "50000"}
    chosen = production_router_options(options_from_env(env), env)
    assert chosen["max_cost"] == 50_000 and chosen["max_cost_anonymous"] < development.max_cost_anonymous


def _refusal(pipeline, query: str, headers=None) -> dict:
    with pytest.raises(RequestError) as refused:
        pipeline.prepare(query, None, headers)
    return refused.value.to_errors()[0]


def test_an_operation_over_every_limit_is_refused_before_validation_and_planning(supergraph, client, monkeypatch):
    pipeline = pipeline_with(supergraph, client, max_cost=20, max_cost_anonymous=10)
    planned, validated = [], []
    monkeypatch.setattr(pipeline.planner, "plan", lambda operation: planned.append(operation))
    monkeypatch.setattr("router.pipeline.validate", lambda *args: validated.append(args) or [])
    # 36, over both limits: refused with each caller's own limit, neither validated nor planned
    assert _refusal(pipeline, NESTED)["extensions"] == {"code": "OPERATION_TOO_COMPLEX", "cost": 36, "maxCost": 10}
    assert _refusal(pipeline, NESTED, internal_headers(SECRET, "1"))["extensions"]["maxCost"] == 20
    assert planned == [] and validated == []
    # 12: under the signed-in limit, so validated and planned, refused per request
    pipeline.prepare("{ latestReviews(first: 1) { author { reviews { body } } } }")
    assert len(planned) == 1 and validated


def test_the_early_refusal_counts_variable_sizes_as_zero(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_cost=20, max_cost_anonymous=10)
    # a variable could ask for 0 items: planned, refused per request with the variables sent
    assert pipeline.prepare("query($n: Int!) { latestReviews(first: $n) { author { reviews { body } } } }").plan is not None
    dear = "query($n: Int!) { a: latestReviews(first: 3) { body author { reviews { body } } } b: latestReviews(first: $n) { body } }"
    error = _refusal(pipeline, dear)
    assert error["extensions"]["cost"] == 36 and "costs at least 36" in error["message"]


def test_an_invalid_operation_too_dear_for_everyone_is_refused_for_its_cost(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_cost=20, max_cost_anonymous=10)
    invalid = "{ latestReviews(first: 3) { body nope author { reviews { body } } } }"
    assert _refusal(pipeline, invalid)["extensions"]["code"] == "OPERATION_TOO_COMPLEX"
    # the same with the limits off: the validation error
    unlimited = pipeline_with(supergraph, client, max_cost=None, max_cost_anonymous=None)
    assert _refusal(unlimited, invalid)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_fragments_that_cannot_be_inlined_wait_for_validation(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_cost=20, max_cost_anonymous=10)
    cycle = "{ latestReviews(first: 3) { ...R } } fragment R on Review { body author { reviews { ...R } } }"
    assert _refusal(pipeline, cycle)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    unknown = "{ latestReviews(first: 3) { ...Missing body author { reviews { body } } } }"
    assert _refusal(pipeline, unknown)["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    spread = "{ latestReviews(first: 3) { ...R } } fragment R on Review { body author { reviews { body } } }"
    assert _refusal(pipeline, spread)["extensions"]["cost"] == 36


def test_explain_shows_the_plan_of_an_operation_too_dear_to_run(supergraph, client):
    pipeline = pipeline_with(supergraph, client, max_cost=20, max_cost_anonymous=10)
    assert "Fetch" in pipeline.explain(NESTED)  # `mybroker plan` still shows its plan


def test_the_tax_reports_fixed_lists_cost_their_real_sizes():
    from tests.contract.test_contract import additions_schema

    query = """{ me { taxYearSummary(year: 2025) { positions { asset { ticker } cost }
      months { categories { sales } pools { taxDue } withholding { deducted } darf { amount } } } } }"""
    # me 1 + summary 1 + positions 10 x (1 + asset 1) + months 12 x (1 + 8 + 4 + 2 + darf 1)
    assert CostModel(additions_schema()).estimate(normalize(parse(query), None)) == 1 + 1 + 10 * 2 + 12 * 16
