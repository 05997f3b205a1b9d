"""`mybroker bench abuse`: issue 13's expensive-query attack, and what a trader sees meanwhile.

Unless `--url` points at a running router, the bench starts the embedded platform in a child
process (as `mybroker bench orders` does) and waits for the exchange to quote. Then, for
`--seconds` (default 10), it sends `--rate` (default 20) anonymous 60-alias
`assets(first: 200)` queries per second, each with candles, book and trades (about 20 KB,
under every depth, alias and token limit; before demand control one took 11.9 s and 3.25 MB
and stalled the platform), while one client polls `{ asset(ticker: "PETR4") { ticker quote
{ price } } }` back to back. A short quiet phase first measures the quote alone; after the
issue's attack (the same text every time) comes a second phase of `--seconds` with a new
text every time (the aliases named apart), which no cache of operation texts helps, under
`varied` in the JSON.

It reports how many attacks were refused (OPERATION_TOO_COMPLEX) and how fast, the quote's
latency during the attack, and errors: an attack answered any other way, a quote with
errors. The last line is JSON."""
from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson

from bench.orders import platform_to_measure

ASSET_EVERYTHING = """assets(first: 200) { ticker name type lotSize
  quote { ticker price change changePercent volume time }
  candles(interval: ONE_MINUTE, limit: 500) { time open high low close volume }
  book(depth: 10) { time bids { price quantity orders } asks { price quantity orders } }
  trades(limit: 200) { price quantity time } }"""


def attack_text(n: int) -> str:
    """The n-th attack: the same 60 aliases, named apart for each request, so that no
    cache of operation texts helps the router (an attacker would vary them)."""
    return "{ " + " ".join(f"a{n}_{alias}: {ASSET_EVERYTHING}" for alias in range(60)) + " }"


ATTACK = attack_text(0)
QUOTE = '{ asset(ticker: "PETR4") { ticker quote { price } } }'
QUIET_SECONDS = 2.0


def _ms(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def _codes(body: dict) -> list[str]:
    return [(e.get("extensions") or {}).get("code", "UNKNOWN") for e in body.get("errors") or []]


async def _post(http: aiohttp.ClientSession, url: str, query: str) -> tuple[float, int, dict]:
    started = time.perf_counter()
    async with http.post(url, json={"query": query}) as response:
        body = await response.json(content_type=None)
    return time.perf_counter() - started, response.status, body


async def _poll_quotes(http: aiohttp.ClientSession, url: str, until: float, latencies: list[float], errors: list[str]) -> None:
    while time.monotonic() < until:
        try:
            seconds, _status, body = await _post(http, url, QUOTE)
        except aiohttp.ClientError as error:
            errors.append(f"quote: {error}")
            continue
        latencies.append(seconds)
        if body.get("errors") or not ((body.get("data") or {}).get("asset") or {}).get("quote"):
            errors.append(f"quote: {_codes(body) or body}")


async def _attack(http: aiohttp.ClientSession, url: str, text: str, refusals: list[float], costs: list[tuple[int, int]],
                  errors: list[str]) -> None:
    try:
        seconds, status, body = await _post(http, url, text)
    except aiohttp.ClientError as error:
        errors.append(f"attack: {error}")
        return
    if _codes(body) == ["OPERATION_TOO_COMPLEX"] and body.get("data") is None:
        refusals.append(seconds)
        extensions = body["errors"][0]["extensions"]
        costs.append((extensions.get("cost"), extensions.get("maxCost")))
    else:
        errors.append(f"attack answered {status} {_codes(body) or 'with data'}")


async def _attack_phase(http: aiohttp.ClientSession, url: str, seconds: float, rate: int, varied: bool) -> dict:
    """`seconds` of `rate` attacks a second (the same text, or a new one each time) while a
    trader polls a quote."""
    errors: list[str] = []
    during: list[float] = []
    refusals: list[float] = []
    costs: list[tuple[int, int]] = []
    started = time.monotonic()
    async with aiohttp.ClientSession() as attack_http:
        poller = asyncio.create_task(_poll_quotes(http, url, started + seconds, during, errors))
        attacks: list[asyncio.Task] = []
        for n in range(int(seconds * rate)):
            # on schedule, however long the answers take: an attacker does not wait
            await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
            text = attack_text(n + 1) if varied else ATTACK
            attacks.append(asyncio.create_task(_attack(attack_http, url, text, refusals, costs, errors)))
        await asyncio.gather(poller, *attacks)
    cost, max_cost = costs[0] if costs else (None, None)
    return {
        "seconds": round(time.monotonic() - started, 2),
        "attacks_sent": len(attacks),
        "refused": len(refusals),
        "attack_cost": cost,
        "max_cost_anonymous": max_cost,
        "refusal_ms_p50": _ms(refusals, 0.50),
        "refusal_ms_p99": _ms(refusals, 0.99),
        "quotes_during_attack": len(during),
        "quote_ms_p50": _ms(during, 0.50),
        "quote_ms_p99": _ms(during, 0.99),
        "quote_ms_max": _ms(during, 1.0),
        "errors": len(errors),
        "first_errors": errors[:5],
    }


async def run_attack(url: str, seconds: float, rate: int) -> dict:
    """A quiet phase, then the issue's attack (the same text each time), then the same
    attack with a new text each time (no cache helps the router). The second phase's
    figures are under `varied`."""
    async with aiohttp.ClientSession() as quotes_http:
        quiet: list[float] = []
        quiet_errors: list[str] = []
        await _poll_quotes(quotes_http, url, time.monotonic() + QUIET_SECONDS, quiet, quiet_errors)
        repeated = await _attack_phase(quotes_http, url, seconds, rate, varied=False)
        varied = await _attack_phase(quotes_http, url, seconds, rate, varied=True)
    summary = {"attack_rate_per_s": rate, "attack_bytes": len(ATTACK), **repeated}
    summary.update({
        "quotes_quiet": len(quiet),
        "quote_quiet_ms_p50": _ms(quiet, 0.50),
        "quote_quiet_ms_p99": _ms(quiet, 0.99),
        "errors": repeated["errors"] + varied["errors"] + len(quiet_errors),
        "first_errors": (quiet_errors + repeated["first_errors"] + varied["first_errors"])[:5],
        "varied": varied,
    })
    return summary


def abuse(ops: int | None = None, seed: int = 42, seconds: float | None = None, rate: int | None = None,
          url: str | None = None) -> str:
    """`mybroker bench abuse`; returns the JSON line (the platform's start is printed first)."""
    del ops, seed  # the attack is the same every run
    seconds = 10.0 if seconds is None else seconds
    rate = 20 if rate is None else rate
    if seconds <= 0 or rate < 1:
        raise SystemExit("bench abuse: --seconds must be above 0 and --rate 1 or more")
    with platform_to_measure("abuse", url) as (url, measured_on):
        summary = asyncio.run(run_attack(url, seconds, rate))
    summary["infra"] = measured_on
    for label, phase in (("same text", summary), ("new texts", summary["varied"])):
        print(
            f"{label}: {phase['refused']}/{phase['attacks_sent']} attacks refused (cost {phase['attack_cost']} > "
            f"{phase['max_cost_anonymous']}) in p50 {phase['refusal_ms_p50']} ms / p99 {phase['refusal_ms_p99']} ms; "
            f"quote p50 {phase['quote_ms_p50']} ms, p99 {phase['quote_ms_p99']} ms, max {phase['quote_ms_max']} ms; "
            f"{phase['errors']} errors",
            flush=True,
        )
    print(f"quiet: quote p50 {summary['quote_quiet_ms_p50']} ms, p99 {summary['quote_quiet_ms_p99']} ms", flush=True)
    return orjson.dumps(summary).decode()
