"""`mybroker bench router`: our router beside Hive Gateway and Apollo Gateway.

Starts the four bench subgraphs (bench.router.server, one process each), composes their
supergraph with our composer, then starts each gateway on that one supergraph file,
all pinned to the same CPU, and wrk (pinned with the subgraphs to the other CPUs) drives
them in turn with two queries: the deep entity query across all four subgraphs, and a
small query answered by one subgraph. The small query is also sent straight to that
subgraph, one request at a time, so the gateway's own overhead is the difference in p50.
Each measurement is repeated (the gateways taking turns) and the median kept, beside the
CPU time each gateway used per request; the last line printed is JSON."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import tempfile
from pathlib import Path

import orjson

from bench.router.load import LoadResult, run_wrk, wrk_binary
from bench.processes import (
    BenchSetupError,
    Process,
    cpu_split,
    ensure_node,
    free_port,
    install_gateways,
    python_module,
)
from bench.router.subgraphs import DEEP_QUERY, SMALL_QUERY, SUBGRAPHS

GATEWAYS = ("ours", "hive", "apollo")
DEEP = orjson.dumps({"query": DEEP_QUERY, "operationName": "Deep"})
SMALL = orjson.dumps({"query": SMALL_QUERY, "operationName": "Small"})


def start_subgraphs(cpus: set[int], log_dir: Path) -> tuple[list[Process], dict[str, str]]:
    """The four bench subgraphs, started and answering; (processes, name -> URL)."""
    processes, urls = [], {}
    for name in SUBGRAPHS:
        port = free_port()
        processes.append(Process(f"subgraph-{name}", python_module("bench.router.server", name, str(port)), cpus).start(log_dir))
        urls[name] = f"http://127.0.0.1:{port}/graphql"
    try:
        for process, url in zip(processes, urls.values()):
            process.wait_graphql(url)
    except BaseException:
        for process in processes:
            process.stop()
        raise
    return processes, urls


def compose_supergraph(urls: dict[str, str], path: Path) -> Path:
    from router.discovery import compose_from_urls

    # No internal secret: the bench subgraphs (bench.router.server) are plain graphql-core
    # servers that answer `_service` to anyone, as the peers' subgraphs would.
    path.write_text(asyncio.run(compose_from_urls(list(urls.items()))), encoding="utf-8")
    return path


def gateway_process(name: str, supergraph: Path, port: int, cpus: set[int], workers: int | None = None,
                    folder: Path | None = None) -> Process:
    """The gateway `name` serving `supergraph` on `port`, not started yet; the Node gateways
    run from `folder` (installed there first; default bench/gateways)."""
    if name == "ours":
        argv = python_module(
            "launch.cli", "router", "--supergraph", str(supergraph), "--port", str(port),
            # The peers run without demand control or rate limits; so does ours here.
            "--max-cost", "0", "--max-cost-anonymous", "0", "--no-rate-limit",
        )
        if workers:
            argv += ["--workers", str(workers)]
        return Process("router-ours", argv, cpus)
    node = ensure_node()
    folder = install_gateways(folder) if folder else install_gateways()
    if name == "hive":
        argv = [node, str(folder / "node_modules" / ".bin" / "hive-gateway"), "supergraph", str(supergraph),
                "--host", "127.0.0.1", "--port", str(port), "--fork", "1"]
        return Process("router-hive", argv, cpus, env={"NODE_ENV": "production"}, cwd=folder)
    if name == "apollo":
        return Process("router-apollo", [node, str(folder / "apollo-gateway.mjs"), str(supergraph), str(port)], cpus,
                       env={"NODE_ENV": "production"}, cwd=folder)
    raise BenchSetupError(f"unknown gateway {name!r}; choose from {', '.join(GATEWAYS)}")


def _median(results: list[LoadResult]) -> dict:
    return {
        "rps": round(statistics.median(r.requests_per_sec for r in results)),
        "p50_ms": round(statistics.median(r.p50_ms for r in results), 2),
        "p95_ms": round(statistics.median(r.p95_ms for r in results), 2),
        "p99_ms": round(statistics.median(r.p99_ms for r in results), 2),
        "rps_runs": [round(r.requests_per_sec) for r in results],
        "errors": sum(r.errors + r.non2xx for r in results),
        "kb": max(r.kb_per_response for r in results),
    }


def _answer(url: str, body: bytes) -> dict:
    from bench.processes import post_json

    return post_json(url, orjson.loads(body), timeout=30)


MEASUREMENTS = (("deep", DEEP, None), ("small", SMALL, None), ("small_c1", SMALL, 1))


def measure(urls: dict[str, str], processes: dict[str, Process], *, seconds: float, runs: int, connections: int,
            cpus: set[int], work_dir: Path) -> dict:
    """Medians per gateway and measurement. The gateways take turns within each run, so
    the machine's other work falls on all of them alike; the CPU time each gateway used
    per request is measured too, which that other work hardly disturbs."""
    for url in urls.values():  # warm-up (V8's JIT, caches)
        for body in (DEEP, SMALL):
            run_wrk(url, body, seconds=2, connections=connections, cpus=cpus, work_dir=work_dir)
    samples: dict[str, dict[str, list[LoadResult]]] = {name: {label: [] for label, _, _ in MEASUREMENTS} for name in urls}
    cpu_ms: dict[str, dict[str, list[float]]] = {name: {label: [] for label, _, _ in MEASUREMENTS} for name in urls}
    for _ in range(runs):
        for label, body, conns in MEASUREMENTS:
            for name, url in urls.items():
                before = processes[name].cpu_seconds()
                result = run_wrk(url, body, seconds=seconds, connections=conns or connections, cpus=cpus, work_dir=work_dir)
                used = processes[name].cpu_seconds() - before
                samples[name][label].append(result)
                if result.requests:
                    cpu_ms[name][label].append(1000 * used / result.requests)
    out = {}
    for name, by_label in samples.items():
        out[name] = {}
        for label, results in by_label.items():
            out[name][label] = _median(results)
            per_request = statistics.median(cpu_ms[name][label]) if cpu_ms[name][label] else None  # None: nothing finished
            out[name][label]["cpu_ms_per_req"] = round(per_request, 3) if per_request else None
            out[name][label]["rps_per_core"] = round(1000 / per_request) if per_request else None
    return out


def run_router_bench(*, seconds: float = 5, runs: int = 3, connections: int = 16, workers: int | None = None,
                     gateways: tuple[str, ...] = GATEWAYS) -> dict:
    wrk_binary()  # fail before starting anything
    unknown = [g for g in gateways if g not in GATEWAYS]
    if unknown:
        raise BenchSetupError(f"unknown gateway {', '.join(unknown)}; choose from {', '.join(GATEWAYS)}")
    gateway_cpus, other_cpus = cpu_split()
    work_dir = Path(tempfile.mkdtemp(prefix="mybroker-bench-router-"))
    subgraphs, urls = start_subgraphs(other_cpus, work_dir)
    results: dict = {"cpus": {"gateway": sorted(gateway_cpus), "subgraphs_and_wrk": sorted(other_cpus)},
                     "seconds": seconds, "runs": runs, "connections": connections, "gateways": {},
                     "load_before": round(os.getloadavg()[0], 1)}
    try:
        supergraph = compose_supergraph(urls, work_dir / "supergraph.graphql")
        direct = measure_direct(urls["products"], seconds=seconds, runs=runs, cpus=other_cpus, work_dir=work_dir)
        results["direct_subgraph_small_c1"] = direct
        processes, gateway_urls = {}, {}
        try:
            for name in gateways:
                port = free_port()
                processes[name] = gateway_process(name, supergraph, port, gateway_cpus, workers if name == "ours" else None)
                processes[name].start(work_dir)
                gateway_urls[name] = f"http://127.0.0.1:{port}/graphql"
                processes[name].wait_graphql(gateway_urls[name], timeout=120)
            answers = {name: _answer(url, DEEP) for name, url in gateway_urls.items()}
            reference = answers[gateways[0]]
            measured = measure(gateway_urls, processes, seconds=seconds, runs=runs, connections=connections, cpus=other_cpus, work_dir=work_dir)
            for name, entry in measured.items():
                entry["answer_errors"] = answers[name].get("errors")
                entry["same_answer_as_first"] = answers[name].get("data") == reference.get("data")
                entry["small_overhead_p50_ms"] = round(entry["small_c1"]["p50_ms"] - direct["p50_ms"], 2)
                entry["peak_rss_mb"] = processes[name].peak_rss_mb()
                results["gateways"][name] = entry
        finally:
            for process in processes.values():
                process.stop()
    finally:
        for process in subgraphs:
            process.stop()
    shutil.rmtree(work_dir, ignore_errors=True)
    results["load_after"] = round(os.getloadavg()[0], 1)  # the machine's other work is noise here: say how much
    return results


def measure_direct(url: str, *, seconds: float, runs: int, cpus: set[int], work_dir: Path) -> dict:
    run_wrk(url, SMALL, seconds=1, connections=1, cpus=cpus, work_dir=work_dir)
    return _median([run_wrk(url, SMALL, seconds=seconds, connections=1, cpus=cpus, work_dir=work_dir) for _ in range(runs)])


def report(results: dict) -> str:
    lines = [
        f"router bench: gateway on CPU {results['cpus']['gateway']}, subgraphs and wrk on CPU "
        f"{results['cpus']['subgraphs_and_wrk']}; {results['runs']} runs x {results['seconds']}s, medians; "
        f"{results['connections']} connections (small_c1: 1 connection); load average {results['load_before']} before, "
        f"{results['load_after']} after",
        f"  direct to the products subgraph, small query, 1 connection: p50 {results['direct_subgraph_small_c1']['p50_ms']} ms",
        f"  {'gateway':<8} {'query':<9} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'KB':>6} {'CPU ms/req':>10} "
        f"{'req/s/core':>10}  runs (req/s)",
    ]
    for name, entry in results["gateways"].items():
        for label in ("deep", "small", "small_c1"):
            m = entry[label]
            lines.append(f"  {name:<8} {label:<9} {m['rps']:>7} {m['p50_ms']:>7} {m['p95_ms']:>7} {m['p99_ms']:>7} {m['kb']:>6} "
                         f"{m['cpu_ms_per_req'] or '-':>10} {m['rps_per_core'] or '-':>10}  {m['rps_runs']}"
                         + (f"  ({m['errors']} errors)" if m["errors"] else ""))
        lines.append(f"  {name:<8} peak RSS {entry['peak_rss_mb']} MB; small-query overhead p50 {entry['small_overhead_p50_ms']} ms; "
                     f"same answer as {next(iter(results['gateways']))}: {entry['same_answer_as_first']}"
                     + (f"; errors in answer: {entry['answer_errors']}" if entry["answer_errors"] else ""))
    ours = results["gateways"].get("ours")
    summary = {"gateways": {}}
    for name, entry in results["gateways"].items():
        summary["gateways"][name] = {
            "deep_rps": entry["deep"]["rps"], "deep_p50_ms": entry["deep"]["p50_ms"], "deep_p95_ms": entry["deep"]["p95_ms"],
            "deep_p99_ms": entry["deep"]["p99_ms"], "small_rps": entry["small"]["rps"], "small_p50_ms": entry["small"]["p50_ms"],
            "small_p99_ms": entry["small"]["p99_ms"], "small_c1_p50_ms": entry["small_c1"]["p50_ms"],
            "small_overhead_p50_ms": entry["small_overhead_p50_ms"], "peak_rss_mb": entry["peak_rss_mb"],
            "same_answer": entry["same_answer_as_first"],
            "deep_cpu_ms_per_req": entry["deep"]["cpu_ms_per_req"], "deep_rps_per_core": entry["deep"]["rps_per_core"],
            "small_cpu_ms_per_req": entry["small"]["cpu_ms_per_req"], "small_rps_per_core": entry["small"]["rps_per_core"],
        }
        if ours and name != "ours":
            ratios = {
                "deep_rps": round(ours["deep"]["rps"] / max(1, entry["deep"]["rps"]), 2),
                "small_rps": round(ours["small"]["rps"] / max(1, entry["small"]["rps"]), 2),
                "peak_rss": round(ours["peak_rss_mb"] / max(0.1, entry["peak_rss_mb"]), 2),
                "deep_rps_per_core": round((ours["deep"]["rps_per_core"] or 0) / max(1, entry["deep"]["rps_per_core"] or 0), 2),
                "small_rps_per_core": round((ours["small"]["rps_per_core"] or 0) / max(1, entry["small"]["rps_per_core"] or 0), 2),
            }
            summary["gateways"][name]["ours_vs_this"] = ratios
            lines.append(f"  ours / {name}: deep req/s x{ratios['deep_rps']} (per CPU second x{ratios['deep_rps_per_core']}), "
                         f"small req/s x{ratios['small_rps']} (per CPU second x{ratios['small_rps_per_core']}), RSS x{ratios['peak_rss']}")
    summary["direct_small_c1_p50_ms"] = results["direct_subgraph_small_c1"]["p50_ms"]
    summary["load_average"] = [results["load_before"], results["load_after"]]
    return "\n".join(lines) + "\n" + json.dumps(summary)


def router(ops: int | None = None, seed: int = 42, *, seconds: float | None = None, runs: int | None = None,
           clients: int | None = None, workers: int | None = None, gateways: str | None = None) -> str:
    """The printable report of `mybroker bench router`; its last line is JSON. `ops` and
    `seed` are the bench command's common flags and mean nothing here."""
    try:
        results = run_router_bench(
            seconds=seconds or 5, runs=runs or 3, connections=clients or 16, workers=workers,
            gateways=tuple(g.strip() for g in gateways.split(",")) if gateways else GATEWAYS,
        )
    except BenchSetupError as error:
        return f"router bench could not run: {error}\n" + json.dumps({"error": str(error)})
    return report(results)
