"""My Orders follows changes live: a second tab of the same visitor sees the purchase and a refund (made on
Stripe's side, arriving by webhook) without reloading; another visitor's tab sees nothing."""

import re

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.fixtures.browser import (
    PAID_HEADING,
    choose,
    pay_and_return,
    press_buy,
    stripe_client,
    visitor_id_of,
)
from tests.fixtures.servers import RunningShop

NOT_RELOADED = "window.__rxshop_not_reloaded === true"


def open_orders(page: Page, shop: RunningShop) -> str:
    page.goto(shop.url + "/orders")
    visitor = visitor_id_of(page)
    expect(page.get_by_text("No orders yet.")).to_be_visible()
    page.evaluate("window.__rxshop_not_reloaded = true")  # gone if the page reloads
    return visitor


def test_my_orders_updates_live_in_the_visitors_other_tab_and_nowhere_else(
    context: BrowserContext, browser: Browser, shop: RunningShop
):
    watcher = context.new_page()  # tab 2 of this visitor, on My Orders
    visitor = open_orders(watcher, shop)
    stranger_context = browser.new_context()  # another browser profile: another visitor
    try:
        stranger = stranger_context.new_page()
        stranger_id = open_orders(stranger, shop)
        assert stranger_id != visitor

        buyer = context.new_page()  # tab 1: same browser context, same localStorage, same visitor
        buyer.goto(shop.url + "/")
        assert visitor_id_of(buyer) == visitor
        choose(buyer, "Canvas Tote", 1)
        choose(buyer, "Dot-Grid Notebook", 2)
        session_id = press_buy(buyer)
        pay_and_return(buyer)
        expect(buyer.get_by_role("heading", name=PAID_HEADING)).to_be_visible()

        item = watcher.locator(".order-item")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("1 × Canvas Tote, 2 × Dot-Grid Notebook")
        expect(item.locator(".order-total")).to_have_text("$54.00")  # $49.00 + Standard shipping
        expect(item).to_have_attribute("data-status", "paid")
        assert watcher.evaluate(NOT_RELOADED), "My Orders was reloaded instead of updated"

        # A refund made on Stripe's side (the real SDK against the simulator) arrives by webhook.
        [order] = shop.orders(visitor)
        assert order["status"] == "paid" and order["payment_intent_id"]
        assert shop.control(f"sessions/{session_id}")["payment_intent"]["id"] == order["payment_intent_id"]
        refund = stripe_client(shop).v1.refunds.create(params={"payment_intent": order["payment_intent_id"]})
        assert (refund.status, refund.amount) == ("succeeded", 5400)

        expect(item).to_have_attribute("data-status", "refunded")
        expect(item).to_contain_text("Refunded")
        expect(buyer.locator("#payment-status").get_by_role("heading", name="Order refunded")).to_be_visible()
        assert watcher.evaluate(NOT_RELOADED) and buyer.url.endswith(session_id)
        [order] = shop.orders(visitor)
        assert (order["status"], order["amount_refunded"]) == ("refunded", 5400)

        # The other visitor saw none of it (checked last, after both pushes went out), and has no orders.
        expect(stranger.get_by_text("No orders yet.")).to_be_visible()
        expect(stranger.locator(".order-item")).to_have_count(0)
        assert stranger.evaluate(NOT_RELOADED)
        assert shop.orders(stranger_id) == []
        deliveries = shop.control(f"events?type=charge.refunded&object_id={order_charge(shop, session_id)}")
        assert [e["delivery"]["status"] for e in deliveries["data"]] == ["delivered"]
    finally:
        stranger_context.close()


def order_charge(shop: RunningShop, session_id: str) -> str:
    charge = shop.control(f"sessions/{session_id}")["charge"]["id"]
    assert re.fullmatch(r"ch_\w+", charge)
    return charge
