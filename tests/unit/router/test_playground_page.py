"""GraphiQL at GET /graphql for browsers: the build in `playground_dir` (web/dist/playground,
bundled from npm, no CDN) with its files under /playground/assets, read per request; without
a build, a page saying what to run; with `graphiql` off, neither."""
from __future__ import annotations

import aiohttp

from .edge_support import edge_router
from .test_router_http import get

HTML = {"accept": "text/html,application/xhtml+xml"}
PAGE = '<div id="graphiql"></div><script type="module" src="/playground/assets/index-abc.js"></script>'


def build(directory) -> None:
    (directory / "assets").mkdir(parents=True)
    (directory / "index.html").write_text(PAGE)
    (directory / "assets" / "index-abc.js").write_text("console.log('graphiql')")


async def fetch(url: str, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url + path) as response:
            return response.status, await response.text()


async def test_without_a_playground_dir_the_page_says_what_to_run(supergraph, store):
    async with edge_router(supergraph, store) as (url, _):
        status, page, response = await get(url, {}, HTML)
    assert status == 200 and response.content_type == "text/html"
    assert "The playground is not built: run <code>make up</code> (needs Node.js" in page
    assert "npm run build" in page and "<script" not in page  # nothing to load, from anywhere


async def test_a_build_made_while_the_router_runs_is_served_with_its_files(supergraph, store, tmp_path):
    playground = tmp_path / "dist" / "playground"
    async with edge_router(supergraph, store, playground_dir=playground) as (url, _):
        status, page, _ = await get(url, {}, HTML)
        assert status == 200 and "The playground is not built" in page
        assert (await fetch(url, "/playground/assets/index-abc.js"))[0] == 404

        build(playground)
        status, page, response = await get(url, {}, HTML)
        assert (status, page) == (200, PAGE) and response.headers["cache-control"] == "no-cache"
        assert await fetch(url, "/playground/assets/index-abc.js") == (200, "console.log('graphiql')")
        # An API call on the same path still gets JSON, not the page.
        status, body, _ = await get(url, {"query": "{ __typename }"}, {"apollo-require-preflight": "true"})
        assert (status, body) == (200, {"data": {"__typename": "Query"}})


async def test_graphiql_off_serves_neither_the_page_nor_its_files(supergraph, store, tmp_path):
    build(tmp_path)
    async with edge_router(supergraph, store, graphiql=False, playground_dir=tmp_path) as (url, _):
        status, body, response = await get(url, {}, HTML)
        assert status == 400 and response.content_type == "application/json"
        assert (await fetch(url, "/playground/assets/index-abc.js"))[0] == 404
