"""Every admin page passes axe (light and dark) and is usable at 375 px: the page never scrolls sideways
(wide tables scroll inside their own region); the page without ADMIN_PASSWORD says how to turn it on."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from rxshop.domain.identity import new_visitor_id
from tests.fixtures.admin import SIGNED_IN, sign_in
from tests.fixtures.browser import visitor_id_of
from tests.fixtures.servers import RunningShop

AXE = Axe()
OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => !e.closest('.admin-scroll'))
    .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > width + 0.5; })
    .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${String(e.className).slice(0, 40)}`);
  return {innerWidth: width, scrollWidth: document.scrollingElement.scrollWidth, wide: wide.slice(0, 10)};
}"""


def problems_on(page: Page, where: str) -> list[str]:
    found = [
        f"{where}: {v['id']} ({v['impact']}) at {node['target']}: {node['failureSummary']}"
        for v in AXE.run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
        for node in v["nodes"]
    ]
    measured = page.evaluate(OVERFLOW)
    if measured["scrollWidth"] > measured["innerWidth"] or measured["wide"]:
        found.append(f"{where}: sideways at {measured['innerWidth']} px: {measured}")
    return found


def every_admin_page(page: Page, shop: RunningShop) -> list[str]:
    order_id = shop.make_order(new_visitor_id(), status="paid")
    problems: list[str] = []
    page.goto(shop.url + "/admin")
    visitor_id_of(page)  # a first visit reloads once to get its credential
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    problems += problems_on(page, "sign-in")
    sign_in(page, shop)
    expect(page.locator("#count-to-ship")).not_to_have_text("")
    problems += problems_on(page, "overview")
    for path, ready in (
        ("/admin/orders", ".admin-order-row"),
        (f"/admin/order?id={order_id}", "#order-number"),
        ("/admin/revenue", ".revenue-day"),
        ("/admin/exceptions", "h1"),
        ("/admin/inventory", ".stock-item"),
        ("/admin/discounts", "#no-codes, .admin-discount-row"),
    ):
        page.goto(shop.url + path)
        expect(page.locator(SIGNED_IN)).to_be_visible()
        expect(page.locator(ready).first).to_be_visible()
        problems += problems_on(page, path)
    page.goto(shop.url + f"/admin/order?id={order_id}")
    page.get_by_role("button", name="Refund…").click()
    expect(page.get_by_label("Amount to refund")).to_be_visible()
    problems += problems_on(page, "order with the refund form open")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    return problems


@pytest.mark.parametrize("width", [375, 1280])
def test_admin_pages_pass_axe_and_fit_in_light_mode(page: Page, shop: RunningShop, width: int):
    page.set_viewport_size({"width": width, "height": 900})
    problems = every_admin_page(page, shop)
    assert problems == [], "\n".join(problems)


@pytest.mark.browser_context_args(color_scheme="dark")
def test_admin_pages_pass_axe_in_dark_mode(page: Page, shop: RunningShop):
    page.set_viewport_size({"width": 375, "height": 900})
    problems = every_admin_page(page, shop)
    assert problems == [], "\n".join(problems)
