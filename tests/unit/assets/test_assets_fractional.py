"""The fractional market in the assets service: PETR4F is PETR4's shares at a lot of 1,
priced, charted and streamed by PETR4's quotes, and not a second catalog row."""
from __future__ import annotations

import asyncio

from subgraphs.assets.domain import CandleInterval


async def test_a_fractional_ticker_resolves_as_its_standard_asset_at_a_lot_of_one(env):
    petr4f, hglg11f, petr4 = await env.service.find_many(["petr4f", "HGLG11F", "PETR4"])
    assert (petr4f.ticker, petr4f.lot_size, petr4f.type, petr4f.active) == ("PETR4F", 1, petr4.type, True)
    assert petr4f.name == "Petrobras PN (fracionário)"
    assert hglg11f is None  # an FII already trades one share at a time: no fractional market
    assert [a.ticker for a in await env.service.search("PETR4", None, 50)] == ["PETR4"]  # not listed twice


async def test_a_fractional_ticker_is_priced_by_its_standard_quote_and_capped_below_the_lot(env):
    assert (await env.service.asset_summary("PETR4F"))["lastPrice"] is None
    await env.tick(ticker="PETR4", price="31.50")
    summary = await env.service.asset_summary("PETR4F")
    assert (summary["ticker"], summary["lotSize"], summary["lastPrice"], summary["maxQuantity"]) == ("PETR4F", 1, "31.50", 99)
    assert "maxQuantity" not in await env.service.asset_summary("PETR4")
    quote = await env.service.latest_quote("PETR4F")
    assert (quote.ticker, str(quote.price)) == ("PETR4F", "31.50")
    [candle] = await env.service.candles("PETR4F", CandleInterval.ONE_DAY, 5)
    assert candle.ticker == "PETR4" and str(candle.close) == "31.50"


async def test_the_quote_stream_of_a_fractional_ticker_follows_its_standard_ticker(env):
    stream = env.service.quote_stream(["PETR4F", "PETR4"])
    pending = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0.05)  # the subscriber is registered on the live feed
    await env.tick(ticker="VALE3", price="60.00")
    await env.tick(ticker="PETR4", price="31.55")
    first = await pending
    second = await stream.__anext__()
    assert sorted([(first.ticker, str(first.price)), (second.ticker, str(second.price))]) == [("PETR4", "31.55"), ("PETR4F", "31.55")]
    await stream.aclose()
