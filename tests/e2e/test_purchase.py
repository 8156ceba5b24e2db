"""The purchase journey of the shop issue: 2 + 0 + 1, Buy, pay with 4242, return page, My Orders, refresh."""

import re

from playwright.sync_api import Page, expect

from tests.fixtures.browser import choose, pay_on_hosted_page, visitor_id_of
from tests.fixtures.servers import RunningShop


def test_buy_two_mugs_and_a_notebook_then_see_one_paid_order(page: Page, shop: RunningShop):
    page.goto(shop.url + "/")
    visitor = visitor_id_of(page)
    buy = page.get_by_role("button", name="Buy")
    expect(buy).to_be_disabled()

    page.get_by_label("Increase quantity of Morning Mug").click()
    page.get_by_label("Increase quantity of Morning Mug").click()
    choose(page, "Dot-Grid Notebook", 1)
    expect(page.locator("#subtotal-mug")).to_contain_text("$36.00")
    expect(page.locator("#subtotal-tote")).to_contain_text("$0.00")
    expect(page.locator("#cart-total")).to_have_text("$48.50")

    expect(buy).to_be_enabled()
    buy.click()
    page.wait_for_url(re.compile(r"/stripe-sim/pay/cs_test_"))
    expect(page.get_by_text("48.50 USD").first).to_be_visible()
    pay_on_hosted_page(page)

    page.wait_for_url(re.compile(r"/checkout/success/?\?session_id=cs_test_"))
    expect(page.get_by_role("heading", name="Thank you! Your order is paid.")).to_be_visible()
    item = page.locator(".order-item[aria-current='true']")
    expect(item).to_contain_text("2 × Morning Mug, 1 × Dot-Grid Notebook")
    expect(item).to_contain_text("$48.50")
    expect(item).to_contain_text("Paid")

    page.reload()
    expect(page.get_by_role("heading", name="Thank you! Your order is paid.")).to_be_visible()
    page.get_by_role("link", name="My Orders").click()
    expect(page.locator(".order-item")).to_have_count(1)
    expect(page.locator(".order-item")).to_contain_text("$48.50")

    rows = shop.orders(visitor)
    assert [(r["status"], r["amount_total"]) for r in rows] == [("paid", 5350)]  # $48.50 + Standard shipping
    # The cart starts empty after a purchase.
    page.get_by_role("link", name="Shop", exact=True).click()
    expect(page.locator("#cart-total")).to_have_text("$0.00")
