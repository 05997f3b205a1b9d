"""Settings from environment variables (MYBROKER_*), with the embedded defaults.

One frozen object is built at start-up and handed to every service; tests build their
own with overrides (free ports, a temporary data directory)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

from mybroker.fees import NO_FEES, BrokeragePlan, FeeSchedule, b3_fee_table

SERVICES = ("identity", "wallet", "assets", "orders", "reports")
DEFAULT_PORTS = {"router": 4000, "identity": 4001, "wallet": 4002, "assets": 4003, "orders": 4004, "reports": 4005}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".mybroker")
    host: str = "127.0.0.1"
    ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    # Where each service is reached; defaults to http://host:port.
    urls: Mapping[str, str] = field(default_factory=dict)
    # SQLAlchemy async URLs per service; defaults to a SQLite file per service in data_dir.
    database_urls: Mapping[str, str] = field(default_factory=dict)
    # "embedded" (SQLite, in-memory bus and cache) or "real" (the engines below).
    infra: str = "embedded"
    bus: str = "memory"  # memory | brokers (Kafka topics + RabbitMQ queues)
    cache: str = "memory"  # memory | redis
    # Where ingest archives every published quote: none | mongodb.
    history: str = "none"
    kafka_bootstrap: str = "127.0.0.1:9092"
    # Prefix of every topic, queue and consumer group on the real brokers ("" in production).
    channel_namespace: str = ""
    rabbitmq_url: str = field(default="amqp://guest:guest@127.0.0.1:5672/", repr=False)
    redis_url: str = "redis://127.0.0.1:6379/0"
    mongodb_url: str = field(default="mongodb://127.0.0.1:27017", repr=False)
    mongodb_database: str = "mybroker"
    # Real infra: each broker service gets database mybroker_<service> on this MySQL server,
    # and b3-sim its journal on PostgreSQL.
    mysql_url: str = field(default="mysql+asyncmy://mybroker:mybroker@127.0.0.1:3306", repr=False)
    postgres_url: str = field(default="postgresql+asyncpg://mybroker:mybroker@127.0.0.1:5432/mybroker_b3sim", repr=False)
    # Shared secret that proves a request comes from the router or a sibling service.
    internal_secret: str = field(default="", repr=False)
    # Production mode (MYBROKER_ENV=production or --production): launch/production.py.
    production: bool = False
    jwt_issuer: str = "mybroker-identity"
    jwt_audience: str = "mybroker"
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600
    jwks_url: str = ""
    # Identity's RSA signing key(s) as PEM; empty: a key file in data_dir, created on first
    # start. Several PEM blocks publish several keys (rotation); the first one signs.
    # Kept out of repr so a logged Settings never shows it.
    jwt_private_key: str = field(default="", repr=False)
    # Market data: where quotes come from (simulator | brapi | replay).
    market_source: str = "simulator"
    # Offline market feed.
    tick_interval: float = 1.0
    market_seed: int | None = None
    # Brapi (brapi.dev): token, API base, tickers per request (the free plan allows 1),
    # seconds between polls, per-request timeout, attempts per request (429, 5xx, timeouts),
    # the tickers to follow (empty: the whole catalog).
    brapi_url: str = "https://brapi.dev/api"
    brapi_token: str = field(default="", repr=False)
    brapi_batch_size: int = 1
    brapi_poll_interval: float = 60.0
    brapi_timeout: float = 10.0
    brapi_max_attempts: int = 4
    brapi_tickers: tuple[str, ...] = ()
    # Replay: a JSON-lines file of Quote payloads, or "mongodb[:YYYY-MM-DD]" (the quote
    # history; the latest recorded day by default), played at `replay_speed` x real time.
    replay_from: str = ""
    replay_speed: float = 1.0
    # A MARKET BUY blocks last price x (1 + collar) per share; B3 calls the cap "protection".
    market_order_collar: Decimal = Decimal("0.05")
    # Market maker in b3-sim: levels per side, half-spread and step in basis points, lots per level.
    mm_depth: int = 5
    mm_half_spread_bps: int = 5
    mm_step_bps: int = 5
    mm_lots_per_level: int = 50
    # b3-sim's rules. Price band: a LIMIT order priced more than this percent away from the
    # ticker's reference price is rejected (0: no band). Self-trade prevention between the
    # same account's orders: NONE | CANCEL_AGGRESSOR | CANCEL_RESTING | CANCEL_BOTH.
    # Session calendar: "always" (always open) or "b3" (B3's hours, America/Sao_Paulo).
    price_band_percent: Decimal = Decimal("0")
    self_trade_prevention: str = "CANCEL_AGGRESSOR"
    session_calendar: str = "always"
    # Under "always" the market never closes, so b3-sim rolls the trading day at 18:00 in
    # Brasília and DAY orders expire then (b3sim.session_clock.DayRoll). Off: DAY orders
    # rest until cancelled, for tests that must not see a roll in the middle.
    day_roll: bool = True
    # b3-sim sharded by ticker (mybroker.bus.sharding): this process's shard and the count.
    # MYBROKER_B3SIM_SHARD=2/3 sets both (b3-sim processes); MYBROKER_B3SIM_SHARDS=3 the
    # count alone (publishers of b3.orders route by it). 1/1: one exchange, one queue.
    b3sim_shard: int = 1
    b3sim_shards: int = 1
    # Costs of a trade (mybroker/fees.py): B3's emolumentos and liquidação from the dated
    # table, on by default (MYBROKER_FEES=off charges nothing: tests about something else);
    # the broker's plan: brokerage per order executed (R$ 0.00 by default, as most Brazilian
    # brokers now charge) and the ISS on it.
    fees: bool = True
    brokerage_plan: str = "zero"
    brokerage_per_order: Decimal = Decimal("0.00")
    iss_rate: Decimal = Decimal("0.05")
    # No money stuck: the wallet's sweeper asks orders, every `reservation_sweep_interval`
    # seconds, about reservations older than `reservation_grace_seconds` and releases those
    # with no order behind them (at most grace + interval + one sweep after reserving).
    reservation_grace_seconds: float = 30.0
    reservation_sweep_interval: float = 10.0
    # Corporate events (dividends, JCP, splits): the wallet applies the due ones every
    # `corporate_events_interval` seconds (subgraphs/wallet/corporate_events_job.py).
    corporate_events_interval: float = 60.0
    # The trading day's end (FEE_ADJUSTMENT and IRRF lines): the wallet closes the days that
    # are over every `day_end_interval` seconds (subgraphs/wallet/day_end.py).
    day_end_interval: float = 60.0
    # Reconciliation with the exchange inside orders every `reconcile_interval` seconds (0:
    # off; `mybroker reconcile` runs one at any time): PENDING orders count once older than
    # `reconcile_pending_grace`; a pass waits up to `reconcile_timeout` for the answers.
    reconcile_interval: float = 300.0
    reconcile_pending_grace: float = 30.0
    reconcile_timeout: float = 30.0
    # Seconds a request waits for a pooled database connection before its service answers
    # SUBGRAPH_UNAVAILABLE ("service busy, try again"): a burst queues, a stuck database
    # does not hold every request for SQLAlchemy's default 30 s (mybroker/db.py).
    db_pool_timeout: float = 5.0
    log_level: str = "INFO"
    # Login brute-force protection (subgraphs/identity/throttle.py): after
    # `login_max_failures` failures for one e-mail (known or not), or
    # `login_address_max_failures` from one client address, logins are refused with
    # RATE_LIMITED for `login_lock_seconds`; before that, after the first three failures, each
    # failure makes the next attempt wait `login_base_delay` x 2^(n-1) s, at most `login_max_delay`.
    login_max_failures: int = 10
    login_address_max_failures: int = 100
    login_lock_seconds: float = 900.0
    login_base_delay: float = 1.0
    login_max_delay: float = 30.0
    # A password-reset code works once, for this many seconds (30 minutes: long enough to
    # reach the mailbox, short enough that an old mail found later is useless; OWASP's
    # forgot-password advice). Identity's mails go to a JSON-lines file (subgraphs/identity/mail.py):
    # `mail_file`, or data_dir/mailbox.jsonl when empty.
    password_reset_ttl: int = 1800
    mail_file: str = ""
    # Addresses of proxies in front of the router whose X-Forwarded-For is believed
    # (MYBROKER_TRUSTED_PROXIES, comma-separated); from anyone else it is ignored.
    trusted_proxies: tuple[str, ...] = ()

    def port(self, service: str) -> int:
        return self.ports[service]

    def url(self, service: str) -> str:
        return self.urls.get(service) or f"http://{self.host}:{self.ports[service]}"

    def graphql_url(self, service: str) -> str:
        return self.url(service) + "/graphql"

    def database_url(self, service: str) -> str:
        if service in self.database_urls:
            return self.database_urls[service]
        if self.infra == "real":
            if service == "b3-sim":
                return self.postgres_url
            return f"{self.mysql_url}/mybroker_{service.replace('-', '_')}"
        return f"sqlite+aiosqlite:///{self.data_dir / (service.replace('-', '_') + '.db')}"

    @property
    def mailbox_path(self) -> Path:
        return Path(self.mail_file) if self.mail_file else self.data_dir / "mailbox.jsonl"

    def jwks(self) -> str:
        return self.jwks_url or self.url("identity") + "/.well-known/jwks.json"

    def with_overrides(self, **changes) -> "Settings":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if env is None else env
        get = lambda name, default=None: env.get("MYBROKER_" + name, default)  # noqa: E731
        data_dir = Path(get("DATA_DIR", ".mybroker"))
        ports = {name: int(get(f"{name.upper()}_PORT", port)) for name, port in DEFAULT_PORTS.items()}
        urls = {name: get(f"{name.upper()}_URL") for name in DEFAULT_PORTS if get(f"{name.upper()}_URL")}
        dbs = {name: get(f"{name.upper()}_DATABASE_URL") for name in SERVICES if get(f"{name.upper()}_DATABASE_URL")}
        if get("B3SIM_DATABASE_URL"):
            dbs["b3-sim"] = get("B3SIM_DATABASE_URL")
        b3sim_shard, b3sim_shards = _shards(get("B3SIM_SHARD"), get("B3SIM_SHARDS"))
        infra = overrides.get("infra") or get("INFRA", "embedded")
        if infra not in ("embedded", "real"):
            raise ValueError(f"MYBROKER_INFRA must be 'embedded' or 'real', not {infra!r}")
        real = infra == "real"
        seed = get("MARKET_SEED")
        values: dict[str, Any] = dict(
            data_dir=data_dir,
            host=get("HOST", "127.0.0.1"),
            ports=ports,
            urls=urls,
            database_urls=dbs,
            infra=infra,
            bus=get("BUS", "brokers" if real else "memory"),
            cache=get("CACHE", "redis" if real else "memory"),
            history=get("HISTORY", "mongodb" if real else "none"),
            kafka_bootstrap=get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            channel_namespace=get("CHANNEL_NAMESPACE", ""),
            rabbitmq_url=get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"),
            redis_url=get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            mongodb_url=get("MONGODB_URL", "mongodb://127.0.0.1:27017"),
            mongodb_database=get("MONGODB_DATABASE", "mybroker"),
            mysql_url=get("MYSQL_URL", "mysql+asyncmy://mybroker:mybroker@127.0.0.1:3306"),
            postgres_url=get("POSTGRES_URL", "postgresql+asyncpg://mybroker:mybroker@127.0.0.1:5432/mybroker_b3sim"),
            internal_secret=get("INTERNAL_SECRET", ""),
            production=get("ENV", "development").strip().lower() == "production",
            jwt_issuer=get("JWT_ISSUER", "mybroker-identity"),
            jwt_audience=get("JWT_AUDIENCE", "mybroker"),
            access_token_ttl=int(get("ACCESS_TOKEN_TTL", 900)),
            refresh_token_ttl=int(get("REFRESH_TOKEN_TTL", 30 * 24 * 3600)),
            jwks_url=get("JWKS_URL", ""),
            jwt_private_key=get("JWT_PRIVATE_KEY", ""),
            tick_interval=float(get("TICK_INTERVAL", 1.0)),
            login_max_failures=int(get("LOGIN_MAX_FAILURES", 10)),
            login_address_max_failures=int(get("LOGIN_ADDRESS_MAX_FAILURES", 100)),
            login_lock_seconds=float(get("LOGIN_LOCK_SECONDS", 900.0)),
            login_base_delay=float(get("LOGIN_BASE_DELAY", 1.0)),
            login_max_delay=float(get("LOGIN_MAX_DELAY", 30.0)),
            password_reset_ttl=int(get("PASSWORD_RESET_TTL", 1800)),
            mail_file=get("MAIL_FILE", ""),
            trusted_proxies=tuple(p.strip() for p in get("TRUSTED_PROXIES", "").split(",") if p.strip()),
            market_seed=int(seed) if seed else None,
            market_source=get("MARKET_SOURCE", "simulator"),
            brapi_url=get("BRAPI_URL", "https://brapi.dev/api"),
            brapi_token=get("BRAPI_TOKEN", ""),
            brapi_batch_size=int(get("BRAPI_BATCH_SIZE", 1)),
            brapi_poll_interval=float(get("BRAPI_POLL_INTERVAL", 60.0)),
            brapi_timeout=float(get("BRAPI_TIMEOUT", 10.0)),
            brapi_max_attempts=int(get("BRAPI_MAX_ATTEMPTS", 4)),
            brapi_tickers=tuple(t.strip().upper() for t in get("BRAPI_TICKERS", "").split(",") if t.strip()),
            replay_from=get("REPLAY_FROM", ""),
            replay_speed=float(get("REPLAY_SPEED", 1.0)),
            market_order_collar=Decimal(get("MARKET_ORDER_COLLAR", "0.05")),
            price_band_percent=Decimal(get("PRICE_BAND_PERCENT", "0")),
            self_trade_prevention=get("SELF_TRADE_PREVENTION", "CANCEL_AGGRESSOR").upper(),
            session_calendar=get("SESSION_CALENDAR", "always").lower(),
            day_roll=get("DAY_ROLL", "on").lower() not in ("off", "0", "false", "no"),
            b3sim_shard=b3sim_shard,
            b3sim_shards=b3sim_shards,
            fees=get("FEES", "on").lower() not in ("off", "0", "false", "no"),
            brokerage_plan=get("BROKERAGE_PLAN", "zero"),
            brokerage_per_order=Decimal(get("BROKERAGE_PER_ORDER", "0.00")),
            iss_rate=Decimal(get("ISS_RATE", "0.05")),
            reservation_grace_seconds=_seconds(get, "RESERVATION_GRACE_SECONDS", 30.0),
            reservation_sweep_interval=_seconds(get, "RESERVATION_SWEEP_INTERVAL", 10.0, positive=True),
            corporate_events_interval=_seconds(get, "CORPORATE_EVENTS_INTERVAL", 60.0, positive=True),
            day_end_interval=_seconds(get, "DAY_END_INTERVAL", 60.0, positive=True),
            reconcile_interval=_seconds(get, "RECONCILE_INTERVAL", 300.0),
            reconcile_pending_grace=_seconds(get, "RECONCILE_PENDING_GRACE", 30.0),
            reconcile_timeout=_seconds(get, "RECONCILE_TIMEOUT", 30.0),
            db_pool_timeout=_seconds(get, "DB_POOL_TIMEOUT", 5.0, positive=True),
            log_level=get("LOG_LEVEL", "INFO"),
        )
        values.update(overrides)
        return cls(**values)

    def fee_schedule(self) -> FeeSchedule:
        """The costs every service counts alike: the wallet charges them, orders previews
        them, reports puts them in the average price. B3's table is the one in force on the
        day the service starts."""
        if not self.fees:
            return NO_FEES
        plan = BrokeragePlan(self.brokerage_plan, self.brokerage_per_order, self.iss_rate)
        return FeeSchedule(b3_fee_table(date.today()), plan)

    @property
    def internal_secret_file(self) -> Path:
        """Where the embedded platform leaves the secret it made, for local tools of the same
        user (`mybroker reconcile`); owner-only, like identity's key file beside it."""
        return self.data_dir / "internal-secret"

    def save_internal_secret(self) -> None:
        path = self.internal_secret_file
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(self.internal_secret)

    def known_internal_secret(self) -> str:
        """MYBROKER_INTERNAL_SECRET, or the one a running embedded platform saved."""
        if self.internal_secret:
            return self.internal_secret
        try:
            return self.internal_secret_file.read_text(encoding="utf-8").strip()
        except OSError:
            return ""

    def ensure_internal_secret(self) -> "Settings":
        """The embedded platform shares one process, so a fresh random secret per start is
        enough; a deployment sets MYBROKER_INTERNAL_SECRET for every container."""
        if self.internal_secret:
            return self
        return replace(self, internal_secret=secrets.token_urlsafe(32))


def _seconds(get, name: str, default: float, *, positive: bool = False) -> float:
    value = float(get(name, default))
    if value < 0 or (positive and value == 0) or value != value:
        raise ValueError(f"MYBROKER_{name} must be a number of seconds {'above' if positive else 'from'} 0, not {value}")
    return value


def _shards(shard: str | None, shards: str | None) -> tuple[int, int]:
    """(this shard, shard count) from MYBROKER_B3SIM_SHARD ('i/n') and MYBROKER_B3SIM_SHARDS ('n')."""
    from mybroker.bus.sharding import parse_shard

    count = int(shards) if shards else None
    if not shard:
        return 1, count or 1
    index, of = parse_shard(shard if "/" in shard or count is None else f"{shard}/{count}")
    if count is not None and count != of:
        raise ValueError(f"MYBROKER_B3SIM_SHARD={shard} disagrees with MYBROKER_B3SIM_SHARDS={shards}")
    return index, of
