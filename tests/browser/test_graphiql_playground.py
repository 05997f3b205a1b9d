"""GraphiQL at /graphql with no internet: every request to anywhere but the router is
aborted, and the playground (bundled from npm into web/dist/playground) still loads, runs
a query with the screen's stored token, streams a subscription over graphql-ws, shows the
schema's docs and the router's query plan."""
from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import aiohttp
import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import leave, open_screen, screenshot_path

pytestmark = pytest.mark.e2e

REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }"


async def register(router_url: str, name: str) -> str:
    email = f"playground.{time.time_ns()}@example.com"
    variables = {"input": {"name": name, "email": email, "password": "s3cret-pass"}}
    async with aiohttp.ClientSession() as session:
        async with session.post(router_url, json={"query": REGISTER, "variables": variables}) as response:
            return (await response.json())["data"]["register"]["accessToken"]


async def edit(page: Page, operation: str) -> None:
    """Replaces the query editor's text as a person would, by keyboard; GraphiQL reads the
    operation's name a moment later (debounced) and shows it as the tab's title."""
    await page.locator(".graphiql-query-editor .CodeMirror").click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(operation)
    text = await page.evaluate("document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()")
    assert text == operation
    await expect(page.locator(".graphiql-tab-active")).to_have_text(operation.split()[1])


async def run(page: Page, operation: str) -> None:
    await edit(page, operation)
    await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()


@pytest.mark.asyncio(loop_scope="session")
async def test_the_playground_works_offline_with_docs_token_subscriptions_and_plans(browser, platform, web_dist):
    # The shared platform, not the screen's: its access tokens live the default 15 minutes,
    # where the screen's expire in seconds and would end this story half-way on a slow machine.
    router_url = platform.router_url
    token = await register(router_url, "Graça")
    context, page = await open_screen(browser, platform)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    blocked: list[str] = []

    async def offline(route):
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort("internetdisconnected")

    await context.route("**/*", offline)
    # As the trading screen leaves it in this tab's sessionStorage once signed in.
    session = {"accessToken": token, "refreshToken": "-", "expiresAt": 0, "user": {"id": "-", "email": "-", "name": "Graça"}}
    stored = json.dumps(json.dumps(session))
    await context.add_init_script(f"if (location.protocol === 'http:') sessionStorage.setItem('mybroker.session', {stored})")
    try:
        await page.goto(router_url)
        result = page.locator(".graphiql-response")
        await expect(page.locator(".graphiql-query-editor .CodeMirror")).to_be_visible()
        # The Headers tab starts with the caller's token, and the API takes it.
        await expect(page.locator(".graphiql-editor-tool")).to_contain_text(f"Bearer {token}")
        await run(page, "query Me { me { name } }")
        await expect(result).to_contain_text('"name": "Graça"')

        await run(page, 'subscription Quotes { quotes(tickers: ["ITUB4"]) { ticker price } }')
        await expect(result).to_contain_text('"ticker": "ITUB4"')
        await page.get_by_role("button", name="Stop query (Ctrl-Enter)").click()

        await page.get_by_role("button", name="Show Documentation Explorer").click()
        await page.locator(".graphiql-doc-explorer").get_by_text("Query", exact=True).click()
        await expect(page.locator(".graphiql-doc-explorer")).to_contain_text("assets")

        await page.get_by_role("button", name="Show Query plan").click()
        plan = page.get_by_test_id("query-plan")
        await expect(plan).to_contain_text("QueryPlan {")  # from the last run over HTTP: Me
        await edit(page, "query Assets { assets(first: 2) { ticker name } }")
        await page.get_by_role("button", name="Show plan").click()
        await expect(page.locator(".mybroker-plan h4")).to_have_text("Assets")
        await expect(plan).to_contain_text('Fetch(service: "assets")')
        await page.screenshot(path=screenshot_path("graphiql-plan"), full_page=True)
    finally:
        await leave(page)
        await context.close()
    assert not blocked, f"the playground reached beyond this machine: {blocked}"
    assert not errors, f"the page threw: {errors}"


def test_react_stays_out_of_the_trading_screens_bundle(web_dist):
    # React 19 marks its elements with this symbol; Preact has no such string.
    marker = "react.transitional.element"
    assert any(marker in path.read_text() for path in (web_dist / "playground" / "assets").glob("*.js"))
    assert not any(marker in path.read_text() for path in (web_dist / "assets").glob("*.js"))
