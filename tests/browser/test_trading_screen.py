"""A trader's story on the trading screen in headless Chromium: sign up, deposit, watch a
quote move, buy at market and see the fill and the position, rest a limit order and
cancel it, meet INSUFFICIENT_FUNDS, lose and regain the connection, and use a phone.

The steps share one tab and run in file order: each starts where the previous one left."""
from __future__ import annotations

import re
import time

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import ACCESS_TOKEN_TTL, screenshot_path

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="session")]

EMAIL = f"bia.{time.time_ns()}@example.com"
FIRST_TOKENS: dict = {}


# Form controls without a label and buttons or links without a name, for screen readers.
UNNAMED_CONTROLS = """() => [
  ...[...document.querySelectorAll('input, select, textarea')].filter(c => !c.labels?.length && !c.getAttribute('aria-label')),
  ...[...document.querySelectorAll('button, a[href]')].filter(c => !c.textContent.trim() && !c.getAttribute('aria-label')),
].map(c => c.outerHTML.slice(0, 120))"""


async def go(page: Page, hash_route: str) -> None:
    await page.evaluate("route => { location.hash = route }", hash_route)


async def test_sign_up_opens_the_trading_screen(screen: Page):
    await expect(screen.get_by_role("heading", name="My Broker B3")).to_be_visible()
    await screen.screenshot(path=screenshot_path("sign-in"))
    await screen.get_by_role("button", name="Cadastrar").click()
    await screen.get_by_label("Nome").fill("Bia")
    await screen.get_by_label("E-mail").fill(EMAIL)
    await screen.get_by_label("Senha").fill("s3cret-pass")
    await screen.get_by_role("button", name="Criar conta").click()

    await expect(screen.get_by_role("button", name="Sair")).to_be_visible()
    await expect(screen.locator(".connection")).to_have_attribute("data-state", "live")
    tokens = await screen.evaluate("JSON.parse(sessionStorage.getItem('mybroker.session'))")
    assert tokens["user"]["email"] == EMAIL and tokens["refreshToken"]
    FIRST_TOKENS.update(tokens)


async def test_deposit_shows_in_the_wallet(screen: Page):
    await go(screen, "#/wallet")
    # "10.000" is how a Brazilian writes ten thousand: dots group thousands
    await screen.get_by_label("Valor (R$)").fill("10.000")
    await screen.get_by_role("button", name="Depositar").click()
    await expect(screen.get_by_test_id("available")).to_have_text("R$\u00a010.000,00")
    await expect(screen.locator(".cash [role=status]")).to_have_text("Depósito de R$\u00a010.000,00 feito.")

    await screen.get_by_label("Valor (R$)").fill("40.000,00")
    await screen.get_by_role("button", name="Depositar").click()
    await expect(screen.get_by_test_id("available")).to_have_text("R$\u00a050.000,00")
    await expect(screen.get_by_role("region", name="Extrato", exact=True).get_by_role("cell", name="+R$\u00a040.000,00")).to_be_visible()
    # the statement's times: dd/mm/aaaa and a 24-hour clock
    await expect(screen.locator(".wallet-view tbody tr td").first).to_have_text(re.compile(r"^\d\d/\d\d/20\d\d,? [0-2]\d:[0-5]\d$"))


async def test_the_monthly_statement_runs_its_balance_and_downloads_through_the_router(screen: Page):
    monthly = screen.get_by_role("region", name="Extrato mensal")
    await expect(monthly.locator('tr[data-kind="DEPOSIT"]')).to_have_count(2)
    await expect(monthly.get_by_test_id("opening-balance")).to_have_text("R$\u00a00,00")
    await expect(monthly.get_by_test_id("closing-balance")).to_have_text("R$\u00a050.000,00")
    last = monthly.locator('tr[data-kind="DEPOSIT"]').last
    await expect(last.locator("td").nth(2)).to_have_text("Depósito")
    await expect(last.locator("td").last).to_have_text("R$\u00a050.000,00")
    # A plain navigation to the router's signed link: the browser sends no token, and saves the file.
    async with screen.expect_download() as downloading:
        await monthly.get_by_role("button", name="Baixar CSV").click()
    download = await downloading.value
    assert re.fullmatch(r"extrato-20\d\d-\d\d\.csv", download.suggested_filename)
    content = (await download.path()).read_text(encoding="utf-8-sig")
    assert "Saldo final" in content and "50.000,00" in content


async def test_a_watched_quote_changes(screen: Page):
    await go(screen, "#/")
    price = screen.locator('.watchlist tr[data-ticker="PETR4"] td.price')
    await expect(price).to_have_text(re.compile(r"R\$\s[\d.]+,\d\d"))
    first = await price.get_attribute("data-price")
    # The simulated market ticks every 0.2 s here; the cell must follow without a reload.
    await expect(price).not_to_have_attribute("data-price", first)
    await expect(price).to_have_class(re.compile(r"\btick-(up|down)\b"))  # and flashes which way it moved
    # The trend line says what the change column says (the day's change), not the ticks seen.
    # Both read in one turn of the page: one render draws them from one quote.
    change, line = await screen.locator('.watchlist tr[data-ticker="PETR4"]').evaluate(
        "row => [row.querySelector('td.change').className, row.querySelector('svg.sparkline').getAttribute('class')]"
    )
    tone = "up" if "up" in change.split() else "down" if "down" in change.split() else "flat"
    assert tone in line.split(), (change, line)
    await screen.screenshot(path=screenshot_path("markets"))


async def test_a_market_buy_fills_and_the_position_appears(screen: Page):
    await screen.get_by_role("link", name="PETR4", exact=True).first.click()
    await expect(screen.get_by_role("heading", level=1)).to_have_text(re.compile(r"^PETR4"))
    ticket = screen.get_by_role("region", name="Boleta · PETR4")
    await ticket.get_by_label("Quantidade em lotes").fill("2")
    await expect(ticket.get_by_test_id("ticket-value")).to_have_text(re.compile(r"≈ R\$\s[\d.]+,\d\d"))
    await ticket.get_by_role("button", name="Comprar PETR4").click()

    order = screen.locator(".blotter tbody tr").first
    await expect(order).to_have_attribute("data-status", "FILLED")
    await expect(order.locator("td.filled")).to_have_text("200")
    await expect(order.get_by_text("Executada", exact=True)).to_be_visible()
    await screen.screenshot(path=screenshot_path("asset"), full_page=True)

    await go(screen, "#/wallet")
    position = screen.locator('.positions tr[data-ticker="PETR4"]')
    await expect(position.locator("td.quantity")).to_have_text("200")
    await expect(position.locator("td.pnl")).to_have_text(re.compile(r"[+-]?R\$\s[\d.]+,\d\d"))
    await screen.screenshot(path=screenshot_path("wallet"), full_page=True)


async def test_the_asset_page_speaks_brazilian_portuguese(screen: Page):
    await go(screen, "#/asset/PETR4")
    assert await screen.evaluate("document.documentElement.lang") == "pt-BR"
    nav = screen.get_by_role("navigation", name="Principal")
    for link in ("Mercado", "Ordens", "Carteira"):
        await expect(nav.get_by_role("link", name=link)).to_be_visible()
    ticket = screen.get_by_role("region", name="Boleta · PETR4")
    for side in ("Comprar", "Vender"):
        await expect(ticket.get_by_text(side, exact=True)).to_be_visible()
    options = await ticket.get_by_label("Validade").locator("option").all_inner_texts()
    assert [option.split(" (")[0] for option in options] == ["Hoje", "Até cancelar", "IOC", "FOK"]
    await expect(screen.get_by_role("heading", name="Livro de ofertas")).to_be_visible()
    await expect(screen.get_by_role("heading", name="Negócios")).to_be_visible()
    order = screen.locator(".blotter tbody tr").first
    await expect(order.get_by_text("Executada", exact=True)).to_be_visible()
    await expect(order.locator("td").first).to_have_text(re.compile(r"^\d\d/\d\d/20\d\d,? [0-2]\d:[0-5]\d:[0-5]\d$"))


async def test_the_chart_draws_candles_with_volume(screen: Page):
    await go(screen, "#/asset/PETR4")
    chart = screen.get_by_role("region", name="Gráfico")
    host = chart.locator(".chart-host")
    # the market has ticked for a while: candles with traded volume are drawn on canvases
    await expect(host).not_to_have_attribute("data-candles", "0")
    await expect(host).not_to_have_attribute("data-volume", "0")
    await expect(host.locator("canvas").first).to_be_visible()
    legend = chart.get_by_test_id("chart-legend")
    for label in ("Abertura", "Máxima", "Mínima", "Fechamento", "Volume", "MM 9"):
        await expect(legend.get_by_text(label, exact=True)).to_be_visible()
    # the crosshair shows the candle under the pointer
    box = await host.bounding_box()
    await screen.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] * 0.5)
    await expect(legend.locator("dd").nth(3)).to_have_text(re.compile(r"^[\d.]+,\d\d$"))
    for interval in ("5m", "15m", "1h", "1d"):
        await chart.get_by_role("button", name=interval, exact=True).click()
        await expect(chart.get_by_role("button", name=interval, exact=True)).to_have_attribute("aria-pressed", "true")
        await expect(host).not_to_have_attribute("data-candles", "0")
    await chart.get_by_role("button", name="1m", exact=True).click()
    await screen.screenshot(path=screenshot_path("asset-chart"))


async def test_english_is_the_second_language(screen: Page):
    switch = screen.get_by_label("Idioma")
    await switch.select_option("en")
    await expect(screen.get_by_role("region", name="Order ticket · PETR4")).to_be_visible()
    await expect(screen.get_by_role("heading", name="Book", exact=True)).to_be_visible()
    await expect(screen.get_by_role("button", name="Sign out")).to_be_visible()
    assert await screen.evaluate("document.documentElement.lang") == "en"
    # money keeps Brazil's notation in English too
    await expect(screen.get_by_test_id("asset-price")).to_have_text(re.compile(r"^R\$\s[\d.]+,\d\d$"))
    await screen.get_by_label("Language").select_option("pt-BR")
    await expect(screen.get_by_role("region", name="Boleta · PETR4")).to_be_visible()


async def test_a_resting_limit_order_can_be_cancelled(screen: Page):
    await go(screen, "#/asset/VALE3")
    ticket = screen.get_by_role("region", name="Boleta · VALE3")
    await ticket.get_by_text("Limitada", exact=True).click()
    await ticket.get_by_label("Preço limite (R$)").fill("2,00")
    await ticket.get_by_label("Validade").select_option("GTC")
    await expect(ticket.get_by_test_id("ticket-reserve")).to_have_text("R$\u00a0200,00 em dinheiro")
    await ticket.get_by_role("button", name="Comprar VALE3").click()

    order = screen.locator(".blotter tbody tr").first
    await expect(order).to_have_attribute("data-status", "OPEN")
    await order.get_by_role("button", name="Cancelar ordem de compra de 100 VALE3").click()
    await expect(order).to_have_attribute("data-status", "CANCELLED")
    await go(screen, "#/orders")
    await expect(screen.locator(".blotter tbody tr")).to_have_count(2)
    await screen.screenshot(path=screenshot_path("orders"), full_page=True)


async def test_an_order_beyond_the_cash_says_so_next_to_the_quantity(screen: Page):
    await go(screen, "#/asset/PETR4")
    ticket = screen.get_by_role("region", name="Boleta · PETR4")
    lots = ticket.get_by_label("Quantidade em lotes")
    await lots.fill("10000")
    await lots.press("Enter")  # the keyboard alone sends the ticket

    message = ticket.get_by_role("alert")
    await expect(message).to_contain_text("Saldo insuficiente para esta ordem")
    # tied to the field it concerns, for sighted and screen-reader users alike
    await expect(lots).to_have_attribute("aria-invalid", "true")
    assert await message.get_attribute("id") in (await lots.get_attribute("aria-describedby")).split()
    await screen.screenshot(path=screenshot_path("ticket-insufficient-funds"))


async def test_the_connection_state_recovers_by_itself_when_the_router_restarts(screen: Page, screen_platform):
    badge = screen.locator(".connection")
    await screen_platform.stop_router()
    try:
        await expect(badge).to_have_attribute("data-state", "reconnecting")
        await expect(badge).to_have_text("Reconectando…")
        # An outage longer than the access token's life: the renewal after it must not
        # carry the expired token (the router refuses that before reading the operation).
        await screen.wait_for_function(
            "JSON.parse(sessionStorage.getItem('mybroker.session') || '{}').expiresAt < Date.now()",
            timeout=(ACCESS_TOKEN_TTL + 5) * 1000,
        )
    finally:
        await screen_platform.start_router()
    await expect(badge).to_have_attribute("data-state", "live")
    # and the data flows again: a fresh quote reaches the watchlist
    await go(screen, "#/")
    price = screen.locator('.watchlist tr[data-ticker="VALE3"] td.price')
    before = await price.get_attribute("data-price")
    await expect(price).not_to_have_attribute("data-price", before or "")


async def test_the_access_token_is_renewed_before_it_expires(screen: Page):
    # Access tokens live ACCESS_TOKEN_TTL seconds here: by now the first one has been
    # replaced (refresh tokens rotate), and the trader is still signed in and trading data.
    await screen.wait_for_function(
        "first => JSON.parse(sessionStorage.getItem('mybroker.session') || '{}').refreshToken !== first",
        arg=FIRST_TOKENS["refreshToken"],
        timeout=(ACCESS_TOKEN_TTL + 5) * 1000,
    )
    await go(screen, "#/wallet")
    await expect(screen.get_by_test_id("available")).to_have_text(re.compile(r"R\$\s[\d.]+,\d\d"))
    await expect(screen.get_by_role("button", name="Sair")).to_be_visible()


async def test_a_phone_sees_the_screen_without_sideways_scrolling(screen: Page):
    await screen.set_viewport_size({"width": 390, "height": 844})
    for view, name in (("#/", "phone-markets"), ("#/asset/PETR4", "phone-asset"), ("#/wallet", "phone-wallet")):
        await go(screen, view)
        await expect(screen.get_by_role("button", name="Sair")).to_be_visible()
        await expect(screen.locator(".topbar .user")).to_be_visible()  # who is signed in, on a phone too
        await screen.wait_for_timeout(200)  # let the chart take its width before measuring
        await screen.screenshot(path=screenshot_path(name), full_page=True)
        overflow = await screen.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{view} is {overflow}px wider than a phone"
        # Figures as cards: no position's figure hides behind a sideways scroll.
        beyond = await screen.evaluate(
            "[...document.querySelectorAll('table.cards td')].filter(td => td.getBoundingClientRect().right > window.innerWidth).length"
        )
        assert beyond == 0, f"{view}: {beyond} figures outside the screen"
        assert await screen.evaluate(UNNAMED_CONTROLS) == [], f"{view} has controls without a name"


async def test_sign_out_forgets_the_tokens_and_sign_in_brings_the_account_back(screen: Page):
    await screen.get_by_role("button", name="Sair").click()
    form = screen.get_by_role("form", name="Entrar")
    await expect(form).to_be_visible()
    assert await screen.evaluate("sessionStorage.getItem('mybroker.session')") is None

    await form.get_by_label("E-mail").fill(EMAIL)
    await form.get_by_label("Senha").fill("wrong-password")
    await form.get_by_role("button", name="Entrar").click()
    await expect(form.get_by_role("alert")).to_have_text("E-mail ou senha incorretos.")

    await form.get_by_label("Senha").fill("s3cret-pass")
    await form.get_by_role("button", name="Entrar").click()
    await go(screen, "#/wallet")
    await expect(screen.locator('.positions tr[data-ticker="PETR4"] td.quantity')).to_have_text("200")
