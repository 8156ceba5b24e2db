"""The return page for what a buyer (or anyone) can put in its URL: made-up, malformed, unpaid sessions."""

import re

from playwright.sync_api import Page, expect

from tests.fixtures.browser import visitor_id_of
from tests.fixtures.servers import RunningShop


def test_a_made_up_or_malformed_session_id_is_a_plain_not_found_and_writes_nothing(
    page: Page, shop: RunningShop
):
    page.goto(shop.url + "/")
    visitor = visitor_id_of(page)
    for session_id in ("cs_test_" + "a" * 40, "not-a-session", "cs_test_<script>alert(1)</script>", ""):
        page.goto(f"{shop.url}/checkout/success?session_id={session_id}")
        expect(page.get_by_role("heading", name="Checkout not found")).to_be_visible()
        expect(page.locator(".order-item")).to_have_count(0)
    assert shop.orders(visitor) == []


def test_an_unpaid_session_says_payment_not_completed_with_a_way_back(page: Page, shop: RunningShop):
    page.goto(shop.url + "/")
    visitor = visitor_id_of(page)
    page.get_by_label("Increase quantity of Canvas Tote").click()
    expect(page.locator("#cart-total")).to_have_text("$24.00")
    page.get_by_role("button", name="Buy").click()
    page.wait_for_url(re.compile(r"/stripe-sim/pay/cs_test_"))
    session_id = page.url.rsplit("/", 1)[-1]

    # Straight to the success URL without paying, as anyone could.
    page.goto(f"{shop.url}/checkout/success?session_id={session_id}")
    expect(page.get_by_role("heading", name="Payment not completed")).to_be_visible()
    page.get_by_role("link", name="Back to your cart").click()
    expect(page.locator("#cart-total")).to_have_text("$24.00")
    assert [row["status"] for row in shop.orders(visitor)] == ["pending"]


def test_another_visitors_paid_session_reveals_nothing(page: Page, shop: RunningShop, browser):
    page.goto(shop.url + "/")
    visitor_id_of(page)  # a first visit reloads once for its credential: click after that
    page.get_by_label("Increase quantity of Morning Mug").click()
    expect(page.locator("#cart-total")).to_have_text("$18.00")
    page.get_by_role("button", name="Buy").click()
    page.wait_for_url(re.compile(r"/stripe-sim/pay/cs_test_"))
    session_id = page.url.rsplit("/", 1)[-1]
    shop.control(f"sessions/{session_id}/pay", {})

    stranger = browser.new_context().new_page()
    stranger.goto(f"{shop.url}/checkout/success?session_id={session_id}")
    expect(stranger.get_by_role("heading", name="Checkout not found")).to_be_visible()
    expect(stranger.get_by_text("$18.00")).to_have_count(0)
    stranger.context.close()
