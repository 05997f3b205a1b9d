"""D+2 through the router, on the embedded default and on the real engines: a bought
position's cash is to settle on its settlement day, the sale proceeds can buy at once but
not leave, and a withdrawal above the settled cash is refused with UNSETTLED_FUNDS."""
from __future__ import annotations

from decimal import Decimal

import pytest

from mybroker.calendar import b3_calendar
from mybroker.events import utcnow
from tests.conftest import GraphQLError
from tests.e2e.test_trader_story import DEPOSIT, PLACE, QUOTE, WITHDRAW, sign_up, until_status

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

CASH = """{ me { wallet { available blocked settled buyingPower withdrawable
    toSettle { date amount balance }
    transactions(first: 20) { type amount orderId ticker quantity price settlesOn } } } }"""


def settlement_days() -> set[str]:
    """The settlement day of a trade now (both sides of a trading-day roll, should the test
    straddle one)."""
    calendar = b3_calendar()
    return {calendar.settlement_date(calendar.trading_day(utcnow())).isoformat()}


async def test_a_sales_cash_buys_at_once_but_leaves_only_once_settled(new_client):
    trader = new_client()
    await sign_up(trader, "settler")
    await trader.execute(DEPOSIT, {"amount": "20000.00"})
    await trader.until(QUOTE, {"t": "PETR4"}, lambda d: d["asset"]["quote"] is not None)  # a MARKET order needs a price
    days = settlement_days()
    order = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "BUY", "type": "MARKET", "quantity": 100}}))["placeOrder"]
    await until_status(trader, order["id"], "FILLED")
    sold = (await trader.execute(PLACE, {"input": {"ticker": "PETR4", "side": "SELL", "type": "MARKET", "quantity": 100}}))["placeOrder"]
    await until_status(trader, sold["id"], "FILLED")
    days |= settlement_days()

    cash = (await trader.execute(CASH))["me"]["wallet"]
    assert Decimal(cash["buyingPower"]) == Decimal(cash["available"])
    [pending] = cash["toSettle"]
    assert pending["date"] in days
    total = Decimal(cash["available"]) + Decimal(cash["blocked"])
    assert Decimal(cash["settled"]) + Decimal(pending["amount"]) == total == Decimal(pending["balance"])
    assert Decimal(cash["settled"]) == Decimal("20000.00"), "nothing settled yet: the deposit is all that is"
    assert Decimal(cash["withdrawable"]) < Decimal(cash["available"]), "the sale's proceeds cannot leave yet"

    bought = [line for line in cash["transactions"] if line["type"] == "BUY" and line["orderId"] == order["id"]]
    assert bought and all(line["ticker"] == "PETR4" and line["settlesOn"] == pending["date"] for line in bought)
    assert sum(line["quantity"] for line in bought) == 100
    assert all(Decimal(line["amount"]) == -Decimal(line["price"]) * line["quantity"] for line in bought)
    [deposit] = [line for line in cash["transactions"] if line["type"] == "DEPOSIT"]
    assert (deposit["ticker"], deposit["settlesOn"]) == (None, None)

    with pytest.raises(GraphQLError) as refused:
        await trader.execute(WITHDRAW, {"amount": cash["available"]})
    [error] = refused.value.args[0]
    assert error["extensions"]["code"] == "UNSETTLED_FUNDS"
    assert "settle" in error["message"]
    after = (await trader.execute(WITHDRAW, {"amount": cash["withdrawable"]}))["withdraw"]
    assert Decimal(after["available"]) == Decimal(cash["available"]) - Decimal(cash["withdrawable"])
