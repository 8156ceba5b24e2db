"""Floods of events over Reflex's real websocket protocol (bench/reflex_client.py), against the running app.

nginx limits new connections, not the events of an open one, so the handlers limit themselves: the return
page's `verify` with made-up session ids costs Stripe nothing (the database is asked first; 200 of them once
made 200 Stripe requests), and with the visitor's own unsettled session at most its per-connection budget; 30
sign-in attempts sent at once from one address evaluate at most the 5 passwords the policy allows.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from bench.reflex_client import Browser, Tab, changes
from rxshop.domain.identity import COOKIE_NAME, new_visitor_id
from tests.fixtures.servers import RunningShop

RETURN = "___return_state"
ADMIN = "___admin____admin_state"
VERIFY_EVENTS = 5  # rxshop.pages.checkout_success.VERIFY_EVENTS per 10-second window and connection
WRONG = "That password is not right."


class RecordingTab(Tab):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.frames: list[str] = []

    def _apply(self, update: dict) -> None:
        self.frames.append(json.dumps(update))
        super()._apply(update)


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


def visitor_of(browser: Browser) -> str:
    return browser.cookies[COOKIE_NAME].split(".")[1]


class StripeRequests:
    """/v1 requests the running simulator answered from now on: each uses up one step of a queued 0 ms
    latency fault, whose `remaining` the control API reports (nothing in the app is touched)."""

    QUEUED = 100_000

    def __init__(self, shop: RunningShop) -> None:
        self.shop = shop
        httpx.delete(f"{shop.sim}/_sim/faults").raise_for_status()
        shop.control("faults", {"kind": "latency", "count": self.QUEUED, "latency_ms": 0})

    @property
    def count(self) -> int:
        faults = self.shop.control("faults")["faults"]
        return self.QUEUED - (faults[0]["remaining"] if faults else 0)

    def stop(self) -> None:
        httpx.delete(f"{self.shop.sim}/_sim/faults").raise_for_status()


async def flood_verify(tab: Tab, session_ids: list[str]) -> None:
    """Send `verify` once per id (the page's query as each event's router data), all at once."""
    for session_id in session_ids:
        tab.query = {"session_id": session_id}
        await tab.send(RETURN, "verify")
    tab.query = {}


async def quiet(tab: Tab, seconds: float = 30) -> None:
    """Until no update came for a second after the flood (its background events are done)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        before = tab.updates
        await asyncio.sleep(1.0)
        if tab.updates == before:
            return
    raise AssertionError("the return page kept changing")


def outcomes(tab: RecordingTab) -> set[str]:
    """Every outcome the page showed."""
    seen = set()
    for frame in tab.frames:
        for name, delta in json.loads(frame).get("delta", {}).items():
            if name.endswith(RETURN) and "outcome_rx_state_" in delta:
                seen.add(delta["outcome_rx_state_"])
    return seen


def test_the_return_page_floods_cost_stripe_at_most_a_budget(shop: RunningShop):
    browser = identified(shop)
    own = shop.make_order(visitor_of(browser), status="pending")
    victim = shop.make_order(new_visitor_id(), status="pending")
    sessions = {r["id"]: r["stripe_session_id"] for r in shop.orders()}
    requests = StripeRequests(shop)

    async def scenario() -> tuple[int, int, set[str], set[str], str]:
        made_up = RecordingTab(shop.url, browser, path="/checkout/success")
        await made_up.open()
        ids = ["cs_test_" + secrets.token_hex(29) for _ in range(199)] + [sessions[victim]]
        await flood_verify(made_up, ids)
        await quiet(made_up)
        after_made_up = requests.count
        await made_up.close()

        mine = RecordingTab(shop.url, browser, path="/checkout/success")
        await mine.open()
        await flood_verify(mine, [sessions[own]] * 200)
        await quiet(mine)
        after_own = requests.count - after_made_up
        await mine.close()
        frames = "\n".join(made_up.frames + mine.frames)
        return after_made_up, after_own, outcomes(made_up), outcomes(mine), frames

    try:
        made_up_requests, own_requests, made_up_seen, own_seen, frames = run(scenario())
    finally:
        requests.stop()
    assert made_up_requests == 0  # 200 made-up or other visitors' ids: not one Stripe request
    # Its own pending order's session: Stripe is asked, within the connection's budget (a burst may
    # straddle two 10-second windows).
    assert 1 <= own_requests <= 2 * VERIFY_EVENTS, own_requests
    assert {"not_found", "busy"} <= made_up_seen and "busy" in own_seen  # the page says why it stopped
    assert "Traceback" not in frames


def _failures(shop: RunningShop, key: str = "127.0.0.1") -> int:
    with sqlite3.connect(shop.db_path) as conn:
        row = conn.execute(
            "SELECT failures FROM admin_login_failures WHERE client_key = ?", (key,)
        ).fetchone()
    return row[0] if row else 0


def test_30_sign_ins_at_once_from_one_address_evaluate_at_most_5_passwords(shop: RunningShop):
    """30 tabs (30 connections, so no per-connection budget is what stops them) send a wrong password at
    the same moment, from one address: the attempts are claimed in the database before any hashing."""
    with sqlite3.connect(shop.db_path) as conn:  # whatever earlier tests left: this test counts from 0
        conn.execute("DELETE FROM admin_login_failures")

    async def scenario() -> tuple[list[str], float]:
        browser = identified(shop)
        tabs = [RecordingTab(shop.url, browser, path="/admin") for _ in range(30)]
        await asyncio.gather(*(tab.open() for tab in tabs))
        answered = [tab.wait_for(changes(ADMIN, "sign_in_error")) for tab in tabs]
        started = time.monotonic()
        await asyncio.gather(
            *(
                tab.send(ADMIN, "sign_in", form_data={"password": f"wrong guess {i}"})
                for i, tab in enumerate(tabs)
            )
        )
        await asyncio.wait_for(asyncio.gather(*answered), 60)
        elapsed = time.monotonic() - started
        errors = [tab.var(ADMIN, "sign_in_error") for tab in tabs]
        await asyncio.gather(*(tab.close() for tab in tabs))
        return errors, elapsed

    try:
        errors, elapsed = run(scenario())
        evaluated = errors.count(WRONG)
        # 5 free; one more for each wait (2, 4, 8 s…) that passed while the burst lasted.
        allowed = 5 + sum(1 for waited in (2, 6, 14, 30) if elapsed >= waited)
        assert 1 <= evaluated <= allowed, (evaluated, elapsed, errors)
        assert all(e == WRONG or e.startswith("Too many attempts. Try again in") for e in errors), errors
        assert _failures(shop) == evaluated  # each counted attempt is one evaluated password
    finally:
        with sqlite3.connect(shop.db_path) as conn:  # the next tests start with a clean slate
            conn.execute("DELETE FROM admin_login_failures")
