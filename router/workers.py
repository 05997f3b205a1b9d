"""`mybroker router --workers N`: N router processes answering on one port.

uvicorn's supervisor binds the socket once and starts N workers that accept on it (the
kernel spreads connections); it restarts a worker that dies and stops them all on SIGINT
or SIGTERM. Each worker builds its own app from the same spec (supergraph SDL, edge
options and whatever else the caller's factory needs), handed over in a file named by an
environment variable: workers are started fresh (spawn), not forked, so nothing else is
inherited. The factory is the caller's ("module:function", e.g. the platform's
launch.router_app:worker_app): it reads the spec with `read_spec` and builds the app."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

SPEC_VARIABLE = "MYBROKER_ROUTER_WORKER_SPEC"


def serve_workers(
    sdl: str, options: Mapping[str, Any], *, host: str, port: int, workers: int, factory: str,
    extra: Mapping[str, Any] | None = None, http: str = "auto", log_level: str = "info",
) -> None:
    """Blocks until the supervisor stops (a signal). `extra` must be JSON-able; `http` is
    uvicorn's HTTP protocol."""
    import uvicorn

    from router.standalone import EDGE_IDLE_SECONDS

    with tempfile.TemporaryDirectory(prefix="mybroker-router-") as folder:
        spec = Path(folder) / "spec.json"
        spec.write_text(json.dumps({"sdl": sdl, "options": dict(options), "extra": dict(extra or {})}), encoding="utf-8")
        os.environ[SPEC_VARIABLE] = str(spec)
        uvicorn.run(
            factory,
            factory=True,
            host=host,
            port=port,
            workers=workers,
            lifespan="on",
            log_level=log_level,
            access_log=False,
            ws_per_message_deflate=False,
            timeout_keep_alive=EDGE_IDLE_SECONDS,
            http=http,
            proxy_headers=False,  # trusted_proxies decides whose X-Forwarded-For counts
        )


def read_spec() -> dict[str, Any]:
    """In a worker: {"sdl", "options", "extra"} as serve_workers wrote them."""
    return json.loads(Path(os.environ[SPEC_VARIABLE]).read_text(encoding="utf-8"))
