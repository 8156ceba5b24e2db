"""Stock in the browser, against the running production app: the owner counts a product on the Inventory page;
every open shop tab follows without a reload ("Only 2 left", "Sold out"); the cart cannot take more than is
free; Buy holds the units; the buyer's cancel on the hosted page closes that checkout and puts them back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from rxshop.core.db import get_engine, new_session
from rxshop.orders import stock
from tests.fixtures.admin import sign_in
from tests.fixtures.browser import open_shop, press_buy
from tests.fixtures.servers import RunningShop

PRODUCT, NAME = "notebook", "Dot-Grid Notebook"
NOT_RELOADED = "window.__rxshop_not_reloaded === true"


@pytest.fixture
def counted(shop: RunningShop) -> Iterator[None]:
    """The other journeys buy notebooks too: the product is uncounted again afterwards."""
    yield
    with new_session(get_engine(f"sqlite:///{shop.db_path}")) as session:
        stock.set_stock(session=session, product_id=PRODUCT, tracked=False)


@pytest.mark.usefixtures("counted")
def test_counted_stock_is_live_in_every_tab_held_by_buy_and_freed_by_cancel(
    page: Page, browser: Browser, shop: RunningShop
) -> None:
    watcher = browser.new_context().new_page()  # a shop tab open the whole time
    open_shop(watcher, shop)
    watcher.evaluate("window.__rxshop_not_reloaded = true")
    badge = watcher.locator(f"#stock-{PRODUCT}")
    expect(badge).to_have_text("")

    sign_in(page, shop, "/admin/inventory")
    item = page.locator(f"[data-product='{PRODUCT}']")
    item.get_by_label("Count its stock").check()
    item.get_by_label("Units for sale").fill("2")
    item.get_by_label("Low at").fill("3")
    item.get_by_role("button", name=f"Save {NAME}").click()
    expect(page.locator("#inventory-message")).to_have_text(f"Saved: {NAME}, 2 for sale, 2 free.")

    expect(badge).to_have_text("Only 2 left")  # pushed: the tab was not reloaded
    assert watcher.evaluate(NOT_RELOADED)

    buyer = browser.new_context().new_page()
    open_shop(buyer, shop)
    expect(buyer.locator(f"#stock-{PRODUCT}")).to_have_text("Only 2 left")
    choose_more = buyer.get_by_label(f"Quantity of {NAME}", exact=True)
    choose_more.fill("5")
    expect(buyer.get_by_role("alert")).to_contain_text(f"Only 2 left of {NAME}.")
    expect(choose_more).to_have_value("2")
    expect(buyer.get_by_role("button", name=f"Increase quantity of {NAME}")).to_be_disabled()

    session_id = press_buy(buyer)  # the two are held for this checkout
    expect(badge).to_have_text("Sold out")
    expect(item.locator(".stock-figures")).to_have_text("2 for sale · 2 held by open checkouts · 0 free")

    buyer.get_by_role("button", name="Cancel").click()  # Stripe's cancel: to the cancel page
    expect(buyer.get_by_role("heading", name="Payment cancelled")).to_be_visible()
    expect(buyer.locator("#cancel-status")).to_contain_text("That checkout is closed")
    expect(badge).to_have_text("Only 2 left")
    expect(item.locator(".stock-figures")).to_have_text("2 for sale · 0 held by open checkouts · 2 free")
    with new_session(get_engine(f"sqlite:///{shop.db_path}")) as session:
        assert stock.levels(session=session)[2].reserved == 0
    assert session_id and watcher.evaluate(NOT_RELOADED)
