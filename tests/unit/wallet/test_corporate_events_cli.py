"""`mybroker events load FILE`: loads into the configured wallet database, twice changing
nothing; a malformed file or an event loaded before with other terms exits with one
sentence and stores nothing."""
from __future__ import annotations

import asyncio
import json
import shutil
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from launch.cli import main
from mybroker.db import Database
from subgraphs.wallet.corporate_events_service import CorporateEventsService
from subgraphs.wallet.tables import metadata

PROJECT_FILE = Path(str(resources.files("mybroker").joinpath("data/corporate-events.json")))


@pytest.fixture
def wallet_url(tmp_path, monkeypatch) -> str:
    # An explicit URL: on the real-engines pass MYBROKER_INFRA=real would otherwise point the
    # command at the shared MySQL wallet.
    url = f"sqlite+aiosqlite:///{tmp_path / 'wallet.db'}"
    monkeypatch.setenv("MYBROKER_WALLET_DATABASE_URL", url)
    monkeypatch.setenv("MYBROKER_DATA_DIR", str(tmp_path))
    return url


def events_in(url: str, ticker: str):
    async def read():
        db = Database(url, metadata)
        try:
            return await CorporateEventsService(db).events_of(ticker)
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_the_project_file_loads_once(wallet_url, capsys, tmp_path):
    copy = tmp_path / "events.json"
    shutil.copy(PROJECT_FILE, copy)
    main(["events", "load", str(copy)])
    main(["events", "load", str(copy)])
    first, second = capsys.readouterr().out.strip().splitlines()
    count = len(json.loads(PROJECT_FILE.read_text(encoding="utf-8"))["events"])
    assert first.endswith(f"{count} added, 0 already loaded")
    assert second.endswith(f"0 added, {count} already loaded")
    [split] = events_in(wallet_url, "BBAS3")
    assert split.illustrative and split.ratio_new == 2


def test_a_malformed_file_names_the_event_and_field_and_loads_nothing(wallet_url, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"events": [
        {"id": "fine", "ticker": "PETR4", "kind": "SPLIT", "recordDate": "2026-12-15", "ratioNew": 2, "ratioOld": 1},
        {"id": "broken", "ticker": "PETR4", "kind": "DIVIDEND", "recordDate": "2026-12-15", "paymentDate": "2026-12-29", "amountPerShare": 0.45},
    ]}))
    with pytest.raises(SystemExit) as refused:
        main(["events", "load", str(bad)])
    assert "broken" in str(refused.value) and "'amountPerShare'" in str(refused.value)
    with pytest.raises(SystemExit, match="cannot read"):
        main(["events", "load", str(tmp_path / "missing.json")])


def test_other_terms_under_a_loaded_id_are_refused_and_nothing_of_the_file_is_stored(wallet_url, tmp_path, capsys):
    first = tmp_path / "first.json"
    event = {"id": "div", "ticker": "PETR4", "kind": "DIVIDEND", "recordDate": "2026-12-15", "paymentDate": "2026-12-29", "amountPerShare": "0.45"}
    first.write_text(json.dumps({"events": [event]}))
    main(["events", "load", str(first)])
    changed = tmp_path / "changed.json"
    extra = {"id": "new", "ticker": "PETR4", "kind": "SPLIT", "recordDate": "2026-12-16", "ratioNew": 2, "ratioOld": 1}
    changed.write_text(json.dumps({"events": [extra, {**event, "amountPerShare": "0.50"}]}))
    with pytest.raises(SystemExit, match="other terms.*Nothing was loaded"):
        main(["events", "load", str(changed)])
    assert [(e.id, e.amount_per_share) for e in events_in(wallet_url, "PETR4")] == [("div", Decimal("0.45"))]
