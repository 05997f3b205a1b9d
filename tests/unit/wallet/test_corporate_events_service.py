"""Corporate events applied by the wallet on the shared clock: paid to the holders at the
close of the record date only, on the payment date, once per event and holder however many
passes run; JCP and large dividends withhold IRRF; splits change positions; the ledger lines
and their messages are written together (outbox)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import orjson
import pytest
from sqlalchemy import select

from mybroker.auth import Caller
from mybroker.calendar import ManualClock
from mybroker.errors import DomainError, ErrorCode
from subgraphs.wallet.corporate_events import parse_events
from subgraphs.wallet.corporate_events_service import CorporateEventsService
from subgraphs.wallet.service import Fill, WalletService
from subgraphs.wallet.tables import outbox

D = Decimal
FRIDAY = datetime(2026, 12, 11, 14, 0, tzinfo=timezone.utc)  # 11:00 in Brasília
RECORD_DAY = datetime(2026, 12, 15, 14, 0, tzinfo=timezone.utc)  # Tuesday, the record date, in session
RECORD_EVENING = datetime(2026, 12, 15, 21, 30, tzinfo=timezone.utc)  # 18:30: the session is over
EX_DAY = datetime(2026, 12, 16, 14, 0, tzinfo=timezone.utc)
PAYMENT_DAY = datetime(2026, 12, 29, 13, 0, tzinfo=timezone.utc)  # 10:00 in Brasília

PETR4_INCOME = {
    "illustrative": True,
    "events": [
        {"id": "div", "ticker": "PETR4", "kind": "DIVIDEND", "recordDate": "2026-12-15", "paymentDate": "2026-12-29",
         "amountPerShare": "0.45", "approvedOn": "2026-12-01"},
        {"id": "jcp", "ticker": "PETR4", "kind": "JCP", "recordDate": "2026-12-15", "paymentDate": "2026-12-29",
         "amountPerShare": "0.20", "approvedOn": "2026-12-01"},
    ],
}


@pytest.fixture
def clock():
    return ManualClock(FRIDAY)


@pytest.fixture
def service(wallet, clock):
    return WalletService(wallet.db, clock=clock.now)


@pytest.fixture
def events(wallet, clock):
    return CorporateEventsService(wallet.db, clock=clock.now)


async def trade(service: WalletService, user: str, side: str, ticker: str, quantity: int, price: str) -> None:
    order_id = f"{user}-{side}-{ticker}-{quantity}-{price}"
    if side == "BUY":
        await service.deposit(Caller(user), D(price) * quantity)
    await service.reserve(order_id, user, side, ticker, quantity, D(price))
    await service.settle(order_id, Fill(f"x-{order_id}", quantity, D(price)), closed=True)


async def lines(service: WalletService, user: str, *kinds: str) -> list[tuple[str, str, str, int | None, str | None]]:
    entries = await service.transactions(Caller(user), user, 500)
    return sorted(
        (e.type.value, str(e.amount), e.ticker or "", e.quantity, e.event_id) for e in entries if e.type.value in kinds
    )


INCOME = ("DIVIDEND", "JCP", "IRRF")


async def test_income_goes_to_the_holders_at_the_record_dates_close_on_the_payment_date_once(wallet, service, events, clock):
    await trade(service, "alice", "BUY", "PETR4", 100, "30.00")  # held since Friday
    clock.set(RECORD_DAY)
    await trade(service, "bob", "BUY", "PETR4", 300, "31.00")  # bought on the record date: takes part
    await trade(service, "bob", "SELL", "PETR4", 100, "31.50")
    await trade(service, "dave", "BUY", "PETR4", 100, "31.00")
    await trade(service, "dave", "SELL", "PETR4", 100, "31.20")  # sold out on the record date: does not
    clock.set(EX_DAY)
    await trade(service, "carol", "BUY", "PETR4", 500, "30.50")  # bought ex: does not
    assert (await events.load(parse_events(PETR4_INCOME))).added == ("div", "jcp")

    clock.set(RECORD_EVENING)
    assert (await events.apply_due()).applied == 0, "due on the payment date, not before"
    clock.set(PAYMENT_DAY)
    first = await events.apply_due()
    assert (first.applied, first.finished) == (4, ("div", "jcp"))

    # Alice: 100 x 0.45 = 45.00; JCP 100 x 0.20 = 20.00, 17.5% withheld (LC 224/2025) = 3.50.
    assert await lines(service, "alice", *INCOME) == [
        ("DIVIDEND", "45.00", "PETR4", 100, "div"), ("IRRF", "-3.50", "PETR4", 100, "jcp"), ("JCP", "20.00", "PETR4", 100, "jcp"),
    ]
    assert await lines(service, "bob", *INCOME) == [
        ("DIVIDEND", "90.00", "PETR4", 200, "div"), ("IRRF", "-7.00", "PETR4", 200, "jcp"), ("JCP", "40.00", "PETR4", 200, "jcp"),
    ]
    assert await lines(service, "carol", *INCOME) == []
    assert await lines(service, "dave", *INCOME) == []
    alice = await service.cash(Caller("alice"), "alice")
    assert alice.withdrawable == D("61.50"), "income is settled cash: it may leave at once"

    # Passes after the first (a restart, a second replica) pay no one twice.
    assert (await events.apply_due()).applied == 0
    assert (await CorporateEventsService(wallet.db, clock=clock.now).apply_due()).applied == 0
    assert len(await lines(service, "alice", *INCOME)) == 3


async def test_every_credited_line_and_its_application_are_in_the_outbox(wallet, service, events, clock):
    await trade(service, "alice", "BUY", "PETR4", 100, "30.00")
    await events.load(parse_events(PETR4_INCOME))
    clock.set(PAYMENT_DAY)
    await events.apply_due()
    async with wallet.db.read() as session:
        rows = (await session.execute(select(outbox.c.payload).order_by(outbox.c.seq))).scalars().all()
    messages = [orjson.loads(row) for row in rows]
    wallet_lines = [m["data"]["type"] for m in messages if m["type"] == "WalletTransaction"]
    assert wallet_lines[-3:] == ["DIVIDEND", "JCP", "IRRF"]
    applied = [m["data"] for m in messages if m["type"] == "CorporateEventApplied"]
    assert [(a["eventId"], a["entitled"], a["gross"], a["withheld"], a["appliedOn"]) for a in applied] == [
        ("div", 100, "45.00", "0.00", "2026-12-29"), ("jcp", 100, "20.00", "3.50", "2026-12-29"),
    ]


async def test_one_companys_dividends_past_50000_in_a_month_withhold_10_percent_of_the_month(wallet, service, events, clock):
    await trade(service, "whale", "BUY", "PETR4", 90_000, "30.00")
    await trade(service, "whale", "BUY", "PETR3", 60_000, "34.00")
    await trade(service, "whale", "BUY", "VALE3", 100_000, "60.00")
    await events.load(parse_events({"events": [
        # 40,500.00 from Petrobras: under the line alone.
        {"id": "p4", "ticker": "PETR4", "kind": "DIVIDEND", "recordDate": "2026-12-14", "paymentDate": "2026-12-21",
         "amountPerShare": "0.45", "approvedOn": "2026-12-01"},
        # 12,000.00 more from Petrobras (PETR3) the same month: 52,500.00 in all, so 10% of it.
        {"id": "p3", "ticker": "PETR3", "kind": "DIVIDEND", "recordDate": "2026-12-15", "paymentDate": "2026-12-29",
         "amountPerShare": "0.20", "approvedOn": "2026-12-01"},
        # 60,000.00 from Vale, approved in 2025: the law's transition keeps it exempt.
        {"id": "v3", "ticker": "VALE3", "kind": "DIVIDEND", "recordDate": "2026-12-15", "paymentDate": "2026-12-29",
         "amountPerShare": "0.60", "approvedOn": "2025-12-20"},
    ]}))
    clock.set(datetime(2026, 12, 21, 13, 0, tzinfo=timezone.utc))
    await events.apply_due()
    clock.set(PAYMENT_DAY)
    await events.apply_due()
    assert await lines(service, "whale", *INCOME) == [
        ("DIVIDEND", "12000.00", "PETR3", 60_000, "p3"),
        ("DIVIDEND", "40500.00", "PETR4", 90_000, "p4"),
        ("DIVIDEND", "60000.00", "VALE3", 100_000, "v3"),
        ("IRRF", "-5250.00", "PETR3", 60_000, "p3"),  # 10% of 52,500.00, none withheld before
    ]


SPLITS = {"events": [
    {"id": "split", "ticker": "BBAS3", "kind": "SPLIT", "recordDate": "2026-12-15", "ratioNew": 2, "ratioOld": 1},
    {"id": "group", "ticker": "BBDC4", "kind": "REVERSE_SPLIT", "recordDate": "2026-12-15", "ratioNew": 1, "ratioOld": 10,
     "fractionPrice": "160.00"},
]}


async def test_splits_apply_once_the_record_date_closes_and_once(wallet, service, events, clock):
    await trade(service, "alice", "BUY", "BBAS3", 100, "22.30")
    await trade(service, "alice", "BUY", "BBDC4", 25, "15.80")
    await events.load(parse_events(SPLITS))
    clock.set(RECORD_DAY)
    assert (await events.apply_due()).applied == 0
    clock.set(RECORD_EVENING)  # after the day's roll, before the ex-date's session
    assert (await events.apply_due()).applied == 2
    assert (await events.apply_due()).applied == 0
    positions = {p.ticker: p for p in await service.positions(Caller("alice"), "alice")}
    assert (positions["BBAS3"].quantity, positions["BBAS3"].average_price) == (200, D("11.150000"))
    assert (positions["BBDC4"].quantity, positions["BBDC4"].average_price) == (2, D("158.000000"))
    assert await lines(service, "alice", "SPLIT", "REVERSE_SPLIT", "FRACTION_CASH") == [
        ("FRACTION_CASH", "80.00", "BBDC4", None, "group"),
        ("REVERSE_SPLIT", "0.00", "BBDC4", -23, "group"),
        ("SPLIT", "0.00", "BBAS3", 100, "split"),
    ]
    # A dividend of a later record date counts the split shares.
    await events.load(parse_events({"events": [
        {"id": "later", "ticker": "BBAS3", "kind": "DIVIDEND", "recordDate": "2026-12-16", "paymentDate": "2026-12-16", "amountPerShare": "0.10"},
    ]}))
    clock.set(datetime(2026, 12, 16, 21, 30, tzinfo=timezone.utc))
    await events.apply_due()
    assert await lines(service, "alice", "DIVIDEND") == [("DIVIDEND", "20.00", "BBAS3", 200, "later")]


async def test_a_split_waits_while_an_open_sell_blocks_the_shares(wallet, service, events, clock):
    await trade(service, "alice", "BUY", "BBAS3", 100, "22.30")
    await service.reserve("sell-1", "alice", "SELL", "BBAS3", 100, D("30.00"))
    await events.load(parse_events({"events": SPLITS["events"][:1]}))
    clock.set(RECORD_EVENING)
    waiting = await events.apply_due()
    assert (waiting.applied, waiting.deferred, waiting.finished) == (0, 1, ())
    await service.cancel_reservation("sell-1")
    done = await events.apply_due()
    assert (done.applied, done.finished) == (1, ("split",))
    [position] = await service.positions(Caller("alice"), "alice")
    assert position.quantity == 200


async def test_loading_again_changes_nothing_and_other_terms_under_a_known_id_are_refused(events):
    loaded = parse_events(PETR4_INCOME)
    assert (await events.load(loaded)).added == ("div", "jcp")
    again = await events.load(loaded)
    assert (again.added, again.unchanged) == ((), ("div", "jcp"))
    changed = parse_events({"events": [{**PETR4_INCOME["events"][0], "amountPerShare": "0.46"}]})
    with pytest.raises(DomainError) as refused:
        await events.load(changed)
    assert refused.value.code is ErrorCode.BAD_USER_INPUT
    [dividend, _] = await events.events_of("PETR4")
    assert dividend.amount_per_share == D("0.45")


async def test_a_record_date_that_is_not_a_b3_session_is_refused(events):
    christmas_eve = {"events": [{**PETR4_INCOME["events"][0], "recordDate": "2026-12-24"}]}
    with pytest.raises(DomainError, match="not a B3 session"):
        await events.load(parse_events(christmas_eve))


async def test_a_crash_mid_application_leaves_nothing_and_the_next_pass_pays_once(wallet, service, events, clock, monkeypatch):
    from subgraphs.wallet import corporate_events_service

    await trade(service, "alice", "BUY", "PETR4", 100, "30.00")
    await events.load(parse_events(PETR4_INCOME))
    clock.set(PAYMENT_DAY)
    real = corporate_events_service.applied_message

    def crash(*args, **kwargs):
        raise RuntimeError("the process dies after the ledger lines, before the commit")

    monkeypatch.setattr(corporate_events_service, "applied_message", crash)
    with pytest.raises(RuntimeError):
        await events.apply_due()
    assert await lines(service, "alice", *INCOME) == [], "the cash and its lines rolled back with the application"
    assert (await service.wallet(Caller("alice"), "alice")).available == D("0.00")

    monkeypatch.setattr(corporate_events_service, "applied_message", real)
    assert (await events.apply_due()).applied == 2
    assert (await events.apply_due()).applied == 0
    assert len(await lines(service, "alice", *INCOME)) == 3
    assert (await service.wallet(Caller("alice"), "alice")).available == D("61.50")


async def test_the_job_applies_due_events_by_itself_and_a_failed_pass_does_not_stop_it(wallet, service, clock):
    import asyncio

    from subgraphs.wallet.corporate_events_job import CorporateEventsJob

    class Flaky(CorporateEventsService):
        """Fails its first pass (the database away), then tells the test each pass ended."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.passes = 0
            self.second_pass = asyncio.Event()

        async def apply_due(self):
            self.passes += 1
            if self.passes == 1:
                raise ConnectionError("database away")
            result = await super().apply_due()
            self.second_pass.set()
            return result

    await trade(service, "alice", "BUY", "PETR4", 100, "30.00")
    flaky = Flaky(wallet.db, clock=clock.now)
    await flaky.load(parse_events(PETR4_INCOME))
    clock.set(PAYMENT_DAY)
    job = CorporateEventsJob(flaky, interval=0.01)
    await job.start()
    try:
        await asyncio.wait_for(flaky.second_pass.wait(), timeout=10)
    finally:
        await job.stop()
    assert len(await lines(service, "alice", *INCOME)) == 3


async def test_a_payment_under_a_centavo_credits_nothing_and_is_done(wallet, service, events, clock):
    await trade(service, "alice", "BUY", "PETR4", 1, "30.00")  # the fractional market: one share
    await events.load(parse_events({"events": [
        {"id": "tiny", "ticker": "PETR4", "kind": "JCP", "recordDate": "2026-12-15", "paymentDate": "2026-12-29", "amountPerShare": "0.004"},
    ]}))
    clock.set(PAYMENT_DAY)
    assert (await events.apply_due()).finished == ("tiny",)
    assert await lines(service, "alice", *INCOME) == []
    assert (await events.apply_due()).applied == 0
