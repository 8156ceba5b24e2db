"""One buyer's order in the soak (bench/soak.py), through the shop's real interface, and the webhooks Stripe
sends for it, in a realistic day's mix.

The buyer's tab opens `/`, fills the cart with the shop's own handlers and presses Buy (timed: the Buy round
trip, to the redirect to the hosted page); the simulator's control API then does what the hosted page does
for the buyer (pay, pay with a delayed card and settle, or let the session expire); the buyer comes back to
the return page (`/checkout/success?session_id=`), which pays the order when the webhook has not yet. The
events are the simulator's own (their full objects, as Stripe sends them; it has no webhook URL here, so it
only records them), fetched through the control API and sent signed to the shop's endpoint by this module:
so the order of webhook and return page is chosen, each POST is timed, and redeliveries are the same event id
again. The mix (issue 22, mix (d)): each order one checkout.session.completed, 20 % of them after the return
page, 3 % delayed payments (half succeed, half fail), 5 % sessions that expire, 2 % refunds, 10 % of the
events delivered twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from _support import API_KEY, WEBHOOK_SECRET
from buy_burst import APPS, CART
from reflex_client import Browser, Tab, changes, script_of

SPEC = APPS["rxshop"]
RETURN_STATE = "____return_state"
DELAYED_CARD = "4000000000000077"  # the simulator's test card whose payment settles later
# What the shop's endpoint is subscribed to (deploy/README.md): the rest the simulator records is skipped.
SUBSCRIBED = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
        "charge.refunded",
    }
)
MIX = {"late": 0.20, "async": 0.03, "expired": 0.05, "refund": 0.02, "redeliver": 0.10}


@dataclass
class Tally:
    """What the day did: timings since the start, each session's expected end, counts and failures."""

    started: float = field(default_factory=time.monotonic)
    buys: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, Buy round trip)
    hooks: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, POST latency)
    expected: dict[str, str] = field(default_factory=dict)  # session id -> the order's status at the end
    counts: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    phases: list[tuple[str, float, float]] = field(default_factory=list)  # (phase, since start, seconds)

    def now(self) -> float:
        """Seconds since the timed part began (per-minute series and windows are cut by it)."""
        return time.monotonic() - self.started

    @contextlib.asynccontextmanager
    async def phase(self, name: str):
        """Time one step of an order (where a slower day would come from, if it came)."""
        started = time.perf_counter()
        yield
        self.phases.append((name, self.now(), time.perf_counter() - started))


def signed(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    """Stripe's signature header: t=<ts>,v1=HMAC-SHA256(secret, "<ts>.<body>")."""
    now = int(time.time())
    mac = hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={now},v1={mac}", "Content-Type": "application/json"}


class Day:
    """Orders, one after another per buyer loop, against one shop and one simulator."""

    def __init__(self, shop_url: str, sim_url: str, rng: random.Random, tally: Tally) -> None:
        self.shop_url, self.sim_url, self.rng, self.tally = shop_url, sim_url, rng, tally
        self.http = httpx.AsyncClient(timeout=60)
        self.sent: set[str] = set()  # event ids delivered already
        self.redeliveries: set[asyncio.Task] = set()
        self.timed = True  # False during the warm-up: orders count, timings do not

    async def aclose(self) -> None:
        """Wait for the redeliveries still pending, so none is lost from the counts."""
        await asyncio.gather(*self.redeliveries, return_exceptions=True)
        await self.http.aclose()

    # --- the buyer's side ----------------------------------------------------------------------------------

    async def buy(self, browser: Browser) -> str:
        """Open `/`, fill the cart, press Buy; the Checkout Session's id (the Buy round trip is timed)."""
        tab = Tab(self.shop_url, browser, path="/")
        try:
            await tab.open(60)
            for product, quantity in CART:
                until = changes(SPEC["cart"], SPEC["cart_var"])
                await tab.call(SPEC["cart"], "set_quantity", until, 60, product_id=product, value=quantity)
            seconds, update = await tab.call(SPEC["checkout"], "buy", script_of, 90)
        finally:
            await tab.close()
        script = script_of(update) or ""
        if not script.startswith("window.location.assign("):
            raise RuntimeError(f"Buy did not redirect: {update}")
        if self.timed:
            self.tally.buys.append((self.tally.now(), seconds))
        url = json.loads(script.removeprefix("window.location.assign(").removesuffix(")"))
        return url.split("?")[0].rsplit("/", 1)[-1]

    async def return_page(self, browser: Browser, session_id: str) -> str:
        """The buyer back on the return page: its outcome once the shop has verified the session."""
        tab = Tab(self.shop_url, browser, path="/checkout/success")
        tab.query = {"session_id": session_id}
        try:
            await tab.open(60)
            name = tab.state_name(RETURN_STATE)
            if not tab.state[name].get("outcome"):
                await asyncio.wait_for(tab.wait_for(lambda _u: bool(tab.state[name].get("outcome"))), 60)
            outcome = str(tab.state[name]["outcome"])
        finally:
            await tab.close()
        self.tally.counts[f"return page: {outcome}"] += 1
        return outcome

    # --- Stripe's side -------------------------------------------------------------------------------------

    async def control(self, path: str, body: dict | None = None) -> dict:
        """The simulator's control API: POST with a body, GET without."""
        url = f"{self.sim_url}/_sim/{path}"
        response = await (self.http.post(url, json=body or {}) if body is not None else self.http.get(url))
        response.raise_for_status()
        return response.json()

    async def refund(self, session_id: str) -> str:
        """A full refund made at Stripe (as from its dashboard); the charge's id."""
        view = await self.control(f"sessions/{session_id}")
        response = await self.http.post(
            f"{self.sim_url}/v1/refunds",
            data={"payment_intent": view["session"]["payment_intent"]},
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        response.raise_for_status()
        return view["charge"]["id"]

    async def deliver(self, object_id: str) -> None:
        """Every subscribed event of this object not sent yet, oldest first; some again a moment later."""
        listed = await self.control(f"events?object_id={object_id}")
        for summary in listed["data"]:
            if summary["type"] not in SUBSCRIBED or summary["id"] in self.sent:
                continue
            self.sent.add(summary["id"])
            event = (await self.control(f"events/{summary['id']}"))["event"]
            body = json.dumps(event).encode()
            await self.post(body, event["type"])
            if self.rng.random() < MIX["redeliver"]:
                task = asyncio.create_task(self._again(body, event["type"], self.rng.uniform(0.2, 5)))
                self.redeliveries.add(task)
                task.add_done_callback(self.redeliveries.discard)

    async def _again(self, body: bytes, kind: str, delay: float) -> None:
        """A redelivery: the same event id and body, signed anew, a moment later (as Stripe retries)."""
        await asyncio.sleep(delay)
        await self.post(body, kind + " (again)")

    async def post(self, body: bytes, kind: str) -> None:
        """One signed delivery, timed; anything but 200 is an error of the day."""
        started = time.perf_counter()
        try:
            response = await self.http.post(
                f"{self.shop_url}/stripe/webhook", content=body, headers=signed(body)
            )
        except httpx.HTTPError as err:
            self.tally.errors.append(f"webhook {kind}: {err!r}")
            return
        seconds = time.perf_counter() - started
        self.tally.counts[f"webhook {kind}"] += 1
        if response.status_code != 200:
            self.tally.errors.append(f"webhook {kind}: {response.status_code} {response.text[:200]}")
        elif self.timed:
            self.tally.hooks.append((self.tally.now(), seconds))

    # --- one order -----------------------------------------------------------------------------------------

    async def order(self, browser: Browser) -> None:
        """Buy, then one fate of the day's mix; the session's expected end goes into the tally."""
        async with self.tally.phase("buy (open /, cart, Buy)"):
            session_id = await self.buy(browser)
        draw = self.rng.random()
        if draw < MIX["expired"]:
            await self.control(f"sessions/{session_id}/expire", {})
            await self.deliver(session_id)
            self.tally.expected[session_id] = "expired"
        elif draw < MIX["expired"] + MIX["async"]:
            await self.delayed(browser, session_id, succeed=self.rng.random() < 0.5)
        else:
            await self.paid(browser, session_id)
        self.tally.counts["orders"] += 1

    async def paid(self, browser: Browser, session_id: str) -> None:
        """A card payment; webhook and return page in either order; now and then a refund at Stripe."""
        async with self.tally.phase("pay (simulator)"):
            await self.control(f"sessions/{session_id}/pay", {})
        if self.rng.random() < MIX["late"]:  # back on the return page before the webhook
            async with self.tally.phase("return page"):
                await self.return_page(browser, session_id)
            async with self.tally.phase("webhooks"):
                await self.deliver(session_id)
        else:
            async with self.tally.phase("webhooks"):
                await self.deliver(session_id)
            async with self.tally.phase("return page"):
                await self.return_page(browser, session_id)
        self.tally.expected[session_id] = "paid"
        if self.rng.random() < MIX["refund"] / (1 - MIX["expired"] - MIX["async"]):
            await self.deliver(await self.refund(session_id))
            self.tally.expected[session_id] = "refunded"

    async def delayed(self, browser: Browser, session_id: str, *, succeed: bool) -> None:
        """A delayed payment: completed unpaid (processing), then it succeeds or fails."""
        await self.control(f"sessions/{session_id}/pay", {"card": DELAYED_CARD})
        await self.deliver(session_id)  # completed, unpaid: the order is processing
        await self.return_page(browser, session_id)
        outcome = "succeeded" if succeed else "failed"
        await self.control(f"sessions/{session_id}/settle", {"outcome": outcome})
        await self.deliver(session_id)
        self.tally.expected[session_id] = "paid" if succeed else "failed"
