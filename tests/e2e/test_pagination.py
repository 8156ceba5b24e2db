"""My Orders past 20: pages of 20, newest first, with Newer/Older buttons."""

from playwright.sync_api import Page, expect
from sqlmodel import Session

from rxshop.core.db import get_engine
from rxshop.domain.cart import price_cart
from rxshop.orders.fulfillment import fulfill_checkout
from tests.fixtures.browser import visitor_id_of
from tests.fixtures.db import bought_order, checkout_for
from tests.fixtures.servers import RunningShop


def test_my_orders_pages_by_twenty(page: Page, shop: RunningShop):
    page.goto(shop.url + "/")
    visitor = visitor_id_of(page)
    # 23 paid orders for this visitor, made by the shop's own order service in its database.
    with Session(get_engine(f"sqlite:///{shop.db_path}"), expire_on_commit=False) as session:
        for quantity in range(1, 24):
            order = bought_order(session, visitor, cart=price_cart({"notebook": quantity % 20 or 20}))
            assert fulfill_checkout(session=session, checkout=checkout_for(order)).outcome == "fulfilled"

    page.get_by_role("link", name="My Orders").click()
    items = page.locator(".order-item")
    expect(items).to_have_count(20)
    expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    expect(page.get_by_role("button", name="Newer")).to_be_disabled()
    expect(items.first).to_contain_text("3 × Dot-Grid Notebook")  # the newest: quantity 23 % 20

    page.get_by_role("button", name="Older").click()
    expect(items).to_have_count(3)
    expect(page.get_by_text("Page 2 of 2")).to_be_visible()
    expect(page.get_by_role("button", name="Older")).to_be_disabled()
    expect(items.last).to_contain_text("1 × Dot-Grid Notebook")  # the oldest

    page.get_by_role("button", name="Newer").click()
    expect(items).to_have_count(20)
