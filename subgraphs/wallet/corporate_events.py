"""Corporate events (proventos and share events) as the wallet applies them: dividends and
JCP credited on their payment date, splits (desdobramento) and reverse splits (grupamento)
on the day after their record date, to whoever held the shares at the close of the record
date (data com). Pure: the event, its validation, who is entitled to how many shares, and
when an event is due; the cash and the position change in `Wallet.receive_income` and
`Wallet.split_position` (domain.py), the cost basis in mybroker.cost_basis.

**Data com.** At B3 whoever holds the shares at the close of the record date's session
receives the event, even if the purchase settles on D+2 after it: entitlement counts trades
by their trading day, not their settlement day. The wallet replays its ledger to find the
quantity at that close (`entitled_shares`), so an event applied late (the service was down
on the day) still pays the holders of the record date, not today's.

**Fractions of a reverse split.** Whole new shares stay in the position; the fraction of a
new share left over is paid in cash at the event's `fractionPrice` per new share (the
company sells the grouped fractions at auction at B3 and pays the holders; the simulator
credits the stated price on the ex-date, with the grouping, as FRACTION_CASH). The
fraction's share of the cost leaves with it (mybroker.cost_basis.split).

**Shares blocked by an open SELL order.** B3 cancels an asset's resting orders on the ex-date
of a split; the simulator's exchange does not yet, so a split of a position with blocked
shares waits (the next pass tries again) rather than change the quantity an open order
holds."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Iterable, Mapping

from mybroker.errors import DomainError, ErrorCode
from mybroker.withholding import IncomeKind

MAX_EVENT_ID = 64
MAX_TICKER = 20
MAX_DESCRIPTION = 300


class EventKind(str, Enum):
    DIVIDEND = "DIVIDEND"  # dividendos
    JCP = "JCP"  # juros sobre capital próprio
    SPLIT = "SPLIT"  # desdobramento: more shares for each
    REVERSE_SPLIT = "REVERSE_SPLIT"  # grupamento: fewer shares for each

    @property
    def pays_cash(self) -> bool:
        return self in (EventKind.DIVIDEND, EventKind.JCP)

    @property
    def income(self) -> IncomeKind:
        return IncomeKind(self.value)


@dataclass(frozen=True)
class CorporateEvent:
    id: str
    ticker: str
    kind: EventKind
    record_date: date  # data com: holders at the close of this B3 session
    payment_date: date | None = None  # DIVIDEND and JCP: the day the cash is credited
    amount_per_share: Decimal | None = None  # DIVIDEND and JCP: gross, as declared (may have more than 2 places)
    ratio_new: int | None = None  # SPLIT and REVERSE_SPLIT: `ratio_new` shares for every `ratio_old`
    ratio_old: int | None = None
    fraction_price: Decimal | None = None  # REVERSE_SPLIT: cash per new share for fractions
    approved_on: date | None = None  # when the company approved it (the dividend transition rule)
    description: str = ""
    illustrative: bool = False  # a made-up event for the simulator, not market history

    @property
    def issuer(self) -> str:
        """B3's issuer code: the ticker's four letters (PETR for PETR3 and PETR4)."""
        return self.ticker[:4]

    @property
    def ex_date(self) -> date:
        """The first calendar day after the record date: shares bought from then on do not
        take part (the next B3 session is the ex-date proper)."""
        return self.record_date + timedelta(days=1)


def _refused(event_id: str, why: str) -> DomainError:
    return DomainError(ErrorCode.BAD_USER_INPUT, f"Corporate event {event_id or '(no id)'}: {why}")


def _date(raw: Mapping[str, Any], name: str, event_id: str, required: bool = True) -> date | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise _refused(event_id, f"'{name}' is required (YYYY-MM-DD).")
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _refused(event_id, f"'{name}' must be a date (YYYY-MM-DD), not {value!r}.") from None


def _positive_decimal(raw: Mapping[str, Any], name: str, event_id: str, places: int = 8) -> Decimal:
    value = raw.get(name)
    if not isinstance(value, str):  # as money everywhere: a string, never a JSON number
        raise _refused(event_id, f"'{name}' is required, as a string of digits (\"0.45\").")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise _refused(event_id, f"'{name}' must be a decimal number, not {value!r}.") from None
    if not amount.is_finite() or amount <= 0:
        raise _refused(event_id, f"'{name}' must be above zero.")
    if amount.as_tuple().exponent < -places:  # type: ignore[operator]  # finite: the exponent is an int
        raise _refused(event_id, f"'{name}' may have at most {places} decimal places.")
    return amount


def _positive_int(raw: Mapping[str, Any], name: str, event_id: str) -> int:
    value = raw.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0 or value > 1_000_000:
        raise _refused(event_id, f"'{name}' must be a whole number from 1 to 1000000.")
    return value


def parse_event(raw: Any, *, illustrative: bool = False) -> CorporateEvent:
    """One event of a corporate-events file (docs/corporate-events.md); BAD_USER_INPUT
    naming the event and the field when it is malformed."""
    if not isinstance(raw, dict):
        raise _refused("", "each event must be a JSON object.")
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not event_id.strip() or len(event_id) > MAX_EVENT_ID:
        raise _refused("", f"'id' is required, a text of at most {MAX_EVENT_ID} characters.")
    event_id = event_id.strip()
    ticker = raw.get("ticker")
    if not isinstance(ticker, str) or not ticker.strip() or len(ticker.strip()) > MAX_TICKER:
        raise _refused(event_id, "'ticker' is required.")
    try:
        kind = EventKind(raw.get("kind"))
    except ValueError:
        raise _refused(event_id, f"'kind' must be one of {', '.join(k.value for k in EventKind)}.") from None
    description = raw.get("description") or ""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise _refused(event_id, f"'description' must be a text of at most {MAX_DESCRIPTION} characters.")
    record_date = _date(raw, "recordDate", event_id)
    assert record_date is not None
    common = CorporateEvent(
        id=event_id, ticker=ticker.strip().upper(), kind=kind, record_date=record_date,
        approved_on=_date(raw, "approvedOn", event_id, required=False), description=description,
        illustrative=bool(raw.get("illustrative", illustrative)),
    )
    if kind.pays_cash:
        payment_date = _date(raw, "paymentDate", event_id)
        assert payment_date is not None
        if payment_date < record_date:
            raise _refused(event_id, "'paymentDate' cannot be before 'recordDate'.")
        return replace(common, payment_date=payment_date, amount_per_share=_positive_decimal(raw, "amountPerShare", event_id))
    new, old = _positive_int(raw, "ratioNew", event_id), _positive_int(raw, "ratioOld", event_id)
    if kind is EventKind.SPLIT and new <= old:
        raise _refused(event_id, "a SPLIT gives more shares than it takes: 'ratioNew' must be above 'ratioOld'.")
    if kind is EventKind.REVERSE_SPLIT and new >= old:
        raise _refused(event_id, "a REVERSE_SPLIT gives fewer shares than it takes: 'ratioNew' must be below 'ratioOld'.")
    # A price, in centavos as every price at B3.
    fraction_price = _positive_decimal(raw, "fractionPrice", event_id, places=2) if kind is EventKind.REVERSE_SPLIT else None
    return replace(common, ratio_new=new, ratio_old=old, fraction_price=fraction_price)


def parse_events(document: Any) -> list[CorporateEvent]:
    """A corporate-events file: {"illustrative": bool, "events": [...]}; ids unique."""
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise DomainError(ErrorCode.BAD_USER_INPUT, "A corporate-events file is a JSON object with a list 'events'.")
    illustrative = document.get("illustrative") is True
    events = [parse_event(raw, illustrative=illustrative) for raw in document["events"]]
    seen: set[str] = set()
    for event in events:
        if event.id in seen:
            raise _refused(event.id, "the id appears twice in the file.")
        seen.add(event.id)
    return events


# ------------------------------------------------------------ who is entitled, and when


@dataclass(frozen=True)
class ShareMovement:
    """A change of a position's quantity, counted in the holdings at the close of every
    B3 session from `counts_from` on: a trade from its trading day, a split from the day
    after its record date."""

    quantity: int  # signed
    counts_from: date


def entitled_shares(movements: Iterable[ShareMovement], record_date: date) -> int:
    """The shares held at the close of `record_date` (data com): never below zero."""
    return max(0, sum(m.quantity for m in movements if m.counts_from <= record_date))


def record_date_closed(event: CorporateEvent, trading_day_now: date) -> bool:
    """Whether the record date's session is over: today's trading day is a later one."""
    return trading_day_now > event.record_date


def is_due(event: CorporateEvent, trading_day_now: date, today: date) -> bool:
    """A split applies once its record date has closed; a payment also waits for its
    payment date (Brasília's calendar day)."""
    if not record_date_closed(event, trading_day_now):
        return False
    if event.kind.pays_cash:
        assert event.payment_date is not None
        return today >= event.payment_date
    return True


def same_terms(a: CorporateEvent, b: CorporateEvent) -> bool:
    """Loading an event again is a no-op only if it says the same thing."""
    return a == b
