"""`mybroker`: the one command line of the platform.

  mybroker up                        the whole platform in one process (embedded default)
  mybroker serve SERVICE             one service alone, as a container runs it
  mybroker router ...                the router alone, on a supergraph file or composed from subgraphs
  mybroker supergraph --subgraph N=URL ...   print the composed supergraph SDL
  mybroker plan FILE.graphql ...     print the query plan of an operation
  mybroker migrate [SERVICE ...]     apply the subgraphs' schema migrations (all five by default)
  mybroker bench NAME [--ops N]      run a benchmark by name (matching, router, subscriptions, orders, abuse)
  mybroker reconcile [--wait S]      one reconciliation pass in the running orders service (JSON summary)
  mybroker events load FILE          load corporate events (dividends, JCP, splits) into the wallet; again changes nothing
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mybroker.settings import DEFAULT_PORTS, SERVICES, Settings

if TYPE_CHECKING:  # imported where it runs: most commands never start services apart
    from launch.apart import ServicesApart

SERVE_CHOICES = (*SERVICES, "b3-sim", "ingest", "router")


def _configure_logging(level: str) -> None:
    from mybroker.outage_log import install_repeat_filter

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    install_repeat_filter()  # aiokafka logs every failed reconnect at ERROR: mybroker/outage_log.py


def _run(main) -> None:
    try:
        import uvloop
    except ImportError:  # uvloop is optional (not on Windows)
        asyncio.run(main)
        return
    # uvloop.run, not uvloop.install: a command run inside another program (the tests call
    # `mybroker reconcile` in process) must not change that program's event loop policy.
    uvloop.run(main)


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
    from launch.platform import Platform
    from launch.web_dist import playground_dir, web_dist_dir
    from router.tracing import configure_tracing

    configure_tracing("mybroker")  # MYBROKER_TRACING / OTEL_EXPORTER_OTLP_ENDPOINT: docs/router.md

    overrides = {"infra": args.infra} if args.infra else {}
    if args.data_dir:
        overrides["data_dir"] = Path(args.data_dir)
    if args.production:
        overrides["production"] = True
    settings = Settings.from_env(**overrides)
    if settings.production:
        _require_production_secret(settings)
    apart: ServicesApart | None = None
    if args.apart:
        from launch.apart import ServicesApart

        apart = ServicesApart(settings, production=settings.production)
    platform: Platform | ServicesApart = apart if apart is not None else Platform(settings)
    await platform.start()
    router = platform.settings.graphql_url("router")
    if settings.infra == "real":
        where = f"real engines: Kafka {settings.kafka_bootstrap}, RabbitMQ, MySQL, PostgreSQL, MongoDB, Redis"
    else:
        where = f"embedded: SQLite in {settings.data_dir}/, in-memory bus and cache, simulated market"
    if apart is not None:
        where += f"; every service in a process of its own, logs in {apart.logs}/"
    print(f"\nMy Broker B3 is up ({where}).")
    screen = router.removesuffix("graphql")
    if (web_dist_dir() / "index.html").is_file():
        print(f"  Trading screen:           {screen}")
    else:
        print(f"  Trading screen:           {screen} (not built: it needs Node.js and npm, then `make up`)")
    if settings.production:
        print(f"  GraphQL API:              {router}")
    elif (playground_dir() / "index.html").is_file():
        print(f"  GraphQL API and GraphiQL: {router}")
    else:
        print(f"  GraphQL API and GraphiQL: {router} (GraphiQL not built: it needs Node.js and npm, then `make up`)")
    for name in SERVICES:
        print(f"  {name:<9} subgraph: {platform.settings.graphql_url(name)}")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        if apart is not None:
            stopped = asyncio.create_task(_wait_for_stop_signal())
            ended = asyncio.create_task(apart.first_exit())
            await asyncio.wait({stopped, ended}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if ended.done():
                print(f"\n{ended.result()} stopped by itself; see {apart.logs}/{ended.result()}.log", flush=True)
            else:
                ended.cancel()
        else:
            await _wait_for_stop_signal()
    finally:
        print("\nStopping...", flush=True)
        await platform.stop()


async def _serve(args) -> None:
    from mybroker.bus import create_bus
    from mybroker.cache import create_cache
    from launch.platform import _Server, build_router_app, serve_app
    from launch.registry import WORKERS, build_service
    from mybroker.service import Infrastructure
    from router.tracing import configure_tracing

    configure_tracing(f"mybroker-{args.service}")
    settings = Settings.from_env(production=True) if args.production else Settings.from_env()
    if settings.production:
        _require_production_secret(settings)
    if not settings.internal_secret:
        raise SystemExit("MYBROKER_INTERNAL_SECRET must be set when services run apart (it proves calls come from the router).")
    port: int | None = args.port or settings.ports.get(args.service)
    # Default MYBROKER_HOST (127.0.0.1): a subgraph is reached by the router alone; a
    # container sets MYBROKER_HOST=0.0.0.0 on a network only the router shares.
    host = args.host or settings.host
    server: _Server | None = None
    task: asyncio.Task | None = None
    if args.service == "router":
        assert port is not None, "settings.ports names the router's port"
        server, task = await serve_app(await build_router_app(settings), host, port, "info", lifespan="on")
        print(f"router on {host}:{port}", flush=True)
        await _wait_for_stop_signal()
        server.should_exit = True
        await task
        return
    infra = Infrastructure(settings, create_bus(settings), create_cache(settings))
    service = build_service(args.service, infra)
    await service.start()
    await infra.bus.start()
    if args.service not in WORKERS:
        assert port is not None, "settings.ports names every served service's port"
        server, task = await serve_app(service.app, host, port, "info")
    print(f"{args.service} running" + (f" on port {port}" if server else ""), flush=True)
    try:
        await _wait_for_stop_signal()
    finally:
        if server and task:
            server.should_exit = True
            await task
        await infra.bus.stop()
        await service.stop()
        await infra.cache.close()


def _cli_sdl_headers() -> dict[str, str]:
    """For `mybroker supergraph` and `plan`: our subgraphs answer `_service` only beside the
    internal secret, MYBROKER_INTERNAL_SECRET or the one a running `mybroker up` saved."""
    from router.discovery import sdl_headers

    return sdl_headers(Settings.from_env().known_internal_secret())


async def _load_supergraph_sdl(args) -> str:
    """The supergraph's SDL, or exit with one sentence: a subgraph unreachable or refusing
    (the internal secret), or subgraphs that do not compose."""
    from router.compose import CompositionError
    from router.discovery import SubgraphSdlError, compose_from_urls

    if args.supergraph:
        return Path(args.supergraph).read_text(encoding="utf-8")
    if args.subgraph:
        try:
            return await compose_from_urls(_subgraph_args(args.subgraph), headers=_cli_sdl_headers())
        except (SubgraphSdlError, CompositionError) as error:
            raise SystemExit(f"mybroker {args.command}: {error}") from None
    raise SystemExit("give --supergraph FILE or one --subgraph NAME=URL per subgraph")


def _require_production_secret(settings: Settings) -> None:
    from launch.production import require_real_secret

    require_real_secret(settings.internal_secret)


def _router_options(args) -> dict:
    from launch.production import is_production, production_router_options, require_real_secret
    from router.options import OPTION_NAMES, options_from_env, with_overrides

    if is_production(args.production, os.environ):
        require_real_secret(os.environ.get("MYBROKER_INTERNAL_SECRET", ""))
    try:
        options = options_from_env(os.environ)
        if is_production(args.production, os.environ):
            options = production_router_options(options, os.environ)
        return with_overrides(options, {name: getattr(args, name, None) for name in OPTION_NAMES})
    except ValueError as error:
        raise SystemExit(f"mybroker router: {error}") from None


async def _router_supergraph(args):
    """(SDL, Supergraph), or exit with one readable sentence: which file or subgraph, what is wrong."""
    from router.standalone import SupergraphLoadError, compose_supergraph, load_supergraph, read_supergraph_file

    if not args.supergraph and not args.subgraph:
        raise SystemExit("give --supergraph FILE or one --subgraph NAME=URL per subgraph")
    try:
        if args.supergraph:
            sdl, source = read_supergraph_file(args.supergraph), args.supergraph
        else:
            # The secret this router will send the subgraphs on every request (MYBROKER_INTERNAL_SECRET).
            secret = Settings.from_env().internal_secret
            sdl, source = await compose_supergraph(_subgraph_args(args.subgraph), secret), "the composed supergraph"
        return sdl, load_supergraph(sdl, source)
    except SupergraphLoadError as error:
        raise SystemExit(f"mybroker router: {error}") from None


def _router_command(args) -> None:
    """`mybroker router`: one process on the event loop, or --workers N processes."""
    options = _router_options(args)
    if args.workers < 1:
        raise SystemExit("mybroker router: --workers must be 1 or more")
    if args.workers == 1:
        _run(_router(args, options))
        return
    from launch.router_app import EDGE_PROTOCOL, WORKER_FACTORY
    from router.workers import serve_workers

    sdl, _supergraph = asyncio.run(_router_supergraph(args))  # checked once, before any worker starts
    print(f"router on http://{args.host}:{args.port}/graphql ({args.workers} workers)", flush=True)
    serve_workers(
        sdl, options, host=args.host, port=args.port, workers=args.workers, factory=WORKER_FACTORY,
        extra={"jwks": args.jwks}, http=EDGE_PROTOCOL,
    )


async def _router(args, options: dict) -> None:
    from launch.router_app import EDGE_PROTOCOL, standalone_app
    from router.standalone import serve
    from router.tracing import configure_tracing

    configure_tracing("mybroker-router")
    _sdl, supergraph = await _router_supergraph(args)
    app = standalone_app(supergraph, options, Settings.from_env(), args.jwks)
    await serve(
        app, args.host, args.port, http=EDGE_PROTOCOL,
        on_ready=lambda: print(f"router on http://{args.host}:{args.port}/graphql", flush=True),
    )


async def _supergraph(args) -> None:
    from router.discovery import compose_from_urls

    print(await compose_from_urls(_subgraph_args(args.subgraph), headers=_cli_sdl_headers()))


async def _plan(args) -> None:
    from router.pipeline import explain
    from router.supergraph import Supergraph

    supergraph = Supergraph.from_sdl(await _load_supergraph_sdl(args))
    print(explain(supergraph, Path(args.operation).read_text(encoding="utf-8"), args.operation_name))


async def _migrate(args) -> None:
    from launch.migrations import MIGRATABLE, migrate_services

    unknown = [name for name in args.services if name not in MIGRATABLE]
    if unknown:  # validated here: argparse rejects an empty list against `choices` (Python < 3.12)
        raise SystemExit(f"unknown service {', '.join(unknown)}; choose from {', '.join(MIGRATABLE)}")
    async for service, done in migrate_services(Settings.from_env(), tuple(args.services) or MIGRATABLE):
        print(f"{service:<9} {done.describe()}", flush=True)


async def _reconcile(args) -> None:
    """One reconciliation pass in the running orders service; prints its summary as JSON."""
    import aiohttp
    import orjson

    from mybroker.errors import DomainError
    from mybroker.internal_http import InternalClient

    settings = Settings.from_env()
    secret = settings.known_internal_secret()
    if not secret:
        raise SystemExit(
            "mybroker reconcile: set MYBROKER_INTERNAL_SECRET to the services' secret "
            f"(an embedded platform leaves its own in {settings.internal_secret_file} while it runs)"
        )
    url = args.url or settings.url("orders")
    wait = settings.reconcile_timeout if args.wait is None else args.wait
    client = InternalClient(url, secret, timeout=wait + 60)
    try:
        summary = await client.call("POST", "/internal/reconcile", {"wait": wait})
    except (aiohttp.ClientError, OSError, RuntimeError, DomainError) as error:
        raise SystemExit(f"mybroker reconcile: the orders service at {url} did not run the pass: {error}") from None
    finally:
        await client.close()
    print(orjson.dumps(summary).decode(), flush=True)


async def _events_load(args) -> None:
    """Loads a corporate-events file into the wallet's database (migrated first, as the
    service does at start); the running wallet applies the events when their day comes."""
    import json

    from mybroker.db import Database
    from mybroker.errors import DomainError
    from subgraphs.wallet.app import MIGRATIONS, NAME
    from subgraphs.wallet.corporate_events import parse_events
    from subgraphs.wallet.corporate_events_service import CorporateEventsService
    from subgraphs.wallet.tables import metadata

    try:
        document = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SystemExit(f"mybroker events load: cannot read {args.file}: {error}") from None
    try:
        events = parse_events(document)
    except DomainError as error:
        raise SystemExit(f"mybroker events load: {error.message}") from None
    settings = Settings.from_env()
    db = Database(settings.database_url(NAME), metadata)
    try:
        await db.migrate(MIGRATIONS)
        result = await CorporateEventsService(db).load(events)
    except DomainError as error:
        raise SystemExit(f"mybroker events load: {error.message} Nothing was loaded.") from None
    finally:
        await db.dispose()
    print(f"corporate events from {args.file}: {result.describe()}", flush=True)


# Benchmarks by name: "module:function", imported only when run. The function takes
# ops (None: its default) and seed, and returns its report, whose last line is JSON.
BENCHMARKS = {
    "matching": "bench.matching:matching",
    "b3-rabbitmq": "bench.b3_rabbitmq:b3_rabbitmq",
    "router": "bench.router.compare:router",
    "subscriptions": "bench.subscriptions:subscriptions",
    "orders": "bench.orders:orders",
    "abuse": "bench.abuse:abuse",
}
# Flags only some benchmarks take, passed as keyword arguments when given.
BENCH_OPTIONS = ("seconds", "runs", "clients", "rate", "workers", "gateways", "traders", "orders_per_trader", "watch_interval", "infra", "apart", "url")


def _bench(args) -> None:
    import inspect
    from importlib import import_module

    module, _, function = BENCHMARKS[args.name].partition(":")
    run = getattr(import_module(module), function)
    options = {name: getattr(args, name) for name in BENCH_OPTIONS if getattr(args, name) is not None}
    refused = [f"--{name}" for name in options if name not in inspect.signature(run).parameters]
    if refused:
        raise SystemExit(f"bench {args.name} does not take {', '.join(refused)}")
    print(run(ops=args.ops, seed=args.seed, **options), flush=True)


PRODUCTION_HELP = ("refuse a missing or weak MYBROKER_INTERNAL_SECRET; no introspection, GraphiQL or query plans "
                   "(also MYBROKER_ENV=production; docs/design.md)")


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
    up.add_argument(
        "--apart",
        action="store_true",
        help="with --infra real: every service in a process of its own (`mybroker serve NAME`, as "
        "docker-compose.yml runs them), so the platform uses every core",
    )

    serve = commands.add_parser("serve", help="run one service alone, as a container does")
    serve.add_argument("service", choices=SERVE_CHOICES)
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    for command in (up, serve):
        command.add_argument("--production", action="store_true", help=PRODUCTION_HELP)

    def supergraph_source(command: argparse.ArgumentParser) -> None:
        command.add_argument("--supergraph", help="a supergraph SDL file (Apollo's or The Guild's composition, or ours)")
        command.add_argument("--subgraph", action="append", default=[], metavar="NAME=URL", help="compose from this subgraph")

    router = commands.add_parser("router", help="run the federation router alone")
    supergraph_source(router)
    router.add_argument("--host", default="127.0.0.1")
    router.add_argument("--port", type=int, default=DEFAULT_PORTS["router"])
    router.add_argument("--jwks", help="JWKS URL to verify access tokens (default MYBROKER_JWKS_URL; none: no auth)")
    router.add_argument("--workers", type=int, default=1, help="router processes sharing the port (default 1)")
    router.add_argument("--production", action="store_true", help=PRODUCTION_HELP)
    _router_edge_flags(router)

    supergraph = commands.add_parser("supergraph", help="print the supergraph composed from subgraphs")
    supergraph.add_argument("--subgraph", action="append", required=True, metavar="NAME=URL")

    plan = commands.add_parser("plan", help="print the query plan of an operation")
    plan.add_argument("operation", help="a .graphql file holding the operation")
    plan.add_argument("--operation-name", default=None)
    supergraph_source(plan)

    migrate = commands.add_parser(
        "migrate", help="apply the subgraphs' schema migrations to the configured databases (services also do at start)"
    )
    migrate.add_argument("services", nargs="*", metavar="SERVICE", help=f"default: all ({', '.join(SERVICES)}, b3-sim)")

    reconcile = commands.add_parser(
        "reconcile", help="compare the running broker's live orders with the exchange's books and end what it no longer holds"
    )
    reconcile.add_argument("--wait", type=float, default=None, help="seconds to wait for the exchange's answers (default MYBROKER_RECONCILE_TIMEOUT)")
    reconcile.add_argument("--url", default=None, help="the orders service (default MYBROKER_ORDERS_URL or the local port)")

    corporate = commands.add_parser("events", help="corporate events: dividends, JCP, splits and reverse splits")
    corporate_commands = corporate.add_subparsers(dest="events_command", required=True)
    load = corporate_commands.add_parser("load", help="load a corporate-events file into the wallet (idempotent)")
    load.add_argument("file", help="a JSON file of events, e.g. mybroker/data/corporate-events.json (docs/corporate-events.md)")

    bench = commands.add_parser("bench", help="run a benchmark by name; the last line printed is JSON")
    bench.add_argument("name", choices=sorted(BENCHMARKS))
    bench.add_argument("--ops", type=int, default=None, help="operations to run (default: the benchmark's own)")
    bench.add_argument("--seed", type=int, default=42)
    bench.add_argument("--seconds", type=float, default=None, help="router, subscriptions: seconds per measurement; abuse: seconds of attack (default 10)")
    bench.add_argument("--runs", type=int, default=None, help="router: repetitions per measurement (the median is kept)")
    bench.add_argument("--clients", type=int, default=None, help="router: concurrent connections; subscriptions: subscribers")
    bench.add_argument("--rate", type=int, default=None, help="subscriptions: quote ticks published per second; b3-rabbitmq: orders published per second; abuse: attacks per second (default 20)")
    bench.add_argument("--workers", type=int, default=None, help="router: our router's worker processes; b3-rabbitmq: b3-sim shard processes")
    bench.add_argument("--gateways", default=None, help="router: which to run, e.g. ours,hive,apollo (the default); subscriptions: ours (default), hive or ours,hive")
    bench.add_argument("--traders", type=int, default=None, help="orders: concurrent traders (default 20)")
    bench.add_argument("--orders-per-trader", type=int, default=None, help="orders: orders each trader places (default 10)")
    bench.add_argument("--watch-interval", type=float, default=None, help="orders: seconds between each trader's polls of its orders and wallet (default 1)")
    bench.add_argument(
        "--infra", choices=("embedded", "real"), default=None,
        help="orders: the platform the bench starts, `mybroker up` in a child process: embedded (default) or "
        "--infra real (`mybroker up --infra real`, every service in that one process, on the real engines)",
    )
    bench.add_argument(
        "--apart", action="store_true", default=None,
        help="orders, with --infra real: the platform it starts runs every service in a process of its own (`mybroker up --apart`)",
    )
    bench.add_argument("--url", default=None, help="orders, abuse: a running router's /graphql; the bench then starts no platform")
    return parser


def _router_edge_flags(router: argparse.ArgumentParser) -> None:
    """Flags over the MYBROKER_* settings of router.options (docs/router.md); unset flags
    leave the environment's value."""
    switch = argparse.BooleanOptionalAction
    router.add_argument("--introspection", action=switch, default=None, help="answer __schema/__type (default on)")
    router.add_argument("--graphiql", action=switch, default=None, help="serve GraphiQL to browsers at GET /graphql (default on)")
    router.add_argument("--csrf", action=switch, default=None, help="refuse simple (non-preflighted) requests (default on)")
    router.add_argument("--csrf-header", dest="csrf_headers", action="append", metavar="NAME",
                        help="a header that lets a simple request through (repeat; default x-apollo-operation-name, apollo-require-preflight)")
    router.add_argument("--cors-origin", dest="cors_origins", action="append", metavar="ORIGIN",
                        help='a browser origin allowed to call the router (repeat; "*" for any; default: same-origin only)')
    router.add_argument("--cors-credentials", action=switch, default=None, help="allow cookies/Authorization cross-origin")
    router.add_argument("--cors-max-age", type=int, metavar="SECONDS", help="how long browsers cache a preflight (default 600)")
    router.add_argument("--max-depth", type=int, metavar="N", help="deepest selection (0: no limit; default 32)")
    router.add_argument("--max-aliases", type=int, metavar="N", help="aliases per operation (0: no limit; default 200)")
    router.add_argument("--max-root-fields", type=int, metavar="N", help="root fields per operation (0: no limit; default 64)")
    router.add_argument("--max-tokens", type=int, metavar="N", help="lexical tokens per document (0: no limit; default 15000)")
    router.add_argument("--max-body-bytes", type=int, metavar="N", help="request body size (0: no limit; default 2000000)")
    router.add_argument("--max-fields", type=int, metavar="N", help="fields once fragments are inlined (0: no limit; default 10000)")
    router.add_argument("--max-cost", type=int, metavar="N", help="operation cost for a signed-in caller (0: no limit; default 20000)")
    router.add_argument("--max-cost-anonymous", type=int, metavar="N", help="operation cost for an anonymous caller (0: no limit; default 5000)")
    router.add_argument("--apq-cache", type=int, metavar="N", help="automatic persisted queries remembered (0: APQ off; default 1000)")
    router.add_argument("--metrics", action=switch, default=None, help="Prometheus metrics at GET /metrics (default on)")
    router.add_argument("--operation-timeout", type=float, metavar="SECONDS",
                        help="deadline for one operation's subgraph fetches, then SUBGRAPH_UNAVAILABLE for the rest (0: none; default 30)")
    router.add_argument("--subgraph-timeout", type=float, metavar="SECONDS",
                        help="one subgraph request, connecting included (0: no limit; default 10)")
    router.add_argument("--rate-limit", action=switch, default=None,
                        help="token-bucket rate limits per client address and per user, 429 RATE_LIMITED (default on)")
    for scope, who, development, production in (
        ("ip", "anonymous operations per client address", "10000/20000", "50/100"),
        ("user", "operations per signed-in user", "5000/10000", "20/40"),
        ("ip-total", "every operation from one client address", "20000/40000", "200/400"),
        ("ip-cost", "anonymous cost per client address", "100000/200000", "1000/4000"),
        ("user-cost", "cost per signed-in user", "50000/100000", "5000/20000"),
    ):
        rate, burst = development.split("/")
        strict_rate, strict_burst = production.split("/")
        router.add_argument(f"--rate-limit-{scope}-per-second", type=int, metavar="N",
                            help=f"{who}, per second (0: no limit; default {rate}, production {strict_rate})")
        router.add_argument(f"--rate-limit-{scope}-burst", type=int, metavar="N",
                            help=f"{who}, burst (default {burst}, production {strict_burst})")


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    # Quiet by default: `up` prints what matters; MYBROKER_LOG_LEVEL or --log-level for more.
    _configure_logging(args.log_level or os.environ.get("MYBROKER_LOG_LEVEL", "WARNING"))
    if args.command == "bench":
        _bench(args)  # synchronous: no event loop around the measurement
        return
    if args.command == "router":
        try:
            _router_command(args)  # owns its event loop(s): one, or one per worker process
        except KeyboardInterrupt:
            pass
        return
    handlers = {
        "up": _up, "serve": _serve, "supergraph": _supergraph, "plan": _plan, "migrate": _migrate, "reconcile": _reconcile,
        "events": _events_load,  # its one subcommand, `load`
    }
    try:
        _run(handlers[args.command](args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
