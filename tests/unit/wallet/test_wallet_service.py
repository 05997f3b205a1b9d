"""The wallet's use cases on a temporary SQLite database: cash, reservations, the outbox."""
from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from mybroker.auth import ANONYMOUS, Caller
from mybroker.errors import DomainError, ErrorCode
from mybroker.events import WALLET_EVENTS, WALLET_TRANSACTION, parse_iso
from subgraphs.wallet.tables import outbox, reservations, wallet_transactions, wallets

D = Decimal
ANA, BOB = "user-ana", "user-bob"


async def expect(code: ErrorCode, call) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await call
    assert caught.value.code is code, caught.value
    return caught.value


async def count(db, table) -> int:
    async with db.read() as session:
        return (await session.execute(select(func.count()).select_from(table))).scalar_one()


async def balances(wallet, user_id=ANA) -> tuple[Decimal, Decimal]:
    state = await wallet.service.wallet(Caller(user_id), user_id)
    return state.available, state.blocked


async def ledger(wallet, user_id=ANA, first=100) -> list[tuple[str, Decimal, str | None]]:
    return [(e.type.value, e.amount, e.order_id) for e in await wallet.service.transactions(Caller(user_id), user_id, first)]


async def test_a_wallet_is_created_on_first_look(wallet):
    first = await wallet.service.wallet(Caller(ANA), ANA)
    assert (first.currency, first.available, first.blocked) == ("BRL", D("0.00"), D("0.00"))
    again = await wallet.service.wallet(Caller(ANA), ANA)
    assert again.id == first.id and await count(wallet.db, wallets) == 1
    assert await wallet.service.positions(Caller(ANA), ANA) == []
    assert await wallet.service.transactions(Caller(ANA), ANA) == []


async def test_deposits_and_withdrawals_are_ledgered_newest_first(wallet):
    await wallet.deposit(ANA, "1500.50")
    after = await wallet.service.withdraw(Caller(ANA), D("500.25"))
    assert (after.available, after.blocked) == (D("1000.25"), D("0.00"))
    assert await ledger(wallet) == [("WITHDRAWAL", D("-500.25"), None), ("DEPOSIT", D("1500.50"), None)]
    assert await ledger(wallet, first=1) == [("WITHDRAWAL", D("-500.25"), None)]
    assert await ledger(wallet, first=0) == []


async def test_each_ledger_entry_is_announced_through_the_outbox(wallet):
    await wallet.deposit(ANA, "100.00")
    await wallet.service.withdraw(Caller(ANA), D("40.00"))
    messages = await wallet.outbox_messages()
    assert [(channel, key) for channel, key, _ in messages] == [(WALLET_EVENTS, ANA)] * 2
    entries = await wallet.service.transactions(Caller(ANA), ANA)
    envelope = messages[0][2]
    assert envelope["type"] == WALLET_TRANSACTION and envelope["version"] == 1
    data = envelope["data"]
    assert data == {
        "transactionId": entries[1].id,
        "userId": ANA,
        "type": "DEPOSIT",
        "amount": "100.00",
        "orderId": None,
        "createdAt": data["createdAt"],
    }
    assert data["createdAt"].endswith("Z") and parse_iso(data["createdAt"]) == entries[1].created_at.replace(
        microsecond=entries[1].created_at.microsecond // 1000 * 1000
    )
    assert messages[1][2]["data"]["amount"] == "-40.00"


async def test_a_refused_withdrawal_changes_nothing(wallet):
    await wallet.deposit(ANA, "100.00")
    await expect(ErrorCode.INSUFFICIENT_FUNDS, wallet.service.withdraw(Caller(ANA), D("100.01")))
    await expect(ErrorCode.BAD_USER_INPUT, wallet.service.withdraw(Caller(ANA), D("0")))
    await expect(ErrorCode.BAD_USER_INPUT, wallet.service.deposit(Caller(ANA), D("10000000.01")))
    assert await balances(wallet) == (D("100.00"), D("0.00"))
    assert await count(wallet.db, wallet_transactions) == 1 and await count(wallet.db, outbox) == 1


async def test_only_the_owner_sees_or_moves_a_wallet(wallet):
    await wallet.deposit(ANA, "100.00")
    for call in (wallet.service.wallet, wallet.service.positions, wallet.service.transactions):
        await expect(ErrorCode.FORBIDDEN, call(Caller(BOB), ANA))
        await expect(ErrorCode.UNAUTHENTICATED, call(ANONYMOUS, ANA))
    await expect(ErrorCode.UNAUTHENTICATED, wallet.service.deposit(ANONYMOUS, D("1.00")))
    await expect(ErrorCode.UNAUTHENTICATED, wallet.service.withdraw(ANONYMOUS, D("1.00")))
    await expect(ErrorCode.BAD_USER_INPUT, wallet.service.transactions(Caller(ANA), ANA, -1))


# ---------------------------------------------------------------- reservations


async def test_a_buy_reservation_blocks_cash_once_per_order(wallet):
    await wallet.deposit(ANA, "5000.00")
    first = await wallet.service.reserve("o1", ANA, "BUY", "petr4", 100, D("31.40"))
    again = await wallet.service.reserve("o1", ANA, "BUY", "PETR4", 100, D("31.40"))
    assert first.amount == again.amount == D("3140.00") and first.ticker == "PETR4"
    assert await balances(wallet) == (D("1860.00"), D("3140.00"))
    assert await ledger(wallet) == [("RESERVE", D("-3140.00"), "o1"), ("DEPOSIT", D("5000.00"), None)]
    await expect(ErrorCode.BAD_USER_INPUT, wallet.service.reserve("o1", ANA, "BUY", "PETR4", 200, D("31.40")))
    await expect(ErrorCode.BAD_USER_INPUT, wallet.service.reserve("o1", BOB, "BUY", "PETR4", 100, D("31.40")))
    assert await count(wallet.db, reservations) == 1


async def test_refused_reservations_change_nothing(wallet):
    await wallet.deposit(ANA, "100.00")
    await expect(ErrorCode.INSUFFICIENT_FUNDS, wallet.service.reserve("o1", ANA, "BUY", "PETR4", 100, D("1.01")))
    await expect(ErrorCode.INSUFFICIENT_POSITION, wallet.service.reserve("o2", ANA, "SELL", "PETR4", 100, None))
    await expect(ErrorCode.BAD_USER_INPUT, wallet.service.reserve("o3", ANA, "HOLD", "PETR4", 100, D("1.00")))
    await expect(ErrorCode.BAD_USER_INPUT, wallet.service.reserve("o4", ANA, "BUY", "PETR4", 0, D("1.00")))
    await expect(ErrorCode.BAD_USER_INPUT, wallet.service.reserve("o5", ANA, "BUY", "PETR4", 10, None))
    assert await balances(wallet) == (D("100.00"), D("0.00"))
    assert await count(wallet.db, reservations) == 0 and await count(wallet.db, wallet_transactions) == 1


async def test_concurrent_buy_reservations_never_overspend(wallet):
    await wallet.deposit(ANA, "1000.00")  # room for exactly 7 orders of R$ 140.00
    results = await asyncio.gather(
        *(wallet.service.reserve(f"o{i}", ANA, "BUY", "PETR4", 10, D("14.00")) for i in range(20)), return_exceptions=True
    )
    accepted = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(accepted) == 7
    assert all(isinstance(e, DomainError) and e.code is ErrorCode.INSUFFICIENT_FUNDS for e in refused)
    assert await balances(wallet) == (D("20.00"), D("980.00"))
    assert await count(wallet.db, reservations) == 7


async def test_concurrent_sell_reservations_never_oversell(wallet):
    await wallet.own_shares(ANA, 1000, "30.00")
    results = await asyncio.gather(
        *(wallet.service.reserve(f"s{i}", ANA, "SELL", "PETR4", 300, None) for i in range(20)), return_exceptions=True
    )
    assert sum(not isinstance(r, Exception) for r in results) == 3
    assert all(e.code is ErrorCode.INSUFFICIENT_POSITION for e in results if isinstance(e, Exception))
    (position,) = await wallet.service.positions(Caller(ANA), ANA)
    assert (position.quantity, position.blocked_quantity) == (1000, 900)


async def test_cancelling_a_reservation_frees_it_once(wallet):
    await wallet.deposit(ANA, "1000.00")
    await wallet.service.reserve("o1", ANA, "BUY", "PETR4", 10, D("50.00"))
    released = await wallet.service.cancel_reservation("o1")
    assert released is not None and not released.is_open
    assert await wallet.service.cancel_reservation("o1") is not None
    assert await wallet.service.cancel_reservation("never-reserved") is None
    assert await balances(wallet) == (D("1000.00"), D("0.00"))
    assert [t for t, _, _ in await ledger(wallet)] == ["RELEASE", "RESERVE", "DEPOSIT"]


async def test_cancelling_a_sell_reservation_unblocks_its_shares(wallet):
    await wallet.own_shares(ANA, 200, "30.00")
    await wallet.service.reserve("s1", ANA, "SELL", "PETR4", 150, None)
    await wallet.service.cancel_reservation("s1")
    (position,) = await wallet.service.positions(Caller(ANA), ANA)
    assert (position.quantity, position.blocked_quantity) == (200, 0)

