"""`mybroker router --workers N`: N router processes answering on one port.

uvicorn's supervisor binds the socket once and starts N workers that accept on it (the
kernel spreads connections); it restarts a worker that dies and stops them all on SIGINT
or SIGTERM. Each worker builds its own app from the same spec (supergraph SDL and edge
options), handed over in a file named by an environment variable: workers are started
fresh (spawn), not forked, so nothing else is inherited."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

SPEC_VARIABLE = "MYBROKER_ROUTER_WORKER_SPEC"


def serve_workers(
    sdl: str, options: Mapping[str, Any], *, host: str, port: int, workers: int, jwks: str | None, log_level: str = "info"
) -> None:
    """Blocks until the supervisor stops (a signal)."""
    import uvicorn

    from router.standalone import EDGE_IDLE_SECONDS

    with tempfile.TemporaryDirectory(prefix="mybroker-router-") as folder:
        spec = Path(folder) / "spec.json"
        spec.write_text(json.dumps({"sdl": sdl, "options": dict(options), "jwks": jwks}), encoding="utf-8")
        os.environ[SPEC_VARIABLE] = str(spec)
        uvicorn.run(
            "router.workers:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            lifespan="on",
            log_level=log_level,
            access_log=False,
            ws_per_message_deflate=False,
            timeout_keep_alive=EDGE_IDLE_SECONDS,
            http="mybroker.edge_timeouts:EdgeTimeoutProtocol",  # header and body deadlines (slow-loris)
            proxy_headers=False,  # trusted_proxies decides whose X-Forwarded-For counts
        )


def create_app():
    """One worker's app (uvicorn calls this factory in each worker process)."""
    from mybroker.settings import Settings
    from router.standalone import load_supergraph, standalone_app
    from router.tracing import configure_tracing

    spec = json.loads(Path(os.environ[SPEC_VARIABLE]).read_text(encoding="utf-8"))
    configure_tracing("mybroker-router")
    supergraph = load_supergraph(spec["sdl"], "the supergraph")
    return standalone_app(supergraph, spec["options"], Settings.from_env(), spec["jwks"])
