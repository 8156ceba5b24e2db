"""Accessibility: axe-core (light and dark), accessible names, live regions and visible focus.

axe runs on the shop (with a cart and a refused quantity), My Orders (empty and with an order), the hosted
simulator page (form and decline), the return page and the cancel page. Serious and critical violations
fail the test, listed with rule, element and axe's message.
"""

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.fixtures.browser import (
    PAID_HEADING,
    QUANTITY_MESSAGE,
    RETURN_PAGE,
    axe_problems,
    choose,
    open_shop,
    pay_and_return,
    pay_on_hosted_page,
    press_buy,
)
from tests.fixtures.servers import RunningShop

# Roles a person operates; each needs a name a screen reader can say.
CONTROL_ROLES = {
    "button",
    "link",
    "textbox",
    "spinbutton",
    "searchbox",
    "combobox",
    "checkbox",
    "radio",
    "switch",
    "slider",
    "tab",
    "menuitem",
    "listbox",
    "option",
}


def check_every_page_with_axe(page: Page, shop: RunningShop, scheme: str) -> list[str]:
    problems: list[str] = []
    open_shop(page, shop)
    assert page.evaluate("s => document.documentElement.classList.contains(s)", scheme)
    choose(page, "Morning Mug", 1)
    page.get_by_label("Quantity of Canvas Tote", exact=True).fill("25")
    expect(page.locator("#cart").get_by_role("alert")).to_have_text(QUANTITY_MESSAGE)
    page.get_by_label("rxshop home").hover()  # hover colours count too (so does the link just clicked, below)
    problems += axe_problems(page, "/ with a cart, a refused quantity and a hovered link")

    page.get_by_role("link", name="My Orders").click()
    expect(page.get_by_text("No orders yet.")).to_be_visible()
    problems += axe_problems(page, "/orders, empty")

    page.get_by_role("link", name="Shop", exact=True).click()
    expect(page.locator("#cart-total")).to_have_text("$18.00")
    press_buy(page)
    expect(page.get_by_role("heading", name="Pay 23.00 USD")).to_be_visible()
    problems += axe_problems(page, "hosted page")
    pay_on_hosted_page(page, "4000 0000 0000 9995")
    expect(page.get_by_role("alert")).to_have_text("Your card has insufficient funds.")
    problems += axe_problems(page, "hosted page after a decline")
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name="Payment cancelled")).to_be_visible()
    problems += axe_problems(page, "/checkout/cancel")

    page.get_by_role("link", name="Back to your cart").click()
    press_buy(page)
    pay_and_return(page)
    expect(page.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
    expect(page.locator(".order-item")).to_have_count(1)
    problems += axe_problems(page, "return page")

    page.get_by_role("link", name="My Orders").click()
    expect(page.locator(".order-item")).to_have_count(1)
    problems += axe_problems(page, "/orders with an order")
    return problems


def test_axe_finds_no_serious_violations_in_light_mode(page: Page, shop: RunningShop):
    problems = check_every_page_with_axe(page, shop, "light")
    assert problems == [], "\n".join(problems)


@pytest.mark.browser_context_args(color_scheme="dark")
def test_axe_finds_no_serious_violations_in_dark_mode(page: Page, shop: RunningShop):
    """Dark mode follows the system setting; axe's color-contrast rule must pass there too."""
    problems = check_every_page_with_axe(page, shop, "dark")
    assert problems == [], "\n".join(problems)
    # Really dark: light text on a dark page.
    text, background = page.evaluate("""() => [getComputedStyle(document.querySelector('main')).color,
                                              getComputedStyle(document.querySelector('main').parentElement)
                                                .backgroundColor]""")
    assert relative_luminance(background) < 0.05 and contrast(text, background) >= 7, (text, background)


# --- accessible names ---------------------------------------------------------------------------------------------


def unnamed_controls(page: Page) -> tuple[int, list[str]]:
    """(number of controls, those without an accessible name), from chromium's own accessibility tree."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    controls = [n for n in nodes if not n.get("ignored") and n.get("role", {}).get("value") in CONTROL_ROLES]
    unnamed = [
        f"{n['role']['value']} (backend node {n.get('backendDOMNodeId')})"
        for n in controls
        if not str(n.get("name", {}).get("value", "")).strip()
    ]
    return len(controls), unnamed


def test_every_control_has_an_accessible_name(page: Page, shop: RunningShop):
    counts: dict[str, int] = {}
    problems: list[str] = []

    def check(where: str) -> None:
        counts[where], unnamed = unnamed_controls(page)
        problems.extend(f"{where}: {u}" for u in unnamed)

    open_shop(page, shop)
    choose(page, "Dot-Grid Notebook", 1)
    check("/")
    press_buy(page)
    check("hosted page")
    session_id = re.search(r"cs_test_\w+", page.url).group(0)
    paid = shop.control(f"sessions/{session_id}/pay", {"card": "4242424242424242"})
    page.goto(paid["redirect_url"])
    expect(page.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
    check("return page")
    page.get_by_role("link", name="My Orders").click()
    expect(page.locator(".order-item")).to_have_count(1)
    check("/orders")
    page.goto(shop.url + "/checkout/cancel")
    expect(page.get_by_role("heading", name="Payment cancelled")).to_be_visible()
    check("/checkout/cancel")

    assert problems == [], "\n".join(problems)
    # Skip link, home, Shop, My Orders, colour mode, 3 x (field + 2 steppers), Buy; Email, card, name, Pay, Cancel.
    assert counts["/"] >= 15 and counts["hosted page"] >= 5, counts
    # The icon-only controls are named for what they do.
    page.goto(shop.url + "/")
    for name in (
        "Increase quantity of Morning Mug",
        "Decrease quantity of Canvas Tote",
        "Switch light or dark mode",
        "rxshop home",
    ):
        expect(page.get_by_label(name, exact=True)).to_have_count(1)


# --- live regions ------------------------------------------------------------------------------------------------


def test_status_changes_are_announced_through_live_regions(page: Page, shop: RunningShop):
    open_shop(page, shop)
    # The cart total sits in a polite live region that is always there.
    total_region = page.locator("[aria-live='polite']").filter(has=page.locator("#cart-total"))
    expect(total_region).to_have_count(1)
    expect(total_region).to_have_attribute("aria-atomic", "true")
    choose(page, "Morning Mug", 3)
    expect(total_region).to_contain_text("$54.00")

    # A refused quantity is an alert.
    page.get_by_label("Quantity of Morning Mug", exact=True).fill("99")
    expect(page.locator("#cart [role='alert']")).to_have_text(QUANTITY_MESSAGE)
    choose(page, "Morning Mug", 1)

    # So is a checkout that could not start (the simulator answers 429 three times: the SDK gives up).
    shop.control("faults", {"kind": "429", "count": 3})
    try:
        page.get_by_role("button", name="Buy").click()
        error = page.locator("#checkout-error")
        expect(error).to_have_attribute("role", "alert")
        expect(error).to_contain_text("Your cart is kept")
        expect(page.get_by_role("button", name="Buy")).to_be_enabled()
    finally:
        httpx.delete(f"{shop.sim}/_sim/faults", timeout=10).raise_for_status()

    # The hosted page has an (empty) alert region before anything goes wrong.
    press_buy(page)
    alert = page.locator("#alert")
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_be_empty()
    pay_on_hosted_page(page, "4000 0000 0000 0002")
    expect(alert).to_have_text("Your card was declined.")

    # The return page's status is one polite status region; My Orders' list is polite too.
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(RETURN_PAGE)
    status = page.locator("#payment-status")
    expect(status).to_have_attribute("role", "status")
    expect(status).to_have_attribute("aria-live", "polite")
    expect(status.get_by_role("heading", name=PAID_HEADING)).to_be_visible()
    expect(page.locator("ul.order-list")).to_have_attribute("aria-live", "polite")

    page.goto(shop.url + "/checkout/cancel")
    expect(page.get_by_role("status").get_by_role("heading", name="Payment cancelled")).to_be_visible()


# --- visible focus -------------------------------------------------------------------------------------------------

FOCUS_STYLE = """() => { const e = document.activeElement; const s = getComputedStyle(e);
  const outlined = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const label = e.getAttribute('aria-label') || (e.labels && e.labels[0] && e.labels[0].textContent)
                || e.textContent;
  return {key: e.outerHTML.slice(0, 160), label: label.trim().slice(0, 40), tag: e.tagName, body: e === document.body,
          visible: outlined || s.boxShadow !== 'none', outline: outlined ? s.outlineColor : null} }"""


def tab_through(page: Page, limit: int = 40) -> list[dict]:
    """Tab through the whole page once; the style of each focused element."""
    seen: list[dict] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUS_STYLE)
        if focused["body"]:
            continue
        if seen and focused["key"] == seen[0]["key"]:
            break
        seen.append(focused)
    return seen


def relative_luminance(css_colour: str) -> float:
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(int(v) / 255) for v in re.findall(r"\d+", css_colour)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one: str, other: str) -> float:
    lighter, darker = sorted((relative_luminance(one), relative_luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_keyboard_focus_is_always_visible(page: Page, shop: RunningShop):
    open_shop(page, shop)
    page_background = page.evaluate(
        "getComputedStyle(document.querySelector('main').parentElement).backgroundColor"
    )
    choose(page, "Morning Mug", 1)
    expect(page.get_by_role("button", name="Buy")).to_be_enabled()  # the cart's update has arrived
    shop_controls = tab_through(page)
    page.get_by_role("button", name="Buy").click()
    expect(page.get_by_role("heading", name="Pay 23.00 USD")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("heading", name="Payment cancelled")).to_be_visible()
    cancel_controls = tab_through(page)
    page.get_by_role("link", name="Back to your cart").click()
    expect(page.locator("#cart-total")).to_have_text("$18.00")  # the cart is back (state rehydrated)
    expect(page.get_by_role("button", name="Buy")).to_be_enabled()
    page.get_by_role("button", name="Buy").click()
    expect(page.get_by_role("heading", name="Pay 23.00 USD")).to_be_visible()
    hosted_controls = tab_through(page)

    labels = [c["label"] for c in shop_controls + hosted_controls]
    for expected in (
        "Skip to content",
        "My Orders",
        "Increase quantity of Morning Mug",
        "Quantity of Canvas Tote",
        "Buy",
        "Email",
        "Card number",
        "Pay",
        "Cancel",
    ):
        assert expected in labels, labels
    # One Tab stop per action: the cancel page's "Back to your cart" is a single link.
    assert [c["tag"] for c in cancel_controls if c["label"] == "Back to your cart"] == ["A"], cancel_controls
    everything = shop_controls + cancel_controls + hosted_controls
    invisible = [c["label"] or c["key"] for c in everything if not c["visible"]]
    assert invisible == [], invisible
    # The shop's focus ring stands out from the page and from white cards (WCAG 1.4.11: 3:1).
    for control in [c for c in shop_controls + cancel_controls if c["outline"]]:
        for background in (page_background, "rgb(255, 255, 255)"):
            assert contrast(control["outline"], background) >= 3, (
                control["label"],
                control["outline"],
                background,
            )
