"""Hostile input through Reflex's real websocket protocol, and what every frame of a purchase carries.

A script, not a browser: `bench/reflex_client.py` speaks socket.io at `/_event` exactly as the compiled
frontend does, so it can send what the page never would (wrong types, private handlers, `setvar`, other
visitors' ids, oversized payloads) to the running production app. Each is refused with a message or
ignored; nothing is written; no traceback reaches the client; the connection and other clients keep
working. And no frame of a whole purchase carries a secret or another visitor's data.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from bench.reflex_client import Browser, Tab, changes, script_of
from rxshop.domain.identity import COOKIE_NAME, new_visitor_id
from tests.fixtures.servers import RunningShop

CART = "___cart____cart_state"
CHECKOUT = "___checkout____checkout_state"
ORDERS = "___orders____orders_state"
VISITOR = "___visitor____visitor_state"
RETURN = "___return_state"
# What a leaked stack trace or exception looks like in a frame.
LEAK = re.compile(
    r"Traceback|File \"|\b(Type|Key|Attribute|Value|Index|Name|Runtime)Error\b|sqlalchemy|/rxshop/"
)


class RecordingTab(Tab):
    """A tab that keeps every update the server sent it, as text."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames: list[str] = []

    def _apply(self, update: dict) -> None:
        self.frames.append(json.dumps(update))
        super()._apply(update)


def says_paid(frame: str) -> bool:
    """A frame (an update as JSON) that shows the order paid."""
    return '"paid"' in frame or "fulfilled" in frame


def run(coroutine: Any) -> Any:
    """Run an async scenario beside Playwright's own loop (the e2e process is synchronous)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=240)


def identified(shop: RunningShop) -> Browser:
    """A browser profile holding a credential, as the page's script gets it from POST /visitor."""
    response = httpx.post(f"{shop.url}/visitor", json={}, headers={"Origin": shop.url}, timeout=10)
    response.raise_for_status()
    browser = Browser()
    browser.cookies[COOKIE_NAME] = response.cookies[COOKIE_NAME]
    return browser


async def settle(tab: Tab, seconds: float = 0.3) -> None:
    """Give the server time to answer events that, by design, change nothing visible."""
    await asyncio.sleep(seconds)


HOSTILE: list[tuple[str, str, dict[str, Any]]] = [
    (CART, "set_quantity", {"product_id": "mug", "value": -1}),
    (CART, "set_quantity", {"product_id": "mug", "value": 1.5}),
    (CART, "set_quantity", {"product_id": "mug", "value": 10**30}),
    (CART, "set_quantity", {"product_id": "mug", "value": "1e3"}),
    (CART, "set_quantity", {"product_id": "mug", "value": "x" * 100_000}),
    (CART, "set_quantity", {"product_id": "hat", "value": 1}),
    (CART, "set_quantity", {"product_id": ["mug"], "value": 1}),
    (CART, "set_quantity", {"product_id": {"$gt": ""}, "value": 1}),
    (CART, "set_quantity", {"product_id": "mug"}),
    (CART, "set_quantity", {"product_id": "mug", "value": 1, "price": 1}),
    (CART, "increment", {"product_id": None}),
    (CART, "decrement", {"product_id": "../../etc/passwd"}),
    (CART, "clear", {"everything": True}),
    (CART, "_change", {"change": "clear_cart"}),
    (CART, "_show", {"quantities": {"mug": 99}}),
    (CART, "load", {"visitor_id": "0" * 32}),
    (CART, "setvar", {"var_name": "quantities", "value": {"mug": -5}}),
    (CART, "setvar", {"var_name": "notice", "value": "<script>alert(1)</script>"}),
    (CHECKOUT, "buy", {"price": 1}),
    (CHECKOUT, "setvar", {"var_name": "busy", "value": True}),
    (CHECKOUT, "reset_progress", {"x": 1}),
    (ORDERS, "go_to_page", {"page": -1}),
    (ORDERS, "go_to_page", {"page": "1"}),
    (ORDERS, "go_to_page", {"page": 10**9}),
    (ORDERS, "go_to_page", {"page": True}),
    (ORDERS, "setvar", {"var_name": "orders", "value": [{"id": "ord_x"}]}),
    (VISITOR, "claimed", {"result": "x" * 10_000}),
    (VISITOR, "setvar", {"var_name": "ready", "value": True}),
    (VISITOR, "_checked_id", {}),
]


def test_every_hostile_event_is_refused_and_nothing_is_written(shop: RunningShop):
    victim = new_visitor_id()
    victim_order = shop.make_order(victim)
    orders_before = len(shop.orders())

    async def scenario() -> tuple[list[str], dict, dict]:
        attacker = RecordingTab(shop.url, identified(shop))
        bystander = RecordingTab(shop.url, identified(shop))
        await attacker.open()
        await bystander.open()
        await attacker.call(CART, "set_quantity", changes(CART, "quantities"), product_id="mug", value="2")
        await bystander.call(CART, "set_quantity", changes(CART, "quantities"), product_id="tote", value="1")
        # A refusal is explained in words (the page shows and announces it).
        _, refused = await attacker.call(
            CART, "set_quantity", changes(CART, "notice"), product_id="mug", value="-3"
        )
        notice = attacker.var(CART, "notice")
        for state, handler, payload in HOSTILE:
            await attacker.send(state, handler, **payload)
            await settle(attacker, 0.05)
        # Handlers meant to be private, aimed at another visitor's orders.
        await attacker.send(ORDERS, "_refresh", visitor_id=victim)
        await attacker.send(f"{ORDERS}", "load", visitor_id=victim)
        await attacker.send(CART, "_push", visitor_id=victim)
        await attacker.send(CART, "_read")
        # Unknown handlers and states.
        for name in ("reflex___state____state.nope", "no_such_state.handler", "", "x" * 5000):
            await attacker.ws.send(f"42/_event,{json.dumps(['event', {'name': name, 'payload': {}}])}")
        await settle(attacker, 1.0)
        # Still connected and working, for the attacker and for everyone else.
        await attacker.call(CART, "set_quantity", changes(CART, "quantities"), product_id="tote", value="3")
        await bystander.call(CART, "set_quantity", changes(CART, "quantities"), product_id="mug", value="4")
        cart = attacker.state[attacker.state_name(CART)]
        other = bystander.state[bystander.state_name(CART)]
        frames = attacker.frames + bystander.frames
        await attacker.close()
        await bystander.close()
        return frames, cart, other, notice

    frames, cart, other, notice = run(scenario())

    assert len(frames) > len(HOSTILE) / 2  # the server answered (deltas, refusals), it did not just drop us
    assert cart["quantities"] == {"mug": 2, "tote": 3}  # nothing hostile stuck
    assert other["quantities"] == {"tote": 1, "mug": 4}
    assert "<script>" not in json.dumps(cart)
    assert len(shop.orders()) == orders_before  # nothing written
    leaks = [frame for frame in frames if LEAK.search(frame)]
    assert leaks == [], leaks[:3]
    assert not any(victim in frame or victim_order in frame for frame in frames)
    assert notice and not LEAK.search(notice), notice


def test_no_frame_of_a_whole_purchase_carries_a_secret_or_another_visitors_data(shop: RunningShop):
    victim = new_visitor_id()
    victim_order = shop.make_order(victim)
    config = shop.control("config")
    secrets_to_find = {
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "webhook secret": config["webhook_secret"],
    }
    if config.get("api_key"):
        secrets_to_find["Stripe key"] = config["api_key"]

    async def scenario() -> tuple[list[str], str]:
        browser = identified(shop)
        credential = browser.cookies[COOKIE_NAME]
        shop_tab = RecordingTab(shop.url, browser)
        await shop_tab.open()
        await shop_tab.call(CART, "set_quantity", changes(CART, "quantities"), product_id="mug", value="2")
        _, update = await shop_tab.call(CHECKOUT, "buy", lambda u: script_of(u) is not None)
        url = re.search(r"https?://[^\"']+/pay/(cs_test_\w+)", script_of(update) or "")
        assert url, script_of(update)
        session_id = url.group(1)
        shop.control(f"sessions/{session_id}/pay", {"card": "4242424242424242", "email": "buyer@example.com"})
        back = RecordingTab(shop.url, browser, path="/checkout/success")
        back.query = {"session_id": session_id}
        await back.open()
        # The webhook may have paid the order already, so the page can say so before open() returns.
        paid = back.wait_for(lambda u: says_paid(json.dumps(u)))
        if not any(says_paid(frame) for frame in back.frames):
            await asyncio.wait_for(paid, 30)
        orders_tab = RecordingTab(shop.url, browser, path="/orders")
        await orders_tab.open()
        await settle(orders_tab, 1.0)
        frames = shop_tab.frames + back.frames + orders_tab.frames
        for tab in (shop_tab, back, orders_tab):
            await tab.close()
        return frames, credential

    frames, credential = run(scenario())
    everything = "\n".join(frames)
    assert says_paid(everything)  # the purchase really happened
    for name, value in {**secrets_to_find, "the credential cookie": credential}.items():
        assert value not in everything, f"{name} reached the browser"
    assert not re.search(r"(sk|rk)_(test|live)_\w{8,}|whsec_\w{8,}", everything)
    assert victim not in everything and victim_order not in everything
