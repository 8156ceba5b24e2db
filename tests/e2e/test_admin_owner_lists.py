"""The owner's lists, figures and inbox in a real browser: every column of every admin table can be brought
into view at 375 px (touch/wheel and keyboard scroll a named region), the order list's tabs and the
overview's links agree, the whole row opens the order, the chart has axes and tooltips, and an inbox item
that no order change announces reaches an open overview live.

With SCREENSHOTS_DIR set, the walk saves the README's pictures there (1280 and 375 px)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from rxshop.domain.identity import new_visitor_id
from tests.fixtures.admin import SIGNED_IN, buy, execute, pay_with_address, sign_in
from tests.fixtures.servers import RunningShop

ADMIN_PAGES = (
    ("/admin", "#count-to-ship"),
    ("/admin/orders", ".admin-order-row"),
    ("/admin/revenue", ".revenue-day"),
    ("/admin/exceptions", "h1"),
    ("/admin/inventory", ".stock-item"),
)
WIDE = """() => [...document.querySelectorAll('main *')]
  .filter(e => !e.closest('.admin-scroll'))
  .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > innerWidth + 0.5; })
  .map(e => e.tagName + '.' + String(e.className).slice(0, 40))"""


def shoot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def every_cell_comes_into_view(page: Page, where: str) -> list[str]:
    """Each column's header and last cell, scrolled into view, lies inside the 375 px viewport."""
    problems: list[str] = []
    width = page.viewport_size["width"]
    for region in page.locator(".admin-scroll").all():
        name = region.get_attribute("aria-label") or ""
        if region.get_attribute("role") != "region" or not name or region.get_attribute("tabindex") != "0":
            problems.append(f"{where}: a scrolling box that is not a named, focusable region ({name!r})")
        for row in (region.locator("thead tr").first, region.locator("tbody tr").last):
            if not row.count():
                continue
            cells = row.locator("th, td")
            for i in range(cells.count()):
                cell = cells.nth(i)
                cell.scroll_into_view_if_needed()
                box = cell.bounding_box()
                assert box is not None
                inside = box["x"] >= -0.5 and box["x"] + min(box["width"], width) <= width + 0.5
                if not inside:
                    problems.append(
                        f"{where} / {name}: column {i + 1} at x={box['x']:.0f} w={box['width']:.0f}"
                    )
    wide = page.evaluate(WIDE)
    if wide:
        problems.append(f"{where}: wider than the page outside a scroll region: {wide[:5]}")
    return problems


def test_every_column_of_every_admin_table_can_be_brought_into_view_at_375(page: Page, shop: RunningShop):
    shop.make_order(new_visitor_id(), status="paid")
    page.set_viewport_size({"width": 375, "height": 800})
    sign_in(page, shop)
    problems: list[str] = []
    for path, ready in ADMIN_PAGES:
        page.goto(shop.url + path)
        expect(page.locator(SIGNED_IN)).to_be_visible()
        expect(page.locator(ready).first).to_be_visible()
        problems += every_cell_comes_into_view(page, path)
    assert problems == [], "\n".join(problems)

    # The orders table is wider than the phone: the region scrolls by keyboard and by wheel (touch pans the
    # same overflow box), not the page.
    page.goto(shop.url + "/admin/orders")
    region = page.get_by_role("region", name="Orders table (scrolls sideways)")
    expect(page.locator(".admin-order-row").first).to_be_visible()
    assert region.evaluate("r => r.scrollWidth > r.clientWidth + 100")
    region.evaluate("r => { r.scrollLeft = 0; }")
    region.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('.admin-scroll').scrollLeft > 0")
    region.evaluate("r => { r.scrollLeft = 0; }")
    box = region.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 100, box["y"] + 40)
    page.mouse.wheel(300, 0)
    page.wait_for_function("() => document.querySelector('.admin-scroll').scrollLeft > 0")
    assert page.evaluate("document.scrollingElement.scrollLeft") == 0


@pytest.mark.parametrize("width", [1280, 375])
def test_the_owner_reads_tabs_rows_chart_and_a_live_inbox(
    page: Page, browser: Browser, shop: RunningShop, width
):
    page.set_viewport_size({"width": width, "height": 900})
    buyer_context = browser.new_context()
    try:
        order = buy(buyer_context, shop, {"Morning Mug": 1})
        sign_in(page, shop)
        before = int(page.locator("#count-exceptions").inner_text())

        # The overview's "Paid, not shipped" opens the To ship tab, whose count is the overview's.
        to_ship = page.locator("#count-to-ship").inner_text()
        page.get_by_role("link", name="Open: Paid, not shipped").click()
        expect(page).to_have_url(re.compile(r"/admin/orders\?tab=to_ship$"))
        current = page.locator("a.order-tab[aria-current='page']")
        expect(current).to_have_attribute("data-tab", "to_ship")
        expect(current.locator(".order-tab-count")).to_have_text(to_ship)
        expect(page.locator("#orders-count")).to_have_text(
            f"{to_ship} order" + ("" if to_ship == "1" else "s")
        )
        for label in ("All", "Awaiting payment", "To ship", "Shipped", "Refunded"):
            tab = page.get_by_role("navigation", name="Order views").get_by_role(
                "link", name=re.compile(label)
            )
            expect(tab.first).to_be_visible()
        row = page.locator(f".admin-order-row[data-order-id='{order.order_id}']")
        expect(row).to_contain_text("Ada Buyer")
        expect(row).to_contain_text("Standard")
        expect(row).to_contain_text("buyer@example.com")
        shoot(page, f"admin-orders-{width}")

        # One order found: "1 order"; an impossible range says so and changes nothing.
        page.get_by_label("Search: order number, email or Stripe session id").fill(order.session_id)
        page.get_by_role("button", name="Apply").click()
        expect(page.locator("#orders-count")).to_have_text("1 order")
        page.get_by_label("From (UTC day)").fill("2025-03-02")
        page.get_by_label("To (UTC day)").fill("2025-03-01")
        page.get_by_role("button", name="Apply").click()
        expect(page.get_by_role("alert").filter(has_text="after")).to_contain_text("“From” is after “To”")
        expect(page.locator(".admin-order-row")).to_have_count(1)

        # The whole row opens the order (a click on its total), and so does the keyboard on its link.
        total = row.locator("td").nth(4)  # a click where the total is lands on the row's link
        total.scroll_into_view_if_needed()
        spot = total.bounding_box()
        assert spot is not None
        page.mouse.click(spot["x"] + spot["width"] / 2, spot["y"] + spot["height"] / 2)
        expect(page.locator("#order-number")).to_have_text(order.number)
        page.go_back()
        expect(row).to_be_visible()
        row.get_by_role("link", name=order.number).focus()
        page.keyboard.press("Enter")
        expect(page.locator("#order-number")).to_have_text(order.number)

        # The chart: axes with labels, a tooltip on hover, figures beside the previous period's.
        page.goto(shop.url + "/admin/revenue")
        chart = page.locator("#revenue-chart")
        expect(chart.locator(".recharts-bar-rectangle").first).to_be_visible()
        for label in ("Orders", "Day (UTC)", "Net revenue (USD)"):
            expect(chart.locator(".recharts-label", has_text=label).first).to_be_visible()
        expect(page.locator("#figure-aov")).not_to_have_text("")
        expect(page.locator(".revenue-figure[data-key='net']")).to_contain_text("Previous period: ")
        chart.scroll_into_view_if_needed()
        chart_box = chart.locator(".recharts-cartesian-grid").bounding_box()  # the plot area
        assert chart_box is not None
        middle = chart_box["y"] + chart_box["height"] / 2
        page.mouse.move(chart_box["x"] + chart_box["width"] / 2, middle)
        page.mouse.move(chart_box["x"] + chart_box["width"] - 80, middle, steps=8)
        expect(chart.locator(".recharts-tooltip-wrapper")).to_contain_text("Paid orders")
        shoot(page, f"admin-revenue-{width}")

        # Money for a session the shop has no order for: an inbox item no order change announces. The open
        # overview counts it live, in the card and the navigation alike.
        page.goto(shop.url + "/admin")
        expect(page.locator("#count-exceptions")).to_have_text(str(before))
        stray = buy(buyer_context, shop, {"Canvas Tote": 1}, pay=False)
        execute(
            shop,
            "UPDATE orders SET stripe_session_id = ? WHERE id = ?",
            "cs_test_elsewhere_" + stray.order_id,
            stray.order_id,
        )
        payer = buyer_context.new_page()
        payer.goto(f"{shop.url}/stripe-sim/pay/{stray.session_id}")
        pay_with_address(payer)
        expect(page.locator("#count-exceptions")).to_have_text(str(before + 1))
        expect(page.get_by_role("navigation", name="Dashboard")).to_contain_text(f"{before + 1} open")
        shoot(page, f"admin-overview-{width}")

        page.get_by_role("link", name="Open: Open exceptions").click()
        item = page.locator(f".inbox-item[data-reference='{stray.session_id}']")
        expect(item).to_contain_text("Money received without an order")
        expect(item).to_contain_text("buyer@example.com paid")
        expect(item.locator(".inbox-summary")).not_to_contain_text("None")
        expect(item.locator(".inbox-summary")).not_to_contain_text("unknown_session")
        shoot(page, f"admin-exceptions-{width}")
    finally:
        buyer_context.close()
