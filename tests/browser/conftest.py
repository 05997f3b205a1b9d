"""A real headless Chromium (Debian's, never a downloaded one) driven by Playwright
against a platform of its own (started like tests/conftest.py's `platform`, so its router
can be restarted without disturbing other tests), whose router serves the built screen
at /. Screenshots of each view go to .artifacts/screenshots/.

In CI (CI or MYBROKER_INFRA set) a missing chromium or npm fails the run; on a
workstation without them these tests skip and say why."""
from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest
import pytest_asyncio

from launch.platform import Platform
from launch import web_build
from mybroker.settings import DEFAULT_PORTS, Settings
from tests.conftest import drop_databases, free_ports

CHROMIUM = Path(os.environ.get("MYBROKER_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".artifacts" / "screenshots"
# Generous: the platform settles orders asynchronously; waits poll and return as soon as met.
WAIT_MS = 15_000
ACCESS_TOKEN_TTL = 10


def pytest_configure(config):
    from playwright.async_api import expect

    expect.set_options(timeout=WAIT_MS)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") or os.environ.get("MYBROKER_INFRA"):
        pytest.fail(f"browser tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def web_dist() -> Path:
    build = web_build.WebBuild()
    if web_build.npm_path() is None and not build.is_built():
        _unavailable("npm is not installed, so web/ cannot be built (apt-get install npm, or Node.js 20.19+)")
    try:
        build.ensure_built()
    except web_build.BuildError as error:
        if web_build.npm_path() is None:
            _unavailable(f"web/dist is stale and npm is not installed to rebuild it ({error})")
        pytest.fail(str(error), pytrace=False)
    return build.dist


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def browser():
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install -y chromium; scripts/services.sh up installs it)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="session", scope="session")
async def screen_platform(tmp_path_factory, web_dist) -> Platform:
    # The screen is tested on the embedded platform in both CI passes: what it shows
    # depends only on the API, and tests/e2e tells the story on the real engines.
    # Access tokens live ACCESS_TOKEN_TTL seconds, so the screen must renew them during the story.
    ports = dict(zip(DEFAULT_PORTS, free_ports(len(DEFAULT_PORTS))))
    settings = Settings.from_env(
        env={}, data_dir=tmp_path_factory.mktemp("screen-platform"), ports=ports, tick_interval=0.2, market_seed=7, day_roll=False,
        access_token_ttl=ACCESS_TOKEN_TTL,
    )
    running = Platform(settings)
    await running.start()
    yield running
    await running.stop()
    if settings.infra == "real":
        await drop_databases(settings)


@pytest_asyncio.fixture(loop_scope="session", scope="module")
async def screen(browser, screen_platform):
    """One browser tab on the trading screen, shared by the steps of a module's story."""
    context, page = await open_screen(browser, screen_platform)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(screen_url(screen_platform))
    yield page
    await leave(page)
    await context.close()
    assert not errors, f"the page threw: {errors}"


async def open_screen(browser, platform: Platform):
    """A new tab (own session storage) on the platform's screen; the caller closes its context."""
    context = await browser.new_context(viewport={"width": 1366, "height": 900}, locale="pt-BR")
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    return context, page


async def leave(page) -> None:
    """Unloads the screen first, so its socket and polls end cleanly before the tab goes."""
    with contextlib.suppress(Exception):  # a page that failed its test must not stall the teardown
        await page.goto("about:blank", timeout=5_000)


def screen_url(platform: Platform) -> str:
    return platform.router_url.removesuffix("/graphql") + "/"


def screenshot_path(name: str) -> str:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return str(SCREENSHOTS / f"{re.sub(r'[^a-z0-9-]+', '-', name.lower())}.png")
