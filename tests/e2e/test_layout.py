"""Responsive layout: at 375 px (phone) and 1280 px (desktop) no page scrolls sideways; screenshots.

Every page is measured twice: the document's scroll width (the brief's check), and every element's right
edge, because styles.css sets `overflow-x: hidden` on html and body, which would hide a too-wide element
from the first measure while its content is still cut off.

Screenshots (light mode) go to test-artifacts/e2e/screenshots/; with UPDATE_SCREENSHOTS=1 they replace the
committed ones in docs/screenshots/ (shop-desktop.png, shop-mobile.png, orders-desktop.png). Each must stay
under 400 kB.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import PAID_HEADING, choose, open_shop, overflow, press_buy
from tests.fixtures.servers import ARTIFACTS, REPO, RunningShop

SCREENSHOTS = (
    REPO / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else ARTIFACTS / "screenshots"
)
MAX_SCREENSHOT_BYTES = 400_000


def screenshot(page: Page, name: str) -> Path:
    page.wait_for_function("() => [...document.images].every(img => img.complete && img.naturalWidth > 0)")
    page.mouse.move(0, 0)  # no hover effect or focus ring in the picture
    page.evaluate("document.activeElement && document.activeElement.blur()")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=path, full_page=True)
    assert path.stat().st_size < MAX_SCREENSHOT_BYTES, f"{path} is {path.stat().st_size} bytes"
    return path


@pytest.mark.parametrize(("width", "label"), [(375, "mobile"), (1280, "desktop")])
def test_no_page_scrolls_sideways(page: Page, shop: RunningShop, width: int, label: str):
    page.set_viewport_size({"width": width, "height": 900})
    problems: list[str] = []
    open_shop(page, shop)
    expect(page.get_by_role("heading", name="Small goods for slow mornings")).to_be_visible()
    problems += overflow(page, "/ (empty cart)")
    page.get_by_role("link", name="My Orders").click()
    expect(page.get_by_text("No orders yet.")).to_be_visible()
    problems += overflow(page, "/orders (empty)")

    page.get_by_role("link", name="Shop", exact=True).click()
    choose(page, "Morning Mug", 20)
    choose(page, "Canvas Tote", 20)
    choose(page, "Dot-Grid Notebook", 20)  # the widest amounts the cart can show
    page.get_by_label("Quantity of Morning Mug", exact=True).fill("123456")  # and the refusal message
    expect(page.locator("#cart").get_by_role("alert")).to_be_visible()
    expect(page.locator("#cart-total")).to_have_text("$1,090.00")
    problems += overflow(page, "/ (full cart, message)")

    session_id = press_buy(page)
    problems += overflow(page, "hosted page")
    page.goto(shop.url + "/checkout/cancel")
    expect(page.get_by_role("heading", name="Payment cancelled")).to_be_visible()
    problems += overflow(page, "/checkout/cancel")

    paid = shop.control(f"sessions/{session_id}/pay", {"card": "4242424242424242"})
    page.goto(paid["redirect_url"])
    expect(page.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
    expect(page.locator(".order-item")).to_have_count(1)
    problems += overflow(page, "return page")
    page.goto(shop.url + "/stripe-sim/pay/" + session_id)
    expect(page.get_by_role("heading", name="Payment received")).to_be_visible()
    problems += overflow(page, "hosted page, paid")
    page.goto(shop.url + "/orders")
    expect(page.locator(".order-item")).to_contain_text("$1,090.00")
    problems += overflow(page, "/orders (one order)")
    assert problems == [], "\n".join(problems)

    if label == "desktop":
        screenshot(page, "orders-desktop.png")
    # The shop with something in the cart (this purchase emptied it).
    page.goto(shop.url + "/")
    choose(page, "Morning Mug", 2)
    choose(page, "Dot-Grid Notebook", 1)
    expect(page.locator("#cart-total")).to_have_text("$48.50")
    assert overflow(page, "/") == []
    screenshot(page, f"shop-{label}.png")


def test_phone_layout_stacks_the_products_and_keeps_controls_usable(page: Page, shop: RunningShop):
    page.set_viewport_size({"width": 375, "height": 800})
    open_shop(page, shop)
    cards = [page.locator(f"#product-{pid}").bounding_box() for pid in ("mug", "tote", "notebook")]
    # One column: the same left edge, each card below the previous one.
    assert len({round(c["x"]) for c in cards}) == 1 and cards[0]["y"] < cards[1]["y"] < cards[2]["y"], cards
    for name in ("Increase quantity of Morning Mug", "Quantity of Morning Mug"):
        box = page.get_by_label(name, exact=True).bounding_box()
        assert box["width"] >= 24 and box["height"] >= 24, (name, box)  # WCAG 2.5.8 target size
    # The navigation stays on one line, down to the narrowest common phone.
    for width in (375, 320):
        page.set_viewport_size({"width": width, "height": 800})
        shop_link = page.get_by_role("link", name="Shop", exact=True).bounding_box()
        orders_link = page.get_by_role("link", name="My Orders").bounding_box()
        assert orders_link["height"] == shop_link["height"] and orders_link["y"] == shop_link["y"], width
        assert overflow(page, f"/ at {width} px") == []
    page.set_viewport_size({"width": 1280, "height": 800})
    cards = [page.locator(f"#product-{pid}").bounding_box() for pid in ("mug", "tote", "notebook")]
    assert len({round(c["y"]) for c in cards}) == 1, cards  # three across on a desktop
