"""The `reflex export` deployment (deploy/): static frontend from Debian's nginx, prod backend on two granian
workers sharing state through Redis, the standalone simulator as Stripe. The purchase journey through nginx.
"""

from __future__ import annotations

import gzip
import re
import time

import httpx
from playwright.sync_api import BrowserContext, Page, expect

from tests.fixtures.browser import choose, pay_on_hosted_page, visitor_id_of
from tests.fixtures.deployment import Deployment

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}
PLAIN = {"Accept-Encoding": "identity"}
MAX_TAB_ATTEMPTS = 40  # each lands on either worker; 40 misses in a row would take a broken balancer


def _assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, f"{response.url}: {name} = {response.headers.get(name)!r}"
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy", "")


def _worker_of_tab(tab: Page, deployment: Deployment) -> str:
    """The worker holding this tab's websocket, once the tab shows the visitor's paid order."""
    expect(tab.locator(".order-item")).to_have_count(1)
    expect(tab.locator(".order-item")).to_have_attribute("data-status", "paid")
    token = tab.evaluate("() => sessionStorage.getItem('token')")
    worker = deployment.worker_of(token)
    assert worker is not None, f"no worker holds the websocket of tab {token}"
    return worker


def test_nginx_serves_every_route_from_the_export(deployment: Deployment):
    root = deployment.frontend_dir
    cases = {
        "/": root / "index.html",
        "/orders": root / "orders.html",
        "/checkout/success?session_id=cs_test_abcdefgh12345678": root / "checkout" / "success.html",
        # No file for this path: the single-page app's fallback, which routes in the browser.
        "/no/such/page": root / "__spa-fallback.html",
    }
    for path, file in cases.items():
        response = httpx.get(deployment.url + path, headers=PLAIN)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert response.content == file.read_bytes(), f"{path} is not {file.name}"
        assert response.headers["cache-control"] == "no-cache", path
        _assert_security_headers(response)
    # The backend URL baked in at export time is nginx's: the browser never talks to granian directly.
    env_js = next((root / "assets").glob("reflex-env-*.js")).read_text()
    assert f"ws://127.0.0.1:{deployment.url.rsplit(':', 1)[1]}/_event" in env_js
    assert deployment.backend_url.rsplit(":", 1)[1] not in env_js


def test_nginx_sends_the_exported_gz_siblings(deployment: Deployment):
    asset = max((deployment.frontend_dir / "assets").glob("*.js"), key=lambda p: p.stat().st_size)
    sibling = asset.with_name(asset.name + ".gz")
    assert sibling.exists()
    url = f"{deployment.url}/assets/{asset.name}"
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers.get("vary", "").lower()
    assert raw == sibling.read_bytes()  # the file from the export, not gzipped on the fly
    assert gzip.decompress(raw) == asset.read_bytes()
    assert "max-age=31536000" in response.headers["cache-control"]
    # Pages too, after try_files picked the file: /orders is orders.html, sent as orders.html.gz.
    with httpx.stream("GET", f"{deployment.url}/orders", headers={"Accept-Encoding": "gzip"}) as page:
        assert page.headers["content-encoding"] == "gzip"
        assert b"".join(page.iter_raw()) == (deployment.frontend_dir / "orders.html.gz").read_bytes()
    plain = httpx.get(url, headers=PLAIN)
    assert "content-encoding" not in plain.headers and plain.content == asset.read_bytes()
    assert httpx.get(f"{deployment.url}/assets/missing-123.js").status_code == 404


def test_nginx_proxies_the_backend_routes(deployment: Deployment):
    ping = httpx.get(f"{deployment.url}/ping")
    assert ping.status_code == 200 and ping.json() == "pong"
    _assert_security_headers(ping)
    # Reflex's own health check, for monitoring: the workers reach the database and Redis.
    health = httpx.get(f"{deployment.url}/_health")
    assert health.status_code == 200 and health.json() == {"status": True, "db": True, "redis": True}
    # The webhook reaches the backend, which checks Stripe's signature on the raw body.
    refused = httpx.post(
        f"{deployment.url}/stripe/webhook",
        content=b'{"id": "evt_1"}',
        headers={"Stripe-Signature": "t=1,v1=00"},
    )
    assert refused.status_code == 400 and "signature" in refused.json()["error"]
    assert httpx.get(f"{deployment.url}/stripe/webhook").status_code == 403
    # With a Stripe key set, the backend mounts no simulator: nginx forwards and the backend says 404.
    assert httpx.get(f"{deployment.url}/stripe-sim/_sim/config").status_code == 404


def test_purchase_through_nginx_and_live_refund_across_workers(
    context: BrowserContext, page: Page, deployment: Deployment
):
    started = time.monotonic()
    page.goto(deployment.url + "/")
    visitor = visitor_id_of(page)
    page.get_by_label("Increase quantity of Morning Mug").click()
    page.get_by_label("Increase quantity of Morning Mug").click()
    choose(page, "Dot-Grid Notebook", 1)
    expect(page.locator("#cart-total")).to_have_text("$48.50")
    page.get_by_role("button", name="Buy").click()

    page.wait_for_url(re.compile(re.escape(deployment.sim_url) + r"/pay/cs_test_"))
    pay_on_hosted_page(page)

    # Back on the shop through nginx: /checkout/success?session_id=... is a page of the export.
    page.wait_for_url(re.compile(re.escape(deployment.url) + r"/checkout/success/?\?session_id=cs_test_"))
    expect(page.get_by_role("heading", name="Thank you! Your order is paid.")).to_be_visible()
    item = page.locator(".order-item[aria-current='true']")
    expect(item).to_contain_text("2 × Morning Mug, 1 × Dot-Grid Notebook")
    expect(item.locator(".order-total")).to_have_text("$53.50")  # $48.50 + Standard shipping
    session_id = page.url.split("session_id=", 1)[1]

    page.reload()
    expect(page.get_by_role("heading", name="Thank you! Your order is paid.")).to_be_visible()
    [order] = deployment.orders(visitor)
    assert (order["status"], order["amount_total"], order["stripe_session_id"]) == ("paid", 5350, session_id)
    # Stripe's checkout.session.completed came through nginx too, signed and accepted.
    [completed] = deployment.control(f"events?type=checkout.session.completed&object_id={session_id}")["data"]
    assert completed["delivery"]["status"] == "delivered", completed
    # (The return page and the webhook race to fulfill; whichever comes second finds the order paid.)
    recorded = deployment.query("SELECT type, outcome FROM stripe_events WHERE session_id = :s", s=session_id)
    assert [(r["type"], r["outcome"] in ("fulfilled", "already_paid")) for r in recorded] == [
        ("checkout.session.completed", True)
    ], recorded

    # My Orders in a second tab of this visitor, whose websocket the OTHER worker holds. Granian gives a
    # new connection to whichever worker takes it first, so tabs are opened until one lands there.
    page.get_by_role("link", name="My Orders").click()
    first_worker = _worker_of_tab(page, deployment)
    other, attempts = None, 0
    while other is None:
        attempts += 1
        assert attempts <= MAX_TAB_ATTEMPTS, (
            f"{MAX_TAB_ATTEMPTS} tabs in a row landed on the first tab's worker"
        )
        tab = context.new_page()
        tab.goto(deployment.url + "/orders")
        if _worker_of_tab(tab, deployment) != first_worker:
            other = tab
        else:
            tab.close()
    deployment.timings["tabs_opened"] = attempts
    tabs = [page, other]

    # A refund in the Dashboard: Stripe's charge.refunded goes through nginx to one worker, and every tab
    # follows, including those whose websocket another worker holds (Reflex relays through Redis).
    deployment.stripe().v1.refunds.create(params={"payment_intent": order["payment_intent_id"]})
    for tab in tabs:
        expect(tab.locator(".order-item")).to_have_attribute("data-status", "refunded")
        expect(tab.locator(".order-item")).to_contain_text("Refunded")
    [order] = deployment.orders(visitor)
    assert (order["status"], order["amount_refunded"]) == ("refunded", 5350)
    deployment.timings["journey_s"] = time.monotonic() - started
    print("\ndeployment timings:", {k: round(v, 2) for k, v in deployment.timings.items()})
