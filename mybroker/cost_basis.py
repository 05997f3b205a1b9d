"""The average price with costs, as the tax authority counts it: one pure rule for the
wallet's positions and the reports' portfolio (and the tax report), so both say the same.

A purchase adds its value and its costs to what the position cost, re-weighting the average
by quantity; a sale leaves the average of what stays unchanged and realises its proceeds
less its own costs less the average cost of the shares sold. The average keeps six places
(more than cash) so re-weighting does not drift; money it yields is rounded to the centavo.

`Basis` is signed, for the portfolio projection, which must accept events as they come (a
sale past zero opens a short: its average is the sale's net proceeds per share). The wallet
never goes short, so for it this is `bought` and `sold` on a long position."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mybroker.money import cents
from mybroker.trading import OrderSide

AVERAGE_PRICE_PLACES = 6
_AVERAGE_UNIT = Decimal(1).scaleb(-AVERAGE_PRICE_PLACES)
ZERO = Decimal("0.00")


def reweighted(quantity: int, average: Decimal, added: int, cost: Decimal) -> Decimal:
    """The average of `quantity` shares at `average` and `added` more that cost `cost`
    (their value with their costs)."""
    total = quantity + added
    if total <= 0:
        raise ValueError("an average needs a positive quantity")
    return ((average * quantity + cost) / total).quantize(_AVERAGE_UNIT)


def realized(average: Decimal, quantity: int, net_proceeds: Decimal) -> Decimal:
    """What selling `quantity` shares of that average realises: the sale's value less its
    costs, less what the shares cost (to the centavo)."""
    return net_proceeds - cents(average * quantity)


@dataclass(frozen=True)
class Basis:
    quantity: int = 0  # signed: negative is short
    average_price: Decimal = Decimal("0")  # per share, costs included, six places
    realized: Decimal = ZERO  # P&L of everything closed so far, costs included

    @property
    def cost(self) -> Decimal:
        """What the open quantity cost (signed like it), to the centavo."""
        return cents(self.average_price * self.quantity)


def apply_trade(basis: Basis, side: OrderSide, quantity: int, value: Decimal, costs: Decimal) -> Basis:
    """`quantity` shares traded for `value` (price x quantity), paying `costs`."""
    if quantity <= 0:
        raise ValueError("a trade has a positive quantity")
    direction = 1 if side is OrderSide.BUY else -1
    held = basis.quantity
    # A BUY costs its value plus its costs; a short sale brings its value less its costs.
    net = value + costs if direction > 0 else value - costs
    if held == 0 or (held > 0) == (direction > 0):
        average = reweighted(abs(held), basis.average_price, quantity, net)
        return Basis(held + direction * quantity, average, basis.realized)
    closed = min(quantity, abs(held))
    remaining = quantity - closed
    # The closing part's share of the trade (all of it unless the trade crosses zero).
    closed_net = net if not remaining else cents(net * closed / quantity)
    if direction < 0:  # a sale closing a long
        gain = realized(basis.average_price, closed, closed_net)
    else:  # a purchase covering a short: the short's net proceeds less what covering cost
        gain = cents(basis.average_price * closed) - closed_net
    total = basis.realized + gain
    if remaining:
        rest = net - closed_net
        return Basis(direction * remaining, reweighted(0, Decimal("0"), remaining, rest), total)
    left = held + direction * closed
    return Basis(left, basis.average_price if left else Decimal("0"), total)


@dataclass(frozen=True)
class Split:
    """A split (desdobramento, `new` > `old`) or reverse split (grupamento, `new` < `old`) of
    a position: `new` shares for every `old` held on the record date.

    The cost of the shares stays what it was; only how many there are changes, so the
    average is re-weighted over the new quantity. A reverse split can leave a fraction of a
    new share (25 shares grouped 10:1 are 2.5): the holder keeps the whole shares and the
    fraction leaves the position, taking its share of the cost with it (`fraction_cost`),
    for the cash the event pays for it (the company sells the fractions at auction: the
    event states the price per new share)."""

    quantity: int  # the position's shares after the event
    average_price: Decimal  # six places, costs included
    added: int  # shares added (negative: removed), the fraction left out
    fraction_numerator: int  # the fraction of a new share left over is this / `old`
    fraction_cost: Decimal  # what that fraction cost, to the centavo (0 without one)


def split(quantity: int, average: Decimal, entitled: int, new: int, old: int) -> Split:
    """The position of `quantity` shares at `average` after `entitled` of them (the shares
    held at the close of the record date; the rest came after it, already at the new
    ratio) are split `new` for `old`. The shares it adds (or removes) cost nothing, so the
    position's cost is spread over its new quantity. (Were some of the entitled shares sold
    after the record date, as only a late application lets happen, the position keeps the
    difference: never below zero.)"""
    if new <= 0 or old <= 0 or new == old:
        raise ValueError(f"a split needs two different positive terms, not {new}:{old}")
    if entitled < 0 or quantity < 0:
        raise ValueError(f"{entitled} shares entitled, a position of {quantity}: neither is negative")
    whole, remainder = divmod(entitled * new, old)
    added = whole - entitled
    after = quantity + added
    cost = average * quantity
    # The fraction's share of the cost: `remainder / old` of a new share, whose average is
    # the entitled shares' cost over their exact new quantity (`entitled * new / old`).
    fraction_cost = cents(average * remainder / new) if remainder else ZERO
    if after <= 0:
        return Split(0, Decimal("0"), added, remainder, cents(cost))
    kept_cost = cost - (average * remainder / new)
    return Split(after, (kept_cost / after).quantize(_AVERAGE_UNIT), added, remainder, fraction_cost)
