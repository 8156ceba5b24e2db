"""The owner's dashboard in the browser: sign-in (right, wrong and slowed down, expired, sign-out), the live
order table, shipping, partial then full refunds through the simulator with a double click, the exceptions
inbox, revenue and the CSV, against the running production app."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import time

from playwright.sync_api import Browser, BrowserContext, Page, expect

from rxshop.domain.identity import new_visitor_id
from tests.fixtures.admin import (
    ADMIN_PASSWORD,
    SIGNED_IN,
    buy,
    execute,
    money,
    order_row,
    pay_with_address,
    refunds_at_stripe,
    sign_in,
)
from tests.fixtures.browser import visitor_id_of
from tests.fixtures.servers import RunningShop

NOT_RELOADED = "window.__rxshop_not_reloaded === true"


def failures(shop: RunningShop) -> int:
    with sqlite3.connect(shop.db_path) as conn:
        row = conn.execute(
            "SELECT failures FROM admin_login_failures WHERE client_key = '127.0.0.1'"
        ).fetchone()
    return row[0] if row else 0


def wait_until(predicate, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sign_in_wrong_slowed_down_right_and_sign_out(page: Page, shop: RunningShop):
    page.goto(shop.url + "/admin/orders")
    visitor_id_of(page)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator(".admin-order-row")).to_have_count(0)
    password = page.get_by_label("Password")
    error = page.locator("#sign-in-error")
    for attempt in range(1, 6):
        password.fill("not the password at all")
        page.get_by_role("button", name="Sign in").click()
        expect(error).to_have_text("That password is not right.")
        wait_until(lambda n=attempt: failures(shop) == n)  # each attempt counted on the server
    password.fill(ADMIN_PASSWORD)  # even the right one waits now
    page.get_by_role("button", name="Sign in").click()
    expect(error).to_contain_text("Too many attempts. Try again in")
    wait = int(re.search(r"in (\d+) seconds", error.inner_text()).group(1))
    assert 1 <= wait <= 3
    expect(page.locator(SIGNED_IN)).to_have_count(0)

    time.sleep(wait + 0.5)
    password.fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(SIGNED_IN)).to_be_visible()
    expect(page.get_by_role("heading", name="Orders", level=1)).to_be_visible()
    expect(page.locator("#orders-count")).to_contain_text("order")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(shop.url + "/admin/orders")  # a reload shows nothing either
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator(".admin-order-row")).to_have_count(0)


def test_the_sign_in_ends_after_2_idle_hours_and_12_hours_in_all(page: Page, shop: RunningShop):
    sign_in(page, shop)
    visitor = visitor_id_of(page)
    # Two hours and a minute of idleness, on the server's side: the session row ages.
    execute(
        shop,
        "UPDATE admin_sessions SET last_seen_at = datetime('now', '-2 hours', '-1 minutes') "
        "WHERE visitor_id = ? AND kind = 'session'",
        visitor,
    )
    page.get_by_role("link", name="Orders", exact=True).click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator(".admin-order-row")).to_have_count(0)
    sign_in(page, shop, "/admin/orders")  # signing in again works
    expect(page.locator("#orders-count")).to_contain_text("order")
    # Active all along, but signed in 12 hours ago: the password again.
    execute(
        shop,
        "UPDATE admin_sessions SET expires_at = datetime('now', '-1 seconds') WHERE visitor_id = ?",
        visitor,
    )
    page.get_by_role("link", name="Overview", exact=True).click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_an_open_dashboard_follows_the_clock(page: Page, browser: Browser, shop: RunningShop):
    """Nothing happens but time: within a minute the open Overview counts an order that became overdue for
    shipping, and another owner tab, idle past its sign-in, is cleared. No click, no reload."""
    sign_in(page, shop)
    page.evaluate("window.__rxshop_not_reloaded = true")
    other = browser.new_context()
    order_id = shop.make_order(new_visitor_id(), status="paid")
    try:
        idle = other.new_page()
        sign_in(idle, shop)
        expect(idle.locator("#count-exceptions")).to_be_visible()
        before = int(page.locator("#count-exceptions").inner_text())
        execute(shop, "UPDATE orders SET paid_at = datetime('now', '-30 days') WHERE id = ?", order_id)
        execute(
            shop,
            "UPDATE admin_sessions SET last_seen_at = datetime('now', '-2 hours', '-1 minutes') "
            "WHERE visitor_id = ? AND kind = 'session'",
            visitor_id_of(idle),
        )
        expect(page.locator("#count-exceptions")).to_have_text(str(before + 1), timeout=75_000)
        expect(idle.get_by_role("heading", name="Sign in")).to_be_visible(timeout=75_000)
        expect(idle.locator("#count-exceptions")).to_have_count(0)
        assert page.evaluate(NOT_RELOADED)
    finally:
        other.close()
        execute(shop, "UPDATE orders SET fulfillment_status = 'shipped' WHERE id = ?", order_id)


def test_ship_then_partial_and_full_refund_with_a_double_click(
    page: Page, context: BrowserContext, browser: Browser, shop: RunningShop
):
    sign_in(page, shop, "/admin/orders")
    page.evaluate("window.__rxshop_not_reloaded = true")
    buyer_context = browser.new_context()
    try:
        order = buy(buyer_context, shop, {"Morning Mug": 1})  # 18.00 + 5.00 Standard shipping
        assert order.total == 2300
        # The new order appears in the open table without a reload.
        row = page.locator(f".admin-order-row[data-order-id='{order.order_id}']")
        expect(row).to_have_attribute("data-status", "paid")
        assert page.evaluate(NOT_RELOADED)

        buyer = buyer_context.new_page()
        buyer.goto(shop.url + "/orders")
        mine = buyer.locator(f".order-item[data-order-id='{order.order_id}']")
        expect(mine).to_have_attribute("data-status", "paid")
        buyer.evaluate("window.__rxshop_not_reloaded = true")

        row.get_by_role("link", name=order.number).click()
        expect(page.locator("#order-number")).to_have_text(order.number)
        expect(page.locator("#order-amounts")).to_contain_text("$23.00")
        expect(page.locator("#timeline")).to_contain_text("Paid $23.00")
        expect(page.locator("#stripe-ids")).to_contain_text(order.session_id)

        page.get_by_label("Carrier").select_option("dhl")
        page.get_by_label("Tracking number").fill("1234567890")
        page.get_by_role("button", name="Mark shipped").click()
        expect(page.locator("#ship-message")).to_have_text(
            f"Order {order.number} marked shipped: DHL 1234567890."
        )
        expect(page.locator("#order-facts")).to_contain_text("Shipped")
        stored = order_row(shop, order.session_id)
        assert (stored["fulfillment_status"], stored["carrier"], stored["tracking_number"]) == (
            "shipped",
            "DHL",
            "1234567890",
        )
        if mine.get_attribute("data-fulfillment") is not None:  # the buyer's side shows it (branch buyer)
            expect(mine).to_have_attribute("data-fulfillment", "shipped")

        # A partial refund, double-clicked: one refund at Stripe.
        page.get_by_role("button", name="Refund…").click()
        page.get_by_label("Amount to refund").fill("10")
        page.get_by_role("button", name="Refund", exact=True).dblclick()
        expect(page.locator("#refund-message")).to_contain_text("Refund of $10.00 made at Stripe")
        expect(page.locator("#order-status")).to_have_attribute("data-status", "partially_refunded")
        assert refunds_at_stripe(shop, order.session_id) == [1000]
        expect(mine).to_have_attribute("data-status", "partially_refunded")  # the buyer sees it live
        expect(mine).to_contain_text("Refunded $10.00")
        expect(page.locator("#refundable")).to_have_text("$13.00")

        # More than remains is refused with a message; then the rest.
        page.get_by_role("button", name="Refund…").click()
        page.get_by_label("Amount to refund").fill("13.01")
        page.get_by_role("button", name="Refund", exact=True).click()
        expect(page.locator("#refund-message")).to_have_text(
            "That is more than what remains to refund ($13.00)."
        )
        page.get_by_label("Amount to refund").fill("13")
        page.get_by_role("button", name="Refund", exact=True).dblclick()
        expect(page.locator("#order-status")).to_have_attribute("data-status", "refunded")
        assert refunds_at_stripe(shop, order.session_id) == [1000, 1300]
        expect(page.get_by_text("Nothing left to refund.")).to_be_visible()
        expect(page.locator("#timeline")).to_contain_text("now refunded in full")
        expect(mine).to_have_attribute("data-status", "refunded")
        assert buyer.evaluate(NOT_RELOADED) and page.evaluate(NOT_RELOADED)
        stored = order_row(shop, order.session_id)
        assert (stored["status"], stored["amount_refunded"]) == ("refunded", 2300)
    finally:
        buyer_context.close()


def test_a_mismatched_payment_lands_in_the_inbox_and_is_resolved_with_a_note(
    page: Page, browser: Browser, shop: RunningShop
):
    buyer_context = browser.new_context()
    try:
        pending = buy(buyer_context, shop, {"Canvas Tote": 1}, pay=False)
        # The offer stored with the order says Standard costs 4.00; Stripe will charge 5.00 for it.
        execute(
            shop,
            "UPDATE orders SET shipping_offer = 'standard:400:Standard,express:1500:Express' WHERE id = ?",
            pending.order_id,
        )
        sign_in(page, shop, "/admin/exceptions")
        buyer = buyer_context.new_page()
        buyer.goto(f"{shop.url}/stripe-sim/pay/{pending.session_id}")
        pay_with_address(buyer)

        item = page.locator(f".inbox-item[data-kind='mismatch'][data-reference='{pending.session_id}']")
        expect(item).to_contain_text("A payment does not match its order")  # live, without a reload
        expect(item).to_contain_text(pending.number)
        assert order_row(shop, pending.session_id)["status"] != "paid"
        item.get_by_label("What was done about it").fill("Refunded the difference by hand.")
        item.get_by_role("button", name="Mark resolved").click()
        expect(page.locator("#inbox-message")).to_have_text("Marked resolved.")
        expect(item).to_have_count(0)
        page.get_by_text("Show resolved items too").click()
        expect(item).to_contain_text("Note: Refunded the difference by hand.")
        expect(item).to_have_attribute("data-resolved", "true")
    finally:
        buyer_context.close()


def test_revenue_and_csv_match_the_orders(page: Page, browser: Browser, shop: RunningShop):
    buyer_context = browser.new_context()
    try:
        order = buy(buyer_context, shop, {"Dot-Grid Notebook": 2})
    finally:
        buyer_context.close()
    paid = [
        r for r in shop.orders() if r["paid_at"] and r["status"] in ("paid", "partially_refunded", "refunded")
    ]
    today = max(r["paid_at"] for r in paid)[:10]
    todays = [r for r in paid if r["paid_at"].startswith(today)]

    sign_in(page, shop, "/admin/revenue")
    day = page.locator(f".revenue-day[data-day='{today}']")
    expect(day.locator("td").nth(0)).to_have_text(str(len(todays)))
    expect(day.locator("td").nth(1)).to_have_text(money(sum(r["amount_total"] for r in todays)))
    expect(day.locator("td").nth(3)).to_have_text(money(sum(r["amount_refunded"] for r in todays)))
    expect(page.locator("#total-orders")).to_have_text(str(len(todays)))
    expect(page.locator(".revenue-product").filter(has_text="Dot-Grid Notebook")).to_be_visible()

    page.get_by_role("link", name="Orders", exact=True).click()
    page.get_by_label("Search: order number, email or Stripe session id").fill(order.session_id)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#orders-count")).to_have_text("1 order")
    expect(page.locator(".admin-order-row")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(download.value.path(), encoding="utf-8").read())))
    assert [(r["number"], r["total"], r["items"], r["status"]) for r in rows] == [
        (order.number, f"{order.total // 100}.{order.total % 100:02d}", "2 x Dot-Grid Notebook", "paid")
    ]
