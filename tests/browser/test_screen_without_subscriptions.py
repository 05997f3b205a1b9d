"""The screen where the subscription transport is missing (an older router, a proxy that
drops WebSockets): every WebSocket to /graphql is refused, and the screen still follows
quotes and orders by polling, and says so."""
from __future__ import annotations

import re
import time

import pytest
from playwright.async_api import expect

from tests.browser.conftest import leave, open_screen, screen_url, screenshot_path

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]


async def test_quotes_and_orders_still_flow_by_polling(browser, screen_platform):
    context, page = await open_screen(browser, screen_platform)
    try:
        # Accepted, then closed at once: graphql-ws never gets its connection_ack.
        await page.route_web_socket("**/graphql", lambda socket: socket.close(code=1011, reason="no subscriptions here"))
        await page.goto(screen_url(screen_platform))
        await page.get_by_role("button", name="Cadastrar").click()
        await page.get_by_label("Nome").fill("Caio")
        await page.get_by_label("E-mail").fill(f"caio.{time.time_ns()}@example.com")
        await page.get_by_label("Senha").fill("s3cret-pass")
        await page.get_by_role("button", name="Criar conta").click()

        badge = page.locator(".connection")
        await expect(badge).to_have_attribute("data-state", "polling")
        await expect(badge).to_have_text("Ao vivo (consultando)")
        price = page.locator('.watchlist tr[data-ticker="ITUB4"] td.price')
        await expect(price).to_have_attribute("data-price", re.compile(r"^\d+\.\d\d$"))
        first = await price.get_attribute("data-price")
        # A random walk can rest on a price for a while: give it longer than one step.
        await expect(price).not_to_have_attribute("data-price", first, timeout=60_000)

        await page.evaluate("location.hash = '#/wallet'")
        await page.get_by_label("Valor (R$)").fill("10000")
        await page.get_by_role("button", name="Depositar").click()
        # Polling only, on a loaded machine: the wallet is re-read every few seconds.
        await expect(page.get_by_test_id("available")).to_have_text("R$\u00a010.000,00", timeout=45_000)
        await page.evaluate("location.hash = '#/asset/ITUB4'")
        await page.get_by_role("button", name="Comprar ITUB4").click()
        await expect(page.locator(".blotter tbody tr").first).to_have_attribute("data-status", "FILLED", timeout=45_000)
        await page.screenshot(path=screenshot_path("asset-polling"), full_page=True)
    finally:
        await leave(page)
        await context.close()
