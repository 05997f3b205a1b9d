"""The wallet's arithmetic: cash, reservations, fills and the ledger that must always balance."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from mybroker.errors import DomainError, ErrorCode
from mybroker.fees import B3_2025, NO_FEES, B3FeeTable, BrokeragePlan, FeeKind, FeeSchedule
from mybroker.money import cents, cents_up
from subgraphs.wallet.domain import (
    MAX_TRANSFER,
    Position,
    Reservation,
    ReservationStatus,
    SettlementError,
    Side,
    TransactionType,
    Wallet,
    check_transfer_amount,
)

D = Decimal
T = TransactionType


def new_wallet(cash: str | None = None) -> Wallet:
    wallet = Wallet("w1", "u1")
    if cash is not None:
        wallet.deposit(D(cash))
        wallet.new_entries.clear()
    return wallet


def entries(wallet: Wallet) -> list[tuple[TransactionType, Decimal]]:
    return [(entry.type, entry.amount) for entry in wallet.new_entries]


def expect(code: ErrorCode, call, *args, **kwargs) -> None:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.code is code


# ---------------------------------------------------------------- cash in and out


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00", "1.234", "0.001", str(MAX_TRANSFER + D("0.01")), "NaN", "Infinity"])
def test_transfer_amounts_must_be_positive_centavos_within_the_cap(amount):
    expect(ErrorCode.BAD_USER_INPUT, check_transfer_amount, D(amount))


@pytest.mark.parametrize("amount, expected", [("0.01", "0.01"), ("10", "10.00"), ("1.5", "1.50"), (str(MAX_TRANSFER), str(MAX_TRANSFER))])
def test_valid_transfer_amounts(amount, expected):
    assert str(check_transfer_amount(D(amount))) == expected


def test_deposit_and_withdraw_post_signed_entries():
    wallet = new_wallet()
    wallet.deposit(D("1500.50"))
    wallet.withdraw(D("500.25"))
    assert wallet.available == D("1000.25") and wallet.blocked == 0
    assert entries(wallet) == [(T.DEPOSIT, D("1500.50")), (T.WITHDRAWAL, D("-500.25"))]


def test_withdrawing_more_than_available_changes_nothing():
    wallet = new_wallet("100.00")
    expect(ErrorCode.INSUFFICIENT_FUNDS, wallet.withdraw, D("100.01"))
    assert wallet.available == D("100.00") and wallet.new_entries == []
    wallet.withdraw(D("100.00"))
    assert wallet.available == 0


def test_blocked_cash_cannot_be_withdrawn():
    wallet = new_wallet("1000.00")
    wallet.reserve("o1", Side.BUY, "PETR4", 100, D("9.00"), Position("PETR4"))
    expect(ErrorCode.INSUFFICIENT_FUNDS, wallet.withdraw, D("100.01"))
    wallet.withdraw(D("100.00"))
    assert (wallet.available, wallet.blocked) == (D("0.00"), D("900.00"))


# ---------------------------------------------------------------- reservations


def test_buy_reservation_blocks_price_times_quantity():
    wallet = new_wallet("5000.00")
    reservation = wallet.reserve("o1", Side.BUY, "PETR4", 100, D("31.40"), Position("PETR4"))
    assert (wallet.available, wallet.blocked) == (D("1860.00"), D("3140.00"))
    assert (reservation.amount, reservation.blocked_amount, reservation.open_quantity) == (D("3140.00"), D("3140.00"), 100)
    assert entries(wallet) == [(T.RESERVE, D("-3140.00"))]
    assert wallet.new_entries[0].order_id == "o1"


def test_a_computed_price_cap_is_rounded_up_to_the_centavo():
    wallet = new_wallet("5000.00")
    reservation = wallet.reserve("o1", Side.BUY, "PETR4", 100, D("31.4475"), Position("PETR4"))
    assert reservation.price_per_share == D("31.45") and reservation.amount == D("3145.00")


def test_buy_reservation_beyond_available_changes_nothing():
    wallet = new_wallet("3139.99")
    expect(ErrorCode.INSUFFICIENT_FUNDS, wallet.reserve, "o1", Side.BUY, "PETR4", 100, D("31.40"), Position("PETR4"))
    assert (wallet.available, wallet.blocked, wallet.new_entries) == (D("3139.99"), 0, [])


@pytest.mark.parametrize("quantity, price", [(0, "10.00"), (-100, "10.00"), (100, "0"), (100, "-1.00"), (100, None), (True, "10.00")])
def test_bad_reservations_are_bad_input(quantity, price):
    wallet = new_wallet("5000.00")
    expect(ErrorCode.BAD_USER_INPUT, wallet.reserve, "o1", Side.BUY, "PETR4", quantity, D(price) if price else None, Position("PETR4"))


def test_sell_reservation_blocks_free_shares_and_no_cash():
    wallet = new_wallet()
    position = Position("PETR4", quantity=300, average_price=D("30.00"))
    reservation = wallet.reserve("s1", Side.SELL, "PETR4", 200, None, position)
    assert (position.quantity, position.blocked_quantity, position.free_quantity) == (300, 200, 100)
    assert (reservation.amount, reservation.open_quantity, wallet.new_entries) == (0, 200, [])
    expect(ErrorCode.INSUFFICIENT_POSITION, wallet.reserve, "s2", Side.SELL, "PETR4", 101, None, position)
    assert position.blocked_quantity == 200
    expect(ErrorCode.INSUFFICIENT_POSITION, wallet.reserve, "s3", Side.SELL, "VALE3", 1, None, Position("VALE3"))


def test_same_request_recognises_a_retry():
    wallet = new_wallet("5000.00")
    reservation = wallet.reserve("o1", Side.BUY, "PETR4", 100, D("31.4475"), Position("PETR4"))
    assert reservation.same_request(Side.BUY, "PETR4", 100, D("31.4475"))
    assert not reservation.same_request(Side.BUY, "PETR4", 200, D("31.4475"))
    assert not reservation.same_request(Side.SELL, "PETR4", 100, D("31.4475"))
    assert not reservation.same_request(Side.BUY, "PETR4", 100, D("31.50"))


# ---------------------------------------------------------------- fills and releases


def test_buy_fills_release_the_reserved_price_and_pay_the_executed_price():
    wallet = new_wallet("10000.00")
    position = Position("PETR4")
    reservation = wallet.reserve("o1", Side.BUY, "PETR4", 300, D("32.00"), position)
    wallet.new_entries.clear()

    wallet.settle_fill(reservation, position, 100, D("31.00"))
    assert entries(wallet) == [(T.RELEASE, D("3200.00")), (T.BUY, D("-3100.00"))]
    assert (position.quantity, position.average_price) == (100, D("31.00"))
    assert (reservation.open_quantity, reservation.blocked_amount) == (200, D("6400.00"))
    assert (wallet.available, wallet.blocked) == (D("500.00"), D("6400.00"))

    wallet.settle_fill(reservation, position, 100, D("32.00"))
    assert (position.quantity, position.average_price) == (200, D("31.50"))

    wallet.new_entries.clear()
    wallet.release(reservation, position)  # e.g. CANCELLED with 100 unfilled
    assert entries(wallet) == [(T.RELEASE, D("3200.00"))]
    assert reservation.status is ReservationStatus.CLOSED and reservation.open_quantity == 0
    assert (wallet.available, wallet.blocked) == (D("3700.00"), D("0.00"))
    assert wallet.available == D("10000.00") - D("3100.00") - D("3200.00")


def test_average_price_is_weighted_by_quantity():
    position = Position("ITUB4")
    position.add_bought(100, D("2000.00"))
    position.add_bought(300, D("6600.00"))
    assert position.average_price == D("21.50")
    position.add_bought(1, D("10.01"))
    assert position.average_price == ((D("8610.01")) / 401).quantize(D("0.000001"))


def test_a_fully_filled_buy_leaves_nothing_blocked():
    wallet = new_wallet("1000.00")
    position = Position("BBAS3")
    reservation = wallet.reserve("o1", Side.BUY, "BBAS3", 30, D("33.33"), position)
    for _ in range(3):
        wallet.settle_fill(reservation, position, 10, D("33.30"))
    assert reservation.blocked_amount == 0 and wallet.blocked == 0
    assert wallet.available == D("1000.00") - D("999.00")
    wallet.release(reservation, position)  # FILLED: nothing left to free
    assert [e.type for e in wallet.new_entries].count(T.RELEASE) == 3


def test_sell_fills_take_blocked_shares_and_credit_the_sale():
    wallet = new_wallet()
    position = Position("PETR4", quantity=200, average_price=D("30.00"))
    reservation = wallet.reserve("s1", Side.SELL, "PETR4", 200, None, position)
    wallet.settle_fill(reservation, position, 100, D("35.00"))
    assert entries(wallet) == [(T.SELL, D("3500.00"))]
    assert (position.quantity, position.blocked_quantity, position.average_price) == (100, 100, D("30.00"))
    wallet.settle_fill(reservation, position, 100, D("36.00"))
    assert (position.quantity, position.blocked_quantity, position.is_open) == (0, 0, False)
    assert position.average_price == 0
    assert wallet.available == D("7100.00") and wallet.blocked == 0


def test_a_terminal_sell_unblocks_the_unsold_shares():
    wallet = new_wallet()
    position = Position("PETR4", quantity=500)
    reservation = wallet.reserve("s1", Side.SELL, "PETR4", 300, None, position)
    wallet.settle_fill(reservation, position, 100, D("35.00"))
    wallet.release(reservation, position)
    assert (position.quantity, position.blocked_quantity, position.free_quantity) == (400, 0, 400)
    assert [e.type for e in wallet.new_entries] == [T.SELL]


def test_release_twice_changes_nothing_the_second_time():
    wallet = new_wallet("1000.00")
    position = Position("PETR4")
    reservation = wallet.reserve("o1", Side.BUY, "PETR4", 10, D("10.00"), position)
    wallet.release(reservation, position)
    snapshot = (wallet.available, wallet.blocked, len(wallet.new_entries))
    wallet.release(reservation, position)
    assert (wallet.available, wallet.blocked, len(wallet.new_entries)) == snapshot == (D("1000.00"), 0, 2)


@pytest.mark.parametrize("quantity", [0, -1, 11])
def test_fills_the_reservation_cannot_hold_are_refused(quantity):
    wallet = new_wallet("1000.00")
    position = Position("PETR4")
    reservation = wallet.reserve("o1", Side.BUY, "PETR4", 10, D("10.00"), position)
    with pytest.raises(SettlementError):
        wallet.settle_fill(reservation, position, quantity, D("10.00"))
    assert (wallet.available, wallet.blocked, position.quantity) == (D("900.00"), D("100.00"), 0)


def test_a_fill_after_the_reservation_closed_is_refused():
    wallet = new_wallet("1000.00")
    position = Position("PETR4")
    reservation = wallet.reserve("o1", Side.BUY, "PETR4", 10, D("10.00"), position)
    wallet.release(reservation, position)
    with pytest.raises(SettlementError):
        wallet.settle_fill(reservation, position, 5, D("10.00"))


# A table with coarse rates and a brokerage plan: every rounding and item shows.
HEAVY = FeeSchedule(
    B3FeeTable("test", B3_2025.effective_from, "test", D("0.005"), D("0.003"), D("0.004"), D("0.002")),
    BrokeragePlan("test", D("2.50"), D("0.05")),
)


def test_a_fill_is_charged_b3s_fees_item_by_item_and_the_reservation_covers_them():
    fees = FeeSchedule()  # B3's 2025 table, brokerage 0
    wallet = new_wallet("3000.94")
    position = Position("PETR4")
    reservation = wallet.reserve("o1", Side.BUY, "PETR4", 100, D("30.00"), position, fees)
    # 3000.00 x 0.003660% = 0.1098 -> 0.11 (emolumentos); x 0.0275% = 0.825 -> 0.82 (half-even)
    assert reservation.amount == D("3000.93")
    wallet.new_entries.clear()
    wallet.settle_fill(reservation, position, 100, D("30.00"), fees)
    assert entries(wallet) == [(T.RELEASE, D("3000.93")), (T.BUY, D("-3000.00")), (T.FEE, D("-0.11")), (T.FEE, D("-0.82"))]
    assert [e.fee_kind for e in wallet.new_entries if e.type is T.FEE] == [FeeKind.EMOLUMENTOS, FeeKind.LIQUIDACAO]
    # The average price includes the costs: 3000.93 / 100.
    assert wallet.available == D("0.01") and position.average_price == D("30.0093")
    sell = wallet.reserve("s1", Side.SELL, "PETR4", 100, None, position, fees)
    wallet.new_entries.clear()
    wallet.settle_fill(sell, position, 100, D("31.00"), fees)
    # 3100.00: 0.11346 -> 0.11; 0.8525 -> 0.85
    assert entries(wallet) == [(T.SELL, D("3100.00")), (T.FEE, D("-0.11")), (T.FEE, D("-0.85"))]


def test_an_order_split_into_fills_pays_the_fees_of_its_total():
    """Each fill pays the fees on the order's value so far less what the earlier fills paid:
    four fills of 101.00 pay what one of 404.00 would (0.5%: 2.02, not 4 x 0.50; 0.3%: 1.21,
    not 4 x 0.30), and the brokerage once."""
    wallet = new_wallet("500.00")
    position = Position("MXRF11")
    reservation = wallet.reserve("o1", Side.BUY, "MXRF11", 400, D("1.01"), position, HEAVY)
    # 404.00 + 2.02 (0.5%) + 1.21 (0.3%) + 2.50 brokerage + 0.12 ISS (its 5%, 0.125 half-even)
    assert reservation.amount == D("409.85")
    paid = D("0")
    for _ in range(4):
        wallet.new_entries.clear()
        wallet.settle_fill(reservation, position, 100, D("1.01"), HEAVY)
        paid += -sum((e.amount for e in wallet.new_entries if e.type is T.FEE), D("0"))
        assert reservation.blocked_amount >= 0 and wallet.blocked == reservation.blocked_amount
    assert paid == HEAVY.order_costs(D("404.00")).total == D("2.50") + D("0.12") + D("2.02") + D("1.21")
    assert wallet.blocked == 0 and wallet.available == D("500.00") - D("404.00") - paid


def test_brokerage_is_charged_once_per_order_with_its_iss():
    wallet = new_wallet("1000.00")
    position = Position("PETR4")
    reservation = wallet.reserve("o1", Side.BUY, "PETR4", 2, D("10.00"), position, HEAVY)
    wallet.new_entries.clear()
    wallet.settle_fill(reservation, position, 1, D("10.00"), HEAVY)
    first = {e.fee_kind: e.amount for e in wallet.new_entries if e.type is T.FEE}
    wallet.new_entries.clear()
    wallet.settle_fill(reservation, position, 1, D("10.00"), HEAVY)
    second = {e.fee_kind: e.amount for e in wallet.new_entries if e.type is T.FEE}
    assert (first[FeeKind.CORRETAGEM], first[FeeKind.ISS]) == (D("-2.50"), D("-0.12"))
    assert FeeKind.CORRETAGEM not in second and FeeKind.ISS not in second


def test_a_sell_blocks_its_brokerage_so_a_small_sale_never_overdraws():
    wallet = new_wallet("2.61")
    position = Position("PETR4", quantity=1, average_price=D("1.00"))
    with pytest.raises(DomainError) as refused:
        wallet.reserve("s1", Side.SELL, "PETR4", 1, None, position, HEAVY)
    assert refused.value.code is ErrorCode.INSUFFICIENT_FUNDS and position.blocked_quantity == 0
    wallet.deposit(D("0.01"))
    sell = wallet.reserve("s1", Side.SELL, "PETR4", 1, None, position, HEAVY)
    assert (sell.amount, wallet.available) == (D("2.62"), D("0.00"))
    # Proceeds 1.00; costs 2.62 (B3's fees on R$ 1.00 round to 0.00): the block pays them.
    wallet.settle_fill(sell, position, 1, D("1.00"), HEAVY)
    assert (wallet.available, wallet.blocked) == (D("1.00"), D("0.00"))


def test_no_fee_rows_without_fees():
    wallet = new_wallet("1000.00")
    position = Position("PETR4")
    reservation = wallet.reserve("o1", Side.BUY, "PETR4", 10, D("10.00"), position, NO_FEES)
    wallet.settle_fill(reservation, position, 10, D("9.99"), NO_FEES)
    assert T.FEE not in [e.type for e in wallet.new_entries]


def _scheduled(fees: FeeSchedule, before: Decimal, traded: Decimal) -> Decimal:
    """A fill's costs computed from the table's rates here, not by fees.py."""
    if not fees.enabled:
        return D("0")
    after = before + traded
    b3 = sum(cents(after * rate) - cents(before * rate) for rate in (fees.table.trading_swing, fees.table.settlement_swing))
    brokerage = cents(fees.plan.per_order) + cents(cents(fees.plan.per_order) * fees.plan.iss_rate) if before == 0 else D("0")
    return b3 + brokerage


# ---------------------------------------------------------------- the ledger always balances

TICKERS = ("PETR4", "VALE3")
cash = st.decimals(min_value=D("0.01"), max_value=D("20000.00"), places=2)
prices = st.decimals(min_value=D("0.01"), max_value=D("60.00"), places=2)
quantities = st.integers(min_value=1, max_value=300)


class LedgerMachine(RuleBasedStateMachine):
    """Random deposits, withdrawals, reservations, partial fills and releases; after every
    step nothing is negative and the books balance."""

    @initialize(fees=st.sampled_from([NO_FEES, FeeSchedule(), HEAVY]))
    def open_wallet(self, fees):
        self.fees = fees
        self.wallet = Wallet("w", "u")
        self.positions = {ticker: Position(ticker) for ticker in TICKERS}
        self.reservations: list[Reservation] = []
        self.all_entries = []
        self.shares_bought = dict.fromkeys(TICKERS, 0)
        self.shares_sold = dict.fromkeys(TICKERS, 0)
        self.counter = 0
        # Computed here from each fill, independently of the ledger the wallet writes.
        self.expected = {"BUY": D("0"), "SELL": D("0"), "FEE": D("0")}

    def _collect(self):
        self.all_entries.extend(self.wallet.new_entries)
        self.wallet.new_entries.clear()

    def _open(self, side=None):
        return [r for r in self.reservations if r.is_open and (side is None or r.side is side)]

    @rule(amount=cash)
    def deposit(self, amount):
        self.wallet.deposit(amount)
        self._collect()

    @rule(amount=cash)
    def withdraw(self, amount):
        before = (self.wallet.available, self.wallet.blocked)
        try:
            self.wallet.withdraw(amount)
        except DomainError as error:
            assert error.code is ErrorCode.INSUFFICIENT_FUNDS and amount > self.wallet.available
            assert (self.wallet.available, self.wallet.blocked) == before and not self.wallet.new_entries
        self._collect()

    def _set_available(self, target):
        """Moves cash in or out (through the domain) so that exactly `target` is available."""
        difference = target - self.wallet.available
        if difference > 0:
            self.wallet.deposit(difference)
        elif difference < 0:
            self.wallet.withdraw(-difference)
        self._collect()

    @rule(
        ticker=st.sampled_from(TICKERS),
        quantity=quantities,
        price=prices,
        mode=st.sampled_from(["as is", "exactly enough", "a centavo short"]),
    )
    def reserve_buy(self, ticker, quantity, price, mode):
        value = cents_up(price) * quantity
        needed = value + self.fees.order_costs(value).total
        if mode != "as is":
            self._set_available(needed if mode == "exactly enough" else needed - D("0.01"))
        self.counter += 1
        before = (self.wallet.available, self.wallet.blocked)
        try:
            reservation = self.wallet.reserve(f"o{self.counter}", Side.BUY, ticker, quantity, price, self.positions[ticker], self.fees)
        except DomainError as error:
            assert error.code is ErrorCode.INSUFFICIENT_FUNDS and needed > before[0] and mode != "exactly enough"
            assert (self.wallet.available, self.wallet.blocked) == before and not self.wallet.new_entries
        else:
            assert mode != "a centavo short" and reservation.amount == needed
            assert (self.wallet.available, self.wallet.blocked) == (before[0] - needed, before[1] + needed)
            self.reservations.append(reservation)
        self._collect()

    @rule(ticker=st.sampled_from(TICKERS), quantity=quantities, mode=st.sampled_from(["as is", "all free", "one too many"]))
    def reserve_sell(self, ticker, quantity, mode):
        position = self.positions[ticker]
        free = position.free_quantity
        if mode != "as is":
            quantity = free if mode == "all free" else free + 1
        if quantity <= 0:
            return
        self.counter += 1
        before = (self.wallet.available, self.wallet.blocked, position.quantity, position.blocked_quantity)
        brokerage = sum(self.fees.brokerage(), D("0"))
        try:
            reservation = self.wallet.reserve(f"o{self.counter}", Side.SELL, ticker, quantity, None, position, self.fees)
        except DomainError as error:
            if error.code is ErrorCode.INSUFFICIENT_FUNDS:
                assert brokerage > before[0]
            else:
                assert error.code is ErrorCode.INSUFFICIENT_POSITION and quantity > free and mode != "all free"
            assert (self.wallet.available, self.wallet.blocked, position.quantity, position.blocked_quantity) == before
        else:
            assert quantity <= free and mode != "one too many"
            assert position.blocked_quantity == before[3] + quantity
            # A SELL blocks shares, and cash only for its brokerage.
            assert (reservation.amount, self.wallet.blocked) == (brokerage, before[1] + brokerage)
            self.reservations.append(reservation)
        self._collect()

    def _fillable(self):
        return [r for r in self._open() if r.open_quantity > 0]

    @precondition(lambda self: self._fillable())
    @rule(data=st.data())
    def fill(self, data):
        reservation = data.draw(st.sampled_from(self._fillable()))
        quantity = data.draw(st.integers(min_value=1, max_value=reservation.open_quantity))
        if reservation.side is Side.BUY:
            # The exchange never executes a BUY above the cap it was sent (protection price).
            price = data.draw(st.decimals(min_value=D("0.01"), max_value=reservation.price_per_share, places=2))
            self.shares_bought[reservation.ticker] += quantity
            self.expected["BUY"] += price * quantity
        else:
            price = data.draw(prices)
            self.shares_sold[reservation.ticker] += quantity
            self.expected["SELL"] += price * quantity
        scheduled = _scheduled(self.fees, reservation.traded_amount, price * quantity)
        self.wallet.settle_fill(reservation, self.positions[reservation.ticker], quantity, price, self.fees)
        charged = -sum((e.amount for e in self.wallet.new_entries if e.type is TransactionType.FEE), D("0"))
        # Every fill pays its costs in full: the reservation always holds them.
        assert charged == scheduled
        self.expected["FEE"] += charged
        self._collect()

    @precondition(lambda self: self._open())
    @rule(data=st.data())
    def end(self, data):
        reservation = data.draw(st.sampled_from(self._open()))
        self.wallet.release(reservation, self.positions[reservation.ticker])
        self._collect()

    @invariant()
    def nothing_is_negative(self):
        assert self.wallet.available >= 0 and self.wallet.blocked >= 0
        for r in self.reservations:
            assert r.blocked_amount >= 0 and 0 <= r.open_quantity <= r.quantity
        for p in self.positions.values():
            assert 0 <= p.blocked_quantity <= p.quantity and p.average_price >= 0

    @invariant()
    def blocked_is_what_open_reservations_hold(self):
        assert self.wallet.blocked == sum((r.blocked_amount for r in self._open()), D("0"))
        assert all(r.blocked_amount == 0 and r.open_quantity == 0 for r in self.reservations if not r.is_open)
        # A BUY whose last share has filled holds no cash, even before its terminal status.
        assert all(r.blocked_amount == 0 for r in self._open() if r.open_quantity == 0)
        for ticker, position in self.positions.items():
            held = sum(r.open_quantity for r in self._open(Side.SELL) if r.ticker == ticker)
            assert position.blocked_quantity == held
            assert position.quantity == self.shares_bought[ticker] - self.shares_sold[ticker]

    @invariant()
    def the_ledger_balances(self):
        def total(kind):
            return sum((e.amount for e in self.all_entries if e.type is kind), D("0"))

        assert self.wallet.available == sum((e.amount for e in self.all_entries), D("0"))
        bought, sold, fees = -total(T.BUY), total(T.SELL), -total(T.FEE)
        deposits, withdrawals = total(T.DEPOSIT), -total(T.WITHDRAWAL)
        assert self.wallet.available + self.wallet.blocked + bought - sold + fees == deposits - withdrawals
        assert (bought, sold, fees) == (self.expected["BUY"], self.expected["SELL"], self.expected["FEE"])
        # Reserved and released cash only moves between available and blocked.
        assert -total(T.RESERVE) - total(T.RELEASE) == self.wallet.blocked
        assert all(e.amount != 0 for e in self.all_entries)


LedgerMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
test_the_ledger_balances_under_random_operations = LedgerMachine.TestCase
