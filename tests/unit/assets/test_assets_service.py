"""The assets subgraph on a temporary SQLite database and the in-memory bus, queried
through its schema as the router would."""
from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal

import pytest
from sqlalchemy import update

from mybroker.auth import ANONYMOUS
from mybroker.catalog import CatalogEntry
from mybroker.events import MARKET_DATA, QUOTE, Envelope
from tests.unit.assets.conftest import quote
from mybroker.graphql import GraphQLContext, format_error
from subgraphs.assets import tables
from subgraphs.assets.domain import AssetType, CandleInterval
from subgraphs.assets.schema import schema



async def run(env, query: str, variables: dict | None = None):
    result = await schema.execute(query, variable_values=variables, context_value=GraphQLContext(ANONYMOUS, env.service))
    return result.data, [format_error(e) for e in result.errors or []]


def codes(errors) -> list[str]:
    return [e["extensions"]["code"] for e in errors]


# ------------------------------------------------------------------ catalog


async def test_catalog_is_seeded_once_and_reseeding_keeps_deactivation(env):
    data, errors = await run(env, "{ assets(first: 200) { ticker } }")
    assert not errors
    tickers = [a["ticker"] for a in data["assets"]]
    assert len(tickers) == len(set(tickers)) >= 20 and tickers == sorted(tickers)

    async with env.db.transaction() as tx:
        await tx.session.execute(update(tables.assets).where(tables.assets.c.ticker == "MGLU3").values(active=False))
    await env.service.seed_catalog()
    await env.service.seed_catalog([CatalogEntry("NEWA3", "New Asset ON", "STOCK", 100, Decimal("5.00"))])
    data, _ = await run(env, "{ assets(first: 200) { ticker } }")
    listed = {a["ticker"] for a in data["assets"]}
    assert "MGLU3" not in listed and "NEWA3" in listed and len(listed) == len(tickers)
    # Inactive assets still resolve by ticker: orders and positions may point at them.
    assert (await env.service.find("mglu3")).active is False


async def test_search_by_ticker_or_name_type_and_first(env):
    data, errors = await run(env, '{ assets(search: "petr", type: STOCK) { ticker name type lotSize } }')
    assert not errors
    assert {a["ticker"] for a in data["assets"]} == {"PETR3", "PETR4"}
    assert all(a["type"] == "STOCK" and a["lotSize"] == 100 for a in data["assets"])

    data, _ = await run(env, '{ assets(search: "ITAU") { ticker } }')  # name "Itaú ..."
    assert {"ITUB4", "ITSA4"} <= {a["ticker"] for a in data["assets"]}

    data, _ = await run(env, "{ assets(type: FII) { ticker lotSize } }")
    assert data["assets"] and all(a["lotSize"] == 1 for a in data["assets"])

    assert len((await run(env, "{ assets(first: 3) { ticker } }"))[0]["assets"]) == 3
    assert len((await run(env, "{ assets(first: null) { ticker } }"))[0]["assets"]) == min(50, len(await env.service.search(None, None, 200)))
    assert (await run(env, '{ assets(search: "%") { ticker } }'))[0]["assets"] == []
    assert (await run(env, '{ assets(search: "no such thing") { ticker } }'))[0]["assets"] == []


async def test_first_is_capped(env):
    await env.service.seed_catalog(
        [CatalogEntry(f"T{i:03d}3", f"Test {i}", "STOCK", 100, Decimal("1.00")) for i in range(250)]
    )
    data, _ = await run(env, "{ assets(first: 100000) { ticker } }")
    assert len(data["assets"]) == 200


async def test_asset_by_ticker_ignores_case_and_is_null_when_unknown(env):
    data, errors = await run(env, '{ a: asset(ticker: "petr4") { ticker name type lotSize quote { price } } b: asset(ticker: "NOPE3") { ticker } }')
    assert not errors
    assert data["a"] == {"ticker": "PETR4", "name": "Petrobras PN", "type": "STOCK", "lotSize": 100, "quote": None}
    assert data["b"] is None


@pytest.mark.parametrize(
    "query",
    [
        "{ assets(first: 0) { ticker } }",
        "{ assets(first: -5) { ticker } }",
        '{ asset(ticker: "PETR4") { candles(limit: 0) { time } } }',
        "{ assets(type: SHARE) { ticker } }",
        '{ asset(ticker: "PETR4") { candles(interval: ONE_WEEK) { time } } }',
    ],
)
async def test_bad_arguments_are_bad_user_input(env, query):
    data, errors = await run(env, query)
    assert codes(errors) == ["BAD_USER_INPUT"]
    assert "Traceback" not in errors[0]["message"]


# ------------------------------------------------------------------ market data


async def test_a_tick_becomes_the_quote_and_the_candles(env):
    await env.tick(price="31.50", volume=1000, time="2025-03-10T13:00:05.000Z", change="0.10", changePercent=0.3183)
    data, errors = await run(
        env,
        '{ asset(ticker: "PETR4") { quote { ticker price change changePercent volume time } '
        "day: candles { time open high low close volume } minute: candles(interval: ONE_MINUTE) { time close } } }",
    )
    assert not errors
    asset = data["asset"]
    assert asset["quote"] == {
        "ticker": "PETR4",
        "price": "31.50",
        "change": "0.10",
        "changePercent": 0.32,
        "volume": 1000,
        "time": "2025-03-10T13:00:05.000Z",
    }
    assert asset["day"] == [
        {"time": "2025-03-10T00:00:00.000Z", "open": "31.50", "high": "31.50", "low": "31.50", "close": "31.50", "volume": 1000}
    ]
    assert asset["minute"] == [{"time": "2025-03-10T13:00:00.000Z", "close": "31.50"}]


async def test_candles_fold_many_ticks_oldest_first_and_limited(env):
    ticks = [
        ("2025-03-10T13:00:05.000Z", "31.50", 1000),
        ("2025-03-10T13:00:40.000Z", "31.80", 1500),
        ("2025-03-10T13:01:10.000Z", "31.40", 1800),
        ("2025-03-10T13:02:00.000Z", "31.60", 2600),
    ]
    for time, price, volume in ticks:
        await env.tick(time=time, price=price, volume=volume)
    data, _ = await run(
        env,
        '{ asset(ticker: "PETR4") { m: candles(interval: ONE_MINUTE) { time open high low close volume } '
        "last: candles(interval: ONE_MINUTE, limit: 2) { time } h: candles(interval: ONE_HOUR) { open high low close volume } } }",
    )
    minutes = data["asset"]["m"]
    assert [m["time"] for m in minutes] == ["2025-03-10T13:00:00.000Z", "2025-03-10T13:01:00.000Z", "2025-03-10T13:02:00.000Z"]
    assert minutes[0] == {"time": "2025-03-10T13:00:00.000Z", "open": "31.50", "high": "31.80", "low": "31.50", "close": "31.80", "volume": 500}
    assert [m["volume"] for m in minutes[1:]] == [300, 800]
    assert [m["time"] for m in data["asset"]["last"]] == ["2025-03-10T13:01:00.000Z", "2025-03-10T13:02:00.000Z"]
    assert data["asset"]["h"] == [{"open": "31.50", "high": "31.80", "low": "31.40", "close": "31.60", "volume": 1600}]


async def test_a_burst_of_ticks_is_written_in_batches_with_the_candles_of_one_by_one(env):
    # The same ticks twice: PETR4 and VALE3 all at once (what a consumer behind the feed
    # fetches), ITUB4 and BBDC4 one at a time; both pairs must end with the same candles.
    moments = [("13:00:05", "31.50", 1000), ("13:00:40", "31.80", 1500), ("13:00:59", "31.20", 1700),
               ("13:01:10", "31.40", 1800), ("13:04:59", "31.90", 2200), ("13:05:00", "31.60", 2600)]
    burst = {"PETR4": "ITUB4", "VALE3": "BBDC4"}  # ticker at once: ticker one by one
    for at, price, volume in moments:
        for ticker in burst:
            message = Envelope(QUOTE, quote(ticker=ticker, time=f"2025-03-10T{at}.000Z", price=price, volume=volume))
            await env.bus.publish(MARKET_DATA, message, key=ticker)
    await env.bus.drain()
    batches = env.service.ticks.batches
    assert batches < len(moments) * len(burst)
    for at, price, volume in moments:
        for ticker in burst.values():
            await env.tick(ticker=ticker, time=f"2025-03-10T{at}.000Z", price=price, volume=volume)
    assert env.service.ticks.batches - batches == len(moments) * len(burst)
    for together, alone in burst.items():
        for interval in CandleInterval:
            got = [dataclasses.replace(c, ticker=alone) for c in await env.service.candles(together, interval, 10)]
            assert got == await env.service.candles(alone, interval, 10), interval
        assert (await env.service.latest_quote(together)).price == Decimal("31.60")
    minutes = await env.service.candles("PETR4", CandleInterval.ONE_MINUTE, 10)
    assert [(c.open, c.close, c.volume) for c in minutes][:2] == [(Decimal("31.50"), Decimal("31.20"), 700), (Decimal("31.40"), Decimal("31.40"), 100)]


async def test_a_redelivered_tick_changes_nothing(env):
    first = await env.tick(time="2025-03-10T13:00:05.000Z", price="31.50", volume=1000)
    await env.tick(time="2025-03-10T13:00:30.000Z", price="31.70", volume=1600)
    before = await env.service.candles("PETR4", CandleInterval.ONE_MINUTE, 10)
    await env.bus.publish(MARKET_DATA, first, key="PETR4")  # the same envelope again
    await env.bus.drain()
    assert await env.service.candles("PETR4", CandleInterval.ONE_MINUTE, 10) == before
    # ...and the older tick does not replace the newer latest quote either.
    assert (await env.service.latest_quote("PETR4")).price == Decimal("31.70")


async def test_a_late_tick_does_not_replace_a_newer_quote(env):
    await env.tick(time="2025-03-10T13:00:30.000Z", price="31.70")
    await env.tick(time="2025-03-10T13:00:05.000Z", price="31.50")
    assert (await env.service.latest_quote("PETR4")).price == Decimal("31.70")


async def test_a_malformed_tick_is_dead_lettered_and_the_flow_continues(env):
    await env.bus.publish(MARKET_DATA, Envelope(QUOTE, {"ticker": "PETR4", "price": "lots"}), key="PETR4")
    await env.tick(price="31.55")
    assert len(env.bus.dead_letters) == 1
    assert (await env.service.latest_quote("PETR4")).price == Decimal("31.55")


# ------------------------------------------------------------------ federation


async def test_entities_resolve_in_one_batch(env, monkeypatch):
    await env.tick(ticker="PETR4", price="31.50")
    await env.tick(ticker="VALE3", price="60.10")
    calls = {"find_many": 0, "get_many": 0}
    find_many, get_many = env.service.find_many, env.cache.get_many

    async def counting_find_many(tickers):
        calls["find_many"] += 1
        return await find_many(tickers)

    async def counting_get_many(keys):
        calls["get_many"] += 1
        return await get_many(keys)

    monkeypatch.setattr(env.service, "find_many", counting_find_many)
    monkeypatch.setattr(env.cache, "get_many", counting_get_many)
    representations = [{"__typename": "Asset", "ticker": t} for t in ("PETR4", "VALE3", "NOPE3", "ITUB4", "PETR4")]
    data, errors = await run(
        env,
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on Asset { ticker name quote { price } } } }",
        {"r": representations},
    )
    assert not errors
    assert data["_entities"] == [
        {"ticker": "PETR4", "name": "Petrobras PN", "quote": {"price": "31.50"}},
        {"ticker": "VALE3", "name": "Vale ON", "quote": {"price": "60.10"}},
        None,
        {"ticker": "ITUB4", "name": "Itaú Unibanco PN", "quote": None},
        {"ticker": "PETR4", "name": "Petrobras PN", "quote": {"price": "31.50"}},
    ]
    assert calls == {"find_many": 1, "get_many": 1}


async def test_quotes_of_a_list_of_assets_are_read_in_one_cache_call(env, monkeypatch):
    calls = []
    get_many = env.cache.get_many

    async def counting(keys):
        calls.append(keys)
        return await get_many(keys)

    monkeypatch.setattr(env.cache, "get_many", counting)
    data, _ = await run(env, "{ assets(first: 10) { ticker quote { price } } }")
    assert len(data["assets"]) == 10 and len(calls) == 1 and len(calls[0]) == 10


async def test_subgraph_sdl_declares_the_asset_entity(env):
    # The router's request: the SDL is answered only beside the internal secret.
    result = await schema.execute("{ _service { sdl } }", context_value=GraphQLContext(ANONYMOUS, env.service, internal=True))
    data = result.data
    assert 'type Asset @key(fields: "ticker")' in data["_service"]["sdl"]


# ------------------------------------------------------------------ subscription


async def next_result(stream, timeout: float = 2.0):
    return await asyncio.wait_for(stream.__anext__(), timeout)


async def test_quotes_subscription_streams_only_the_asked_tickers(env):
    stream = await schema.subscribe(
        'subscription { quotes(tickers: ["petr4", "VALE3"]) { ticker price changePercent time } }',
        context_value=GraphQLContext(ANONYMOUS, env.service),
    )
    pending = asyncio.ensure_future(next_result(stream))
    await asyncio.sleep(0.05)  # the subscriber is registered on the live feed
    assert env.service.live.subscribers == 1
    await env.tick(ticker="ITUB4", price="37.00")
    await env.tick(ticker="PETR4", price="31.50", time="2025-03-10T13:00:05.000Z")
    first = await pending
    assert not first.errors
    assert first.data == {"quotes": {"ticker": "PETR4", "price": "31.50", "changePercent": 0.32, "time": "2025-03-10T13:00:05.000Z"}}
    await env.tick(ticker="ITUB4", price="37.10")
    await env.tick(ticker="VALE3", price="60.20")
    second = await next_result(stream)
    assert second.data["quotes"]["ticker"] == "VALE3"
    await stream.aclose()
    assert env.service.live.subscribers == 0


@pytest.mark.parametrize("tickers", ["[]", '["PETR4", "NOPE3"]'])
async def test_quotes_subscription_refuses_empty_or_unknown_tickers(env, tickers):
    stream = await schema.subscribe(
        f"subscription {{ quotes(tickers: {tickers}) {{ ticker }} }}", context_value=GraphQLContext(ANONYMOUS, env.service)
    )
    result = await next_result(stream)
    assert codes([format_error(e) for e in result.errors]) == ["BAD_USER_INPUT"]
    assert env.service.live.subscribers == 0


# ------------------------------------------------------------------ service layer


async def test_search_service_filters_by_type(env):
    etfs = await env.service.search(None, AssetType.ETF, None)
    assert etfs and all(a.type is AssetType.ETF for a in etfs)


async def test_a_deactivation_made_in_the_database_is_seen_within_the_catalog_max_age(env):
    """The catalog is read from memory; a change made by another process or an operator is
    seen once the in-memory copy is older than its max age."""
    assert (await env.service.find("VALE3")).active is True
    async with env.db.transaction() as tx:
        await tx.session.execute(update(tables.assets).where(tables.assets.c.ticker == "VALE3").values(active=False))
    env.service.catalog._loaded_at -= 60  # the copy is now older than any max age
    assert (await env.service.find("VALE3")).active is False
