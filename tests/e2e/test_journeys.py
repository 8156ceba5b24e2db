"""Buyer journeys through the real UI: several products, a declined card, Cancel, refresh, Back, empty cart,
a delayed payment, the keyboard alone and bad quantities. Each checks the database (and the simulator) too.
"""

import re
import sqlite3

from playwright.sync_api import Page, expect

from rxshop.domain.catalog import PRODUCTS
from tests.fixtures.browser import (
    HOSTED_PAGE,
    PAID_HEADING,
    QUANTITY_MESSAGE,
    RETURN_PAGE,
    choose,
    open_shop,
    pay_and_return,
    pay_on_hosted_page,
    press_buy,
    stripe_client,
)
from tests.fixtures.servers import RunningShop

NAMES = {p.id: p.name for p in PRODUCTS}  # mug, tote, notebook


def sessions_of(shop: RunningShop, visitor: str) -> list:
    """Every Checkout Session the simulator holds for this visitor's orders (client_reference_id = order id)."""
    order_ids = {row["id"] for row in shop.orders(visitor)}
    listed = stripe_client(shop).v1.checkout.sessions.list(params={"limit": 100})
    return [s for s in listed.auto_paging_iter() if s.client_reference_id in order_ids]


def order_lines(shop: RunningShop, order_id: str) -> list[tuple[str, int, int]]:
    with sqlite3.connect(shop.db_path) as conn:
        return conn.execute(
            "SELECT product_id, quantity, unit_amount FROM order_lines WHERE order_id = ? "
            "ORDER BY product_id",
            (order_id,),
        ).fetchall()


def quantities(page: Page) -> dict[str, str]:
    return {
        pid: page.get_by_label(f"Quantity of {name}", exact=True).input_value() for pid, name in NAMES.items()
    }


# --- 1. several products -------------------------------------------------------------------------------------


def test_buy_all_three_products_and_see_the_order_with_its_total(page: Page, shop: RunningShop):
    visitor = open_shop(page, shop)
    page.get_by_label("Increase quantity of Morning Mug").click()
    choose(page, "Canvas Tote", 2)
    choose(page, "Dot-Grid Notebook", 3)
    # 1 × 18.00 + 2 × 24.00 + 3 × 12.50
    expect(page.locator("#cart-total")).to_have_text("$103.50")
    expect(page.locator("#cart .cart-lines li")).to_have_count(3)

    press_buy(page)
    expect(page.locator("tfoot")).to_contain_text("103.50 USD")
    pay_and_return(page)
    expect(page.get_by_role("heading", name=PAID_HEADING)).to_be_visible()

    page.get_by_role("link", name="My Orders").click()
    page.wait_for_url(re.compile(r"/orders/?$"))
    item = page.locator(".order-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("1 × Morning Mug, 2 × Canvas Tote, 3 × Dot-Grid Notebook")
    expect(item.locator(".order-total")).to_have_text("$103.50")
    expect(item).to_contain_text("Paid")

    [order] = shop.orders(visitor)
    assert (order["status"], order["amount_total"], order["currency"]) == ("paid", 10350, "usd")
    assert order_lines(shop, order["id"]) == [("mug", 1, 1800), ("notebook", 3, 1250), ("tote", 2, 2400)]


# --- 2. a declined card, then one that pays ------------------------------------------------------------------


def test_declined_card_shows_stripes_message_then_4242_pays_exactly_once(page: Page, shop: RunningShop):
    visitor = open_shop(page, shop)
    choose(page, "Morning Mug", 1)
    session_id = press_buy(page)

    pay_on_hosted_page(page, "4000 0000 0000 0002")
    expect(page.get_by_role("alert")).to_have_text("Your card was declined.")
    expect(page.get_by_label("Card number")).to_have_attribute("aria-invalid", "true")
    assert HOSTED_PAGE.search(page.url), "a decline stays on the hosted page"
    assert [r["status"] for r in shop.orders(visitor)] == ["pending"]

    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(RETURN_PAGE)
    expect(page.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
    expect(page.locator(".order-item")).to_have_count(1)

    # $18.00 and Standard shipping, $5.00 under $50.00
    assert [(r["status"], r["amount_total"]) for r in shop.orders(visitor)] == [("paid", 2300)]
    sim = shop.control(f"sessions/{session_id}")
    assert [a["outcome"] for a in sim["attempts"]] == ["declines", "succeeds"]
    assert sim["charge"]["amount"] == 2300 and sim["refunds"] == []


# --- 3. Cancel on the hosted page keeps the cart ---------------------------------------------------------------


def test_cancel_on_the_hosted_page_keeps_the_cart(page: Page, shop: RunningShop):
    visitor = open_shop(page, shop)
    choose(page, "Morning Mug", 2)
    choose(page, "Dot-Grid Notebook", 1)
    expect(page.locator("#cart-total")).to_have_text("$48.50")
    session_id = press_buy(page)

    page.get_by_role("button", name="Cancel").click()
    page.wait_for_url(re.compile(r"/checkout/cancel/?(\?order=ord_[0-9a-f]+)?$"))
    expect(page.get_by_role("heading", name="Payment cancelled")).to_be_visible()
    expect(page.get_by_text("Nothing was charged.")).to_be_visible()

    page.get_by_role("link", name="Back to your cart").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("#cart-total")).to_have_text("$48.50")
    assert quantities(page) == {"mug": "2", "tote": "0", "notebook": "1"}
    expect(page.get_by_role("button", name="Buy")).to_be_enabled()

    # Nothing was paid, nothing is listed. Cancelling closed that checkout at Stripe (it can no longer be
    # paid, and what it held is for sale again: issue 21), so Buy again starts a new one for the same cart.
    assert [r["status"] for r in shop.orders(visitor)] == ["expired"]
    assert shop.control(f"sessions/{session_id}")["session"]["status"] == "expired"
    page.get_by_role("link", name="My Orders").click()
    expect(page.get_by_text("No orders yet.")).to_be_visible()
    page.get_by_role("link", name="Shop", exact=True).click()
    again = press_buy(page)
    assert again != session_id
    assert shop.control(f"sessions/{again}")["session"]["status"] == "open"


# --- 4. refreshing the return page -----------------------------------------------------------------------------


def test_refreshing_the_return_page_keeps_one_order(page: Page, shop: RunningShop):
    visitor = open_shop(page, shop)
    choose(page, "Canvas Tote", 1)
    press_buy(page)
    pay_and_return(page)
    expect(page.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
    for _ in range(3):
        page.reload()
        expect(page.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
        expect(page.locator(".order-item")).to_have_count(1)
    assert [(r["status"], r["amount_total"]) for r in shop.orders(visitor)] == [("paid", 2900)]
    assert len(sessions_of(shop, visitor)) == 1


# --- 5. the Back button after paying ---------------------------------------------------------------------------


def test_back_button_after_paying_creates_no_second_order_or_charge(page: Page, shop: RunningShop):
    visitor = open_shop(page, shop)
    choose(page, "Morning Mug", 1)
    choose(page, "Canvas Tote", 1)
    session_id = press_buy(page)
    pay_and_return(page)
    expect(page.get_by_role("heading", name=PAID_HEADING)).to_be_visible()

    # Back to the hosted page: it knows the session is paid and offers no second payment.
    page.go_back()
    page.wait_for_url(HOSTED_PAGE)
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    expect(page.get_by_role("button", name="Pay")).to_have_count(0)
    # Back to the shop: the cart was emptied by the purchase, so Buy cannot start another one.
    page.go_back()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator("#cart-total")).to_have_text("$0.00")
    expect(page.get_by_role("button", name="Buy")).to_be_disabled()
    # Forward twice, to the return page again (its check runs once more).
    page.go_forward()
    page.wait_for_url(HOSTED_PAGE)
    page.go_forward()
    page.wait_for_url(RETURN_PAGE)
    expect(page.get_by_role("heading", name=PAID_HEADING)).to_be_visible()

    assert [(r["status"], r["amount_total"]) for r in shop.orders(visitor)] == [("paid", 4700)]
    assert [s.id for s in sessions_of(shop, visitor)] == [session_id]
    sim = shop.control(f"sessions/{session_id}")
    assert [a["outcome"] for a in sim["attempts"]] == ["succeeds"]
    assert sim["payment_intent"]["amount_received"] == 4700


# --- 7. Buy on an empty cart ------------------------------------------------------------------------------------


def test_buy_is_disabled_on_an_empty_cart_and_after_setting_everything_back_to_zero(
    page: Page, shop: RunningShop
):
    visitor = open_shop(page, shop)
    buy = page.get_by_role("button", name="Buy")
    expect(buy).to_be_disabled()
    expect(page.get_by_text("Your cart is empty.")).to_be_visible()

    page.get_by_label("Increase quantity of Morning Mug").click()
    choose(page, "Canvas Tote", 2)
    expect(buy).to_be_enabled()
    page.get_by_label("Decrease quantity of Morning Mug").click()
    expect(page.locator("#cart-total")).to_have_text("$48.00")
    expect(buy).to_be_enabled()
    choose(page, "Canvas Tote", 0)
    expect(page.locator("#cart-total")).to_have_text("$0.00")
    expect(buy).to_be_disabled()
    # An emptied field counts as 0 too.
    choose(page, "Dot-Grid Notebook", 1)
    expect(buy).to_be_enabled()
    page.get_by_label("Quantity of Dot-Grid Notebook", exact=True).fill("")
    expect(page.locator("#cart-total")).to_have_text("$0.00")
    expect(buy).to_be_disabled()
    expect(page.get_by_label("Decrease quantity of Dot-Grid Notebook")).to_be_disabled()
    assert shop.orders(visitor) == []


# --- 8. a delayed payment settles while the return page is open -------------------------------------------------


def test_delayed_payment_shows_processing_then_turns_paid_live(page: Page, shop: RunningShop):
    settle_after = shop.control("config")["async_settle_seconds"]
    shop.control("config", {"async_settle_seconds": None})  # only the control API settles it
    try:
        visitor = open_shop(page, shop)
        choose(page, "Dot-Grid Notebook", 2)
        session_id = press_buy(page)
        pay_and_return(page, "4000 0000 0000 0077")

        status = page.locator("#payment-status")
        expect(status.get_by_role("heading", name="Payment processing")).to_be_visible()
        expect(page.locator(".order-item")).to_contain_text("Payment processing")
        assert [r["status"] for r in shop.orders(visitor)] == ["processing"]
        region = status.element_handle()
        page.evaluate("window.__not_reloaded = true")

        shop.control(f"sessions/{session_id}/settle", {"outcome": "succeeded"})
        expect(status.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
        expect(page.locator(".order-item")).to_contain_text("Paid")
        assert page.evaluate("window.__not_reloaded === true"), "the page was reloaded"
        # The same live region announced both states (it was not replaced by a new element).
        assert region.evaluate("el => el.isConnected && el.getAttribute('role')") == "status"
        assert [(r["status"], r["amount_total"]) for r in shop.orders(visitor)] == [("paid", 3000)]
    finally:
        shop.control("config", {"async_settle_seconds": settle_after})


# --- 9. the keyboard alone -----------------------------------------------------------------------------------------

FOCUSED_NAME = """() => { const e = document.activeElement;
  return e ? (e.getAttribute('aria-label') || (e.labels && e.labels[0] && e.labels[0].textContent)
              || e.textContent || e.id || e.tagName).trim() : '' }"""


def tab_to(page: Page, name: str, *, backwards: bool = False, limit: int = 40) -> None:
    """Press Tab (Shift+Tab) until the focused element's accessible label starts with `name`."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focused = page.evaluate(FOCUSED_NAME)
        if focused.startswith(name):
            return
        seen.append(focused)
    raise AssertionError(f"{name!r} never got the focus; tabbed through {seen}")


def test_whole_purchase_with_the_keyboard_alone(page: Page, shop: RunningShop):
    visitor = open_shop(page, shop)
    # The first Tab reaches the skip link, which moves focus past the navigation.
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED_NAME) == "Skip to content"
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()

    tab_to(page, "Increase quantity of Morning Mug")
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    expect(page.get_by_label("Quantity of Morning Mug", exact=True)).to_have_value("2")
    tab_to(page, "Quantity of Dot-Grid Notebook")
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("1")
    expect(page.locator("#cart-total")).to_have_text("$48.50")
    tab_to(page, "Increase quantity of Canvas Tote", backwards=True)
    page.keyboard.press("Enter")
    expect(page.locator("#cart-total")).to_have_text("$72.50")
    tab_to(page, "Buy")
    page.keyboard.press("Enter")
    page.wait_for_url(HOSTED_PAGE)

    # The hosted page: plain form fields in reading order; Enter in a field submits Pay.
    expect(page.get_by_role("heading", name="Pay 72.50 USD")).to_be_visible()
    tab_to(page, "Email")
    page.keyboard.type("keys@example.com")
    # Then phone and address, one Tab each (the optional second line left empty), the country select
    # (United States comes first), the shipping method (one Tab stop for the group), the card.
    for label, typed in (
        ("Phone number", "+1 415 555 0100"),
        ("Full name", "Kay Board"),
        ("Address line 1", "1 Main Street"),
        ("Address line 2 (optional)", ""),
        ("City", "Portland"),
        ("State, province or region (optional)", "OR"),
        ("Postal code", "97201"),
    ):
        page.keyboard.press("Tab")
        expect(page.get_by_label(label, exact=True)).to_be_focused()
        page.keyboard.type(typed)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Country")).to_be_focused()
    expect(page.get_by_label("Country")).to_have_value("US")
    page.keyboard.press("Tab")
    expect(page.get_by_role("radio", name=re.compile("^Standard"))).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Card number")).to_be_focused()
    page.keyboard.type("4242424242424242")
    page.keyboard.press("Enter")
    page.wait_for_url(RETURN_PAGE)
    expect(page.get_by_role("heading", name=PAID_HEADING)).to_be_visible()

    tab_to(page, "My Orders")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/orders/?$"))
    expect(page.locator(".order-item")).to_contain_text(
        "2 × Morning Mug, 1 × Canvas Tote, 1 × Dot-Grid Notebook"
    )
    # $72.50 is over $50.00: Standard shipping was free.
    assert [
        (r["status"], r["amount_total"], r["customer_email"], r["ship_name"], r["amount_shipping"])
        for r in shop.orders(visitor)
    ] == [("paid", 7250, "keys@example.com", "Kay Board", 0)]


# --- 10. bad quantities ------------------------------------------------------------------------------------------


def test_bad_quantities_show_a_clear_message_and_change_nothing(page: Page, shop: RunningShop):
    visitor = open_shop(page, shop)
    field = page.get_by_label("Quantity of Morning Mug", exact=True)
    more = page.get_by_label("Increase quantity of Morning Mug")
    alert = page.locator("#cart").get_by_role("alert")
    total = page.locator("#cart-total")

    for count, typed in enumerate(("25", "-1", "abc"), start=1):
        more.click()  # a valid change: the count goes up by one and any earlier message goes away
        expect(field).to_have_value(str(count))
        expect(alert).to_have_count(0)
        field.click()
        page.keyboard.press("ControlOrMeta+a")
        page.keyboard.type(typed)
        expect(alert).to_have_text(QUANTITY_MESSAGE)
        expect(field).to_have_value(typed)  # what was typed stays in view beside the message
        # ... and the cart did not change: same lines, same total.
        expect(total).to_have_text(f"${18 * count}.00")
        expect(page.locator("#cart .cart-lines")).to_have_text(
            re.compile(rf"^{count} × Morning Mug\s*\${18 * count}\.00$")
        )
        expect(page.locator("#subtotal-mug")).to_contain_text(f"${18 * count}.00")

    # The cart really still holds 3: one more makes 4. Pasting a number in one go is refused the same way.
    more.click()
    expect(field).to_have_value("4")
    expect(total).to_have_text("$72.00")
    field.fill("21")
    expect(alert).to_have_text(QUANTITY_MESSAGE)
    expect(total).to_have_text("$72.00")
    assert shop.orders(visitor) == []
