"""The GraphiQL page the router serves in development loads its code from a CDN: each file
at an exact version and with Subresource Integrity, so the browser runs it only if it is
byte for byte the file hashed (router/static/graphiql.html says how the hashes were made)."""
from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from importlib import resources

import pytest

# unpkg's form: https://unpkg.com/<package>@<exact version>/<path in the package>
PINNED = re.compile(r"^https://unpkg\.com/(?P<package>(@[a-z0-9-]+/)?[a-z0-9-]+)@(?P<version>\d+\.\d+\.\d+)/(?P<path>[\w./-]+)$")


class _Resources(HTMLParser):
    """Every external <script src> and <link href>, with its attributes."""

    def __init__(self):
        super().__init__()
        self.tags: list[dict[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if (tag == "script" and attributes.get("src")) or tag == "link":
            self.tags.append({"tag": tag, **attributes})

    handle_startendtag = handle_starttag


def external_resources(page: str) -> list[dict[str, str | None]]:
    parser = _Resources()
    parser.feed(page)
    return parser.tags


PAGE = resources.files("router").joinpath("static/graphiql.html").read_text(encoding="utf-8")
TAGS = external_resources(PAGE)


def test_the_page_loads_graphiql_react_and_react_dom():
    packages = {PINNED.match(tag.get("src") or tag.get("href") or "")["package"] for tag in TAGS}
    assert packages == {"graphiql", "react", "react-dom"}
    assert len(TAGS) == 4  # the stylesheet and three scripts


@pytest.mark.parametrize("tag", TAGS, ids=lambda tag: tag.get("src") or tag.get("href"))
def test_every_resource_is_pinned_and_has_an_integrity_hash(tag):
    url = tag.get("src") or tag.get("href")
    assert PINNED.match(url or ""), f"{url}: not an exact version (no @latest, @3 or range)"
    integrity = tag.get("integrity") or ""
    assert integrity.startswith("sha384-"), f"{url}: no sha384 integrity"
    assert len(base64.b64decode(integrity.removeprefix("sha384-"), validate=True)) == 48, f"{url}: not a SHA-384 digest"
    assert tag.get("crossorigin") == "anonymous", f"{url}: SRI on a cross-origin file needs crossorigin=anonymous"


@pytest.mark.parametrize(
    "page, problem",
    [
        ('<script src="https://unpkg.com/graphiql@3/graphiql.min.js" integrity="sha384-' + "A" * 64 + '" crossorigin="anonymous"></script>', "version"),
        ('<script src="https://unpkg.com/react@latest/umd/react.production.min.js" integrity="sha384-' + "A" * 64 + '" crossorigin="anonymous"></script>', "version"),
        ('<script src="https://unpkg.com/react@^18.3.1/umd/react.production.min.js" integrity="sha384-' + "A" * 64 + '" crossorigin="anonymous"></script>', "version"),
        ('<link rel="stylesheet" href="https://unpkg.com/graphiql@3.9.0/graphiql.min.css" crossorigin="anonymous" />', "integrity"),
        ('<script src="https://unpkg.com/react@18.3.1/umd/react.production.min.js" integrity="sha384-' + "A" * 64 + '"></script>', "crossorigin"),
    ],
)
def test_the_check_catches_a_floating_or_unhashed_tag(page, problem):
    (tag,) = external_resources(page)
    with pytest.raises(AssertionError, match=problem):
        test_every_resource_is_pinned_and_has_an_integrity_hash(tag)
