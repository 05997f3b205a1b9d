"""A restart continues the market (issue 16, "Continuity"; docs/design.md): a platform
trades, stops, and starts again on the same data (the same databases on the real
engines). Its prices continue from the last ones (within a step or two, the day's volume
going on), the day's previous close and daily open are unchanged, the tape still holds
the trader's trade, and the minute candles have no gap across the restart."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import aiohttp
import pytest

from launch.platform import Platform
from mybroker.calendar import b3_calendar
from mybroker.events import parse_iso
from tests.conftest import Client, drop_databases, platform_settings, until_the_exchange_quotes
from tests.e2e.test_trader_story import DEPOSIT, PLACE, sign_up, until_status

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

MARKET = """
query($t: ID!) {
  asset(ticker: $t) {
    quote { price change volume time }
    trades(limit: 200) { price quantity time }
    day: candles(interval: ONE_DAY, limit: 5) { time open }
    minutes: candles(interval: ONE_MINUTE, limit: 100) { time open high low close }
  }
}"""
# One step of the walk is ~0.08% of the price; a few steps stay well inside 1%, while a
# restart from the reference would be off by the whole session's drift and its volume.
BAND = Decimal("0.01")


def near(price: Decimal, last: Decimal) -> bool:
    return abs(price - last) <= last * BAND


async def market(client: Client) -> dict:
    return (await client.execute(MARKET, {"t": "PETR4"}))["asset"]


async def test_a_restart_continues_prices_open_tape_and_candles(tmp_path):
    settings = platform_settings(tmp_path)
    first = Platform(settings)
    second: Platform | None = None
    try:
        await first.start()
        await until_the_exchange_quotes(first.router_url)
        async with aiohttp.ClientSession() as http:
            trader = Client(http, first.router_url)
            await sign_up(trader, "continua")
            await trader.execute(DEPOSIT, {"amount": "10000.00"})
            # The broker prices a MARKET order from assets' quote, which may come after the book.
            await trader.until(MARKET, {"t": "PETR4"}, lambda d: d["asset"]["quote"] is not None, timeout=60)
            placed = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "BUY", "type": "MARKET", "quantity": 100}}))["placeOrder"]
            await until_status(trader, placed["id"], "FILLED")
            # A session several times longer than a restart takes (about 80 rounds against
            # 20): a feed restarted from the reference could not reach its volume by the time
            # its quotes are read, one that continues is above it at once.
            await trader.until(
                MARKET, {"t": "PETR4"}, lambda d: d["asset"]["trades"] and d["asset"]["quote"]["volume"] >= 200_000, timeout=60
            )
            # As late as it can be read: the feed may tick a few more times before the stop.
            before = await market(trader)
        await first.stop()
        first_settings = first.settings  # with the internal secret it made, as a restart finds it

        restarted_at = datetime.now(timezone.utc)
        second = Platform(first_settings)
        await second.start()
        async with aiohttp.ClientSession() as http:
            reader = Client(http, second.router_url)
            last = before["quote"]
            stopped_at = parse_iso(last["time"])
            # A quote the restarted feed published (the cache first serves the restored one).
            # On the real engines the assets consumer group rejoins Kafka first (tens of seconds).
            data = await reader.until(
                MARKET, {"t": "PETR4"}, lambda d: parse_iso(d["asset"]["quote"]["time"]) >= restarted_at, timeout=90
            )
            await until_the_exchange_quotes(second.router_url)
            after = await market(reader)
    finally:
        if second is not None:
            await second.stop()
        elif first.infra is not None:
            await first.stop()
        if settings.infra == "real":
            await drop_databases(first.settings)

    new = data["asset"]["quote"]
    last_price, new_price = Decimal(last["price"]), Decimal(new["price"])
    assert near(new_price, last_price), f"the price continues: {last_price} then {new_price}"
    assert new["volume"] > last["volume"], "the day's volume goes on from where it was"
    previous_close = Decimal(last["price"]) - Decimal(last["change"])
    calendar = b3_calendar()
    if calendar.trading_day(parse_iso(new["time"])) == calendar.trading_day(stopped_at):
        assert Decimal(new["price"]) - Decimal(new["change"]) == previous_close, "the day's change keeps its base"
    else:  # the run straddled the day's roll: the new session opens from the last price
        assert Decimal(new["price"]) - Decimal(new["change"]) == last_price

    # The daily candle of the first run is unchanged (its open), and the tape kept the trade.
    day_before = {c["time"]: c["open"] for c in before["day"]}
    day_after = {c["time"]: c["open"] for c in after["day"]}
    assert day_before and all(day_after[start] == opened for start, opened in day_before.items())
    kept = before["trades"]
    assert kept and any(t["quantity"] == 100 for t in kept), "the trader's trade was on the tape"
    assert [t for t in after["trades"] if t in kept] == kept, "the tape survives the restart"

    # No gap: each minute opens near where the one before it closed, across the restart.
    minutes = after["minutes"]
    assert minutes and parse_iso(minutes[-1]["time"]) <= datetime.now(timezone.utc)
    for earlier, later in zip(minutes, minutes[1:]):
        assert near(Decimal(later["open"]), Decimal(earlier["close"])), f"a gap between {earlier} and {later}"
    assert near(Decimal(minutes[-1]["close"]), last_price)
