"""The orders use cases: place, cancel, apply B3's reports, and read the caller's orders.

Each change runs in one `Database.transaction()` with the messages it emits (outbox) and,
for consumed reports, the inbox record, so the order, the messages to B3 and the order
events can never disagree."""
from __future__ import annotations

import asyncio
import logging
import uuid
from contextlib import aclosing
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import AsyncGenerator, Callable, Sequence

import aiohttp

from mybroker.auth import Caller
from mybroker.calendar import B3Calendar, b3_calendar
from mybroker.catalog import standard_ticker
from mybroker.db import Database, is_unique_violation, utc_now
from mybroker.errors import DomainError, ErrorCode, bad_input
from mybroker.events import EXCHANGE_ORDERS, ORDER_EVENTS, ORDER_UPDATED
from mybroker.fees import NO_FEES, FeeSchedule
from mybroker.live import LiveFeed
from mybroker.pagination import Page, decode_cursor, page_of, page_size
from mybroker.wire import OrderUpdated
from subgraphs.orders import repository, wire
from subgraphs.orders.clients import AssetDirectory, FillToSettle, FillProjection, Reservation, Reservations
from subgraphs.orders.domain import (
    ExecType,
    ExecutionReport,
    Fill,
    InvalidTransition,
    MoneyEffect,
    OcoRequest,
    Order,
    OrderFilter,
    OrderRequest,
    OrderStatus,
    check_lot,
    check_oco,
    check_stop,
    oco_price_per_share,
    reservation_terms,
)
from subgraphs.orders.idempotency import (
    HeldReservation,
    duplicate_client_order_id,
    is_lost,
    lost_while_placing,
    order_id_for,
    placement_unresolved,
    same_terms,
)
from subgraphs.orders.metrics import OrdersMetrics
from subgraphs.orders.orphans import OrphanCheck, Presence
from subgraphs.orders.preview import OrderPreview, preview_order

log = logging.getLogger("mybroker.orders")

CONSUMER = "orders"  # inbox name for broker.executions
MAX_PAGE = 500
MAX_FILTER_TICKERS = 100  # one IN list; a screen filters by a few
DEFAULT_PAGE = 50


class OrderService:
    def __init__(
        self,
        db: Database,
        assets: AssetDirectory,
        wallet: Reservations,
        *,
        market_order_collar: Decimal,
        live: LiveFeed | None = None,
        projection: FillProjection | None = None,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        metrics: OrdersMetrics | None = None,
        fees: FeeSchedule = NO_FEES,
        calendar: B3Calendar | None = None,
    ):
        self.db = db
        self.fees = fees  # the wallet's schedule (Settings.fee_schedule), for orderPreview
        self.calendar = calendar or b3_calendar()
        self.assets = assets
        self.wallet = wallet
        self.collar = market_order_collar
        self.live = live
        self.projection = projection
        # Told of every ORDER_STATUS answer: (order id, B3's word, whether the order was ended).
        self.status_listener: Callable[[str, str, bool], None] | None = None
        self.clock = clock
        self.new_id = new_id
        self.metrics = metrics if metrics is not None else OrdersMetrics()
        self.orphans = OrphanCheck(db, clock=clock, metrics=self.metrics)

    # ---------------------------------------------------------------- commands

    async def place_order(self, caller: Caller, request: OrderRequest) -> Order:
        """Reserves in the wallet, then stores the order with its NewOrder (one commit).

        With a clientOrderId the order id is derived from it (idempotency.order_id_for):
        a retry finds the stored order, or reuses the first attempt's reservation (the
        wallet's reserve is idempotent by order id) and stores the order once. The same
        terms answer the first order; other terms are DUPLICATE_CLIENT_ORDER_ID. No
        attempt ever releases a reservation another attempt may be using: an attempt that
        failed leaves it to a retry or to the wallet's sweeper, which releases it only once
        orders has closed the id for good (orphans.OrphanCheck)."""
        user_id = caller.require_user()
        request = request.validated()
        keyed = request.client_order_id is not None
        order_id = order_id_for(user_id, request.client_order_id) if request.client_order_id is not None else self.new_id()
        if keyed:
            existing = await self._stored(user_id, order_id, request.client_order_id)
            if existing is not None:
                return await self._placed_before(existing, request)
        asset = await self.assets.asset(request.ticker)
        if not asset.active:
            raise DomainError(ErrorCode.UNKNOWN_ASSET, f"{request.ticker} is not traded.")
        check_lot(request.quantity, asset.lot_size, asset.max_quantity)
        check_stop(request, asset.last_price)
        terms = reservation_terms(request, asset.last_price, self.collar)
        order = Order.place(order_id, user_id, request, terms, self.clock())

        reservation = Reservation(order.id, user_id, order.side.value, order.ticker, order.quantity, terms.price_per_share)
        try:
            await self.wallet.reserve(reservation)
        except DomainError as exc:
            if keyed and exc.code is ErrorCode.BAD_USER_INPUT and "different reservation" in exc.message:
                # This order id already holds a reservation on other terms: another attempt
                # with this clientOrderId (other terms, or a MARKET order priced off another
                # quote). The wallet says so in words only (internals.md: BAD_USER_INPUT).
                existing = await self._stored(user_id, order_id, request.client_order_id)
                if existing is not None:
                    return await self._placed_before(existing, request)
                assert request.client_order_id is not None
                raise placement_unresolved(request.client_order_id) from None
            raise  # refused: nothing was blocked
        except BaseException:
            # Timed out or cut off: the wallet may have blocked it anyway. An order id of our
            # own is no one else's to use, so release it now; a keyed one may be another
            # attempt's too: a retry reuses it, or the sweeper releases it after the grace.
            if not keyed:
                await self._release(order.id)
            raise
        try:
            async with self.db.transaction() as tx:
                await repository.add(tx.session, order)
                await tx.emit(EXCHANGE_ORDERS, wire.new_order(order), key=order.ticker)
                await tx.emit(ORDER_EVENTS, wire.order_updated(order), key=order.id)
        except Exception as exc:  # noqa: BLE001 - any failure to save is reported to the trader, see _save_failed
            return await self._save_failed(order, request, terms.price_per_share, exc)
        return order

    async def place_oco_order(self, caller: Caller, oco: OcoRequest) -> tuple[Order, Order]:
        """A take-profit and a stop-loss on one position, one cancelling the other at B3
        (`ocoGroup`, the take-profit's id). ONE reservation for the pair, under the
        take-profit's id: a SELL pair blocks its shares (and brokerage) once, a BUY pair
        the larger of the legs' prices. Both orders and both NewOrders in one commit.
        With a clientOrderId, a retry answers the stored pair (DUPLICATE_CLIENT_ORDER_ID on
        other terms); an attempt whose save failed leaves the reservation to a retry or to
        the wallet's sweeper, as placeOrder does."""
        user_id = caller.require_user()
        take_request, stop_request = oco.legs()
        keyed = take_request.client_order_id is not None
        if keyed:
            assert take_request.client_order_id is not None
            take_id = order_id_for(user_id, take_request.client_order_id)
            stop_id = order_id_for(user_id, take_request.client_order_id + "#oco-stop-loss")
            existing = await self._stored(user_id, take_id, take_request.client_order_id)
            if existing is not None:
                return await self._oco_placed_before(existing, take_request, stop_request)
        else:
            take_id, stop_id = self.new_id(), self.new_id()
        asset = await self.assets.asset(take_request.ticker)
        if not asset.active:
            raise DomainError(ErrorCode.UNKNOWN_ASSET, f"{take_request.ticker} is not traded.")
        check_lot(take_request.quantity, asset.lot_size, asset.max_quantity)
        check_oco(take_request, stop_request, asset.last_price)
        take_terms = reservation_terms(take_request, asset.last_price, self.collar)
        stop_terms = reservation_terms(stop_request, asset.last_price, self.collar)
        now = self.clock()
        take_profit = Order.place(take_id, user_id, take_request, take_terms, now, oco_sibling_id=stop_id)
        stop_loss = Order.place(stop_id, user_id, stop_request, stop_terms, now, oco_sibling_id=take_id)
        price = oco_price_per_share(take_terms, stop_terms)
        reservation = Reservation(take_profit.reservation_id, user_id, take_profit.side.value, take_profit.ticker, take_profit.quantity, price)
        try:
            await self.wallet.reserve(reservation)
        except DomainError as exc:
            if keyed and exc.code is ErrorCode.BAD_USER_INPUT and "different reservation" in exc.message:
                assert take_request.client_order_id is not None
                existing = await self._stored(user_id, take_id, take_request.client_order_id)
                if existing is not None:
                    return await self._oco_placed_before(existing, take_request, stop_request)
                raise placement_unresolved(take_request.client_order_id) from None
            raise
        except BaseException:
            if not keyed:
                await self._release(take_profit.reservation_id)
            raise
        try:
            async with self.db.transaction() as tx:
                for order in (take_profit, stop_loss):
                    await repository.add(tx.session, order)
                for order in (take_profit, stop_loss):
                    await tx.emit(EXCHANGE_ORDERS, wire.new_order(order), key=order.ticker)
                    await tx.emit(ORDER_EVENTS, wire.order_updated(order), key=order.id)
        except Exception as exc:
            if keyed and is_unique_violation(exc):
                assert take_request.client_order_id is not None
                existing = await self._stored(user_id, take_id, take_request.client_order_id)
                if existing is not None:  # a concurrent attempt won
                    return await self._oco_placed_before(existing, take_request, stop_request)
            if not keyed:
                # Our own ids, and nothing committed (one transaction holds both orders):
                # no order can ever settle against the reservation.
                await self._release(take_profit.reservation_id)
            raise
        return take_profit, stop_loss

    async def _oco_placed_before(self, existing: Order, take_request: OrderRequest, stop_request: OrderRequest) -> tuple[Order, Order]:
        """A retry of placeOcoOrder: the same terms answer the stored pair."""
        assert take_request.client_order_id is not None
        if is_lost(existing):
            raise lost_while_placing()
        sibling = None
        if existing.oco_sibling_id is not None:
            async with self.db.read() as session:
                sibling = await repository.get(session, existing.oco_sibling_id)
        if sibling is None or not same_terms(existing, take_request) or not same_terms(sibling, stop_request):
            raise duplicate_client_order_id(take_request.client_order_id)
        return existing, sibling

    async def _save_failed(self, order: Order, request: OrderRequest, price_per_share: Decimal, exc: Exception) -> Order:
        """The order's commit failed, or its outcome is unknown. Never releases a
        reservation behind an order that exists or may still commit."""
        if is_unique_violation(exc):
            existing = await self._stored(order.user_id, order.id, request.client_order_id)
            if existing is None:
                raise exc
            if is_lost(existing):
                # Stuck past the grace: the sweeper closed the id, and releases the money.
                await self.orphans.complete(existing, request, order.protection_price)
                raise lost_while_placing() from None
            if request.client_order_id is None:
                raise exc
            return await self._placed_before(existing, request)  # a concurrent attempt won
        if request.client_order_id is not None:
            log.warning(
                "order %s (clientOrderId %r) was not stored (%r); a retry with that key reuses its reservation, "
                "or the wallet's sweeper releases it",
                order.id, request.client_order_id, exc,
            )
            raise exc
        # Our own id: settle it now. The commit may have happened after all ("exists"), or
        # the id is closed for good and the reservation can go.
        held = HeldReservation(order.id, order.user_id, order.side, standard_ticker(order.ticker), order.quantity, price_per_share)
        try:
            presence = await self.orphans.check(held, known=order)
            stored = await self._stored(order.user_id, order.id, None)
        except Exception:  # noqa: BLE001 - the sweeper asks again after the grace
            log.exception("order %s: could not tell whether it was stored; the wallet's sweeper will", order.id)
            raise exc from None
        if presence is Presence.EXISTS:
            if stored is None:
                raise exc
            return stored
        await self._release(order.id)
        raise exc

    async def _placed_before(self, existing: Order, request: OrderRequest) -> Order:
        """The answer to a placement whose order id is taken: the same terms answer the
        order (a lost one completed with the request's terms), other terms are refused."""
        if not same_terms(existing, request):
            assert request.client_order_id is not None
            raise duplicate_client_order_id(request.client_order_id)
        if is_lost(existing):
            return await self.orphans.complete(existing, request, existing.protection_price)
        return existing

    async def cancel_order(self, caller: Caller, order_id: str) -> Order:
        """Asks B3 to cancel; the order reads PENDING_CANCEL until B3 answers. A second
        cancel while one is under way sends nothing more."""
        user_id = caller.require_user()
        async with self.db.transaction() as tx:
            order = await repository.get(tx.session, order_id, for_update=True)
            if order is None:
                raise bad_input(f"There is no order {order_id!r}.")
            if not order.owned_by(user_id):
                raise DomainError(ErrorCode.FORBIDDEN, "This order belongs to someone else.")
            if order.request_cancel(self.clock()):
                await repository.save(tx.session, order)
                await tx.emit(EXCHANGE_ORDERS, wire.cancel_order(order), key=order.ticker)
                await tx.emit(ORDER_EVENTS, wire.order_updated(order), key=order.id)
        return order

    async def replace_order(self, caller: Caller, order_id: str, quantity: int | None, limit_price: Decimal | None) -> Order:
        """Asks B3 for new terms. The wallet first grows the reservation to cover both the
        old and the new terms (B3 may fill either until it answers), or refuses with
        INSUFFICIENT_FUNDS / INSUFFICIENT_POSITION and nothing changes; B3's REPLACED sets
        it to the new terms (a smaller order frees the rest), a refusal back to the old."""
        user_id = caller.require_user()
        async with self.db.read() as session:
            current = await repository.get(session, order_id)
        if current is None:
            raise bad_input(f"There is no order {order_id!r}.")
        if not current.owned_by(user_id):
            raise DomainError(ErrorCode.FORBIDDEN, "This order belongs to someone else.")
        if quantity is not None:
            asset = await self.assets.asset(current.ticker)
            check_lot(quantity, asset.lot_size, asset.max_quantity)
        new_quantity, new_limit = current.check_replace(quantity, limit_price)
        cover_quantity, cover_limit = current.cover_terms(new_quantity, new_limit)
        await self.wallet.set_terms(order_id, cover_quantity, cover_limit if current.reserved_price is not None else None)
        try:
            async with self.db.transaction() as tx:
                order = await repository.get(tx.session, order_id, for_update=True)
                assert order is not None  # orders are never deleted
                order.check_replace(quantity, limit_price)  # still live, nothing else under way
                order.request_replace(self.clock())
                await repository.save(tx.session, order)
                sent_limit = None if limit_price is None else new_limit
                await tx.emit(EXCHANGE_ORDERS, wire.replace_order(order, quantity, sent_limit), key=order.ticker)
                await tx.emit(ORDER_EVENTS, wire.order_updated(order), key=order.id)
        except BaseException:
            await self._restore_terms(current)
            raise
        return order

    async def apply_execution(self, message_id: str, report: ExecutionReport) -> Order | None:
        """Applies one report once (by envelope id, and by execution id for fills); a report
        that does not fit the order is logged and dropped, never retried forever.

        The money moves first: the wallet settles the fill or releases what an ended order
        held, and the portfolio projection records the fill, and only then does the order
        take its new state. So an order that reads FILLED (or CANCELLED) is already in the
        wallet and the portfolio, and a SELL of the shares it bought is accepted at once.
        The wallet's steps are idempotent, so a crash in between only repeats them."""
        async with self.db.read() as session:
            order = await repository.get(session, report.order_id)
            seen_fill = bool(
                report.exec_type is ExecType.FILL
                and report.execution_id
                and await repository.fill_exists(session, report.execution_id)
            )
        if order is None:
            log.warning("execution report %s for unknown order %s ignored", message_id, report.order_id)
            return None
        if order.oco_sibling_id is not None and order.is_terminal:
            # A report of an ended OCO leg: a redelivery after a crash between its commit
            # and the pair's release, say. Checking the pair again finishes it (idempotent).
            await self._close_oco(order)
        if seen_fill:
            log.info("fill %s of order %s already applied", report.execution_id, order.id)
            return None
        try:
            effect = order.money_effect(report)
        except InvalidTransition:
            effect = MoneyEffect()  # no money moves; the transaction below logs and remembers it
        await self._move_money(order, effect)
        async with self.db.transaction() as tx:
            if not await tx.first_time(CONSUMER, message_id):
                return None
            order = await repository.get(tx.session, report.order_id, for_update=True)
            assert order is not None
            if report.exec_type is ExecType.FILL and report.execution_id and await repository.fill_exists(
                tx.session, report.execution_id
            ):
                return None
            was_live = not order.is_terminal
            try:
                fill = order.apply(report)
            except InvalidTransition as exc:
                log.warning("execution report %s ignored: %s", message_id, exc)
                return None
            await repository.save(tx.session, order)
            if fill is not None:
                await repository.add_fill(tx.session, order.id, fill)
            await tx.emit(ORDER_EVENTS, wire.order_updated(order, fill), key=order.id)
        if order.oco_sibling_id is not None and effect.closed:
            await self._close_oco(order)
        if report.exec_type is ExecType.ORDER_STATUS and self.status_listener is not None:
            # Ended by this answer: B3 does not hold an order the broker thought live.
            self.status_listener(order.id, report.order_status or "", was_live and order.is_terminal)
        return order

    async def _move_money(self, order: Order, effect: MoneyEffect, *, oco_closed: bool = False) -> None:
        """The wallet's part of a report, repeated while the wallet cannot be reached: a
        report is never applied without it, and B3's reports stay in order behind it. A
        refusal (a fill the reservation cannot account for) raises: the bus retries the
        report, then dead-letters it."""
        fill = effect.fill
        attempt = 0
        while True:
            try:
                if effect.terms is not None:
                    await self._set_terms_from_exchange(order, *effect.terms)
                # An OCO leg's end does not end the pair's reservation: _close_oco does,
                # once both legs are done.
                closed = effect.closed and (order.oco_sibling_id is None or oco_closed)
                if fill is not None or closed:
                    to_settle = None if fill is None else FillToSettle(fill.execution_id, fill.quantity, fill.price)
                    await self.wallet.settle(order.reservation_id, to_settle, closed)
                break
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:  # unreachable, timed out, restarting
                attempt += 1
                if attempt == 1 or attempt % 100 == 0:
                    log.warning("wallet unavailable settling order %s (attempt %d): %r; retrying", order.id, attempt, exc)
                await asyncio.sleep(min(0.05 * 2 ** min(attempt, 6), 2.0))
        if fill is not None and self.projection is not None:
            await self.projection.record_fill(order, fill)

    async def _close_oco(self, order: Order) -> None:
        """After an OCO leg's end is stored: when the other leg is done too, the pair's one
        reservation releases what it still holds. Each leg checks after its own commit, so
        whichever commits second sees both ended (neither can miss the other)."""
        assert order.oco_sibling_id is not None
        async with self.db.read() as session:
            sibling = await repository.get(session, order.oco_sibling_id)
        if sibling is not None and not sibling.is_terminal:
            return  # the reservation follows the surviving leg
        await self._move_money(order, MoneyEffect(closed=True), oco_closed=True)

    async def _set_terms_from_exchange(self, order: Order, quantity: int, price: Decimal | None) -> None:
        try:
            await self.wallet.set_terms(order.id, quantity, price)
        except DomainError as exc:
            # B3 has decided; the order must say what B3 did even if the wallet cannot
            # follow (it always can: the cover held both terms). Loud, not blocking.
            log.error("order %s: the wallet could not take B3's terms %s @ %s: %s", order.id, quantity, price, exc)

    async def _restore_terms(self, order: Order) -> None:
        try:
            await self.wallet.set_terms(order.id, order.quantity, order.reserved_price)
        except Exception:  # noqa: BLE001 - the original failure is what the caller must see
            log.exception("could not restore the reservation of order %s after a failed replace", order.id)

    # ---------------------------------------------------------------- queries

    async def preview(self, caller: Caller, request: OrderRequest) -> OrderPreview:
        """The ticket's figures for this order: value, costs, what it reserves, settlement."""
        caller.require_user()
        return await preview_order(request, self.assets, self.fees, self.collar, self.calendar, self.clock())

    async def load_calendar(self) -> None:
        """At start, in a thread: the first preview must not stall the loop on loading it."""
        await asyncio.to_thread(self.calendar.load)

    async def order(self, caller: Caller, order_id: str) -> Order | None:
        """The caller's order; None when it does not exist or is someone else's."""
        user_id = caller.require_user()
        async with self.db.read() as session:
            order = await repository.get(session, order_id)
        return order if order is not None and order.owned_by(user_id) else None

    async def orders(self, caller: Caller, status: OrderStatus | None = None, first: int = 50) -> list[Order]:
        return await self.orders_of(caller, caller.require_user(), status, first)

    async def orders_of(self, caller: Caller, user_id: str, status: OrderStatus | None = None, first: int = 50) -> list[Order]:
        """A user's orders, newest first; only the user may list them."""
        if caller.require_user() != user_id:
            raise DomainError(ErrorCode.FORBIDDEN, "These orders belong to someone else.")
        if first < 0:
            raise bad_input("first must not be negative.")
        async with self.db.read() as session:
            return await repository.of_user(session, user_id, status, min(first, MAX_PAGE))

    async def order_history(
        self, caller: Caller, user_id: str, wanted: OrderFilter, first: int | None, after: str | None
    ) -> Page[Order]:
        """A page of the user's orders, newest first, after the cursor; only the user may."""
        if caller.require_user() != user_id:
            raise DomainError(ErrorCode.FORBIDDEN, "These orders belong to someone else.")
        size = page_size(first, DEFAULT_PAGE, MAX_PAGE)
        before = decode_cursor(after)
        if wanted.since is not None and wanted.until is not None and wanted.since >= wanted.until:
            raise bad_input("'from' must be before 'to'.")
        if len(wanted.tickers) > MAX_FILTER_TICKERS:
            raise bad_input(f"Filter by at most {MAX_FILTER_TICKERS} tickers.")
        # Each value once: a list of 5,000 BUYs is one IN (BUY).
        wanted = replace(
            wanted,
            tickers=tuple(dict.fromkeys(ticker.strip().upper() for ticker in wanted.tickers)),
            sides=tuple(dict.fromkeys(wanted.sides)),
            statuses=tuple(dict.fromkeys(wanted.statuses)),
        )
        async with self.db.read() as session:
            rows = await repository.history_of(session, user_id, wanted, before, size + 1)
        return page_of(rows, size)

    async def fills(self, order_ids: Sequence[str]) -> list[list[Fill]]:
        """Batch load for Order.executions (callers have already been checked per order)."""
        async with self.db.read() as session:
            return await repository.fills_of(session, order_ids)

    async def order_updates(self, caller: Caller) -> AsyncGenerator[Order, None]:
        """The caller's orders as they change, from the order-events stream."""
        user_id = caller.require_user()
        if self.live is None:
            raise RuntimeError("order updates need a live feed")
        accepts = lambda message: message.type == ORDER_UPDATED and message.data.get("userId") == user_id  # noqa: E731
        # aclosing: leaving `async for` does not close the live subscription by itself.
        async with aclosing(self.live.subscribe(accepts)) as updates:
            async for message in updates:
                yield wire.order_from_snapshot(OrderUpdated.of(message))

    async def _stored(self, user_id: str, order_id: str, client_order_id: str | None) -> Order | None:
        """The order stored under this id, or (orders placed before ids were derived from
        the key) under the user's clientOrderId."""
        async with self.db.read() as session:
            order = await repository.get(session, order_id)
            if order is None and client_order_id is not None:
                order = await repository.by_client_order_id(session, user_id, client_order_id)
        return order if order is not None and order.owned_by(user_id) else None

    async def _release(self, order_id: str) -> None:
        try:
            await self.wallet.release(order_id)
        except Exception:  # noqa: BLE001 - the original failure is what the caller must see
            log.exception("could not release the reservation of order %s; the wallet still blocks it", order_id)
