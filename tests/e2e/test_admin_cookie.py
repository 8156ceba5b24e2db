"""The owner's sign-in is its own cookie, not the visitor's: in the browser, copying the visitor cookie to a fresh
profile does not copy the sign-in; each sign-in is a new HttpOnly value; "Sign out everywhere" signs out every
other browser at once (its open dashboard empties without a reload) and the copied cookie is worth nothing."""

from __future__ import annotations

import time

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.fixtures.admin import SIGNED_IN, sign_in
from tests.fixtures.browser import visitor_id_of
from tests.fixtures.servers import RunningShop

ADMIN_COOKIE = "rxshop_admin"  # the e2e shop is served over http (under https: __Host-rxshop_admin)
VISITOR_COOKIE = "rxshop_visitor"


def _cookie(context: BrowserContext, name: str) -> dict:
    [cookie] = [c for c in context.cookies() if c["name"] == name]
    return cookie


def _signed_out(page: Page) -> None:
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator(SIGNED_IN)).to_have_count(0)


def test_the_sign_in_does_not_travel_with_the_visitor_cookie_and_ends_everywhere(
    page: Page, context: BrowserContext, browser: Browser, shop: RunningShop
):
    page.goto(shop.url + "/admin")
    visitor = visitor_id_of(page)
    assert not [c for c in context.cookies() if c["name"] == ADMIN_COOKIE]  # not before the password
    sign_in(page, shop)
    admin = _cookie(context, ADMIN_COOKIE)
    assert admin["httpOnly"] and admin["sameSite"] == "Strict" and admin["path"] == "/"
    assert visitor_id_of(page) == visitor  # the visitor cookie is unchanged: it never was the sign-in
    assert admin["value"] not in page.content()
    assert page.evaluate("document.cookie").find(admin["value"]) == -1  # page scripts cannot read it

    # Another browser profile with a copy of the visitor cookie only: not signed in.
    copy = browser.new_context()
    other = browser.new_context()
    try:
        copy.add_cookies(
            [{"name": VISITOR_COOKIE, "value": _cookie(context, VISITOR_COOKIE)["value"], "url": shop.url}]
        )
        copied = copy.new_page()
        copied.goto(shop.url + "/admin/orders")
        assert visitor_id_of(copied) == visitor
        _signed_out(copied)
        expect(copied.locator(".admin-order-row")).to_have_count(0)

        # A second sign-in (another browser) gets a value of its own.
        second = other.new_page()
        sign_in(second, shop, "/admin/orders")
        assert _cookie(other, ADMIN_COOKIE)["value"] != admin["value"]
        # With a copy of the first browser's admin cookie, the copy is signed in: the cookie is the sign-in.
        copy.add_cookies([{"name": ADMIN_COOKIE, "value": admin["value"], "url": shop.url}])
        copied.goto(shop.url + "/admin")
        expect(copied.locator(SIGNED_IN)).to_be_visible()

        # Sign out everywhere, from the first browser: the second's open dashboard empties at once.
        page.goto(shop.url + "/admin")
        page.get_by_role("button", name="Sign out everywhere").click()
        _signed_out(page)
        expect(page.locator("#sign-in-error")).to_have_text("Signed out on every browser and device.")
        _signed_out(second)  # no reload: the live dashboard re-checked its sign-in
        expect(second.locator(".admin-order-row")).to_have_count(0)
        deadline = time.monotonic() + 10
        while [c for c in context.cookies() if c["name"] == ADMIN_COOKIE]:  # deleted here (a fetch away)
            assert time.monotonic() < deadline, "the admin cookie was not deleted"
            time.sleep(0.1)
        copied.goto(shop.url + "/admin")  # the copied value is worth nothing now
        _signed_out(copied)
        second.reload()
        _signed_out(second)

        # Signing in again works, with yet another value.
        sign_in(page, shop)
        assert _cookie(context, ADMIN_COOKIE)["value"] != admin["value"]
    finally:
        copy.close()
        other.close()


def test_sign_out_ends_this_sign_in_only(page: Page, browser: Browser, shop: RunningShop):
    sign_in(page, shop)
    other = browser.new_context()
    try:
        second = other.new_page()
        sign_in(second, shop)
        page.get_by_role("button", name="Sign out", exact=True).click()
        _signed_out(page)
        second.reload()
        expect(second.locator(SIGNED_IN)).to_be_visible()
    finally:
        other.close()
