"""Redis loses its data under open tabs, in chromium: the `reflex export` deployment (nginx, two workers,
Redis database 13). The tabs' websockets stay open, so nothing reconnects; each worker notices the loss and
asks its tabs to load their page again, which the real frontend does. (tests/chaos/ runs the same with
more tabs, a killed redis-server and a stream of webhooks, with a client speaking Reflex's protocol: this
test shows the browser does what that client does.)"""

from __future__ import annotations

import json
import time

import httpx
import redis
import stripe
from playwright.sync_api import BrowserContext, Page, expect

from tests.fixtures.browser import visitor_id_of
from tests.fixtures.chaos import completed_event, make_orders
from tests.fixtures.deployment import WEBHOOK_SECRET, Deployment

LIVE_UPDATE_MS = 5_000


def _pay(deployment: Deployment, body: bytes) -> None:
    """Stripe's checkout.session.completed for it, through nginx, as Stripe signs it."""
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), WEBHOOK_SECRET, timestamp=int(time.time())
    )
    response = httpx.post(
        f"{deployment.url}/stripe/webhook",
        content=body,
        headers={"Content-Type": "application/json", "Stripe-Signature": header},
    )
    assert response.status_code == 200, response.text


def test_open_tabs_hear_again_after_redis_lost_its_data(
    context: BrowserContext, page: Page, deployment: Deployment
):
    page.goto(deployment.url + "/orders")
    visitor = visitor_id_of(page)
    other = context.new_page()
    other.goto(deployment.url + "/orders")
    visitor_id_of(other)
    tabs = [page, other]
    [first] = make_orders(deployment.database_url, 1, [visitor], mugs=0)
    _pay(deployment, completed_event(first))
    for tab in tabs:  # live before the loss
        expect(tab.locator(f".order-item[data-order-id='{first.id}']")).to_have_attribute(
            "data-status", "paid"
        )

    client = redis.Redis.from_url(deployment.redis_url)
    try:
        client.flushdb()  # every tab's state, Reflex's socket records and rxshop's listening entries
    finally:
        client.close()
    [second] = make_orders(deployment.database_url, 1, [visitor], mugs=1)
    _pay(deployment, completed_event(second))
    for tab in tabs:
        expect(tab.locator(f".order-item[data-order-id='{second.id}']")).to_have_attribute(
            "data-status", "paid", timeout=LIVE_UPDATE_MS
        )
    orders = {row["id"]: row["status"] for row in deployment.orders(visitor)}
    assert orders == {first.id: "paid", second.id: "paid"}, json.dumps(orders)
