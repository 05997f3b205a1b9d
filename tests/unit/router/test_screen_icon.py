"""The screen's icon: /favicon.svg for the page's <link rel="icon">, and /favicon.ico, which
browsers and tools ask for on their own, both the build's SVG; a 404 before a build."""
from __future__ import annotations

import aiohttp

from .edge_support import edge_router


async def fetch(url: str, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url + path) as response:
            return response.status, response.content_type, await response.text()


async def test_the_icon_is_the_builds_svg_at_both_paths(supergraph, store, tmp_path):
    async with edge_router(supergraph, store, web_dir=tmp_path) as (url, _):
        assert (await fetch(url, "/favicon.ico"))[0] == 404  # not built yet
        (tmp_path / "favicon.svg").write_text("<svg/>")
        for path in ("/favicon.svg", "/favicon.ico"):
            assert await fetch(url, path) == (200, "image/svg+xml", "<svg/>")


def test_the_page_links_the_icon_and_the_build_watches_it():
    from launch.web_build import SOURCE_DIRS, WEB

    assert '<link rel="icon" type="image/svg+xml" href="/favicon.svg" />' in (WEB / "index.html").read_text()
    assert (WEB / "public" / "favicon.svg").read_text().startswith("<svg")
    assert "public" in SOURCE_DIRS, "a new icon rebuilds the screen"
