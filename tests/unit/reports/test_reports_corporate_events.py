"""The portfolio follows the corporate events the wallet applies (CorporateEventApplied on
wallet-events-v1): splits re-weight the holding as the wallet's position, a reverse split's
fraction is realised, dividends and JCP are income received, each once."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from mybroker.auth import Caller
from mybroker.cost_basis import Basis
from mybroker.events import WALLET_EVENTS, Envelope
from mybroker.wire import CorporateEventApplied
from subgraphs.reports.domain import apply_split

D = Decimal
AT = datetime(2026, 12, 29, 13, 0, tzinfo=timezone.utc)


def applied(user: str, event_id: str, ticker: str, kind: str, entitled: int, *, gross="0", withheld="0", fraction="0",
            ratio: tuple[int, int] | None = None) -> Envelope:
    return CorporateEventApplied(
        event_id, user, ticker, kind, date(2026, 12, 15), date(2026, 12, 29), entitled, D(gross), D(withheld), D(fraction), AT,
        *(ratio or (None, None)),
    ).envelope()


async def publish(env, message: Envelope) -> None:
    await env.bus.publish(WALLET_EVENTS, message, key=message.data["userId"])
    await env.bus.drain()


def test_a_split_of_a_holding_is_the_wallets_rule_and_a_fraction_is_realised():
    assert apply_split(Basis(100, D("22.310000")), 100, 2, 1) == Basis(200, D("11.155000"))
    # 25 at 15.80 grouped 1:10: 2 at 158.00; the half share cost 79.00 and paid 80.00.
    assert apply_split(Basis(25, D("15.800000")), 25, 1, 10, D("80.00")) == Basis(2, D("158.000000"), D("1.00"))
    assert apply_split(Basis(-100, D("20")), 100, 2, 1) == Basis(-100, D("20")), "a short projection is left as it is"


async def test_the_portfolio_follows_a_split_and_lists_the_income_received_once(env):
    await env.fill("u-1", "BBAS3", "BUY", 100, "22.30")
    await env.fill("u-1", "PETR4", "BUY", 100, "30.00", order_id="o-2")
    split = applied("u-1", "split", "BBAS3", "SPLIT", 100, ratio=(2, 1))
    jcp = applied("u-1", "jcp", "PETR4", "JCP", 100, gross="20.00", withheld="3.50")
    for message in (split, jcp, split, jcp):  # redelivered: counted once
        await publish(env, message)
    await publish(env, applied("u-1", "jcp", "PETR4", "JCP", 100, gross="20.00", withheld="3.50"))  # a new envelope, same event

    portfolio = await env.service.portfolio(Caller("u-1"), "u-1")
    positions = {p.ticker: p for p in portfolio.positions}
    assert (positions["BBAS3"].quantity, positions["BBAS3"].average_price, positions["BBAS3"].cost_basis) == (200, D("11.150000"), D("2230.00"))
    assert positions["PETR4"].income_received == D("16.50")
    assert portfolio.income_received == D("16.50")
    [payment] = portfolio.income
    assert (payment.event_id, payment.kind, payment.quantity, payment.gross, payment.withheld, payment.net) == (
        "jcp", "JCP", 100, D("20.00"), D("3.50"), D("16.50"),
    )
    other = await env.service.portfolio(Caller("u-2"), "u-2")
    assert other.income == () and other.positions == ()


async def test_other_wallet_lines_leave_the_portfolio_alone(env):
    await env.fill("u-1", "PETR4", "BUY", 100, "30.00")
    line = Envelope("WalletTransaction", {"transactionId": "t", "userId": "u-1", "type": "DEPOSIT", "amount": "10.00",
                                          "orderId": None, "createdAt": "2026-12-29T13:00:00.000Z"})
    await publish(env, line)
    portfolio = await env.service.portfolio(Caller("u-1"), "u-1")
    assert (portfolio.positions[0].quantity, portfolio.income) == (100, ())


async def test_the_tax_years_positions_follow_a_split(env):
    await env.fill("u-1", "BBAS3", "BUY", 100, "22.30")  # in 2025 (the helper's date)
    await publish(env, applied("u-1", "split", "BBAS3", "SPLIT", 100, ratio=(2, 1)))  # ex-date 2026-12-29
    positions, _months = await env.service.tax_year(Caller("u-1"), "u-1", 2026)
    [line] = positions
    assert (line.ticker, line.quantity, line.cost, line.cost_previous_year) == ("BBAS3", 200, D("2230.00"), D("2230.00"))
