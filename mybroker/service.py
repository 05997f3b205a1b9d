"""A running service: its ASGI app plus the background work around it (consumers,
outbox relay). The embedded platform starts many in one process; `mybroker serve NAME`
starts one, as a container does (both in mybroker.cli / mybroker.platform)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from fastapi import FastAPI
# Module level, not inside internal_api: with postponed annotations FastAPI resolves a
# dependency's `request: Request` against this module's globals.
from starlette.requests import Request

from mybroker.bus import MessageBus
from mybroker.cache import Cache
from mybroker.settings import Settings


@dataclass
class Infrastructure:
    """The adapters one process shares among its services."""

    settings: Settings
    bus: MessageBus
    cache: Cache


@dataclass
class Service:
    name: str
    app: Any | None  # ASGI app, or None for headless workers (b3-sim, ingest)
    on_start: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    on_stop: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def start(self) -> None:
        for step in self.on_start:
            await step()

    async def stop(self) -> None:
        """Runs on_stop in the order written: stop what reads a store before closing it."""
        for step in self.on_stop:
            await step()


def service_app(title: str) -> FastAPI:
    """A FastAPI app with /health; lifecycle is driven by Service.start/stop."""
    app = FastAPI(title=title, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    add_domain_error_handler(app)
    return app


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
