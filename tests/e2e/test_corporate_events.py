"""Corporate events through the router, on the embedded default and on the real engines: a
trader buys WEGE3 today; events with today as their record date are loaded with the command
line (`mybroker events load FILE`, twice: the second changes nothing); the wallet's job, on a
clock moved past the record date's close to the payment date, credits the dividend and the
JCP (IRRF withheld) and splits the position, once however often it runs; the ledger, the
wallet's position and the portfolio (reports, fed by the wallet's outbox) show it."""
from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime, time, timezone
from decimal import Decimal

import pytest

from launch.cli import main
from mybroker.calendar import BRASILIA, ManualClock, b3_calendar
from mybroker.db import Database
from mybroker.events import utcnow
from subgraphs.wallet.corporate_events_job import CorporateEventsJob
from subgraphs.wallet.corporate_events_service import CorporateEventsService
from subgraphs.wallet.tables import metadata
from tests.e2e.test_trader_story import DEPOSIT, PLACE, QUOTE, sign_up, until_status

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

# No other story trades it: the events loaded here touch this test's trader alone.
TICKER = "WEGE3"
EVENTS = """query($t: ID!) { asset(ticker: $t) { corporateEvents {
    id kind recordDate exDate paymentDate amountPerShare ratioNew ratioOld illustrative } } }"""
WALLET = """{ me { wallet { available withdrawable positions { asset { ticker } quantity averagePrice }
    transactions(first: 50) { type amount ticker quantity corporateEventId } } } }"""
PORTFOLIO = """{ me { portfolio { incomeReceived
    positions { asset { ticker } quantity averagePrice incomeReceived }
    income { corporateEventId asset { ticker } kind quantity gross withheld net paidOn } } } }"""


async def test_a_loaded_event_is_credited_and_applied_to_the_holder_on_its_day(platform, new_client, tmp_path, monkeypatch, capsys):
    trader = new_client()
    await sign_up(trader, "acionista")
    await trader.execute(DEPOSIT, {"amount": "20000.00"})
    await trader.until(QUOTE, {"t": TICKER}, lambda d: d["asset"]["quote"] is not None)
    order = (await trader.execute(PLACE, {"input": {"ticker": TICKER, "side": "BUY", "type": "MARKET", "quantity": 100}}))["placeOrder"]
    await until_status(trader, order["id"], "FILLED")
    before = (await trader.execute(WALLET))["me"]["wallet"]
    [held] = [p for p in before["positions"] if p["asset"]["ticker"] == TICKER]
    assert held["quantity"] == 100

    calendar = b3_calendar()
    record = calendar.trading_day(utcnow())  # the purchase's trading day: held at its close
    payment = calendar.add_business_days(record, 1)
    run = uuid.uuid4().hex[:8]
    ids = {kind: f"e2e-{run}-{kind}" for kind in ("DIVIDEND", "JCP", "SPLIT")}
    path = tmp_path / "events.json"
    path.write_text(json.dumps({"illustrative": True, "events": [
        {"id": ids["DIVIDEND"], "ticker": TICKER, "kind": "DIVIDEND", "recordDate": record.isoformat(),
         "paymentDate": payment.isoformat(), "amountPerShare": "0.50", "approvedOn": record.isoformat()},
        {"id": ids["JCP"], "ticker": TICKER, "kind": "JCP", "recordDate": record.isoformat(),
         "paymentDate": payment.isoformat(), "amountPerShare": "0.40"},
        {"id": ids["SPLIT"], "ticker": TICKER, "kind": "SPLIT", "recordDate": record.isoformat(), "ratioNew": 2, "ratioOld": 1},
    ]}))

    # The command line, pointed at the platform's wallet database, as an operator runs it.
    wallet_url = platform.settings.database_url("wallet")
    monkeypatch.setenv("MYBROKER_DATA_DIR", str(platform.settings.data_dir))
    monkeypatch.setenv("MYBROKER_WALLET_DATABASE_URL", wallet_url)
    await asyncio.to_thread(main, ["events", "load", str(path)])
    await asyncio.to_thread(main, ["events", "load", str(path)])
    first, second = capsys.readouterr().out.strip().splitlines()
    assert first.endswith("3 added, 0 already loaded") and second.endswith("0 added, 3 already loaded")

    listed = (await trader.execute(EVENTS, {"t": TICKER}))["asset"]["corporateEvents"]
    mine = {e["id"]: e for e in listed if e["id"] in ids.values()}
    assert mine[ids["SPLIT"]]["exDate"] == payment.isoformat() and mine[ids["SPLIT"]]["ratioNew"] == 2
    assert mine[ids["DIVIDEND"]]["amountPerShare"] == "0.50" and mine[ids["DIVIDEND"]]["illustrative"]

    # The wallet's job on a clock moved to the payment date, past the record date's close:
    # a second replica on the same database, so the running wallet's own job (on today's
    # clock, for which nothing is due yet) is not in the way.
    moved = ManualClock(datetime.combine(payment, time(11, 0), tzinfo=BRASILIA).astimezone(timezone.utc))
    db = Database(wallet_url, metadata)
    try:
        job = CorporateEventsJob(CorporateEventsService(db, clock=moved.now))
        done = await job.run_once()
        assert done.applied == 3 and set(ids.values()) <= set(done.finished)
        assert (await job.run_once()).applied == 0, "a second pass pays no one twice"
    finally:
        await db.dispose()

    after = (await trader.execute(WALLET))["me"]["wallet"]
    lines = sorted(
        (line["type"], line["amount"], line["quantity"], line["corporateEventId"])
        for line in after["transactions"] if line["corporateEventId"] in ids.values()
    )
    # 100 x 0.50 = 50.00 exempt (under R$ 50,000 a month); JCP 100 x 0.40 = 40.00 with 17.5%
    # withheld = 7.00 (LC 224/2025); the split adds 100 shares.
    assert lines == sorted([
        ("DIVIDEND", "50.00", 100, ids["DIVIDEND"]), ("JCP", "40.00", 100, ids["JCP"]),
        ("IRRF", "-7.00", 100, ids["JCP"]), ("SPLIT", "0.00", 100, ids["SPLIT"]),
    ])
    assert Decimal(after["available"]) - Decimal(before["available"]) == Decimal("83.00")
    assert Decimal(after["withdrawable"]) - Decimal(before["withdrawable"]) == Decimal("83.00")
    [split] = [p for p in after["positions"] if p["asset"]["ticker"] == TICKER]
    assert split["quantity"] == 200
    # Half the average (the cost stays): the API shows averages to the centavo, so within one.
    assert abs(Decimal(split["averagePrice"]) * 2 - Decimal(held["averagePrice"])) <= Decimal("0.01")

    # The portfolio follows through the wallet's outbox and reports' consumer.
    portfolio = (await trader.until(
        PORTFOLIO, None, lambda d: Decimal(d["me"]["portfolio"]["incomeReceived"]) == Decimal("83.00")
        and any(p["quantity"] == 200 for p in d["me"]["portfolio"]["positions"])
    ))["me"]["portfolio"]
    [position] = [p for p in portfolio["positions"] if p["asset"]["ticker"] == TICKER]
    assert Decimal(position["incomeReceived"]) == Decimal("83.00")
    assert Decimal(position["averagePrice"]) == Decimal(split["averagePrice"])
    assert sorted((i["kind"], i["gross"], i["withheld"], i["net"], i["quantity"]) for i in portfolio["income"]) == [
        ("DIVIDEND", "50.00", "0.00", "50.00", 100), ("JCP", "40.00", "7.00", "33.00", 100),
    ]
    assert all(i["paidOn"] == payment.isoformat() for i in portfolio["income"])
