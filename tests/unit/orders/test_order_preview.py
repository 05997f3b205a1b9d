"""orderPreview through the orders schema: value, each cost, total, what the wallet will
reserve and the settlement date, with placeOrder's errors, and equal to what the wallet's
reservation blocks for the same ticket."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from mybroker.auth import ANONYMOUS, Caller
from mybroker.calendar import B3Calendar
from mybroker.fees import B3_2025, BrokeragePlan, FeeSchedule
from mybroker.graphql import GraphQLContext, format_error
from subgraphs.orders.schema import build_schema
from subgraphs.wallet.domain import Position, Side, Wallet

D = Decimal
PREVIEW = """query($input: PlaceOrderInput!) { orderPreview(input: $input) {
  pricePerShare value emolumentos liquidacao brokerage iss fees total reserved settlementDate } }"""
schema = build_schema()
# Friday 2025-11-14, 14:00 in Brasília: D+2 skips the weekend and Thursday 20 November
# (Consciência Negra) is after it: Tuesday 18 November.
FRIDAY = datetime(2025, 11, 14, 17, 0, tzinfo=timezone.utc)
ALICE = Caller("alice")
PLAN = FeeSchedule(B3_2025, BrokeragePlan("flat", D("4.90"), D("0.05")))


async def preview(service, variables, caller=ALICE):
    result = await schema.execute(PREVIEW, variable_values=variables, context_value=GraphQLContext(caller, service))
    if result.errors:
        return None, [format_error(e)["extensions"]["code"] for e in result.errors]
    return result.data["orderPreview"], []


def ticket(**changes) -> dict:
    return {"input": {"ticker": "PETR4", "side": "BUY", "type": "LIMIT", "quantity": 100, "limitPrice": "31.45", **changes}}


async def test_a_limit_buy_previews_its_costs_reservation_and_settlement(service):
    service.fees, service.clock, service.calendar = PLAN, lambda: FRIDAY, B3Calendar()
    answer, errors = await preview(service, ticket())
    assert not errors
    # 3,145.00: emolumentos 0.115107 -> 0.12, liquidação 0.864875 -> 0.86, brokerage 4.90, ISS 0.245 -> 0.24.
    assert answer == {
        "pricePerShare": "31.45", "value": "3145.00", "emolumentos": "0.12", "liquidacao": "0.86",
        "brokerage": "4.90", "iss": "0.24", "fees": "6.12", "total": "3151.12", "reserved": "3151.12",
        "settlementDate": "2025-11-18",
    }


async def test_the_preview_reserves_what_the_wallet_blocks(service):
    """The same ticket through the wallet's reservation: the same amount, to the centavo."""
    service.fees = PLAN
    for side, kind, extra in (("BUY", "MARKET", {}), ("BUY", "LIMIT", {"limitPrice": "30.07"}), ("SELL", "MARKET", {})):
        answer, _ = await preview(service, {"input": {"ticker": "PETR4", "side": side, "type": kind, "quantity": 300, **extra}})
        wallet, position = Wallet("w", "alice", available=D("100000.00")), Position("PETR4", quantity=300)
        held = wallet.reserve("o", Side(side), "PETR4", 300, D(answer["pricePerShare"]), position, PLAN)
        assert D(answer["reserved"]) == held.amount, (side, kind)


async def test_a_sale_totals_its_proceeds_less_its_costs(service):
    service.fees = FeeSchedule()
    answer, _ = await preview(service, ticket(side="SELL"))
    assert (answer["value"], answer["fees"], answer["total"], answer["reserved"]) == ("3145.00", "0.98", "3144.02", "0.00")


async def test_a_market_buy_previews_at_its_protection_price(service):
    service.fees = FeeSchedule()
    answer, _ = await preview(service, {"input": {"ticker": "PETR4", "side": "BUY", "type": "MARKET", "quantity": 100}})
    assert answer["pricePerShare"] == "33.01"  # 31.43 + 5%, rounded up


async def test_a_preview_has_placeorders_errors_and_needs_a_token(service):
    assert (await preview(service, ticket(quantity=150)))[1] == ["BAD_USER_INPUT"]  # not a lot
    assert (await preview(service, ticket(ticker="NOPE3")))[1] == ["UNKNOWN_ASSET"]
    assert (await preview(service, ticket(type="MARKET", ticker="NEWB3", limitPrice=None)))[1] == ["BAD_USER_INPUT"]
    assert (await preview(service, ticket(), caller=ANONYMOUS))[1] == ["UNAUTHENTICATED"]


async def test_a_preview_reserves_nothing(harness):
    harness.service.fees = FeeSchedule()
    await preview(harness.service, ticket())
    assert harness.wallet.reserve_calls == 0 and await harness.outbox() == []
