"""The exchange under random commands across session phases (Hypothesis): it is
deterministic (the same commands give the same reports, which replay relies on), a book
is never left crossed while the market is OPEN, and every broker order's reports add up."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from b3sim.book import OrderType, SelfTrade, Side, TimeInForce
from b3sim.exchange import CancelOrder, Exchange, NewOrder, ReferencePrice, ReplaceOrder, Rules, SessionPhase
from b3sim.market_maker import MakerPolicy
from b3sim.session import Phase
from mybroker.catalog import CatalogEntry

CATALOG = (CatalogEntry("PETR4", "Petrobras PN", "STOCK", 100, Decimal("31.40")),)
POLICY = MakerPolicy(depth=2, half_spread_bps=5, step_bps=5, lots_per_level=2)
T0 = datetime(2026, 11, 24, 13, 0, tzinfo=timezone.utc)
PRICES = st.integers(min_value=3100, max_value=3180).map(lambda ticks: Decimal(ticks) / 100)
ORDER_IDS = st.integers(min_value=0, max_value=30).map(lambda i: f"o{i}")


@st.composite
def new_order(draw):
    ticker = draw(st.sampled_from(["PETR4", "PETR4F"]))
    quantity = draw(st.integers(1, 3)) * 100 if ticker == "PETR4" else draw(st.integers(1, 99))
    kind = draw(st.sampled_from(OrderType))
    return NewOrder(
        draw(ORDER_IDS),
        ticker,
        draw(st.sampled_from(Side)),
        kind,
        draw(st.sampled_from(TimeInForce)),
        quantity,
        draw(PRICES) if kind is OrderType.LIMIT else None,
        draw(PRICES) if kind is OrderType.MARKET else None,
        draw(st.sampled_from([None, "ana", "bia"])),
    )


commands = st.lists(
    st.one_of(
        new_order(),
        new_order(),
        ORDER_IDS.map(lambda i: CancelOrder(i, "PETR4")),
        st.builds(ReplaceOrder, ORDER_IDS, st.just("PETR4"), st.none() | st.integers(1, 300), st.none() | PRICES),
        PRICES.map(lambda price: ReferencePrice("PETR4", price)),
        st.sampled_from(Phase).map(SessionPhase),
    ),
    max_size=60,
)


def run(sequence, mode: SelfTrade):
    exchange = Exchange(CATALOG, POLICY, session="p", rules=Rules(Decimal("2"), mode))
    exchange.handle(ReferencePrice("PETR4", Decimal("31.40")), T0)
    out = []
    for step, command in enumerate(sequence):
        reports = exchange.handle(command, T0 + timedelta(seconds=step))
        out.append(reports)
        if exchange.phase is Phase.OPEN:
            assert not exchange.book("PETR4").crossed() and not exchange.book("PETR4F").crossed()
    return exchange, out


@settings(max_examples=200, deadline=None)
@given(commands, st.sampled_from(SelfTrade))
def test_the_exchange_is_deterministic_and_its_reports_add_up(sequence, mode):
    exchange, first = run(sequence, mode)
    _again, second = run(sequence, mode)
    assert first == second

    quantity: dict[str, int] = {}
    for command in sequence:
        if isinstance(command, NewOrder):
            quantity.setdefault(command.order_id, command.quantity)
    filled: dict[str, int] = {}
    for reports in first:
        for report in reports:
            order_id = report.order_id
            if report.exec_type == "FILL":
                filled[order_id] = filled.get(order_id, 0) + report.quantity
                assert report.cumulative_quantity == filled[order_id]
            if report.exec_type == "REPLACED":
                quantity[order_id] = report.quantity
            if report.exec_type in ("FILL", "REPLACED", "ACCEPTED"):
                # What is left plus what traded is the order's current total.
                assert report.leaves_quantity + report.cumulative_quantity == quantity[order_id]
    for order_id, total in quantity.items():
        resting = exchange.book("PETR4").remaining(order_id) or exchange.book("PETR4F").remaining(order_id) or 0
        assert filled.get(order_id, 0) + resting <= total
