"""Corporate events, pure: a split and a reverse split of a position (quantity, average,
cost, the fraction of a reverse split), who holds at the close of the record date, when an
event is due, and how a corporate-events file is read."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mybroker import cost_basis
from mybroker.errors import DomainError, ErrorCode
from subgraphs.wallet.corporate_events import (
    EventKind,
    ShareMovement,
    entitled_shares,
    is_due,
    parse_event,
    parse_events,
)
from subgraphs.wallet.domain import Position, TransactionType, Wallet

D = Decimal
RECORD = date(2026, 12, 15)  # a Tuesday


def test_a_split_doubles_the_quantity_halves_the_average_and_keeps_the_cost():
    wallet, position = Wallet("w", "u"), Position("BBAS3", 100, 0, D("22.310000"))
    result = wallet.split_position(position, 100, 2, 1, None, "ev-split")
    assert (position.quantity, position.average_price) == (200, D("11.155000"))
    assert position.average_price * position.quantity == D("22.31") * 100  # the cost: 2,231.00 before and after
    assert result.fraction_numerator == 0
    [line] = wallet.new_entries
    assert (line.type, line.amount, line.ticker, line.quantity, line.event_id) == (
        TransactionType.SPLIT, D("0.00"), "BBAS3", 100, "ev-split",
    )
    assert wallet.available == D("0.00")


def test_a_reverse_split_keeps_the_whole_shares_and_pays_the_fraction_in_cash():
    # 25 shares at R$ 15.80 grouped 1 for 10: 2.5 new shares. The holder keeps 2 at
    # R$ 158.00 (the cost of 20 old shares, 316.00, over 2) and the half share leaves with
    # its cost (79.00), paid at the event's R$ 160.00 a new share: R$ 80.00.
    wallet, position = Wallet("w", "u"), Position("BBDC4", 25, 0, D("15.800000"))
    result = wallet.split_position(position, 25, 1, 10, D("160.00"), "ev-group")
    assert (position.quantity, position.average_price) == (2, D("158.000000"))
    assert (result.added, result.fraction_numerator, result.fraction_cost) == (-23, 5, D("79.00"))
    grouping, fraction = wallet.new_entries
    assert (grouping.type, grouping.quantity, grouping.amount) == (TransactionType.REVERSE_SPLIT, -23, D("0.00"))
    assert (fraction.type, fraction.amount, fraction.quantity, fraction.ticker) == (TransactionType.FRACTION_CASH, D("80.00"), None, "BBDC4")
    assert wallet.available == D("80.00")


def test_a_reverse_split_of_fewer_shares_than_one_new_share_leaves_only_cash():
    wallet, position = Wallet("w", "u"), Position("BBDC4", 7, 0, D("15.000000"))
    wallet.split_position(position, 7, 1, 10, D("150.00"), "ev-group")
    assert (position.quantity, position.average_price, position.is_open) == (0, D("0"), False)
    assert wallet.available == D("105.00")  # 0.7 of a new share at R$ 150.00


def test_shares_bought_after_the_record_date_are_not_split_again():
    # 100 held at the close of the record date, 50 bought on the ex-date at the new prices
    # (before the split was applied): only the 100 double.
    result = cost_basis.split(150, D("20.000000"), 100, 2, 1)
    assert (result.quantity, result.added) == (250, 100)
    assert result.average_price == D("12.000000")  # the same 3,000.00 over 250 shares


def test_a_split_of_a_position_with_shares_blocked_by_a_sell_is_refused_in_the_domain():
    with pytest.raises(ValueError):
        Wallet("w", "u").split_position(Position("BBAS3", 100, 100, D("22")), 100, 2, 1, None, "ev")


def test_income_is_the_gross_in_and_the_withholding_out_as_its_own_line():
    wallet = Wallet("w", "u")
    wallet.receive_income(TransactionType.JCP, "PETR4", 300, D("60.00"), D("10.50"), "ev-jcp")
    gross, irrf = wallet.new_entries
    assert (gross.type, gross.amount, gross.quantity, gross.event_id) == (TransactionType.JCP, D("60.00"), 300, "ev-jcp")
    assert (irrf.type, irrf.amount, irrf.ticker, irrf.event_id) == (TransactionType.IRRF, D("-10.50"), "PETR4", "ev-jcp")
    assert wallet.available == D("49.50")


def test_the_holders_are_who_held_at_the_close_of_the_record_date():
    movements = [
        ShareMovement(100, date(2026, 12, 10)),  # bought before
        ShareMovement(200, RECORD),  # bought on the record date itself (data com): counts
        ShareMovement(-50, RECORD),
        ShareMovement(500, date(2026, 12, 16)),  # bought on the ex-date: does not
    ]
    assert entitled_shares(movements, RECORD) == 250
    assert entitled_shares([ShareMovement(100, date(2026, 12, 16))], RECORD) == 0
    assert entitled_shares([], RECORD) == 0


def test_a_payment_is_due_on_its_payment_date_once_the_record_date_has_closed():
    event = parse_event(
        {"id": "d", "ticker": "PETR4", "kind": "DIVIDEND", "recordDate": "2026-12-15", "paymentDate": "2026-12-15", "amountPerShare": "0.45"}
    )
    assert not is_due(event, trading_day_now=RECORD, today=RECORD), "its session has not closed yet"
    assert is_due(event, trading_day_now=date(2026, 12, 16), today=RECORD)  # after the day's roll
    later = parse_event(
        {"id": "d2", "ticker": "PETR4", "kind": "JCP", "recordDate": "2026-12-15", "paymentDate": "2026-12-29", "amountPerShare": "0.2"}
    )
    assert not is_due(later, date(2026, 12, 28), date(2026, 12, 28))
    assert is_due(later, date(2026, 12, 29), date(2026, 12, 29))
    split = parse_event({"id": "s", "ticker": "BBAS3", "kind": "SPLIT", "recordDate": "2026-12-18", "ratioNew": 2, "ratioOld": 1})
    assert not is_due(split, date(2026, 12, 18), date(2026, 12, 18))
    assert is_due(split, date(2026, 12, 21), date(2026, 12, 19))  # Saturday: the Monday's trading day


def test_the_project_file_is_illustrative_and_reads_whole():
    import json
    from importlib import resources

    document = json.loads(resources.files("mybroker").joinpath("data/corporate-events.json").read_text(encoding="utf-8"))
    events = parse_events(document)
    assert events and all(event.illustrative and event.id.startswith("ILLUSTRATIVE-") for event in events)
    assert {event.kind for event in events} == set(EventKind)
    assert "ILLUSTRATIVE" in document["about"] and "NOT" in document["about"]


@pytest.mark.parametrize(
    "change, names",
    [
        ({"kind": "BONUS"}, "'kind'"),
        ({"recordDate": "15/12/2026"}, "'recordDate'"),
        ({"amountPerShare": 0.45}, "'amountPerShare'"),  # a JSON number: money is a string
        ({"amountPerShare": "-1"}, "'amountPerShare'"),
        ({"paymentDate": "2026-12-01"}, "'paymentDate'"),  # before the record date
        ({"id": ""}, "'id'"),
    ],
)
def test_a_malformed_event_is_refused_naming_the_field(change, names):
    raw = {"id": "ev", "ticker": "PETR4", "kind": "DIVIDEND", "recordDate": "2026-12-15", "paymentDate": "2026-12-29", "amountPerShare": "0.45"}
    with pytest.raises(DomainError) as refused:
        parse_event({**raw, **change})
    assert refused.value.code is ErrorCode.BAD_USER_INPUT
    assert names in refused.value.message


def test_a_split_must_give_more_shares_and_a_reverse_split_fewer():
    base = {"id": "s", "ticker": "BBAS3", "recordDate": "2026-12-18"}
    with pytest.raises(DomainError):
        parse_event({**base, "kind": "SPLIT", "ratioNew": 1, "ratioOld": 2})
    with pytest.raises(DomainError):
        parse_event({**base, "kind": "REVERSE_SPLIT", "ratioNew": 1, "ratioOld": 10})  # no fractionPrice
    with pytest.raises(DomainError, match="at most 2 decimal places"):
        parse_event({**base, "kind": "REVERSE_SPLIT", "ratioNew": 1, "ratioOld": 10, "fractionPrice": "158.005"})  # a price: centavos
    with pytest.raises(DomainError):
        parse_events({"events": [{**base, "kind": "SPLIT", "ratioNew": 2, "ratioOld": 1}] * 2})  # the id twice


@given(
    quantity=st.integers(min_value=1, max_value=1_000_000),
    average=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000"), places=6),
    later=st.integers(min_value=0, max_value=10_000),
    ratio=st.tuples(st.integers(min_value=1, max_value=50), st.integers(min_value=1, max_value=50)).filter(lambda r: r[0] != r[1]),
)
def test_a_split_keeps_the_cost_whatever_the_ratio(quantity, average, later, ratio):
    """The shares kept and the fraction that leaves cost, together, what the position cost
    (to the average's sixth place per share), and the quantity is the entitled shares times
    the ratio, rounded down, plus those bought after the record date."""
    new, old = ratio
    held = quantity + later
    result = cost_basis.split(held, average, quantity, new, old)
    assert result.quantity == held + result.added == (quantity * new) // old + later
    assert Decimal(result.fraction_numerator) / old < 1
    before = average * held
    after = result.average_price * result.quantity + average * result.fraction_numerator / new
    assert abs(after - before) <= Decimal("0.0000005") * max(result.quantity, 1)
