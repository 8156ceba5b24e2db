"""Who a browser is comes from the server: an HttpOnly credential that page scripts can neither read nor
forge. Everything a script could copy out of a buyer's browser shows a stranger none of the buyer's
orders; the buyer's own browser profile, restarted, still shows them."""

import re

from playwright.sync_api import Browser, BrowserContext, expect

from rxshop.domain.identity import COOKIE_NAME
from tests.fixtures.browser import choose, pay_and_return, press_buy, visitor_id_of
from tests.fixtures.servers import RunningShop

# What a page script, an XSS payload or an extension could read in the buyer's tab.
READABLE = """() => ({
  local: Object.fromEntries(Object.entries(localStorage)),
  session: Object.fromEntries(Object.entries(sessionStorage)),
  cookies: document.cookie,
})"""


def _buy_one(context: BrowserContext, shop: RunningShop) -> str:
    page = context.new_page()
    page.goto(shop.url + "/")
    visitor = visitor_id_of(page)
    choose(page, "Canvas Tote", 1)
    press_buy(page)
    pay_and_return(page)
    expect(page.locator(".order-item")).to_have_count(1)
    return visitor


def test_what_scripts_can_read_gives_a_stranger_none_of_the_buyers_orders(
    context: BrowserContext, browser: Browser, shop: RunningShop, tmp_path
):
    visitor = _buy_one(context, shop)
    page = context.pages[-1]
    page.goto(shop.url + "/orders")
    expect(page.locator(".order-item")).to_have_count(1)
    stolen = page.evaluate(READABLE)
    assert COOKIE_NAME not in stolen["cookies"]  # HttpOnly: invisible to scripts
    assert visitor not in repr(stolen)  # nothing readable names the visitor

    stranger_context = browser.new_context()
    try:
        # Everything readable, planted in a fresh browser before any page of the shop runs.
        stranger_context.add_init_script(
            "(([local, session]) => {"
            " for (const [k, v] of Object.entries(local)) localStorage.setItem(k, v);"
            " for (const [k, v] of Object.entries(session)) sessionStorage.setItem(k, v); })"
            f"({[stolen['local'], stolen['session']]!r})".replace("'", '"')
        )
        for pair in filter(None, stolen["cookies"].split("; ")):
            name, _, value = pair.partition("=")
            stranger_context.add_cookies([{"name": name, "value": value, "url": shop.url}])
        stranger = stranger_context.new_page()
        stranger.goto(shop.url + "/orders")
        assert visitor_id_of(stranger) != visitor
        expect(stranger.get_by_text("No orders yet.")).to_be_visible()

        # An id the server never signed, set as the cookie itself, is refused: a fresh identity instead.
        forged = browser.new_context()
        forged.add_cookies([{"name": COOKIE_NAME, "value": visitor, "url": shop.url}])
        forger = forged.new_page()
        forger.goto(shop.url + "/orders")
        assert visitor_id_of(forger) not in (visitor, "")
        expect(forger.get_by_text("No orders yet.")).to_be_visible()
        forged.close()
    finally:
        stranger_context.close()

    # The buyer's own profile, closed and opened again (its cookies kept, as a browser keeps them).
    profile = tmp_path / "profile.json"
    context.storage_state(path=str(profile))
    restarted = browser.new_context(storage_state=str(profile))
    try:
        again = restarted.new_page()
        again.goto(shop.url + "/orders")
        assert visitor_id_of(again) == visitor
        expect(again.locator(".order-item")).to_have_count(1)
    finally:
        restarted.close()


def test_a_first_visit_loads_once_with_its_credential_in_place(browser: Browser, shop: RunningShop):
    """A cold first visit: one document load (no reload to carry the credential), no console error and no
    failed request, the credential HttpOnly, and Buy works from that very page."""
    context = browser.new_context()
    try:
        page = context.new_page()
        documents: list[str] = []
        problems: list[str] = []
        page.on("request", lambda r: documents.append(r.url) if r.resource_type == "document" else None)
        page.on(
            "console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None
        )
        page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"failed: {r.method} {r.url} {r.failure}"))
        page.goto(shop.url + "/")
        visitor = visitor_id_of(page)
        [cookie] = [c for c in context.cookies() if c["name"] == COOKIE_NAME]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
        choose(page, "Canvas Tote", 1)
        expect(page.locator("#cart-total")).to_have_text("$24.00")
        navigations = page.evaluate("performance.getEntriesByType('navigation').map(n => n.type)")
        assert navigations == ["navigate"]  # not "reload"
        assert documents == [shop.url + "/"], documents
        press_buy(page)  # the first page's own connection buys: it carried the credential from the start
        assert [row["status"] for row in shop.orders(visitor)] == ["pending"]
        assert problems == [], problems
    finally:
        context.close()


def test_a_browser_that_keeps_no_cookie_is_told_so_and_cannot_buy(browser: Browser, shop: RunningShop):
    """As if cookies were blocked: no answer of the backend leaves a credential in the jar. The page tries
    once more by script (one reload), then says what to do instead of reloading again."""
    context = browser.new_context()
    try:
        context.route(
            re.compile(r"/visitor(\.js)?$"),
            lambda route: (
                route.fulfill(status=200, body="", content_type="text/javascript")
                if route.request.url.endswith(".js")
                else route.fulfill(status=200, json={"ok": True})
            ),
        )
        page = context.new_page()
        documents: list[str] = []
        page.on("request", lambda r: documents.append(r.url) if r.resource_type == "document" else None)
        page.goto(shop.url + "/")
        expect(page.get_by_role("alert")).to_contain_text("This browser did not keep our cookie")
        expect(page.locator("main#main")).to_have_attribute("data-visitor-ready", "false")
        page.get_by_label("Increase quantity of Canvas Tote").click()
        expect(page.get_by_role("alert").filter(has_text="not ready")).to_be_visible()
        expect(page.get_by_role("button", name="Buy")).to_be_disabled()
        page.wait_for_timeout(1000)
        assert len(documents) == 2, documents  # the page and one reload, no loop
        assert context.cookies() == []
    finally:
        context.close()


def test_forget_this_browser_starts_again_as_a_new_visitor(context: BrowserContext, shop: RunningShop):
    visitor = _buy_one(context, shop)
    page = context.pages[-1]
    page.goto(shop.url + "/orders")
    expect(page.locator(".order-item")).to_have_count(1)
    page.get_by_role("button", name="Forget this browser").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("will no longer show these orders")
    dialog.get_by_role("button", name="Forget this browser").click()
    page.wait_for_url(shop.url + "/")
    assert visitor_id_of(page) != visitor
    page.goto(shop.url + "/orders")
    expect(page.get_by_text("No orders yet.")).to_be_visible()
    assert [o["status"] for o in shop.orders(visitor)] == ["paid"]  # the shop keeps the order itself


def test_only_the_shops_own_pages_may_call_the_backend_with_its_cookie(shop: RunningShop):
    """CORS: Reflex's default echoes any origin with credentials; this shop allows its own only."""
    import httpx

    for origin, allowed in ((shop.url, True), ("https://evil.example", False)):
        preflight = httpx.options(
            f"{shop.url}/visitor",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            timeout=10,
        )
        echoed = preflight.headers.get("access-control-allow-origin")
        assert (echoed == origin) is allowed, (origin, dict(preflight.headers))
        claim = httpx.post(f"{shop.url}/visitor", json={}, headers={"Origin": origin}, timeout=10)
        assert (claim.status_code == 200) is allowed
        assert ("set-cookie" in claim.headers) is allowed
