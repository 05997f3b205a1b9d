"""The reports projection on a temporary SQLite database and the in-memory bus, queried
through the subgraph schema as the router would (a User entity fetch)."""
from __future__ import annotations

from mybroker.auth import ANONYMOUS, Caller
from mybroker.events import ORDER_UPDATED, Envelope
from mybroker.graphql import GraphQLContext, format_error
from tests.unit.reports.conftest import order_event
from subgraphs.reports.schema import schema

PORTFOLIO = """query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id portfolio {
  marketValue costBasis unrealizedPnl realizedPnl
  positions { asset { ticker } quantity averagePrice marketValue unrealizedPnl } } } } }"""


async def portfolio_of(env, user: str, caller: Caller | None = None):
    result = await schema.execute(
        PORTFOLIO,
        variable_values={"r": [{"__typename": "User", "id": user}]},
        context_value=GraphQLContext(caller if caller is not None else Caller(user), env.service),
    )
    errors = [format_error(e) for e in result.errors or []]
    if errors:
        return None, errors
    return result.data["_entities"][0]["portfolio"], []


async def test_a_new_user_has_an_empty_portfolio(env):
    portfolio, errors = await portfolio_of(env, "u-1")
    assert not errors
    assert portfolio == {"marketValue": "0.00", "costBasis": "0.00", "unrealizedPnl": "0.00", "realizedPnl": "0.00", "positions": []}


async def test_fills_build_positions_valued_at_the_latest_price(env):
    await env.fill("u-1", "PETR4", "BUY", 100, "31.40")
    # No quote seen yet: the position is worth what it cost.
    portfolio, _ = await portfolio_of(env, "u-1")
    assert portfolio["positions"] == [
        {"asset": {"ticker": "PETR4"}, "quantity": 100, "averagePrice": "31.40", "marketValue": "3140.00", "unrealizedPnl": "0.00"}
    ]

    await env.fill("u-1", "PETR4", "BUY", 200, "32.00", order_id="o-2")
    await env.fill("u-1", "VALE3", "BUY", 100, "60.00", order_id="o-3")
    await env.quote("PETR4", "33.00")
    await env.quote("VALE3", "59.50")
    portfolio, _ = await portfolio_of(env, "u-1")
    assert portfolio["positions"] == [
        {"asset": {"ticker": "PETR4"}, "quantity": 300, "averagePrice": "31.80", "marketValue": "9900.00", "unrealizedPnl": "360.00"},
        {"asset": {"ticker": "VALE3"}, "quantity": 100, "averagePrice": "60.00", "marketValue": "5950.00", "unrealizedPnl": "-50.00"},
    ]
    assert (portfolio["marketValue"], portfolio["costBasis"], portfolio["unrealizedPnl"], portfolio["realizedPnl"]) == (
        "15850.00",
        "15540.00",
        "310.00",
        "0.00",
    )


async def test_sales_realise_pnl_and_closed_positions_disappear(env):
    await env.fill("u-1", "PETR4", "BUY", 200, "30.00")
    await env.fill("u-1", "PETR4", "SELL", 100, "31.50", order_id="o-2")
    portfolio, _ = await portfolio_of(env, "u-1")
    assert [(p["quantity"], p["averagePrice"]) for p in portfolio["positions"]] == [(100, "30.00")]
    assert portfolio["realizedPnl"] == "150.00" and portfolio["costBasis"] == "3000.00"

    await env.fill("u-1", "PETR4", "SELL", 100, "29.00", order_id="o-3")
    portfolio, _ = await portfolio_of(env, "u-1")
    assert portfolio["positions"] == [] and portfolio["realizedPnl"] == "50.00" and portfolio["costBasis"] == "0.00"


async def test_partial_fills_of_one_order_each_count(env):
    await env.fill("u-1", "PETR4", "BUY", 100, "31.00", execution_id="x-a", status="PARTIALLY_FILLED")
    await env.fill("u-1", "PETR4", "BUY", 100, "31.20", execution_id="x-b")
    portfolio, _ = await portfolio_of(env, "u-1")
    assert portfolio["positions"][0]["quantity"] == 200 and portfolio["costBasis"] == "6220.00"


async def test_a_fill_counts_once_per_envelope_and_per_execution(env):
    message = await env.fill("u-1", "PETR4", "BUY", 100, "31.40", execution_id="x-1")
    await env.publish(message)  # redelivered envelope
    # The same execution in a different envelope (e.g. the order republished).
    await env.publish(Envelope(ORDER_UPDATED, message.data))
    portfolio, _ = await portfolio_of(env, "u-1")
    assert portfolio["positions"][0]["quantity"] == 100 and portfolio["costBasis"] == "3140.00"
    assert env.bus.dead_letters == []


async def test_order_changes_without_a_fill_change_nothing(env):
    await env.status_change("u-1", "PETR4", "BUY", 100)
    portfolio, _ = await portfolio_of(env, "u-1")
    assert portfolio["positions"] == [] and portfolio["costBasis"] == "0.00"


async def test_users_are_kept_apart(env):
    await env.fill("u-1", "PETR4", "BUY", 100, "31.40")
    await env.fill("u-2", "VALE3", "BUY", 100, "60.00", order_id="o-2")
    mine, _ = await portfolio_of(env, "u-2")
    assert [p["asset"]["ticker"] for p in mine["positions"]] == ["VALE3"]


async def test_only_the_owner_sees_a_portfolio(env):
    await env.fill("u-1", "PETR4", "BUY", 100, "31.40")
    _, errors = await portfolio_of(env, "u-1", caller=Caller("u-2"))
    assert [e["extensions"]["code"] for e in errors] == ["FORBIDDEN"]
    _, errors = await portfolio_of(env, "u-1", caller=ANONYMOUS)
    assert [e["extensions"]["code"] for e in errors] == ["UNAUTHENTICATED"]


async def test_an_older_price_never_replaces_a_newer_one(env):
    await env.fill("u-1", "PETR4", "BUY", 100, "30.00")
    await env.quote("PETR4", "32.00", time="2025-03-10T13:00:10.000Z")
    await env.quote("PETR4", "31.00", time="2025-03-10T13:00:05.000Z")
    portfolio, _ = await portfolio_of(env, "u-1")
    assert portfolio["marketValue"] == "3200.00"


async def test_a_malformed_order_event_is_dead_lettered_and_the_flow_continues(env):
    await env.publish(Envelope(ORDER_UPDATED, {"orderId": "o-x", "lastFill": {"executionId": "x-x"}}))
    await env.fill("u-1", "PETR4", "BUY", 100, "31.40")
    assert len(env.bus.dead_letters) == 1
    portfolio, _ = await portfolio_of(env, "u-1")
    assert portfolio["positions"][0]["quantity"] == 100


async def test_subgraph_sdl_extends_user_and_references_asset(env):
    # The router's request: the SDL is answered only beside the internal secret.
    result = await schema.execute("{ _service { sdl } }", context_value=GraphQLContext(ANONYMOUS, env.service, internal=True))
    sdl = result.data["_service"]["sdl"]
    assert 'type User @key(fields: "id")' in sdl and "portfolio: Portfolio!" in sdl
    assert 'type Asset @key(fields: "ticker", resolvable: false)' in sdl


async def test_a_fill_handed_over_by_orders_counts_once_with_its_order_event(env):
    """orders hands each fill over before the order shows it (read your writes); the order
    event that follows, or a repeat of the hand-over, finds it done."""
    from mybroker.wire import OrderUpdated
    from subgraphs.reports.wire import fill_of

    data = order_event("u-1", "PETR4", "BUY", 100, "31.40", execution_id="x-7")
    fill = fill_of(OrderUpdated.from_payload(data))
    assert await env.service.record_fill(fill)
    assert not await env.service.record_fill(fill)
    await env.publish(Envelope(ORDER_UPDATED, data))
    portfolio, _ = await portfolio_of(env, "u-1")
    assert portfolio["positions"][0]["quantity"] == 100 and portfolio["costBasis"] == "3140.00"
    assert env.bus.dead_letters == []


async def test_fees_are_in_the_average_and_the_realised_pnl_counted_on_each_orders_fills(env):
    """The wallet's schedule, on each order's cumulative value: a BUY of 300 at 22.37 in two
    fills pays 0.25 + 1.85 (as one fill of 6,711.00 would), so the average is 22.377."""
    from mybroker.fees import FeeSchedule

    env.service.fees = FeeSchedule()
    await env.fill("u-1", "PETR4", "BUY", 100, "22.37", execution_id="x-a", order_id="b1", status="PARTIALLY_FILLED")
    await env.fill("u-1", "PETR4", "BUY", 200, "22.37", execution_id="x-b", order_id="b1")
    portfolio, _ = await portfolio_of(env, "u-1")
    assert portfolio["positions"][0]["averagePrice"] == "22.38" and portfolio["costBasis"] == "6713.10"
    await env.fill("u-1", "PETR4", "SELL", 100, "22.27", order_id="s1")
    portfolio, _ = await portfolio_of(env, "u-1")
    assert portfolio["realizedPnl"] == "-11.39"  # 2,227.00 - 0.69 of fees - 100 x 22.377
