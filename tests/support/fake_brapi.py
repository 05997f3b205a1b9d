"""A fake Brapi for tests: an aiohttp app on a free port answering `GET /api/quote/{tickers}`
like brapi.dev, from the documented response (brapi-quote-PETR4.json, a copy of
shared/fixtures).

It can be told to misbehave for the next requests: answer 429 (with a Retry-After),
fail with a 5xx, stall past the client's timeout, send malformed JSON, or serve records
with bad fields. It enforces a token when given one and the plan's tickers per request."""
from __future__ import annotations

import asyncio
import copy
import json
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

FIXTURE = Path(__file__).with_name("brapi-quote-PETR4.json")


def fixture_response() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


@dataclass
class Fault:
    kind: str  # status | stall | body
    status: int = 200
    headers: dict[str, str] | None = None
    body: bytes = b""
    seconds: float = 0.0


@dataclass
class Request:
    tickers: list[str]
    token: str | None


class FakeBrapi:
    def __init__(self, *, token: str | None = None, max_tickers: int = 1):
        self.token = token
        self.max_tickers = max_tickers
        template = fixture_response()["results"][0]
        self._template = template
        self.records: dict[str, dict[str, Any]] = {"PETR4": copy.deepcopy(template)}
        self.requests: list[Request] = []
        self._faults: deque[Fault] = deque()
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()  # ends stalls at stop, so teardown never waits them out
        self.url = ""

    # ------------------------------------------------------------------ market

    def add(self, ticker: str, **fields: Any) -> None:
        """A ticker shaped like the fixture's record, with these fields changed."""
        record = copy.deepcopy(self._template)
        record.update(symbol=ticker, shortName=ticker, longName=ticker, logourl=f"https://icons.brapi.dev/icons/{ticker}.svg")
        record.update(fields)
        self.records[ticker] = record

    def update(self, ticker: str, **fields: Any) -> None:
        self.records[ticker].update(fields)

    def remove_field(self, ticker: str, name: str) -> None:
        self.records[ticker].pop(name, None)

    # ------------------------------------------------------------------ faults

    def rate_limit(self, times: int = 1, retry_after: str | None = "1") -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        body = json.dumps({"error": True, "message": "Too many requests"}).encode()
        self._faults.extend(Fault("status", 429, headers, body) for _ in range(times))

    def fail(self, times: int = 1, status: int = 503) -> None:
        self._faults.extend(Fault("status", status, None, b"upstream unavailable") for _ in range(times))

    def stall(self, times: int = 1, seconds: float = 5.0) -> None:
        """Answers only after `seconds`: set it past the client's timeout."""
        self._faults.extend(Fault("stall", seconds=seconds) for _ in range(times))

    def malformed(self, times: int = 1, body: bytes = b'{"results": [{"symbol": "PETR4", "regularMarketPr') -> None:
        self._faults.extend(Fault("body", 200, None, body) for _ in range(times))

    # ------------------------------------------------------------------ server

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/api/quote/{tickers}", self._quote)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/api"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            self._closing.set()
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "FakeBrapi":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _quote(self, request: web.Request) -> web.StreamResponse:
        tickers = [t for t in request.match_info["tickers"].split(",") if t]
        self.requests.append(Request(tickers, request.query.get("token")))
        if self._faults:
            fault = self._faults.popleft()
            if fault.kind == "stall":
                try:
                    await asyncio.wait_for(self._closing.wait(), fault.seconds)
                except TimeoutError:
                    pass
            else:
                return web.Response(status=fault.status, headers=fault.headers, body=fault.body, content_type="application/json")
        if self.token is not None and request.query.get("token") != self.token:
            return _error(401, "O seu token é inválido")
        if len(tickers) > self.max_tickers:
            return _error(400, f"O seu plano permite até {self.max_tickers} ativo(s) por requisição")
        unknown = [t for t in tickers if t.upper() not in self.records]
        if unknown:
            return _error(404, f"Não encontramos a ação {unknown[0]}")
        results = [self.records[t.upper()] for t in tickers]
        return web.json_response({"results": results, "requestedAt": "2025-10-17T20:10:12.345Z", "took": 1})


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": True, "message": message}, status=status)
