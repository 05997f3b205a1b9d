"""The income tax through the reports subgraph's schema, as the router asks for it (a User
entity fetch), on the fills the projection records, with the product's fees on."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from mybroker.auth import Caller
from mybroker.calendar import ManualClock
from mybroker.fees import FeeSchedule
from mybroker.graphql import GraphQLContext, format_error
from subgraphs.reports.schema import schema
from subgraphs.reports.tables import fills

REPORT = """query($r: [_Any!]!, $m: String!) { _entities(representations: $r) { ... on User { taxReport(month: $m) {
  month rules categories { category tradeKind sales result exempt exemptGain rate irrf }
  pools { sheet tradeKind categories rate result lossCarriedIn lossUsed lossCarriedOut taxableBase taxDue }
  withholding { sheet withheld carriedIn deducted carriedOut } taxDue irrfDeducted
  darf { code period dueDate tax carriedIn amount carriedToNext } } } } }"""
YEAR = """query($r: [_Any!]!, $y: Int!) { _entities(representations: $r) { ... on User { taxYearSummary(year: $y) {
  year positions { asset { ticker } category quantity averagePrice cost costPreviousYear } months { month darf { amount } } } } } }"""


async def ask(env, query: str, user: str = "u-1", caller: str | None = None, **variables):
    result = await schema.execute(
        query,
        variable_values={"r": [{"__typename": "User", "id": user}], **variables},
        context_value=GraphQLContext(Caller(caller or user), env.service),
    )
    if result.errors:
        return None, [(format_error(e)["extensions"]["code"], e.message) for e in result.errors]
    return result.data["_entities"][0], []


async def trade(env, ticker, side, quantity, price, when: datetime, order_id: str, user: str = "u-1"):
    await env.fill(user, ticker, side, quantity, price, order_id=order_id)
    async with env.db.transaction() as tx:  # conftest's fills happen at 2025-03-10T13:00Z
        await tx.session.execute(update(fills).where(fills.c.order_id == order_id).values(executed_at=when))


def at(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T14:00:00").replace(tzinfo=timezone.utc)


def row(report, **wanted):
    [found] = [item for key in ("categories", "pools") for item in report[key] if all(item.get(k) == v for k, v in wanted.items())]
    return found


async def test_a_day_trade_month_and_a_loss_carried_into_the_next(env):
    env.service.fees = FeeSchedule()  # B3-2025-08, brokerage 0
    # Monday 10/03/2025, a day trade: 100 PETR4 bought at 30.00 and sold at 31.00.
    await trade(env, "PETR4", "BUY", 100, "30.00", at("2025-03-10"), "o-1")
    await trade(env, "PETR4", "SELL", 100, "31.00", at("2025-03-10"), "o-2")
    # April: 1,000 VALE3 bought at 60.00, sold at 59.00 (a swing loss, 59,000 of sales); May:
    # 1,000 bought at 50.00, sold at 53.00 (a swing gain that the loss offsets in part).
    await trade(env, "VALE3", "BUY", 1000, "60.00", at("2025-04-01"), "o-3")
    await trade(env, "VALE3", "SELL", 1000, "59.00", at("2025-04-15"), "o-4")
    await trade(env, "VALE3", "BUY", 1000, "50.00", at("2025-05-05"), "o-5")
    await trade(env, "VALE3", "SELL", 1000, "53.00", at("2025-05-19"), "o-6")
    await trade(env, "VALE3", "BUY", 100, "70.00", at("2025-03-10"), "o-7", user="u-2")  # someone else's

    march, errors = await ask(env, REPORT, m="2025-03")
    assert not errors
    march = march["taxReport"]
    # Costs: buy 3,000.00 -> liquidação 0.825 -> 0.82, emolumentos 0.1098 -> 0.11 (0.93);
    # sell 3,100.00 -> 0.8525 -> 0.85, 0.11346 -> 0.11 (0.96). The day's end gives back 0.46 of
    # liquidação: 6,100.00 day-traded at 0.0200% = 1.22 for 1.6775 -> 1.68 at 0.0275%.
    # Result 3,099.04 - 3,000.93 + 0.46 = 98.57; IRRF 1% = 0.9857 -> 0.99.
    dt = row(march, category="STOCK", tradeKind="DAY_TRADE")
    assert (dt["sales"], dt["result"], dt["exempt"], dt["irrf"]) == ("3100.00", "98.57", False, "0.99")
    assert row(march, sheet="COMMON", tradeKind="DAY_TRADE")["taxDue"] == "19.71"  # 20% of 98.57 = 19.714
    # 19.71 - 0.99 = 18.72, due on B3's last business day of April 2025 (Wednesday 30).
    assert march["darf"] == {"code": "6015", "period": "2025-03", "dueDate": "2025-04-30", "tax": "18.72", "carriedIn": "0.00",
                             "amount": "18.72", "carriedToNext": "0.00"}

    april = (await ask(env, REPORT, m="2025-04"))[0]["taxReport"]
    # Buy 60,000.00: 16.50 + 2.20 = 18.70; sell 59,000.00: 16.225 -> 16.22, 2.1594 -> 2.16 = 18.38.
    # (59,000.00 - 18.38) - 60,018.70 = -1,037.08.
    swing = row(april, sheet="COMMON", tradeKind="SWING_TRADE")
    assert (swing["result"], swing["lossCarriedOut"], swing["taxDue"]) == ("-1037.08", "1037.08", "0.00")
    assert april["withholding"][0] == {"sheet": "COMMON", "withheld": "2.95", "carriedIn": "0.00", "deducted": "0.00", "carriedOut": "2.95"}

    may = (await ask(env, REPORT, m="2025-05"))[0]["taxReport"]
    # Buy 50,000.00: 13.75 + 1.83 = 15.58; sell 53,000.00: 14.575 -> 14.58, 1.9398 -> 1.94 = 16.52.
    # (53,000.00 - 16.52) - 50,015.58 = 2,967.90; less April's 1,037.08 = 1,930.82 at 15% = 289.623 -> 289.62.
    swing = row(may, sheet="COMMON", tradeKind="SWING_TRADE")
    assert (swing["result"], swing["lossUsed"], swing["taxableBase"], swing["taxDue"]) == ("2967.90", "1037.08", "1930.82", "289.62")
    # IRRF: April's 2.95 and May's 53,000 x 0.005% = 2.65: 289.62 - 5.60 = 284.02, due 30/06/2025.
    assert (may["irrfDeducted"], may["darf"]["amount"], may["darf"]["dueDate"]) == ("5.60", "284.02", "2025-06-30")


async def test_the_year_summary_lists_positions_at_cost_on_31_december(env):
    await trade(env, "PETR4", "BUY", 100, "30.00", at("2024-12-02"), "o-1")
    await trade(env, "HGLG11", "BUY", 10, "160.00", at("2025-02-03"), "o-2")
    found, errors = await ask(env, YEAR, y=2025)
    assert not errors
    summary = found["taxYearSummary"]
    assert summary["positions"] == [
        {"asset": {"ticker": "HGLG11"}, "category": "FII", "quantity": 10, "averagePrice": "160.00", "cost": "1600.00", "costPreviousYear": "0.00"},
        {"asset": {"ticker": "PETR4"}, "category": "STOCK", "quantity": 100, "averagePrice": "30.00", "cost": "3000.00", "costPreviousYear": "3000.00"},
    ]
    assert [m["month"] for m in summary["months"]] == [f"2025-{n:02d}" for n in range(1, 13)]


@pytest.mark.parametrize(
    ("month", "says"),
    [("2025-3", "AAAA-MM"), ("2025-13", "AAAA-MM"), ("março", "AAAA-MM"), ("2025-03-01", "AAAA-MM"), ("2999-01", "ainda não começou"),
     ("1999-01", "calendário")],
)
async def test_a_malformed_or_future_month_is_bad_user_input(env, month, says):
    found, errors = await ask(env, REPORT, m=month)
    assert found is None and len(errors) == 1
    code, message = errors[0]
    assert code == "BAD_USER_INPUT" and says in message


async def test_a_month_starts_with_its_first_trading_day_on_the_shared_clock(env):
    # Monday 31/03/2025, 17:00 in Brasília: still March's trading day, April has not started.
    clock = ManualClock(datetime(2025, 3, 31, 20, 0, tzinfo=timezone.utc))
    env.service.clock = clock.now
    _, errors = await ask(env, REPORT, m="2025-04")
    assert [code for code, _ in errors] == ["BAD_USER_INPUT"]
    # Past 18:00 the trading day rolls to Tuesday 01/04: trades now count for April.
    clock.advance(timedelta(hours=2))
    found, errors = await ask(env, REPORT, m="2025-04")
    assert not errors and found["taxReport"]["month"] == "2025-04"
    _, errors = await ask(env, YEAR, y=2026)
    assert [code for code, _ in errors] == ["BAD_USER_INPUT"]


async def test_a_future_year_is_bad_user_input(env):
    _, errors = await ask(env, YEAR, y=2999)
    assert [code for code, _ in errors] == ["BAD_USER_INPUT"]


async def test_another_traders_tax_is_forbidden(env):
    await env.fill("u-1", "PETR4", "BUY", 100, "30.00", order_id="o-1")
    _, errors = await ask(env, REPORT, user="u-1", caller="u-2", m="2025-03")
    assert [code for code, _ in errors] == ["FORBIDDEN"]
    _, errors = await ask(env, YEAR, user="u-1", caller="u-2", y=2025)
    assert [code for code, _ in errors] == ["FORBIDDEN"]


def test_the_tax_part_of_the_contract_is_served_exactly():
    from graphql import GraphQLEnumType

    from tests.contract.test_contract import additions_schema

    contract, served = additions_schema(), schema._schema

    def shape(graphql_type):
        if isinstance(graphql_type, GraphQLEnumType):
            return sorted(graphql_type.values)
        return {name: (str(f.type), {a: str(arg.type) for a, arg in f.args.items()}) for name, f in graphql_type.fields.items()}

    names = ("TaxReport", "TaxCategoryResult", "TaxLossPool", "TaxWithholding", "Darf", "TaxYearSummary", "TaxYearPosition",
             "TradeKind", "TaxSheet", "AssetType")
    for name in names:
        assert shape(served.get_type(name)) == shape(contract.get_type(name)), name
    user = {k: v for k, v in shape(served.get_type("User")).items() if k.startswith("tax")}
    assert user == {k: v for k, v in shape(contract.get_type("User")).items() if k.startswith("tax")} and len(user) == 2
