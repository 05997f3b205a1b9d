"""Stop orders at the exchange (b3sim.stops, Exchange): a stop waits outside the book,
triggers exactly once at the first trade at or through its stop price and never before,
enters the book then (a STOP as a protected MARKET, a STOP_LIMIT as a LIMIT that rests),
is refused on the wrong side of the last trade or off the tick, is cancelled, expired and
asked about like any order, and survives a rebuild from the journal."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from b3sim.book import OrderType, Side, TimeInForce
from b3sim.exchange import (
    CancelOrder,
    EndOfSession,
    Exchange,
    NewOrder,
    OrderStatusRequest,
    ReferencePrice,
    ReplaceOrder,
    SessionPhase,
)
from b3sim.journal import Journal
from b3sim.market_maker import MakerPolicy
from b3sim.session import Phase
from b3sim.stops import Stops
from b3sim.wire import exchange_command
from b3sim.worker import ExchangeWorker
from mybroker import wire
from mybroker.catalog import CatalogEntry
from mybroker.trading import ExecType
from tests.unit.b3sim.conftest import Clock, books, limit, new_core, quote

CATALOG = (CatalogEntry("PETR4", "Petrobras PN", "STOCK", 100, Decimal("31.40")),)
# One lot a level, two levels: a few orders move the price through the ladder.
POLICY = MakerPolicy(depth=2, half_spread_bps=5, step_bps=5, lots_per_level=1)
T0 = datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc)


def exchange() -> Exchange:
    core = Exchange(CATALOG, POLICY, session="st")
    core.handle(ReferencePrice("PETR4", Decimal("31.40")), T0)  # maker: bids 31.38, 31.36; asks 31.42, 31.44
    return core


def stop(order_id, side, stop_price, kind=OrderType.STOP, limit_price=None, tif=TimeInForce.GTC, qty=100, protection=None):
    return NewOrder(
        order_id, "PETR4", side, kind, tif, qty,
        None if limit_price is None else Decimal(limit_price), None if protection is None else Decimal(protection),
        "stopper", Decimal(stop_price),
    )


def order(order_id, side, kind=OrderType.MARKET, limit_price=None, qty=100, tif=TimeInForce.DAY, account="other"):
    return NewOrder(order_id, "PETR4", side, kind, tif, qty, None if limit_price is None else Decimal(limit_price), None, account)


def of(reports, order_id):
    return [r.exec_type for r in reports if r.order_id == order_id]


# ---------------------------------------------------------------- examples


def test_a_stop_sell_waits_outside_the_book_and_triggers_at_the_trade_at_its_price():
    core = exchange()
    assert of(core.handle(stop("s1", Side.SELL, "31.36"), T0), "s1") == [ExecType.ACCEPTED]
    assert "s1" not in core.book("PETR4")  # not in the book: no depth, meets nothing
    # A sale at 31.38 is above the stop: nothing happens to it.
    first = core.handle(order("m1", Side.SELL), T0)
    assert of(first, "s1") == []
    # The next sale trades at 31.36, the stop price: the stop triggers and sells.
    core.handle(order("b1", Side.BUY, OrderType.LIMIT, "31.30", tif=TimeInForce.GTC, account="buyer"), T0)
    second = core.handle(order("m2", Side.SELL), T0)
    assert of(second, "s1") == [ExecType.TRIGGERED, ExecType.FILL]
    triggered = next(r for r in second if r.order_id == "s1")
    [trade] = [r for r in second if r.order_id == "m2" and r.exec_type is ExecType.FILL]
    assert (triggered.price, triggered.trade_id, triggered.leaves_quantity) == (Decimal("31.36"), trade.trade_id, 100)
    [fill] = [r for r in second if r.order_id == "s1" and r.exec_type is ExecType.FILL]
    assert (fill.price, fill.leaves_quantity) == (Decimal("31.30"), 0)  # as a MARKET order: the best bid left
    # Done: a later trade does not trigger it again, and a cancel is too late.
    core.handle(order("m3", Side.SELL, qty=100), T0)
    [late] = core.handle(CancelOrder("s1", "PETR4"), T0)
    assert late.reject_code == "TOO_LATE"


def test_a_stop_buy_triggers_at_a_trade_at_or_above_its_price():
    core = exchange()
    core.handle(stop("s1", Side.BUY, "31.44"), T0)
    assert of(core.handle(order("m1", Side.BUY), T0), "s1") == []  # 31.42: below the stop
    reports = core.handle(order("m2", Side.BUY), T0)  # 31.44: at it
    assert of(reports, "s1")[0] is ExecType.TRIGGERED
    # As a MARKET BUY with no asks left: what it cannot fill is cancelled.
    assert of(reports, "s1") == [ExecType.TRIGGERED, ExecType.CANCELLED]


def test_a_triggered_stop_limit_rests_as_a_limit_order():
    core = exchange()
    core.handle(stop("s1", Side.SELL, "31.38", OrderType.STOP_LIMIT, limit_price="31.37"), T0)
    reports = core.handle(order("m1", Side.SELL), T0)  # trades at 31.38
    assert of(reports, "s1") == [ExecType.TRIGGERED]  # its limit 31.37 is above the bid left (31.36): it rests
    book = core.book("PETR4")
    assert book.remaining("s1") == 100 and book.best_ask == 3137
    assert book.queue(Side.SELL, 3137) == ["s1"]
    [status] = core.handle(OrderStatusRequest("s1", "PETR4"), T0)
    assert (status.order_status, status.leaves_quantity) == ("RESTING", 100)


def test_one_trade_triggers_every_stop_it_reaches_in_arrival_order_and_a_cascade_follows():
    core = exchange()
    core.handle(stop("late", Side.SELL, "31.37"), T0)
    core.handle(stop("early", Side.SELL, "31.38"), T0)
    core.handle(stop("deeper", Side.SELL, "31.30"), T0)
    core.handle(order("b1", Side.BUY, OrderType.LIMIT, "31.29", qty=300, tif=TimeInForce.GTC, account="buyer"), T0)
    reports = core.handle(order("m1", Side.SELL, qty=200), T0)  # 31.38 then 31.36
    triggered = [r.order_id for r in reports if r.exec_type is ExecType.TRIGGERED]
    # 31.38 triggers "early"; 31.36 triggers "late"; their sales at 31.29 trigger "deeper".
    assert triggered == ["early", "late", "deeper"]
    assert all(of(reports, oid) == [ExecType.TRIGGERED, ExecType.FILL] for oid in triggered)


def test_a_stop_on_the_wrong_side_of_the_last_price_or_off_the_tick_is_rejected():
    core = exchange()
    for order_id, side, price in (("a", Side.SELL, "31.40"), ("b", Side.SELL, "31.50"), ("c", Side.BUY, "31.40"), ("d", Side.BUY, "31.00")):
        [rejected] = core.handle(stop(order_id, side, price), T0)
        assert rejected.exec_type is ExecType.REJECTED and "last price 31.40" in rejected.reason
    [off] = core.handle(stop("e", Side.SELL, "31.005"), T0)
    assert off.exec_type is ExecType.REJECTED and "tick" in off.reason
    [ioc] = core.handle(stop("f", Side.SELL, "31.00", tif=TimeInForce.IOC), T0)
    assert ioc.exec_type is ExecType.REJECTED and "DAY or GTC" in ioc.reason
    [no_limit] = core.handle(stop("g", Side.SELL, "31.00", OrderType.STOP_LIMIT), T0)
    assert no_limit.exec_type is ExecType.REJECTED and "limit price" in no_limit.reason
    [stray] = core.handle(NewOrder("h", "PETR4", Side.SELL, OrderType.LIMIT, TimeInForce.DAY, 100, Decimal("31"), None, None, Decimal("30")), T0)
    assert stray.exec_type is ExecType.REJECTED and "no stop price" in stray.reason
    # The last trade, once there is one, is what the stop is held against (not the reference).
    core.handle(order("m1", Side.SELL, qty=200), T0)  # last trade 31.36
    [accepted] = core.handle(stop("i", Side.SELL, "31.37"), T0)
    assert accepted.exec_type is ExecType.REJECTED
    assert core.handle(stop("j", Side.SELL, "31.35"), T0)[0].exec_type is ExecType.ACCEPTED


def test_a_waiting_stop_is_cancelled_expired_and_not_replaced_like_a_resting_order():
    core = exchange()
    core.handle(stop("day", Side.SELL, "31.00", tif=TimeInForce.DAY), T0)
    core.handle(stop("gtc", Side.SELL, "31.00"), T0)
    [refused] = core.handle(ReplaceOrder("gtc", "PETR4", 200, None), T0)
    assert refused.exec_type is ExecType.REPLACE_REJECTED and "cancel it" in refused.reason
    [expired] = core.handle(EndOfSession(), T0)
    assert (expired.order_id, expired.exec_type, expired.cumulative_quantity) == ("day", ExecType.EXPIRED, 0)
    [cancelled] = core.handle(CancelOrder("gtc", "PETR4"), T0)
    assert (cancelled.exec_type, cancelled.cumulative_quantity) == (ExecType.CANCELLED, 0)
    # Cancelled: the market trading through its price no longer triggers it.
    core.handle(order("b1", Side.BUY, OrderType.LIMIT, "30.00", qty=300, tif=TimeInForce.GTC, account="buyer"), T0)
    assert of(core.handle(order("m1", Side.SELL, qty=300), T0), "gtc") == []


def test_an_auction_takes_stops_and_they_trigger_only_once_the_market_is_open():
    core = exchange()
    core.handle(SessionPhase(Phase.PRE_OPENING), T0)
    assert of(core.handle(stop("s1", Side.SELL, "31.30"), T0), "s1") == [ExecType.ACCEPTED]
    # A crossed auction uncrossing at 31.20 on the opening triggers the stop, in the open market.
    core.handle(order("b1", Side.BUY, OrderType.LIMIT, "31.20", qty=200, account="buyer"), T0)
    core.handle(order("a1", Side.SELL, OrderType.LIMIT, "31.20", qty=300), T0)  # and the maker's bids
    reports = core.handle(SessionPhase(Phase.OPEN), T0)
    assert of(reports, "s1") == [ExecType.TRIGGERED, ExecType.FILL]


def test_a_stop_travels_the_wire_with_its_stop_price():
    sent = wire.NewOrder("s1", "PETR4", Side.SELL, OrderType.STOP_LIMIT, TimeInForce.GTC, 100, Decimal("30.50"), None, "u", Decimal("30.60"))
    assert sent.payload()["stopPrice"] == "30.60"
    command = exchange_command(sent.envelope())
    assert (command.type, command.stop_price, command.limit_price, command.account) == (OrderType.STOP_LIMIT, Decimal("30.60"), Decimal("30.50"), "u")
    plain = wire.NewOrder("o1", "PETR4", Side.BUY, OrderType.LIMIT, TimeInForce.DAY, 100, Decimal("30"))
    assert "stopPrice" not in plain.payload()  # every other order keeps its shape


def test_the_stops_store_fires_by_side_and_price():
    stops = Stops()
    from b3sim.book import BookOrder

    for order_id, side, price in (("s-high", Side.SELL, 30), ("s-low", Side.SELL, 20), ("b-low", Side.BUY, 40), ("b-high", Side.BUY, 50)):
        stops.add(BookOrder(order_id, side, OrderType.MARKET, TimeInForce.GTC, 1), price)
    assert not stops.might_trigger(35)
    assert [s.order_id for s in stops.triggered_by(30)] == ["s-high"]
    assert [s.order_id for s in stops.triggered_by(45)] == ["b-low"]
    assert stops.remove("s-low") is not None and stops.remove("s-low") is None
    assert [s.order_id for s in stops.triggered_by(10)] == []
    assert [s.order_id for s in stops.triggered_by(60)] == ["b-high"] and len(stops) == 0


# ---------------------------------------------------------------- the journal


def stop_envelope(order_id: str, side: str, stop_price: str):
    return wire.NewOrder(order_id, "PETR4", Side(side), OrderType.STOP, TimeInForce.GTC, 100, None, None, "u", Decimal(stop_price)).envelope()


async def test_a_waiting_stop_survives_a_rebuild_from_the_journal_and_triggers_there(journal_db):
    journal = Journal(journal_db)
    clock = Clock(step=timedelta(milliseconds=2))
    live = ExchangeWorker(None, journal, clock=clock)
    await live.recover(new_core)
    await live.on_market_data(quote("31.40"))
    await live.on_exchange_order(stop_envelope("s1", "SELL", "31.36"))
    await live.on_exchange_order(limit("b1", "BUY", "31.30", account="buyer"))

    rebuilt = ExchangeWorker(None, journal, clock=clock)
    await rebuilt.recover(new_core)
    assert "s1" in rebuilt.exchange._markets["PETR4"].stops and books(rebuilt.exchange) == books(live.exchange)
    # The same sale in both: the same trigger and fills, execution ids included.
    sale = wire.NewOrder("m1", "PETR4", Side.SELL, OrderType.MARKET, TimeInForce.DAY, 200, account="seller").envelope()
    at = clock.now + timedelta(seconds=1)
    original = live.exchange.handle(exchange_command(sale), at)
    again = rebuilt.exchange.handle(exchange_command(sale), at)
    assert original == again
    assert [r.exec_type for r in again if r.order_id == "s1"][:2] == [ExecType.TRIGGERED, ExecType.FILL]


# ---------------------------------------------------------------- properties

PRICES = st.integers(min_value=3120, max_value=3160).map(lambda ticks: Decimal(ticks) / 100)
OTHERS = st.integers(min_value=0, max_value=15).map(lambda i: f"o{i}")
STOP_IDS = st.integers(min_value=0, max_value=6).map(lambda i: f"s{i}")


@st.composite
def other_order(draw):
    kind = draw(st.sampled_from([OrderType.LIMIT, OrderType.MARKET]))
    return NewOrder(
        draw(OTHERS), "PETR4", draw(st.sampled_from(Side)), kind,
        draw(st.sampled_from(TimeInForce)) if kind is OrderType.LIMIT else TimeInForce.DAY,
        draw(st.integers(1, 3)) * 100, draw(PRICES) if kind is OrderType.LIMIT else None, None,
        draw(st.sampled_from(["ana", "bia"])),
    )


@st.composite
def stop_order(draw):
    kind = draw(st.sampled_from([OrderType.STOP, OrderType.STOP_LIMIT]))
    return NewOrder(
        draw(STOP_IDS), "PETR4", draw(st.sampled_from(Side)), kind, draw(st.sampled_from([TimeInForce.DAY, TimeInForce.GTC])),
        draw(st.integers(1, 2)) * 100, draw(PRICES) if kind is OrderType.STOP_LIMIT else None, None, "cai", draw(PRICES),
    )


COMMANDS = st.lists(
    st.one_of(
        other_order(), other_order(), stop_order(), stop_order(),
        st.one_of(OTHERS, STOP_IDS).map(lambda i: CancelOrder(i, "PETR4")),
        PRICES.map(lambda price: ReferencePrice("PETR4", price)),
    ),
    max_size=50,
)


def run(commands):
    core = exchange()
    reports = []
    resting_limits: list[list] = []  # after each command: triggered STOP_LIMITs still live, and whether they rest
    stops: dict[str, NewOrder] = {}
    for c in commands:  # the first order under an id is the one the exchange took
        if isinstance(c, NewOrder) and c.stop_price is not None:
            stops.setdefault(c.order_id, c)
    triggered: set[str] = set()
    done: set[str] = set()
    for step, command in enumerate(commands):
        out = core.handle(command, T0 + timedelta(seconds=step))
        reports.extend(out)
        for report in out:
            if report.exec_type is ExecType.TRIGGERED:
                triggered.add(report.order_id)
            if report.exec_type in (ExecType.CANCELLED, ExecType.EXPIRED, ExecType.REJECTED) or (
                report.exec_type is ExecType.FILL and not report.leaves_quantity
            ):
                done.add(report.order_id)
        book = core.book("PETR4")
        resting_limits.append([
            (oid, book.remaining(oid) is not None and oid in book.queue(stops[oid].side, int(stops[oid].limit_price * 100)))
            for oid in triggered - done
            if stops[oid].type is OrderType.STOP_LIMIT
        ])
    return reports, resting_limits


@settings(max_examples=300, deadline=None)
@given(COMMANDS)
def test_a_stop_triggers_exactly_once_at_the_first_trade_at_or_through_its_price_and_never_before(commands):
    reports, resting_limits = run(commands)
    accepted: dict[str, int] = {}  # stop id -> where its (first) acceptance stands in the reports
    sides = {}
    for i, report in enumerate(reports):
        command_of = next((c for c in commands if isinstance(c, NewOrder) and c.order_id == report.order_id and c.stop_price is not None), None)
        if command_of is not None and report.exec_type is ExecType.ACCEPTED and report.order_id not in accepted:
            accepted[report.order_id] = i
            sides[report.order_id] = command_of
    trades = []  # (position, trade id, price), each trade once, in execution order
    seen = set()
    for i, report in enumerate(reports):
        if report.exec_type is ExecType.FILL and report.trade_id not in seen:
            seen.add(report.trade_id)
            trades.append((i, report.trade_id, report.price))
    for order_id, start in accepted.items():
        placed = sides[order_id]
        mine = [(i, r) for i, r in enumerate(reports) if r.order_id == order_id and i > start]
        triggers = [(i, r) for i, r in mine if r.exec_type is ExecType.TRIGGERED]
        assert len(triggers) <= 1, f"{order_id} triggered {len(triggers)} times"
        # Until it triggers, a cancel may end it.
        first_trigger = triggers[0][0] if triggers else None
        ended = next(
            (i for i, r in mine if r.exec_type is ExecType.CANCELLED and (first_trigger is None or i < first_trigger)), None
        )
        through = [
            (i, trade_id) for i, trade_id, price in trades
            if i > start and (ended is None or i < ended)
            and (price <= placed.stop_price if placed.side is Side.SELL else price >= placed.stop_price)
        ]
        if not through:
            assert not triggers, f"{order_id} triggered with no trade at or through {placed.stop_price}"
            assert not [r for _, r in mine if r.exec_type is ExecType.FILL], "a stop that never triggered traded"
            continue
        assert triggers, f"{order_id} did not trigger although the market traded through {placed.stop_price}"
        (at, trigger), (first_at, first_trade) = triggers[0], through[0]
        assert trigger.trade_id == first_trade, "triggered by a later trade than the first at or through its price"
        assert at > first_at
        assert all(i > at for i, r in mine if r.exec_type is ExecType.FILL), "filled before its trigger"
    for step in resting_limits:
        for order_id, rests in step:
            assert rests, f"triggered STOP_LIMIT {order_id} does not rest at its limit"


@settings(max_examples=100, deadline=None)
@given(COMMANDS)
def test_stops_are_deterministic_so_a_replay_gives_the_same_reports(commands):
    assert run(commands)[0] == run(commands)[0]


# ---------------------------------------------------------------- OCO


def leg(order_id, group, side=Side.SELL, kind=OrderType.LIMIT, price=None, stop_price=None, account="cai", qty=100):
    return NewOrder(
        order_id, "PETR4", side, kind, TimeInForce.GTC, qty, None if price is None else Decimal(price), None, account,
        None if stop_price is None else Decimal(stop_price), group,
    )


def test_oco_a_take_profit_fill_cancels_the_stop_loss_in_the_same_command():
    core = exchange()
    core.handle(leg("tp", "g1", price="31.60"), T0)  # take-profit above the market
    core.handle(leg("sl", "g1", kind=OrderType.STOP, stop_price="31.30"), T0)  # stop-loss below it
    reports = core.handle(order("b1", Side.BUY, OrderType.LIMIT, "31.60", qty=300, account="buyer"), T0)
    assert of(reports, "tp") == [ExecType.FILL]
    [cancelled] = [r for r in reports if r.order_id == "sl"]
    assert cancelled.exec_type is ExecType.CANCELLED and "OCO" in cancelled.reason
    # The market falling through the stop later triggers nothing.
    core.handle(order("b2", Side.BUY, OrderType.LIMIT, "31.00", qty=500, tif=TimeInForce.GTC, account="buyer"), T0)
    assert of(core.handle(order("m1", Side.SELL, qty=400), T0), "sl") == []


def test_oco_a_stop_loss_trigger_cancels_the_take_profit_and_a_cancel_takes_both():
    core = exchange()
    core.handle(leg("tp", "g1", price="31.60"), T0)
    core.handle(leg("sl", "g1", kind=OrderType.STOP, stop_price="31.38"), T0)
    reports = core.handle(order("m1", Side.SELL), T0)  # trades at 31.38
    assert [(r.order_id, r.exec_type) for r in reports if r.order_id in ("tp", "sl")][:2] == [
        ("sl", ExecType.TRIGGERED), ("tp", ExecType.CANCELLED),
    ]
    assert "tp" not in core.book("PETR4")
    core.handle(leg("tp2", "g2", price="31.60"), T0)
    core.handle(leg("sl2", "g2", kind=OrderType.STOP, stop_price="31.00"), T0)
    cancelled = core.handle(CancelOrder("sl2", "PETR4"), T0)
    assert [(r.order_id, r.exec_type) for r in cancelled] == [("sl2", ExecType.CANCELLED), ("tp2", ExecType.CANCELLED)]


def test_an_oco_group_holds_two_orders_of_one_account_and_is_not_reopened():
    core = exchange()
    core.handle(leg("a", "g", price="31.60"), T0)
    assert core.handle(leg("x", "g", price="31.70", account="someone-else"), T0)[0].exec_type is ExecType.REJECTED
    core.handle(leg("b", "g", kind=OrderType.STOP, stop_price="31.00"), T0)
    assert "two orders" in core.handle(leg("c", "g", price="31.80"), T0)[0].reason
    core.handle(CancelOrder("a", "PETR4"), T0)
    assert "closed" in core.handle(leg("d", "g", price="31.80"), T0)[0].reason


PAIR_IDS = st.integers(min_value=0, max_value=3)


@st.composite
def oco_pair(draw):
    """A take-profit LIMIT and a stop (STOP or STOP_LIMIT) on one side, one group; the
    prices are drawn freely, so some are refused (a stop on the wrong side) or cross."""
    n, side = draw(PAIR_IDS), draw(st.sampled_from(Side))
    kind = draw(st.sampled_from([OrderType.STOP, OrderType.STOP_LIMIT]))
    group = f"g{n}"
    take_profit = NewOrder(f"tp{n}", "PETR4", side, OrderType.LIMIT, TimeInForce.GTC, 100, draw(PRICES), None, "cai", None, group)
    stop_leg = NewOrder(
        f"sl{n}", "PETR4", side, kind, TimeInForce.GTC, 100, draw(PRICES) if kind is OrderType.STOP_LIMIT else None, None,
        "cai", draw(PRICES), group,
    )
    return [take_profit, stop_leg] if draw(st.booleans()) else [stop_leg, take_profit]


OCO_COMMANDS = st.lists(
    st.one_of(
        other_order().map(lambda c: [c]), other_order().map(lambda c: [c]), oco_pair(),
        PRICES.map(lambda p: [ReferencePrice("PETR4", p)]),
    ),
    max_size=30,
).map(lambda chunks: [c for chunk in chunks for c in chunk])


@settings(max_examples=300, deadline=None)
@given(OCO_COMMANDS)
def test_oco_cancels_its_sibling_so_at_most_one_order_of_a_group_executes(commands):
    reports, _ = run(commands)
    groups: dict[str, list[str]] = {}
    for report in reports:
        if report.exec_type is ExecType.ACCEPTED:
            placed = next(c for c in commands if isinstance(c, NewOrder) and c.order_id == report.order_id)
            if placed.oco_group is not None:
                groups.setdefault(placed.oco_group, []).append(report.order_id)
    for legs in groups.values():
        executed = [
            (i, r.order_id) for i, r in enumerate(reports)
            if r.order_id in legs and r.exec_type in (ExecType.FILL, ExecType.TRIGGERED)
        ]
        if not executed:
            continue
        first_at, first = executed[0]
        assert {oid for _, oid in executed} == {first}, f"both orders of an OCO group executed: {legs}"
        for sibling in set(legs) - {first}:
            ends = [i for i, r in enumerate(reports) if r.order_id == sibling and r.exec_type is ExecType.CANCELLED]
            assert ends and ends[0] > first_at or any(
                i < first_at for i in ends
            ), f"{sibling} was not cancelled when {first} executed"
