"""A running service: its ASGI app plus the background work around it (consumers,
outbox relay). The embedded platform starts many in one process; `mybroker serve NAME`
starts one, as a container does (both in launch.cli / launch.platform)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Sequence

from fastapi import FastAPI
# Module level, not inside internal_api: with postponed annotations FastAPI resolves a
# dependency's `request: Request` against this module's globals.
from starlette.requests import Request

from mybroker.bus import MessageBus
from mybroker.cache import Cache
from mybroker.internal_http import InternalClient
from mybroker.metrics import Metrics
from mybroker.settings import Settings

if TYPE_CHECKING:
    from mybroker.live import LiveFeed, LiveHub


@dataclass
class Infrastructure:
    """The adapters one process shares among its services."""

    settings: Settings
    bus: MessageBus
    cache: Cache
    live: LiveHub | None = None  # the process's live fan-out, made by the first live_feed
    # The ASGI apps of the services this process serves, by name (the embedded platform):
    # an internal call to one of them skips the socket (InternalClient, call_app).
    local_apps: dict[str, Any] = field(default_factory=dict)

    def internal_client(self, service: str, timeout: float = 10.0) -> InternalClient:
        """A client of a sibling's internal API: in-process if this process serves it."""
        return InternalClient(
            self.settings.url(service), self.settings.internal_secret, timeout, local_app=lambda: self.local_apps.get(service)
        )

    def live_feed(self, channel: str) -> LiveFeed:
        """A LiveFeed of `channel` on the process's one live hub (close it on stop: the
        hub disconnects after its last feed)."""
        if self.live is None:
            from mybroker.live import LiveHub

            self.live = LiveHub.from_settings(self.settings, self.bus)
        return self.live.feed(channel)


@dataclass
class Service:
    name: str
    app: Any | None  # ASGI app, or None for headless workers (b3-sim, ingest)
    on_start: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_stop: Sequence[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def start(self) -> None:
        for step in self.on_start:
            await step()

    async def stop(self) -> None:
        """Runs on_stop in the order written: stop what reads a store before closing it."""
        for step in self.on_stop:
            await step()


def service_app(title: str, *, tracer_provider: Any = None, metrics: Metrics | None = None) -> FastAPI:
    """A FastAPI app with /health and /metrics; lifecycle is driven by Service.start/stop.
    Its requests join the caller's trace (the router sends a W3C traceparent);
    tracer_provider None means the process-wide one, a no-op unless tracing is configured
    (router.tracing). `metrics` is the service's registry (a fresh, empty one if None),
    also at `app.state.metrics`: counters only, so it needs no credentials (mybroker.metrics)."""
    from fastapi.responses import Response

    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TraceContextMiddleware, service=title, tracer_provider=tracer_provider)
    app.state.metrics = metrics = metrics if metrics is not None else Metrics()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(metrics.exposition(), media_type=metrics.content_type)

    add_domain_error_handler(app)
    return app


class TraceContextMiddleware:
    """A server span per HTTP request, child of the span named in the request's traceparent."""

    _CARRIER_HEADERS = (b"traceparent", b"tracestate")

    def __init__(self, app, *, service: str, tracer_provider: Any = None):
        from opentelemetry import trace

        self.app = app
        self.service = service
        self._trace = trace
        self._given = tracer_provider is not None
        self.tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("mybroker.service")

    def _tracing(self) -> bool:
        """False while no tracer provider is installed (tracing off, router/tracing.py): the
        API would hand out no-op spans, and making them was 8% of a subgraph's CPU on the
        simplest query. Asked per request: a provider may be installed after start."""
        return self._given or not isinstance(self._trace.get_tracer_provider(), self._trace.ProxyTracerProvider)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not self._tracing():
            await self.app(scope, receive, send)
            return
        from opentelemetry import propagate, trace

        carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in self._CARRIER_HEADERS}
        name = f"{self.service} {scope['method']} {scope['path']}"
        with self.tracer.start_as_current_span(name, context=propagate.extract(carrier), kind=trace.SpanKind.SERVER):
            await self.app(scope, receive, send)


def internal_api(secret: str):
    """An APIRouter for service-to-service endpoints: refuses callers without the internal
    token, and answers DomainError as 422 {"code", "message"} (see InternalClient)."""
    from fastapi import APIRouter, Depends, HTTPException

    from mybroker.auth import is_internal

    async def require_internal(request: Request) -> None:
        if not is_internal(request.headers, secret):
            raise HTTPException(status_code=403, detail={"code": "FORBIDDEN", "message": "internal endpoint"})

    return APIRouter(prefix="/internal", dependencies=[Depends(require_internal)])


def add_domain_error_handler(app: FastAPI) -> None:
    from fastapi.responses import JSONResponse

    from mybroker.errors import DomainError

    @app.exception_handler(DomainError)
    async def _domain_error(_request, exc: DomainError) -> JSONResponse:
        status = 404 if exc.code.value == "UNKNOWN_ASSET" else 422
        return JSONResponse({"code": exc.code.value, "message": exc.message}, status_code=status)
