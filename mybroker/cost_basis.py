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
