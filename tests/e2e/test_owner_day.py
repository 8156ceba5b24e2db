"""The owner's day in the browser, at 1280 and at 375 px: make a promotion code on the Discounts page, a buyer
uses it on the hosted page, the order shows the code; refund part of it with a reason (the amount pre-filled
with what remains), ship it with a checked UPS number, edit the tracking (telling the buyer), add a note; the
timeline says all of it in plain words; the Discounts page counts the use and its revenue, then turns the
code off. axe stays clean and nothing scrolls sideways on every page of it."""

from __future__ import annotations

import os
import secrets
import sqlite3

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.fixtures.admin import order_row, refunds_at_stripe, sign_in
from tests.fixtures.browser import RETURN_PAGE, axe_problems, choose, open_shop, pay_on_hosted_page, press_buy
from tests.fixtures.servers import ARTIFACTS, REPO, RunningShop

UPS = "1Z999AA10123456784"
# At 1280 px the walk saves the order and Discounts pages; UPDATE_SCREENSHOTS=1 puts them in docs/screenshots
# (the README's owner section), as tests/e2e/test_layout.py does for the shop's pages.
SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else ARTIFACTS / "screenshots"
)


def screenshot(page: Page, name: str) -> None:
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / name, full_page=True)
    assert (SCREENSHOTS / name).stat().st_size < 400_000


# Wide tables scroll sideways inside their own named region (.admin-scroll); nothing else may pass the edge.
SIDEWAYS = """() => {
  const width = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => !e.closest('.admin-scroll'))
    .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > width + 0.5; })
    .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${String(e.className).slice(0, 40)}`);
  const page = document.scrollingElement.scrollWidth > width;
  return page || wide.length ? {width, scrollWidth: document.scrollingElement.scrollWidth, wide} : null;
}"""


def checked(page: Page, where: str) -> list[str]:
    """axe's serious and critical findings, and anything that makes the page itself scroll sideways."""
    sideways = page.evaluate(SIDEWAYS)
    return axe_problems(page, where) + ([f"{where}: sideways {sideways}"] if sideways else [])


def buyer_uses(context: BrowserContext, shop: RunningShop, code: str) -> str:
    """A buyer pays for a mug and two notebooks (43.00) with the code; returns the Checkout Session id."""
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    open_shop(page, shop)
    choose(page, "Morning Mug", 1)
    choose(page, "Dot-Grid Notebook", 2)
    session_id = press_buy(page)
    page.get_by_role("textbox", name="Promotion code (optional)").fill(code.lower())
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("tfoot")).to_contain_text(f"Discount ({code})")
    pay_on_hosted_page(page)
    page.wait_for_url(RETURN_PAGE)
    page.close()
    return session_id


def email_asked(shop: RunningShop, order_id: str) -> bool:
    with sqlite3.connect(shop.db_path) as conn:
        [asked] = conn.execute(
            "SELECT tracking_email_requested_at FROM orders WHERE id = ?", (order_id,)
        ).fetchone()
    return asked is not None


@pytest.mark.parametrize("width", [1280, 375])
def test_the_owners_day(page: Page, browser, shop: RunningShop, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    problems: list[str] = []
    code = "DAY" + secrets.token_hex(3).upper()  # the simulator lives as long as the test run

    # Make a code: 10 % off, at most 50 uses.
    sign_in(page, shop, "/admin/discounts")
    expect(page.get_by_role("link", name="Discounts")).to_be_visible()
    page.get_by_label("Code (what buyers type)").fill(code)
    page.get_by_label("Percent off, e.g. 10").fill("10")
    page.get_by_label("Maximum uses (optional)").fill("50")
    page.get_by_role("button", name="Create code").click()
    expect(page.locator("#discount-message")).to_have_text(f"Code {code} made: 10% off.")
    row = page.locator(f".admin-discount-row[data-code='{code}']")
    expect(row).to_contain_text("50 uses")
    expect(row).to_contain_text("Active")
    expect(page.get_by_label("Code (what buyers type)")).to_have_value("")  # a fresh form for the next
    problems += checked(page, f"discounts at {width}")

    # A buyer uses it.
    buyer = browser.new_context()
    try:
        session_id = buyer_uses(buyer, shop, code)
    finally:
        buyer.close()
    order = order_row(shop, session_id)
    assert (order["status"], order["amount_total"], order["amount_discount"]) == ("paid", 4370, 430)

    page.goto(f"{shop.url}/admin/order?id={order['id']}")
    expect(page.locator("#order-number")).to_have_text(order["number"])
    expect(page.locator("#order-code")).to_have_text(f"Code {code}")
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text(f"Paid $43.70 with code {code}")
    expect(timeline).not_to_contain_text("->")
    problems += checked(page, f"order at {width}")

    # Refund part of it, with a reason: the amount starts at what remains.
    page.get_by_role("button", name="Refund…").click()
    amount = page.get_by_label("Amount to refund")
    expect(amount).to_have_value("43.70")
    amount.fill("10")
    page.get_by_label("Reason").select_option("requested_by_customer")
    problems += checked(page, f"refund form at {width}")
    page.get_by_role("button", name="Refund", exact=True).click()
    expect(page.locator("#refund-message")).to_contain_text("Refund of $10.00 made at Stripe")
    expect(page.locator("#order-status")).to_have_attribute("data-status", "partially_refunded")
    assert refunds_at_stripe(shop, session_id) == [1000]
    expect(timeline).to_contain_text("Refunded $10.00 — requested by customer")
    expect(timeline).to_contain_text("Stripe confirmed a refund: now partly refunded")
    expect(page.locator("#refundable")).to_have_text("$33.70")

    # Ship it: a number that is not UPS's is refused; then the shipment replaces the form.
    page.get_by_label("Carrier").select_option("ups")
    page.get_by_label("Tracking number").fill("12345")
    page.get_by_role("button", name="Mark shipped").click()
    expect(page.locator("#ship-message")).to_contain_text("That is not a UPS tracking number")
    page.get_by_label("Tracking number").fill("1z999aa10123456784")
    page.get_by_role("button", name="Mark shipped").click()
    expect(page.locator("#ship-message")).to_have_text(f"Order {order['number']} marked shipped: UPS {UPS}.")
    shipment = page.locator("#shipment")
    expect(shipment).to_contain_text("UPS")
    expect(shipment.get_by_role("link", name=UPS)).to_have_attribute(
        "href", f"https://www.ups.com/track?tracknum={UPS}"
    )
    expect(page.get_by_role("button", name="Mark shipped")).to_have_count(0)
    expect(timeline).to_contain_text(f"Shipped with UPS, {UPS}")

    # Edit the tracking, telling the buyer.
    page.get_by_role("button", name="Edit tracking").click()
    expect(page.get_by_label("Tracking number")).to_have_value(UPS)
    page.get_by_label("Carrier").select_option("dhl")
    page.get_by_label("Tracking number").fill("1234567890")
    page.get_by_label("Tell the buyer by email").check()
    problems += checked(page, f"edit tracking at {width}")
    page.get_by_role("button", name="Save tracking").click()
    expect(page.locator("#ship-message")).to_have_text(
        "Tracking changed to DHL 1234567890. The buyer will be emailed."
    )
    expect(shipment).to_contain_text("1234567890")
    expect(timeline).to_contain_text("Tracking changed to DHL, 1234567890 — the buyer will be emailed")
    assert email_asked(shop, order["id"])
    assert order_row(shop, session_id)["tracking_number"] == "1234567890"

    # An internal note.
    note = page.get_by_label("Internal note (the buyer never sees it)")
    note.fill("Buyer asked for gift wrap; done.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator("#note-message")).to_have_text("Note added.")
    expect(timeline).to_contain_text("Note: Buyer asked for gift wrap; done.")
    expect(page.get_by_label("Internal note (the buyer never sees it)")).to_have_value("")
    problems += checked(page, f"order after the day at {width}")
    if width == 1280:
        screenshot(page, "admin-order-desktop.png")

    # The Discounts page counts the use and what it brought in (net of the refund); then the code goes off.
    page.get_by_role("link", name="Discounts").click()
    row = page.locator(f".admin-discount-row[data-code='{code}']")
    expect(row.locator("td").nth(4)).to_have_text("1")  # orders
    expect(row).to_contain_text("$33.70")  # 43.70 paid - 10.00 refunded
    expect(row).to_contain_text("$4.30")  # the discount given
    if width == 1280:
        screenshot(page, "admin-discounts-desktop.png")
    row.get_by_role("button", name=f"Turn off {code}").click()
    expect(page.locator("#discount-message")).to_have_text(
        f"Code {code} turned off: buyers can no longer use it."
    )
    expect(row).to_contain_text("Inactive")
    expect(row.get_by_role("button")).to_have_count(0)
    problems += checked(page, f"discounts after the day at {width}")
    assert problems == [], "\n".join(problems)
