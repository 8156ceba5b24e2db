"""The buyer's side of shipping, in the browser: an address, Express shipping and a promotion code on the
hosted page; the return page and My Orders show the order number, the address and the money lines exactly as
Stripe charged them; the owner's shipment then appears live in both, with carrier and tracking number.
"""

import re
import secrets

from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.fixtures.browser import (
    PAID_HEADING,
    Delivery,
    axe_problems,
    choose,
    open_shop,
    overflow,
    pay_and_return,
    press_buy,
    ship_as_owner,
    stripe_client,
)
from tests.fixtures.servers import RunningShop

PARIS = Delivery(
    name="Grace Hopper",
    line1="12 Rue de Rivoli",
    line2="Apt 3",
    city="Paris",
    state="",
    postal_code="75001",
    country="FR",
    phone="+33 1 23 45 67 89",
)
NOT_RELOADED = "window.__rxshop_not_reloaded === true"
TRACKING = "1Z999AA10123456784"


def expect_the_order(item: Locator, number: str) -> None:
    """What the buyer must read about this order: 1 mug + 2 notebooks, Express, 10 % off, to Paris."""
    expect(item.locator(".order-number")).to_have_text(number)
    amounts = item.locator(".order-amounts")
    expect(amounts.locator(".item-line")).to_have_count(2)
    expect(amounts).to_contain_text("1 × Morning Mug$18.00")
    expect(amounts).to_contain_text("2 × Dot-Grid Notebook$25.00")
    expect(amounts.locator(".subtotal-line")).to_have_text("Subtotal$43.00")
    expect(amounts.locator(".shipping-line")).to_have_text("Shipping (Express)$15.00")
    expect(amounts.locator(".discount-line")).to_have_text("Discount\u2212$4.30")
    expect(amounts.locator(".total-line")).to_have_text("Total$53.70")
    expect(item.locator(".order-total")).to_have_text("$53.70")
    expect(item.locator(".ship-to span")).to_have_text(
        ["Grace Hopper", "12 Rue de Rivoli", "Apt 3", "75001 Paris", "France"]
    )


def check_page(page: Page, where: str) -> list[str]:
    """axe with the order's details open, then no sideways scroll on a 375 px phone."""
    problems = axe_problems(page, where)
    size = page.viewport_size
    page.set_viewport_size({"width": 375, "height": 800})
    problems += overflow(page, f"{where} at 375 px")
    page.set_viewport_size(size)
    return problems


def test_address_express_and_a_promotion_code_then_the_shipment_appears_live(
    context: BrowserContext, shop: RunningShop
):
    api = stripe_client(shop)  # the shop owner's side of Stripe: a 10 % promotion code
    coupon = api.v1.coupons.create({"percent_off": 10})
    code = "TEN" + secrets.token_hex(3).upper()  # the simulator lives as long as the test run
    api.v1.promotion_codes.create({"promotion": {"type": "coupon", "coupon": coupon.id}, "code": code})

    buyer = context.new_page()
    visitor = open_shop(buyer, shop)
    note = buyer.locator("#shipping-note")
    expect(note).to_have_text(
        "Shipping is added at checkout: Standard $5.00 (free from $50.00) or Express $15.00."
    )
    choose(buyer, "Morning Mug", 1)
    choose(buyer, "Dot-Grid Notebook", 2)
    expect(buyer.locator("#cart-total")).to_have_text("$43.00")
    session_id = press_buy(buyer)

    # The hosted page: the code first (its own form), then address, Express and the card.
    buyer.get_by_role("textbox", name="Promotion code (optional)").fill(code)
    buyer.get_by_role("button", name="Apply").click()
    expect(buyer.locator("tfoot")).to_contain_text(f"Discount ({code})")
    pay_and_return(buyer, delivery=PARIS, shipping="Express")

    charged = api.v1.checkout.sessions.retrieve(session_id)
    assert (
        charged.amount_subtotal,
        charged.total_details.amount_discount,
        charged.total_details.amount_shipping,
        charged.amount_total,
    ) == (4300, 430, 1500, 5370)
    [row] = shop.orders(visitor)
    assert (row["status"], row["amount_total"], row["shipping_rate_name"]) == ("paid", 5370, "Express")
    number = row["number"]
    assert re.fullmatch(r"RX-[A-Z2-9]{6}", number)

    # The return page: says the number, promises nothing it does not do, shows the order opened.
    status = buyer.locator("#payment-status")
    expect(status.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
    expect(status.locator("#order-number")).to_have_text(number)
    expect(status).to_contain_text("My Orders in this browser keeps it")
    expect(status).not_to_contain_text(re.compile("receipt|email", re.IGNORECASE))
    bought = buyer.locator(".order-item", has=buyer.locator(".order-number", has_text=number))
    expect(bought.locator("details.order-details")).to_have_attribute("open", "")
    expect_the_order(bought, number)
    assert row["id"] not in buyer.locator("main").inner_text()  # the number is shown, never the id
    expect(bought.locator(".fulfillment")).to_have_text("Paid — preparing your order")
    problems = check_page(buyer, "return page")

    # My Orders, in another tab: compact, the details one click away.
    orders = context.new_page()
    orders.goto(shop.url + "/orders")
    listed = orders.locator(".order-item")
    expect(listed).to_have_count(1)
    expect(listed.locator(".fulfillment")).to_have_text("Paid — preparing your order")
    details = listed.locator("details.order-details")
    expect(details).not_to_have_attribute("open", re.compile(".*"))
    orders.get_by_text(f"Details of order {number}").click()
    expect(details).to_have_attribute("open", "")
    expect_the_order(listed, number)
    problems += check_page(orders, "/orders with the details open")
    assert problems == [], "\n".join(problems)

    # The owner ships it (the dashboard's service, on the shop's database). The dashboard tells the app's
    # open tabs itself; from this process, opening the return page again in a third tab makes the app
    # re-read the order and push it to the visitor's tabs. The first two tabs are never reloaded.
    for tab in (buyer, orders):
        tab.evaluate("window.__rxshop_not_reloaded = true")
    ship_as_owner(shop, row["id"], carrier="UPS", tracking_number=TRACKING)
    nudge = context.new_page()
    nudge.goto(buyer.url)
    expect(nudge.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
    for tab in (buyer, orders):
        item = tab.locator(".order-item")
        expect(item).to_have_attribute("data-fulfillment", "shipped")
        shipped = item.locator(".fulfillment")
        expect(shipped).to_contain_text("Shipped on ")
        expect(shipped).to_contain_text(f"with UPS, tracking number {TRACKING}")
        expect(shipped.get_by_role("link", name="track the parcel")).to_have_attribute(
            "href", f"https://www.ups.com/track?tracknum={TRACKING}"
        )
        expect_the_order(item, number)
        assert tab.evaluate(NOT_RELOADED), "the tab was reloaded instead of updated"
    assert shop.orders(visitor)[0]["fulfillment_status"] == "shipped"
    assert axe_problems(orders, "/orders, shipped") == []
