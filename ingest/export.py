"""Writes one recorded day of the quote history as JSON lines (one Quote payload a line),
the file format MYBROKER_MARKET_SOURCE=replay plays back:

    python -m ingest.export [--day YYYY-MM-DD] [--ticker PETR4 ...] > session.jsonl

The day defaults to the latest recorded one; MongoDB is the one settings name
(MYBROKER_MONGODB_URL, MYBROKER_MONGODB_DATABASE)."""
from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime
from typing import TextIO

import orjson

from ingest.history import MongoHistory
from mybroker.settings import Settings


async def export(history: MongoHistory, out: TextIO, day=None, tickers: list[str] | None = None) -> int:
    """Writes the day's quotes in time order; answers how many."""
    day = day or await history.latest_day()
    if day is None:
        return 0
    count = 0
    async for _moment, quote in history.session(day, tickers):
        out.write(orjson.dumps(quote).decode() + "\n")
        count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--day", type=lambda text: datetime.strptime(text, "%Y-%m-%d").date(), help="UTC day, YYYY-MM-DD")
    parser.add_argument("--ticker", action="append", help="only these tickers (repeatable)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()

    async def run() -> int:
        history = MongoHistory(settings.mongodb_url, settings.mongodb_database)
        try:
            return await export(history, sys.stdout, args.day, [t.upper() for t in args.ticker or []])
        finally:
            await history.close()

    count = asyncio.run(run())
    print(f"{count} quotes exported", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
