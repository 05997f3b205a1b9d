from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mybroker.catalog import CatalogEntry, load_catalog
from mybroker.events import parse_iso
from ingest.simulator import SOURCE, MarketSimulator

UTC = timezone.utc
START = datetime(2025, 3, 10, 13, 0, tzinfo=UTC)


def series(simulator: MarketSimulator, ticker: str, count: int, start: datetime = START) -> list[dict]:
    return [simulator.next_tick(ticker, start + timedelta(seconds=i)) for i in range(count)]


def test_same_seed_same_market():
    assert series(MarketSimulator(seed=42), "PETR4", 200) == series(MarketSimulator(seed=42), "PETR4", 200)


def test_different_seeds_different_markets():
    assert [q["price"] for q in series(MarketSimulator(seed=1), "PETR4", 200)] != [
        q["price"] for q in series(MarketSimulator(seed=2), "PETR4", 200)
    ]


def test_a_tickers_ticks_do_not_depend_on_the_others():
    alone = series(MarketSimulator(seed=5), "VALE3", 50)
    busy = MarketSimulator(seed=5)
    interleaved = []
    for i in range(50):
        busy.next_tick("PETR4", START + timedelta(seconds=i))
        interleaved.append(busy.next_tick("VALE3", START + timedelta(seconds=i)))
    assert interleaved == alone


def test_quote_payload_shape_and_arithmetic():
    quotes = series(MarketSimulator(seed=3), "PETR4", 300)
    reference = next(e.reference_price for e in load_catalog() if e.ticker == "PETR4")
    for q in quotes:
        assert set(q) == {"ticker", "price", "change", "changePercent", "volume", "time", "source"}
        assert q["ticker"] == "PETR4" and q["source"] == SOURCE
        price, change = Decimal(q["price"]), Decimal(q["change"])
        assert q["price"] == f"{price:.2f}" and q["change"] == f"{change:.2f}"
        assert change == price - reference
        assert q["changePercent"] == float((change * 100 / reference).quantize(Decimal("0.01")))
        assert parse_iso(q["time"]).tzinfo is not None and q["time"].endswith("Z")
    assert len({q["price"] for q in quotes}) > 5, "the price walks"
    assert all(abs(Decimal(q["change"])) < reference * Decimal("0.15") for q in quotes), "plausible for a short session"


def test_volume_is_cumulative_in_whole_lots_and_resets_with_the_day():
    simulator = MarketSimulator(seed=9)
    today = series(simulator, "PETR4", 100)
    volumes = [q["volume"] for q in today]
    assert volumes == sorted(volumes) and len(set(volumes)) == len(volumes) and volumes[0] > 0
    assert all(v % 100 == 0 for v in volumes)  # PETR4 trades in round lots of 100
    tomorrow = simulator.next_tick("PETR4", START + timedelta(days=1))
    assert 0 < tomorrow["volume"] < volumes[-1]
    # Yesterday's last price is today's previous close.
    assert Decimal(tomorrow["price"]) - Decimal(tomorrow["change"]) == Decimal(today[-1]["price"])


def test_unknown_ticker_is_refused():
    with pytest.raises(ValueError):
        MarketSimulator(seed=1).next_tick("NOPE3", START)


async def test_a_round_has_one_quote_per_catalog_ticker():
    round_ = await MarketSimulator(seed=1).next_round(START)
    assert [q["ticker"] for q in round_] == [e.ticker for e in load_catalog()]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    reference=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("5.00"), places=2),
    volatility=st.floats(min_value=0.0, max_value=0.5),
)
def test_prices_stay_on_the_tick_grid_and_positive(seed, reference, volatility):
    """Even penny stocks under absurd volatility never go below R$0.01 or off the grid."""
    simulator = MarketSimulator([CatalogEntry("PENY3", "Penny", "STOCK", 100, reference)], seed, volatility=volatility)
    for quote in series(simulator, "PENY3", 200):
        price = Decimal(quote["price"])
        assert price >= Decimal("0.01") and price == price.quantize(Decimal("0.01"))
        assert quote["volume"] > 0


# ------------------------------------------------------------------ continuity (issue 16)


def on_utc_date(moment: datetime):
    """A trading day for tests that need no calendar: the UTC date."""
    return moment.astimezone(UTC).date()


def last_quote(price: str, change: str, volume: int, time: datetime) -> dict:
    return {"ticker": "PETR4", "price": price, "change": change, "changePercent": 0.0, "volume": volume,
            "time": time.isoformat(), "source": SOURCE}


def test_a_resumed_walk_continues_from_the_last_quote_within_the_day():
    simulator = MarketSimulator(seed=7, trading_day=on_utc_date)
    assert simulator.resume({"PETR4": last_quote("40.00", "1.50", 12_300, START)}) == ["PETR4"]
    after = series(simulator, "PETR4", 20, START + timedelta(seconds=1))
    first = Decimal(after[0]["price"])
    assert abs(first - Decimal("40.00")) < Decimal("0.50"), "one step from the last price, not from the reference"
    # Same trading day: the previous close (38.50) and the day's volume carry on.
    assert all(Decimal(q["price"]) - Decimal(q["change"]) == Decimal("38.50") for q in after)
    assert after[0]["volume"] > 12_300


def test_a_resumed_walk_on_a_later_day_opens_from_the_last_price():
    simulator = MarketSimulator(seed=7, trading_day=on_utc_date)
    simulator.resume({"PETR4": last_quote("40.00", "1.50", 12_300, START)})
    tomorrow = simulator.next_tick("PETR4", START + timedelta(days=1))
    assert Decimal(tomorrow["price"]) - Decimal(tomorrow["change"]) == Decimal("40.00"), "yesterday's last is the close"
    assert tomorrow["volume"] < 12_300, "a new day's volume starts again"


def test_the_same_seed_and_starting_state_give_the_same_continuation():
    def continued(seed: int, price: str) -> list[dict]:
        simulator = MarketSimulator(seed=seed, trading_day=on_utc_date)
        simulator.resume({"PETR4": last_quote(price, "0.00", 100, START)})
        return series(simulator, "PETR4", 50, START + timedelta(seconds=1))

    assert continued(11, "40.00") == continued(11, "40.00")
    assert continued(11, "40.00") != continued(12, "40.00")
    # A restart does not replay the first run's steps shifted: its stream depends on where it resumed.
    fresh = [Decimal(q["price"]) for q in series(MarketSimulator(seed=11, trading_day=on_utc_date), "PETR4", 50)]
    resumed = [Decimal(q["price"]) for q in continued(11, "40.00")]
    assert [b - a for a, b in zip(fresh, fresh[1:])] != [b - a for a, b in zip(resumed, resumed[1:])]


def test_resume_refuses_what_cannot_be_continued_and_skips_unknown_tickers():
    simulator = MarketSimulator(seed=1, trading_day=on_utc_date)
    assert simulator.resume({"NOPE3": {**last_quote("1.00", "0.00", 1, START), "ticker": "NOPE3"}}) == []
    with pytest.raises(ValueError):
        simulator.resume({"PETR4": last_quote("1.00", "1.00", 1, START)})  # a previous close of zero
    with pytest.raises(ValueError):
        simulator.resume({"PETR4": {**last_quote("1.00", "0.00", 1, START), "time": "2025-03-10T13:00:00"}})  # no offset


async def test_resume_from_cache_reads_the_latest_quotes_and_skips_a_broken_one():
    from mybroker.cache import MemoryCache
    from mybroker.wire import latest_quote_key
    from ingest.simulator import resume_from_cache
    import orjson

    cache = MemoryCache()
    await cache.set(latest_quote_key("PETR4"), orjson.dumps(last_quote("40.00", "1.50", 12_300, START)))
    await cache.set(latest_quote_key("VALE3"), b"{not json")
    simulator = MarketSimulator(seed=3, trading_day=on_utc_date)
    assert await resume_from_cache(simulator, cache) == ["PETR4"]
    assert abs(Decimal(simulator.next_tick("PETR4", START)["price"]) - Decimal("40.00")) < Decimal("0.50")
    vale = next(e.reference_price for e in load_catalog() if e.ticker == "VALE3")
    assert abs(Decimal(simulator.next_tick("VALE3", START)["price"]) - vale) < vale * Decimal("0.01")


def test_the_default_day_is_the_kernel_calendars_trading_day():
    """After the 18:00 roll in Brasília the quote belongs to the next session: a new day."""
    simulator = MarketSimulator(seed=4)
    before = simulator.next_tick("PETR4", datetime(2025, 3, 10, 20, 59, tzinfo=UTC))  # 17:59 in Brasília
    after = simulator.next_tick("PETR4", datetime(2025, 3, 10, 21, 0, tzinfo=UTC))  # 18:00: Tuesday's session
    assert Decimal(before["price"]) - Decimal(before["change"]) == next(e.reference_price for e in load_catalog() if e.ticker == "PETR4")
    assert Decimal(after["price"]) - Decimal(after["change"]) == Decimal(before["price"])


def test_a_quote_outside_the_calendar_leaves_the_walk_as_it_was():
    simulator = MarketSimulator(seed=2)
    untouched = series(MarketSimulator(seed=2), "PETR4", 5)
    with pytest.raises(ValueError):
        simulator.resume({"PETR4": last_quote("40.00", "1.50", 12_300, datetime(1990, 1, 2, 13, tzinfo=UTC))})
    assert series(simulator, "PETR4", 5) == untouched
