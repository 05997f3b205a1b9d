"""The embedded platform: every service in one process, each on its own port, and the
router in a second process (launch/router_process.py) so it has a core of its own.

Start order matters: services first (schemas created, consumers subscribed), then the
bus, then the HTTP servers, and the router last, since it composes the supergraph from
the running subgraphs' `_service { sdl }`. Stop runs in reverse."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Literal
from dataclasses import dataclass, field

import uvicorn

from mybroker.bus import create_bus
from mybroker.cache import create_cache
from mybroker.edge_timeouts import edge_protocol
from launch.registry import WORKERS, build_service
from launch.router_process import RouterProcess
from launch.web_dist import playground_dir, web_dist_dir
from mybroker.service import Infrastructure, Service
from mybroker.settings import SERVICES, Settings

log = logging.getLogger("mybroker.platform")


class _Server(uvicorn.Server):
    """uvicorn.Server that leaves signals to the platform: several servers share a loop."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


# How long a server keeps an idle keep-alive connection (uvicorn's default is 5 s). Every
# client of ours drops its idle connections sooner (INTERNAL_IDLE_SECONDS, the router's
# SUBGRAPH_IDLE_SECONDS: 30 s), so a pooled connection is never reused just as the server
# closes it, the race that made orders' wallet calls fail with ConnectionResetError.
SERVER_IDLE_SECONDS = 60


async def serve_app(
    app, host: str, port: int, log_level: str = "warning", *, lifespan: Literal["auto", "on", "off"] = "off"
) -> tuple[_Server, asyncio.Task]:
    """Serves an ASGI app on the running loop. Services are started by Service.start, so
    their lifespan is off; the router owns its subgraph connection pool (lifespan on)."""
    # No per-message deflate: compressing every subscription event costs more CPU than
    # loopback and LAN bandwidth save.
    # proxy_headers off: uvicorn would rewrite the peer from X-Forwarded-For for any local
    # peer; whose X-Forwarded-For is believed is the router's trusted_proxies' decision alone.
    config = uvicorn.Config(
        app, host=host, port=port, lifespan=lifespan, log_level=log_level, access_log=False, ws_per_message_deflate=False,
        timeout_keep_alive=SERVER_IDLE_SECONDS,
        http=edge_protocol(),  # header and body deadlines uvicorn lacks (slow-loris)
        proxy_headers=False,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(), name=f"http:{port}")
    while not server.started:
        if task.done():
            task.result()  # raises the bind error, e.g. port in use
            raise RuntimeError(f"server on port {port} stopped during start-up")
        await asyncio.sleep(0.01)
    return server, task


@dataclass
class Platform:
    """`router_process`: the router runs as a child process (launch/router_process.py),
    as `mybroker up` runs it; False serves it on this process's loop."""

    settings: Settings
    router_process: bool = True
    services: list[Service] = field(default_factory=list)
    infra: Infrastructure | None = None
    _servers: list[tuple[_Server, asyncio.Task]] = field(default_factory=list)
    _router: RouterProcess | None = None

    @property
    def router_url(self) -> str:
        return self.settings.graphql_url("router")

    async def start(self) -> None:
        made_secret = not self.settings.internal_secret
        self.settings = self.settings.ensure_internal_secret()
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if made_secret:  # so `mybroker reconcile` can call this platform's internal API
            settings.save_internal_secret()
        self.infra = Infrastructure(settings, create_bus(settings), create_cache(settings))
        for name in (*SERVICES, *WORKERS):
            service = build_service(name, self.infra)
            await service.start()
            self.services.append(service)
        await self.infra.bus.start()
        for service in self.services:
            if service.app is not None:
                self.infra.local_apps[service.name] = service.app
                self._servers.append(await serve_app(service.app, settings.host, settings.port(service.name)))
        await self.start_router()

    async def stop_router(self) -> None:
        """Stops the router alone (start() serves it last), as a restart does: clients'
        reconnection is tested against this. start_router() brings it back on its port."""
        if self._router is not None:
            router, self._router = self._router, None
            await router.stop()
            return
        server, task = self._servers[-1]
        if server.config.port != self.settings.port("router"):
            raise RuntimeError("the router is not running")
        self._servers.pop()
        server.should_exit = True
        await task

    async def start_router(self) -> None:
        if self.router_process:
            self._router = RouterProcess(self.settings)
            await self._router.start()
            return
        router_app = await build_router_app(self.settings)
        self._servers.append(await serve_app(router_app, self.settings.host, self.settings.port("router"), lifespan="on"))

    async def stop(self) -> None:
        if self._router is not None:
            await self.stop_router()
        for server, _task in reversed(self._servers):
            server.should_exit = True
        await asyncio.gather(*(task for _s, task in self._servers), return_exceptions=True)
        self._servers.clear()
        if self.infra is not None:
            self.infra.local_apps.clear()
            await self.infra.bus.stop()
        for service in reversed(self.services):
            await service.stop()
        self.services.clear()
        if self.infra is not None:
            await self.infra.cache.close()  # shared by the services: closed after them


async def build_router_app(settings: Settings):
    """The router composed from the running subgraphs, verifying tokens with identity's JWKS."""
    from launch.router_app import jwt_authenticator, router_config
    from router.discovery import compose_from_urls, sdl_headers
    from router.http import create_router_app
    from router.options import options_from_env
    from router.supergraph import Supergraph

    subgraphs = [(name, settings.graphql_url(name)) for name in SERVICES]
    supergraph = Supergraph.from_sdl(await compose_from_urls(subgraphs, headers=sdl_headers(settings.internal_secret)))
    authenticator = jwt_authenticator(settings, settings.jwks())
    await authenticator.verifier.refresh()
    # The router's edge settings (CORS, CSRF, limits, ...) come from MYBROKER_* variables: docs/router.md.
    options = options_from_env(os.environ)
    if settings.production:  # no introspection, GraphiQL or query plans: launch/production.py
        from launch.production import production_router_options

        options = production_router_options(options, os.environ)
    return create_router_app(supergraph, router_config(
        settings, options, authenticator=authenticator, web_dir=web_dist_dir(), playground_dir=playground_dir(),
    ))


