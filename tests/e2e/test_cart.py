"""One cart per visitor, kept on the server: the same in every tab (live), across reloads and visits; emptied
when the order made from it is paid (by the return page or by the webhook alone), never by opening a
return page; Buy takes the cart the server holds."""

import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.fixtures.browser import (
    HOSTED_PAGE,
    PAID_HEADING,
    choose,
    pay_and_return,
    press_buy,
    session_id_in,
    visitor_id_of,
)
from tests.fixtures.deployment import Deployment
from tests.fixtures.servers import RunningShop

NOT_RELOADED = "window.__rxshop_not_reloaded === true"


def open_shop_tab(context: BrowserContext, shop: RunningShop) -> tuple[Page, str]:
    page = context.new_page()
    page.goto(shop.url + "/")
    visitor = visitor_id_of(page)
    page.evaluate("window.__rxshop_not_reloaded = true")  # gone if the page reloads
    return page, visitor


def total(page: Page):
    return page.locator("#cart-total")


def test_one_cart_in_every_tab_live_across_reloads_and_visits(
    context: BrowserContext, browser: Browser, shop: RunningShop, tmp_path
):
    first, visitor = open_shop_tab(context, shop)
    second, same = open_shop_tab(context, shop)
    assert same == visitor
    expect(total(second)).to_have_text("$0.00")

    choose(first, "Morning Mug", 2)
    expect(total(second)).to_have_text("$36.00")  # pushed, not reloaded
    second.get_by_label("Increase quantity of Canvas Tote").click()
    expect(total(first)).to_have_text("$60.00")
    expect(first.get_by_label("Quantity of Canvas Tote", exact=True)).to_have_value("1")
    assert first.evaluate(NOT_RELOADED) and second.evaluate(NOT_RELOADED)

    # A bad quantity is refused in the tab that typed it and changes nothing anywhere.
    first.get_by_label("Quantity of Morning Mug", exact=True).fill("99")
    expect(first.get_by_role("alert")).to_contain_text("Quantity must be a whole number from 0 to 20.")
    expect(total(second)).to_have_text("$60.00")

    # A tab opened later, a reload, and the browser closed and opened again: the same cart.
    third, _ = open_shop_tab(context, shop)
    expect(total(third)).to_have_text("$60.00")
    second.reload()
    expect(total(second)).to_have_text("$60.00")
    profile = tmp_path / "profile.json"
    context.storage_state(path=str(profile))
    restarted = browser.new_context(storage_state=str(profile))
    stranger = browser.new_context()
    try:
        again, _ = open_shop_tab(restarted, shop)
        expect(total(again)).to_have_text("$60.00")
        expect(again.get_by_label("Quantity of Morning Mug", exact=True)).to_have_value("2")
        # Another visitor has a cart of their own, and changing it touches no one else's.
        other, other_visitor = open_shop_tab(stranger, shop)
        assert other_visitor != visitor
        expect(total(other)).to_have_text("$0.00")
        choose(other, "Dot-Grid Notebook", 1)
        expect(total(other)).to_have_text("$12.50")
        again.get_by_label("Decrease quantity of Morning Mug").click()
        expect(total(first)).to_have_text("$42.00")
        expect(total(other)).to_have_text("$12.50")
    finally:
        restarted.close()
        stranger.close()


def test_the_cart_empties_when_its_order_is_paid_and_never_by_a_return_page(
    context: BrowserContext, shop: RunningShop
):
    buyer, visitor = open_shop_tab(context, shop)
    watcher, _ = open_shop_tab(context, shop)
    console: list[str] = []
    buyer.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    choose(buyer, "Canvas Tote", 1)
    expect(total(watcher)).to_have_text("$24.00")
    session_id = press_buy(buyer)
    expect(total(watcher)).to_have_text("$24.00")  # on Stripe's page, not paid: the cart stays

    pay_and_return(buyer)
    expect(buyer.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
    expect(total(watcher)).to_have_text("$0.00")  # paid: emptied, live, in the other tab
    assert watcher.evaluate(NOT_RELOADED)
    assert console == [], console  # (invalid markup shows in the dev build: tests/e2e/test_dev_server.py)

    # A new cart; opening the old order's return page again (a bookmark, Back) leaves it alone.
    choose(watcher, "Morning Mug", 1)
    expect(total(watcher)).to_have_text("$18.00")
    buyer.reload()
    expect(buyer.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
    buyer.goto(f"{shop.url}/checkout/success?session_id={session_id}")
    expect(buyer.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
    expect(total(watcher)).to_have_text("$18.00")
    buyer.get_by_role("link", name="Shop", exact=True).click()
    expect(total(buyer)).to_have_text("$18.00")
    assert [(r["status"], r["amount_total"]) for r in shop.orders(visitor)] == [("paid", 2900)]


def test_a_payment_reported_by_webhook_alone_empties_the_cart_in_the_open_tabs(
    context: BrowserContext, shop: RunningShop
):
    """The buyer never comes back from Stripe's page: the webhook's fulfillment empties the cart the
    order was made from, in every open tab of the visitor. Buy, pressed in another tab, bought the cart
    the server held (a change made in the first tab a moment before)."""
    shopper, visitor = open_shop_tab(context, shop)
    other, _ = open_shop_tab(context, shop)
    choose(shopper, "Dot-Grid Notebook", 2)
    expect(total(other)).to_have_text("$25.00")
    other.get_by_role("button", name="Buy").click()
    other.wait_for_url(HOSTED_PAGE)
    session_id = session_id_in(other.url)
    expect(other.get_by_role("heading", name=re.compile(r"^Pay "))).to_contain_text("30.00 USD")
    [order] = shop.orders(visitor)
    assert order["amount_subtotal"] == 2500

    shop.control(f"sessions/{session_id}/pay", {})  # paid on Stripe's side; only the webhook tells the shop
    expect(total(shopper)).to_have_text("$0.00")
    assert shopper.evaluate(NOT_RELOADED)
    assert [r["status"] for r in shop.orders(visitor)] == ["paid"]


def test_cancel_leaves_the_cart_just_as_it_was_in_every_tab(context: BrowserContext, shop: RunningShop):
    page, _ = open_shop_tab(context, shop)
    choose(page, "Morning Mug", 3)
    press_buy(page)
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(re.compile(r"/checkout/cancel/?(\?order=ord_[0-9a-f]+)?$"))
    expect(page.get_by_text("Your cart is just as you left it.")).to_be_visible()
    later, _ = open_shop_tab(context, shop)  # a tab opened after the cancel: the same cart
    expect(total(later)).to_have_text("$54.00")
    page.get_by_role("link", name="Back to your cart").click()
    expect(total(page)).to_have_text("$54.00")


def test_through_nginx_the_first_visit_loads_once_and_the_cart_follows_across_workers(
    context: BrowserContext, deployment: Deployment
):
    """The static export behind nginx, two backend workers on Redis: the page's <head> script (proxied to
    the backend) sets the credential before the app connects, and a cart change on one worker reaches the
    visitor's tab on the other."""
    documents: list[str] = []
    context.on("request", lambda r: documents.append(r.url) if r.resource_type == "document" else None)
    first = context.new_page()
    first.goto(deployment.url + "/")
    visitor = visitor_id_of(first)
    assert documents == [deployment.url + "/"], documents
    choose(first, "Canvas Tote", 2)
    first_worker = _worker_of(first, deployment)
    for _ in range(MAX_TAB_ATTEMPTS):  # granian gives a connection to whichever worker takes it first
        other = context.new_page()
        other.goto(deployment.url + "/")
        expect(total(other)).to_have_text("$48.00")
        if _worker_of(other, deployment) != first_worker:
            break
        other.close()
    else:
        raise AssertionError(f"{MAX_TAB_ATTEMPTS} tabs in a row landed on the first tab's worker")
    assert visitor_id_of(other) == visitor
    other.get_by_label("Increase quantity of Morning Mug").click()
    expect(total(first)).to_have_text("$66.00")
    first.get_by_label("Decrease quantity of Canvas Tote").click()
    expect(total(other)).to_have_text("$42.00")


MAX_TAB_ATTEMPTS = 12


def _worker_of(tab: Page, deployment: Deployment) -> str:
    token = tab.evaluate("() => sessionStorage.getItem('token')")
    worker = deployment.worker_of(token)
    assert worker is not None, f"no worker holds the websocket of tab {token}"
    return worker
