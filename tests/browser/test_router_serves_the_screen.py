"""The router's / : the built screen when the web dir has it, a page saying how to build it
when it does not (the platform runs either way). No browser needed."""
from __future__ import annotations

import pytest
import pytest_asyncio

from mybroker.settings import SERVICES
from router.discovery import compose_from_urls, sdl_headers
from router.http import RouterConfig, create_router_app
from router.supergraph import Supergraph

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def supergraph(screen_platform) -> Supergraph:
    sdl = await compose_from_urls(
        [(name, screen_platform.settings.graphql_url(name)) for name in SERVICES],
        headers=sdl_headers(screen_platform.settings.internal_secret),
    )
    return Supergraph.from_sdl(sdl)


async def get(app, path: str) -> tuple[int, str]:
    """One GET straight through the ASGI app, no server."""
    scope = {
        "type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
        "headers": [(b"accept", b"text/html")], "http_version": "1.1", "scheme": "http",
        "server": ("127.0.0.1", 4000), "client": ("127.0.0.1", 50000), "root_path": "",
        "asgi": {"version": "3.0", "spec_version": "2.4"},  # responses need not watch for a disconnect
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return sent[0]["status"], body.decode()


async def test_a_built_screen_is_served_at_the_root_with_its_bundles(supergraph, tmp_path):
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<div id="app"></div><script src="/assets/main-abc.js"></script>')
    (tmp_path / "assets" / "main-abc.js").write_text("console.log('screen')")
    app = create_router_app(supergraph, RouterConfig(web_dir=tmp_path, metrics=False))

    assert await get(app, "/") == (200, '<div id="app"></div><script src="/assets/main-abc.js"></script>')
    assert await get(app, "/assets/main-abc.js") == (200, "console.log('screen')")
    status, page = await get(app, "/graphql")
    assert status == 200 and "graphiql" in page.lower()  # GET /graphql stays GraphiQL


async def test_without_a_build_the_root_says_the_screen_needs_node(supergraph, tmp_path):
    app = create_router_app(supergraph, RouterConfig(web_dir=tmp_path / "dist", metrics=False))

    status, page = await get(app, "/")
    assert status == 200
    assert "needs Node.js" in page and "npm ci" in page and 'href="/graphql"' in page
    status, _ = await get(app, "/assets/main-abc.js")
    assert status == 404
