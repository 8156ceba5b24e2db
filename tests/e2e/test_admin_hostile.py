"""Crafted admin events over Reflex's real websocket, from a browser that never signed in: every public
AdminState handler with plausible arguments is refused, nothing changes, and no frame carries order data."""

from __future__ import annotations

import asyncio
import json
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from bench.reflex_client import Browser, Tab, script_of
from rxshop.domain.identity import COOKIE_NAME, new_visitor_id
from tests.fixtures.admin import ADMIN_PASSWORD
from tests.fixtures.servers import RunningShop

ADMIN = "___admin____admin_state"
ORDERS = "___admin_orders____admin_orders_state"
ORDER = "___admin_order____admin_order_state"
REVENUE = "___admin_reports____admin_revenue_state"
INBOX = "___admin_reports____admin_inbox_state"
DISCOUNTS = "___admin_discounts____admin_discounts_state"
LEAK = re.compile(r"Traceback|File \"|sqlalchemy|/rxshop/")


class RecordingTab(Tab):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames: list[str] = []

    def _apply(self, update: dict) -> None:
        self.frames.append(json.dumps(update))
        super()._apply(update)


def identified(shop: RunningShop) -> Browser:
    response = httpx.post(f"{shop.url}/visitor", json={}, headers={"Origin": shop.url}, timeout=10)
    response.raise_for_status()
    browser = Browser()
    browser.cookies[COOKIE_NAME] = response.cookies[COOKIE_NAME]
    return browser


async def signed_in_browser(shop: RunningShop) -> Browser:
    """A browser signed in as the page does it: the password over the websocket, then the one-time grant of
    the answer's script posted to /admin-session for the HttpOnly admin cookie."""
    browser = identified(shop)
    tab = Tab(shop.url, browser, path="/admin")
    await tab.open()
    _, update = await tab.call(
        ADMIN, "sign_in", lambda u: script_of(u) is not None, form_data={"password": ADMIN_PASSWORD}
    )
    await tab.close()
    grant = re.search(r'"grant": ?"([A-Za-z0-9_-]{43})"', script_of(update) or "")
    assert grant, script_of(update)
    async with httpx.AsyncClient(base_url=shop.url, timeout=10) as client:
        answer = await client.post(
            "/admin-session",
            json={"grant": grant.group(1)},
            headers={"Origin": shop.url, **browser.cookie_header()},
        )
    answer.raise_for_status()
    browser.take_cookies(answer.headers)
    assert "rxshop_admin" in browser.cookies
    return browser


def test_admin_events_without_sign_in_are_refused_and_send_nothing(shop: RunningShop):
    victim = new_visitor_id()
    order_id = shop.make_order(victim, status="paid")
    [row] = [r for r in shop.orders(victim)]
    before = [dict(r) for r in shop.orders()]
    hostile: list[tuple[str, str, dict[str, Any]]] = [
        (ADMIN, "load", {}),
        (ADMIN, "sign_in", {"form_data": {"password": ""}}),
        (ADMIN, "sign_in", {"form_data": {"password": ["x"]}}),
        (ADMIN, "sign_in", {"form_data": "password"}),
        (ADMIN, "sign_out", {}),
        (ADMIN, "sign_out_everywhere", {}),
        (ADMIN, "session_opened", {"result": "ok"}),
        (ADMIN, "session_opened", {"result": "x" * 10_000}),
        (ADMIN, "_end", {"message": "<script>"}),
        (ADMIN, "_refresh_live", {}),
        (ADMIN, "_refresh_summary", {"admin": victim}),
        (ADMIN, "setvar", {"var_name": "signed_in", "value": True}),
        (ORDERS, "load", {}),
        (ORDERS, "apply_filters", {"form_data": {"status": "paid", "search": row["number"]}}),
        (ORDERS, "clear_filters", {}),
        (ORDERS, "sort_by", {"key": "amount_total"}),
        (ORDERS, "go_to_page", {"page": 0}),
        (ORDERS, "download_csv", {}),
        (ORDERS, "_refresh", {"admin": victim}),
        (ORDER, "load", {}),
        (ORDER, "open_refund", {}),
        (ORDER, "close_refund", {}),
        (ORDER, "setvar", {"var_name": "order_id", "value": order_id}),
        (ORDER, "ship", {"form_data": {"carrier": "DHL", "tracking_number": "1"}}),
        (ORDER, "refund", {"form_data": {"amount": "5"}}),
        (ORDER, "refund", {"form_data": {"amount": "5", "reason": "other", "refund_note": "x"}}),
        (ORDER, "edit_tracking", {"form_data": {"carrier": "dhl", "tracking_number": "1234567890"}}),
        (ORDER, "add_note", {"form_data": {"note": "hello"}}),
        (ORDER, "open_tracking", {}),
        (DISCOUNTS, "load", {}),
        (DISCOUNTS, "create", {"form_data": {"code": "FREE100", "kind": "percent", "value": "100"}}),
        (DISCOUNTS, "deactivate", {"promotion_code_id": "promo_123"}),
        (DISCOUNTS, "set_kind", {"kind": ["x"]}),
        (DISCOUNTS, "_refresh", {"admin": victim}),
        (ORDER, "_refresh", {"admin": victim}),
        (REVENUE, "load", {}),
        (REVENUE, "set_range", {"form_data": {"start": "2020-01-01", "end": "2030-01-01"}}),
        (INBOX, "load", {}),
        (INBOX, "toggle_resolved", {"show": True}),
        (INBOX, "resolve", {"form_data": {"kind": "ship_overdue", "reference": order_id, "note": "x"}}),
    ]

    async def scenario() -> list[str]:
        owner = await signed_in_browser(shop)
        tab = RecordingTab(shop.url, identified(shop), path="/admin/orders")
        await tab.open()
        for state, handler, payload in hostile:
            await tab.send(state, handler, **payload)
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.5)
        assert not tab.closed.is_set()  # still connected
        frames = tab.frames + [json.dumps(tab.state)]
        await tab.close()
        # The owner, elsewhere, is still signed in: "Sign out everywhere" from a stranger ended nothing.
        dashboard = Tab(shop.url, owner, path="/admin")
        await dashboard.open()
        assert dashboard.var(ADMIN, "signed_in") is True
        await dashboard.close()
        return frames

    with ThreadPoolExecutor(1) as pool:
        frames = pool.submit(asyncio.run, scenario()).result(timeout=120)

    everything = "\n".join(frames)
    assert len(frames) > 3  # the server answered
    for secret in (order_id, row["number"], victim, row["stripe_session_id"] or order_id):
        assert secret not in everything
    assert not LEAK.search(everything), LEAK.search(everything)
    assert [dict(r) for r in shop.orders()] == before  # nothing shipped, refunded or changed
    admin_state = json.loads(frames[-1])
    assert admin_state[next(k for k in admin_state if k.endswith(ADMIN))]["signed_in"] is False
