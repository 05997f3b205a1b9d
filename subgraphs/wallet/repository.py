"""Loads and saves the wallet's domain objects inside one unit of work, and turns new ledger
entries into ledger rows plus `WalletTransaction` messages in the outbox (same commit).

Lock order, everywhere: the wallet row first, then its reservation and position rows, so
two transactions on one wallet queue behind each other instead of deadlocking."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError

from mybroker.db import Transaction
from mybroker.events import WALLET_EVENTS
from subgraphs.wallet.domain import ZERO, Position, Reservation, ReservationStatus, Side, TransactionType, Wallet
from subgraphs.wallet.tables import positions, reservations, settled_fills, wallet_transactions, wallets
from subgraphs.wallet.wire import transaction_message


@dataclass(frozen=True)
class PostedEntry:
    """A ledger entry as stored: what `Wallet.transactions` lists."""

    id: str
    type: TransactionType
    amount: Decimal
    order_id: str | None
    created_at: datetime


class WalletStore:
    def __init__(self, tx: Transaction, now: datetime):
        self.tx = tx
        self.session = tx.session
        self.now = now

    # ------------------------------------------------------------ wallets

    async def wallet_for_update(self, user_id: str) -> Wallet:
        """The user's wallet, locked; created on first use."""
        wallet = await self._locked_wallet(user_id)
        if wallet is not None:
            return wallet
        values = dict(
            id=str(uuid.uuid4()), user_id=user_id, currency="BRL", available=ZERO, blocked=ZERO, created_at=self.now, updated_at=self.now
        )
        if self.session.bind.dialect.name in ("mysql", "mariadb"):
            # InnoDB answers a duplicate key with a *shared* lock on the row, kept after the
            # error: two losers of a creation race would then deadlock on FOR UPDATE below.
            # ON DUPLICATE KEY UPDATE (a no-op here) takes the exclusive lock, so they queue.
            await self.session.execute(mysql.insert(wallets).values(**values).on_duplicate_key_update(user_id=user_id))
        else:
            try:
                # A savepoint, so a concurrent creation (unique user_id) leaves our transaction usable.
                async with self.session.begin_nested():
                    await self.session.execute(insert(wallets).values(**values))
            except IntegrityError:
                pass
        wallet = await self._locked_wallet(user_id)
        assert wallet is not None
        return wallet

    async def _locked_wallet(self, user_id: str) -> Wallet | None:
        row = (await self.session.execute(select(wallets).where(wallets.c.user_id == user_id).with_for_update())).first()
        return wallet_from_row(row) if row is not None else None

    async def save_wallet(self, wallet: Wallet) -> None:
        await self.session.execute(
            update(wallets)
            .where(wallets.c.id == wallet.id)
            .values(available=wallet.available, blocked=wallet.blocked, updated_at=self.now)
        )
        await self._post_entries(wallet)

    async def _post_entries(self, wallet: Wallet) -> None:
        for entry in wallet.new_entries:
            entry_id = str(uuid.uuid4())
            await self.session.execute(
                insert(wallet_transactions).values(
                    id=entry_id,
                    wallet_id=wallet.id,
                    type=entry.type.value,
                    amount=entry.amount,
                    order_id=entry.order_id,
                    created_at=self.now,
                )
            )
            message = transaction_message(entry_id, wallet.user_id, entry, self.now)
            await self.tx.emit(WALLET_EVENTS, message, key=wallet.user_id)
        wallet.new_entries.clear()

    # ------------------------------------------------------------ positions

    async def position_for_update(self, wallet_id: str, ticker: str) -> Position:
        """The position in `ticker`, locked; an empty one if the wallet never held it."""
        row = (
            await self.session.execute(
                select(positions).where(positions.c.wallet_id == wallet_id, positions.c.ticker == ticker).with_for_update()
            )
        ).first()
        if row is None:
            return Position(ticker)
        return Position(row.ticker, row.quantity, row.blocked_quantity, row.average_price)

    async def save_position(self, wallet_id: str, position: Position) -> None:
        values = dict(
            quantity=position.quantity,
            blocked_quantity=position.blocked_quantity,
            average_price=position.average_price,
            updated_at=self.now,
        )
        result = await self.session.execute(
            update(positions).where(positions.c.wallet_id == wallet_id, positions.c.ticker == position.ticker).values(**values)
        )
        if result.rowcount == 0:
            await self.session.execute(insert(positions).values(wallet_id=wallet_id, ticker=position.ticker, **values))

    # ------------------------------------------------------------ reservations

    async def reservation_owner(self, order_id: str) -> str | None:
        """Who holds this order's reservation; read unlocked, to lock their wallet first."""
        return (
            await self.session.execute(select(reservations.c.user_id).where(reservations.c.order_id == order_id))
        ).scalar_one_or_none()

    async def reservation_for_update(self, order_id: str) -> Reservation | None:
        row = (
            await self.session.execute(select(reservations).where(reservations.c.order_id == order_id).with_for_update())
        ).first()
        if row is None:
            return None
        return Reservation(
            order_id=row.order_id,
            user_id=row.user_id,
            side=Side(row.side),
            ticker=row.ticker,
            price_per_share=row.price_per_share,
            quantity=row.quantity,
            open_quantity=row.open_quantity,
            amount=row.amount,
            blocked_amount=row.blocked_amount,
            status=ReservationStatus(row.status),
        )

    async def add_reservation(self, wallet: Wallet, reservation: Reservation) -> None:
        await self.session.execute(
            insert(reservations).values(
                order_id=reservation.order_id,
                user_id=reservation.user_id,
                wallet_id=wallet.id,
                side=reservation.side.value,
                ticker=reservation.ticker,
                price_per_share=reservation.price_per_share,
                quantity=reservation.quantity,
                open_quantity=reservation.open_quantity,
                amount=reservation.amount,
                blocked_amount=reservation.blocked_amount,
                status=reservation.status.value,
                created_at=self.now,
                updated_at=self.now,
            )
        )

    async def save_reservation(self, reservation: Reservation) -> None:
        await self.session.execute(
            update(reservations)
            .where(reservations.c.order_id == reservation.order_id)
            .values(
                quantity=reservation.quantity,
                price_per_share=reservation.price_per_share,
                open_quantity=reservation.open_quantity,
                blocked_amount=reservation.blocked_amount,
                status=reservation.status.value,
                updated_at=self.now,
            )
        )

    async def first_settlement(self, execution_id: str, order_id: str) -> bool:
        """Records an execution as settled; False if it already was."""
        seen = await self.session.execute(select(settled_fills.c.execution_id).where(settled_fills.c.execution_id == execution_id))
        if seen.first() is not None:
            return False
        await self.session.execute(insert(settled_fills).values(execution_id=execution_id, order_id=order_id, settled_at=self.now))
        return True


def wallet_from_row(row) -> Wallet:
    return Wallet(id=row.id, user_id=row.user_id, available=row.available, blocked=row.blocked, currency=row.currency)


def posted_entry_from_row(row) -> PostedEntry:
    return PostedEntry(row.id, TransactionType(row.type), row.amount, row.order_id, row.created_at)
