"""The costs of a trade (mybroker/fees.py): B3's dated table, each fee to the centavo, an
order's fills paying the fees of its total, and what a BUY must reserve."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from mybroker.fees import (
    B3_2025,
    B3_FEE_TABLES,
    B3_LEGACY,
    NO_FEES,
    BrokeragePlan,
    Costs,
    FeeKind,
    FeeSchedule,
    b3_fee_table,
    day_trade_adjustment,
)
from mybroker.settings import Settings

D = Decimal
values = st.decimals(min_value=D("0.01"), max_value=D("5000000.00"), places=2)


def test_the_table_is_versioned_dated_and_sourced():
    assert [t.effective_from for t in B3_FEE_TABLES] == sorted(t.effective_from for t in B3_FEE_TABLES)
    assert all(t.version and t.source for t in B3_FEE_TABLES)
    assert b3_fee_table(date(2025, 7, 31)) is B3_LEGACY and b3_fee_table(date(2025, 8, 1)) is B3_2025
    # B3's page: 0.003660% + 0.0275% for investors in general; day trade 0.003660% + 0.0200%.
    assert B3_2025.rates(day_trade=False) == (D("0.00003660"), D("0.000275"))
    assert B3_2025.rates(day_trade=True) == (D("0.00003660"), D("0.000200"))
    assert B3_LEGACY.rates(day_trade=False) == (D("0.00005"), D("0.00025"))


def test_a_known_trade_item_by_item():
    """100 PETR4 at 31.45 = 3,145.00, by hand: 3145 x 0.0000366 = 0.115107 -> 0.12;
    3145 x 0.000275 = 0.864875 -> 0.86; brokerage 4.90 and ISS 5% of it, 0.245 -> 0.24."""
    fees = FeeSchedule(B3_2025, BrokeragePlan("flat", D("4.90"), D("0.05")))
    costs = fees.order_costs(D("3145.00"))
    assert costs == Costs(D("0.12"), D("0.86"), D("4.90"), D("0.24"))
    assert costs.total == D("6.12")
    assert costs.items() == (
        (FeeKind.EMOLUMENTOS, D("0.12")), (FeeKind.LIQUIDACAO, D("0.86")), (FeeKind.CORRETAGEM, D("4.90")), (FeeKind.ISS, D("0.24"))
    )


def test_day_trades_pay_the_lower_settlement_fee_and_the_adjustment_is_the_difference():
    fees = FeeSchedule()
    assert fees.b3_fees(D("10000.00"), day_trade=True) == (D("0.37"), D("2.00"))
    assert fees.b3_fees(D("10000.00")) == (D("0.37"), D("2.75"))
    assert day_trade_adjustment(fees, D("10000.00")) == Costs(D("0.00"), D("-0.75"))


def test_no_fees_and_the_default_plan_charge_what_they_say():
    assert NO_FEES.order_costs(D("1000000.00")) == Costs()
    default = Settings().fee_schedule()
    assert default.enabled and default.plan.per_order == 0 and default.plan.iss_rate == D("0.05")
    assert default.order_costs(D("3000.00")).brokerage == 0
    assert Settings(fees=False).fee_schedule() is NO_FEES


def test_the_settings_read_the_plan():
    settings = Settings.from_env(env={"MYBROKER_BROKERAGE_PER_ORDER": "2.50", "MYBROKER_ISS_RATE": "0.02"})
    assert settings.fee_schedule().brokerage() == (D("2.50"), D("0.05"))
    assert Settings.from_env(env={"MYBROKER_FEES": "off"}).fee_schedule() is NO_FEES


@given(fills=st.lists(values, min_size=1, max_size=30))
def test_an_orders_fills_pay_exactly_the_fees_of_its_total(fills):
    fees = FeeSchedule(B3_2025, BrokeragePlan("flat", D("2.49"), D("0.05")))
    traded, paid = D("0"), Costs()
    for value in fills:
        cost = fees.fill_costs(traded, value)
        assert min(cost.emolumentos, cost.liquidacao, cost.brokerage, cost.iss) >= 0
        paid = Costs(*(a + b for a, b in zip(
            (paid.emolumentos, paid.liquidacao, paid.brokerage, paid.iss),
            (cost.emolumentos, cost.liquidacao, cost.brokerage, cost.iss),
        )))
        traded += value
    assert paid == fees.order_costs(traded)


@given(reserved=values, filled=st.lists(st.tuples(st.integers(1, 50), st.integers(0, 100)), min_size=1, max_size=10))
def test_what_a_buy_keeps_blocked_covers_every_later_fill(reserved, filled):
    """After any fills at or under the reserved price, the costs still to pay for the rest
    never exceed what the reservation kept for them (fees grow with the value)."""
    fees = FeeSchedule()
    open_value, traded = reserved, D("0")
    for share, discount in filled:
        value = min(open_value, (reserved * share / 100).quantize(D("0.01")))
        executed = (value * (100 - discount) / 100).quantize(D("0.01"))  # at or under the cap
        kept = fees.still_to_pay(traded, open_value)
        cost = fees.fill_costs(traded, executed).total
        traded += executed
        open_value -= value
        assert cost + fees.still_to_pay(traded, open_value) <= kept
