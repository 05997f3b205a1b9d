"""Where the web builds are: the trading screen (served at /) and GraphiQL (at GET
/graphql for browsers), both made by `make up` from web/ (npm run build)."""
from __future__ import annotations

import os
from pathlib import Path


def web_dist_dir() -> Path:
    """The trading screen's build: MYBROKER_WEB_DIR, or web/dist at the repo root (`make up` builds it)."""
    configured = os.environ.get("MYBROKER_WEB_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parent.parent / "web" / "dist"


def playground_dir() -> Path:
    """GraphiQL's build, beside the screen's: web/vite.playground.config.ts writes it."""
    return web_dist_dir() / "playground"
