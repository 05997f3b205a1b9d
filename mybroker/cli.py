"""`mybroker`: the one command line of the platform.

  mybroker up                        the whole platform in one process (embedded default)
  mybroker serve SERVICE             one service alone, as a container runs it
  mybroker router ...                the router alone, on a supergraph file or composed from subgraphs
  mybroker supergraph --subgraph N=URL ...   print the composed supergraph SDL
  mybroker plan FILE.graphql ...     print the query plan of an operation
  mybroker migrate [SERVICE ...]     apply the subgraphs' schema migrations (all five by default)
  mybroker bench NAME [--ops N]      run a benchmark by name (matching)
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from mybroker.settings import DEFAULT_PORTS, SERVICES, Settings

SERVE_CHOICES = (*SERVICES, "b3-sim", "ingest", "router")


def _configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")


def _run(main) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # uvloop is optional (not on Windows)
        pass
    asyncio.run(main)


async def _wait_for_stop_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def _subgraph_args(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url:
            raise SystemExit(f"--subgraph takes NAME=URL, got {value!r}")
        pairs.append((name, url))
    return pairs


async def _up(args) -> None:
    from mybroker.platform import Platform

    overrides = {"infra": args.infra} if args.infra else {}
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    settings = Settings.from_env(**overrides)
    platform = Platform(settings)
    await platform.start()
    router = platform.settings.graphql_url("router")
    if settings.infra == "real":
        where = f"real engines: Kafka {settings.kafka_bootstrap}, RabbitMQ, MySQL, PostgreSQL, MongoDB, Redis"
    else:
        where = f"embedded: SQLite in {settings.data_dir}/, in-memory bus and cache, simulated market"
    print(f"\nMy Broker B3 is up ({where}).")
    print(f"  GraphQL API and GraphiQL: {router}")
    for name in SERVICES:
        print(f"  {name:<9} subgraph: {platform.settings.graphql_url(name)}")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        await _wait_for_stop_signal()
    finally:
        print("\nStopping...", flush=True)
        await platform.stop()


async def _serve(args) -> None:
    from mybroker.bus import create_bus
    from mybroker.cache import create_cache
    from mybroker.platform import WORKERS, build_router_app, build_service, serve_app
    from mybroker.service import Infrastructure

    settings = Settings.from_env()
    if not settings.internal_secret:
        raise SystemExit("MYBROKER_INTERNAL_SECRET must be set when services run apart (it proves calls come from the router).")
    port = args.port or settings.ports.get(args.service)
    if args.service == "router":
        server, task = await serve_app(await build_router_app(settings), args.host or "0.0.0.0", port, "info", lifespan="on")
        print(f"router on {args.host or '0.0.0.0'}:{port}", flush=True)
        await _wait_for_stop_signal()
        server.should_exit = True
        await task
        return
    infra = Infrastructure(settings, create_bus(settings), create_cache(settings))
    service = build_service(args.service, infra)
    await service.start()
    await infra.bus.start()
    server = task = None
    if args.service not in WORKERS:
        server, task = await serve_app(service.app, args.host or "0.0.0.0", port, "info")
    print(f"{args.service} running" + (f" on port {port}" if server else ""), flush=True)
    try:
        await _wait_for_stop_signal()
    finally:
        if server:
            server.should_exit = True
            await task
        await infra.bus.stop()
        await service.stop()
        await infra.cache.close()


async def _load_supergraph_sdl(args) -> str:
    from router.discovery import compose_from_urls

    if args.supergraph:
        return Path(args.supergraph).read_text(encoding="utf-8")
    if args.subgraph:
        return await compose_from_urls(_subgraph_args(args.subgraph))
    raise SystemExit("give --supergraph FILE or one --subgraph NAME=URL per subgraph")


async def _router(args) -> None:
    from mybroker.auth import JwtVerifier
    from mybroker.platform import serve_app
    from router.http import RouterConfig, create_router_app
    from router.supergraph import Supergraph

    settings = Settings.from_env()
    supergraph = Supergraph.from_sdl(await _load_supergraph_sdl(args))
    verifier = None
    if args.jwks or settings.jwks_url:
        verifier = JwtVerifier(args.jwks or settings.jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    app = create_router_app(supergraph, RouterConfig(verifier=verifier, internal_secret=settings.internal_secret))
    server, task = await serve_app(app, args.host, args.port, "info", lifespan="on")
    print(f"router on http://{args.host}:{args.port}/graphql", flush=True)
    await _wait_for_stop_signal()
    server.should_exit = True
    await task


async def _supergraph(args) -> None:
    from router.discovery import compose_from_urls

    print(await compose_from_urls(_subgraph_args(args.subgraph)))


async def _plan(args) -> None:
    from router.pipeline import explain
    from router.supergraph import Supergraph

    supergraph = Supergraph.from_sdl(await _load_supergraph_sdl(args))
    print(explain(supergraph, Path(args.operation).read_text(encoding="utf-8"), args.operation_name))


async def _migrate(args) -> None:
    from mybroker.migrations import migrate, migrations_dir

    unknown = [name for name in args.services if name not in SERVICES]
    if unknown:  # validated here: argparse rejects an empty list against `choices` (Python < 3.12)
        raise SystemExit(f"unknown service {', '.join(unknown)}; choose from {', '.join(SERVICES)}")
    settings = Settings.from_env()
    for service in args.services or SERVICES:
        done = await migrate(settings.database_url(service), migrations_dir(service))
        print(f"{service:<9} {done.describe()}", flush=True)


# Benchmarks by name: "module:function", imported only when run. The function takes
# ops (None: its default) and seed, and returns its report, whose last line is JSON.
BENCHMARKS = {"matching": "b3sim.bench:matching"}


def _bench(args) -> None:
    from importlib import import_module

    module, _, function = BENCHMARKS[args.name].partition(":")
    print(getattr(import_module(module), function)(ops=args.ops, seed=args.seed), flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mybroker", description="My Broker B3: a simulated B3 brokerage on GraphQL federation.")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default: MYBROKER_LOG_LEVEL or WARNING)")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the whole platform in one process")
    up.add_argument("--data-dir", help="where the embedded SQLite files live (default .mybroker)")
    up.add_argument(
        "--infra",
        choices=("embedded", "real"),
        help="embedded (default): SQLite, in-memory bus and cache; real: Kafka, RabbitMQ, MySQL, PostgreSQL, "
        "MongoDB and Redis at their default local addresses (MYBROKER_* variables override each)",
    )

    serve = commands.add_parser("serve", help="run one service alone, as a container does")
    serve.add_argument("service", choices=SERVE_CHOICES)
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)

    def supergraph_source(command: argparse.ArgumentParser) -> None:
        command.add_argument("--supergraph", help="a supergraph SDL file (Apollo's or The Guild's composition, or ours)")
        command.add_argument("--subgraph", action="append", default=[], metavar="NAME=URL", help="compose from this subgraph")

    router = commands.add_parser("router", help="run the federation router alone")
    supergraph_source(router)
    router.add_argument("--host", default="127.0.0.1")
    router.add_argument("--port", type=int, default=DEFAULT_PORTS["router"])
    router.add_argument("--jwks", help="JWKS URL to verify access tokens (default MYBROKER_JWKS_URL; none: no auth)")

    supergraph = commands.add_parser("supergraph", help="print the supergraph composed from subgraphs")
    supergraph.add_argument("--subgraph", action="append", required=True, metavar="NAME=URL")

    plan = commands.add_parser("plan", help="print the query plan of an operation")
    plan.add_argument("operation", help="a .graphql file holding the operation")
    plan.add_argument("--operation-name", default=None)
    supergraph_source(plan)

    migrate = commands.add_parser(
        "migrate", help="apply the subgraphs' schema migrations to the configured databases (services also do at start)"
    )
    migrate.add_argument("services", nargs="*", metavar="SERVICE", help=f"default: all ({', '.join(SERVICES)})")

    bench = commands.add_parser("bench", help="run a benchmark by name; the last line printed is JSON")
    bench.add_argument("name", choices=sorted(BENCHMARKS))
    bench.add_argument("--ops", type=int, default=None, help="operations to run (default: the benchmark's own)")
    bench.add_argument("--seed", type=int, default=42)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # Quiet by default: `up` prints what matters; MYBROKER_LOG_LEVEL or --log-level for more.
    _configure_logging(args.log_level or os.environ.get("MYBROKER_LOG_LEVEL", "WARNING"))
    if args.command == "bench":
        _bench(args)  # synchronous: no event loop around the measurement
        return
    handlers = {"up": _up, "serve": _serve, "router": _router, "supergraph": _supergraph, "plan": _plan, "migrate": _migrate}
    try:
        _run(handlers[args.command](args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
