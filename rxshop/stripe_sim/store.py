"""In-memory Stripe objects and the rules that change them: the tables, lookups, checkout sessions, expiry.

Every method is synchronous: on one event loop nothing else runs between a read and the write that follows
it, so concurrent requests cannot interleave inside an operation. Objects are stored in Stripe's JSON shape
(plain dicts, built by objects/); callers get deep copies. Events go out through the `emit` callback as
they happen, in the order Stripe sends them. Paying, settling and refunding live in payments.py.
"""

from __future__ import annotations

import copy
import heapq
from collections.abc import Callable
from typing import Any

from rxshop.stripe_sim.catalog import Catalog, CodeRefused
from rxshop.stripe_sim.clock import Clock
from rxshop.stripe_sim.errors import invalid, no_such
from rxshop.stripe_sim.ids import new_id
from rxshop.stripe_sim.objects import catalog as catalog_shapes
from rxshop.stripe_sim.objects import checkout as shapes
from rxshop.stripe_sim.payments import Payments
from rxshop.stripe_sim.pricing import Discount, price_session
from rxshop.stripe_sim.specs import SessionSpec

DEFAULT_LIFETIME = 24 * 3600

# emit(event_type, object_snapshot, request, previous_attributes)
Emit = Callable[[str, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None], None]


def _find(objects_: dict[str, dict[str, Any]], kind: str, object_id: str, param: str) -> dict[str, Any]:
    """The object with this id, or Stripe's 404 `resource_missing` for it."""
    found = objects_.get(object_id)
    if found is None:
        raise no_such(kind, object_id, param=param)
    return found


class Store(Payments):
    """Every object the simulator holds, by id, and the operations on checkout sessions."""

    def __init__(self, clock: Clock, public_url: str, emit: Emit) -> None:
        self.clock = clock
        self.public_url = public_url
        self._emit = emit
        self.settle_after: float | None = None  # seconds until a delayed payment settles by itself
        self.catalog = Catalog()
        # Stripe shows the dynamic payment methods configuration every session uses; one per simulator.
        self.configuration_id = new_id("pmc_", 24)
        self.reset()

    def reset(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}  # insertion order = creation order
        self.line_items: dict[str, list[dict[str, Any]]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.session_meta: dict[str, dict[str, Any]] = {}  # simulator-only facts (never sent as Stripe JSON)
        self.catalog.reset()
        self._due: list[tuple[float, int, str, str]] = []  # (when, seq, "expire"|"settle", session id)
        self._seq = 0

    # ---- lookups --------------------------------------------------------------------------------------

    def session(self, session_id: str, *, param: str = "id") -> dict[str, Any]:
        return _find(self.sessions, "checkout.session", session_id, param)

    def payment_intent(self, intent_id: str, *, param: str = "id") -> dict[str, Any]:
        return _find(self.payment_intents, "payment_intent", intent_id, param)

    def charge(self, charge_id: str, *, param: str = "id") -> dict[str, Any]:
        return _find(self.charges, "charge", charge_id, param)

    def refund(self, refund_id: str, *, param: str = "id") -> dict[str, Any]:
        return _find(self.refunds, "refund", refund_id, param)

    def product(self, product_id: str) -> dict[str, Any]:
        return _find(self.products, "product", product_id, "id")

    def sessions_newest_first(self) -> list[dict[str, Any]]:
        return list(reversed(self.sessions.values()))

    # ---- checkout sessions ----------------------------------------------------------------------------

    def create_session(self, spec: SessionSpec) -> dict[str, Any]:
        now = self.clock.timestamp()
        currency = spec.line_items[0].currency
        rates = [
            self._shipping_option(option, i, currency, now) for i, option in enumerate(spec.shipping_options)
        ]
        discount = self._session_discount(
            spec, currency, sum(li.unit_amount * li.quantity for li in spec.line_items)
        )
        session_id = new_id("cs_test_", 58)
        items = []
        for line in spec.line_items:
            product_id = new_id("prod_", 14)
            self.products[product_id] = shapes.product(product_id=product_id, now=now, line=line)
            items.append(
                shapes.line_item(
                    item_id=new_id("li_"),
                    price_id=new_id("price_"),
                    product_id=product_id,
                    now=now,
                    line=line,
                )
            )
        spec_expiry = spec.expires_at if spec.expires_at is not None else now + DEFAULT_LIFETIME
        amounts = price_session(
            [i["amount_subtotal"] for i in items], currency, discount, rates[0] if rates else None
        )
        session = shapes.checkout_session(
            session_id=session_id,
            now=now,
            url=f"{self.public_url}/pay/{session_id}",
            spec=spec,
            currency=currency,
            amounts=amounts,
            shipping_options=[
                {"shipping_amount": r["fixed_amount"]["amount"], "shipping_rate": r["id"]} for r in rates
            ],
            configuration_id=self.configuration_id,
        )
        session["expires_at"] = spec_expiry
        self.sessions[session_id] = session
        self.line_items[session_id] = items
        self.session_meta[session_id] = {
            "payment_intent_metadata": dict(spec.payment_intent_metadata),
            "attempts": [],
            "settle_at": None,
            "discount": discount,
            "intent": None,  # the payment intent of declined attempts, reused by the next one (as Stripe)
        }
        self._reprice(session)
        self._schedule(session["expires_at"], "expire", session_id)
        return copy.deepcopy(session)

    def _shipping_option(self, option: dict[str, Any], index: int, currency: str, now: int) -> dict[str, Any]:
        param = f"shipping_options[{index}]"
        if "shipping_rate" in option:
            rate = self.catalog.find(
                "shipping_rate", option["shipping_rate"], param=f"{param}[shipping_rate]", in_params=True
            )
        else:
            rate_id = new_id("shr_")
            rate = catalog_shapes.shipping_rate(rate_id=rate_id, now=now, data=option["shipping_rate_data"])
            self.catalog.shipping_rates[rate_id] = rate
        if rate["fixed_amount"]["currency"] != currency:
            raise invalid(
                f"The shipping rate's currency ({rate['fixed_amount']['currency']}) must match the "
                f"Checkout Session's currency ({currency}).",
                param=param,
            )
        if not rate["active"]:
            raise invalid(f"The shipping rate {rate['id']} is not active.", param=param)
        return rate

    def _session_discount(self, spec: SessionSpec, currency: str, subtotal: int) -> Discount | None:
        if not spec.discounts:
            return None
        [wanted] = spec.discounts
        now = self.clock.timestamp()
        if "promotion_code" in wanted:
            promo = self.catalog.find(
                "promotion_code",
                wanted["promotion_code"],
                param="discounts[0][promotion_code]",
                in_params=True,
            )
            try:
                return self.catalog.check_promotion(promo, currency, subtotal, now)
            except CodeRefused as refused:
                raise invalid(
                    f"This promotion code cannot be redeemed: {refused.message}",
                    param="discounts[0][promotion_code]",
                ) from None
        coupon = self.catalog.find("coupon", wanted["coupon"], param="discounts[0][coupon]", in_params=True)
        problem = self.catalog.coupon_problem(coupon, currency, now)
        if problem:
            raise invalid(f"This coupon cannot be redeemed: {problem}", param="discounts[0][coupon]")
        return Discount(coupon, None)

    def _reprice(self, session: dict[str, Any]) -> None:
        """Recompute amounts from the lines, the applied discount and the chosen shipping rate."""
        items = self.line_items[session["id"]]
        meta = self.session_meta[session["id"]]
        rate_id = (session["shipping_cost"] or {}).get("shipping_rate")
        rate = self.catalog.shipping_rates.get(rate_id) if rate_id else None
        amounts = price_session(
            [i["amount_subtotal"] for i in items], session["currency"], meta["discount"], rate
        )
        for item, line_discount in zip(items, amounts["line_discounts"], strict=True):
            item["amount_discount"] = line_discount
            item["amount_total"] = item["amount_subtotal"] - line_discount
        for key in ("amount_subtotal", "amount_total", "discounts", "shipping_cost", "total_details"):
            session[key] = amounts[key]

    def apply_promotion_code(self, session_id: str, code: str) -> dict[str, Any]:
        """The buyer types a code on the hosted page: CodeRefused with Checkout's message if it can't apply."""
        session = self.session(session_id)
        if not session["allow_promotion_codes"]:
            raise CodeRefused("This checkout does not accept promotion codes.")
        promo = self.catalog.promotion_by_code(code)
        if promo is None:
            raise CodeRefused("This code is invalid.")
        discount = self.catalog.check_promotion(
            promo, session["currency"], session["amount_subtotal"], self.clock.timestamp()
        )
        self.session_meta[session_id]["discount"] = discount
        self._reprice(session)
        return copy.deepcopy(session)

    def remove_promotion_code(self, session_id: str) -> None:
        session = self.session(session_id)
        if session["allow_promotion_codes"]:
            self.session_meta[session_id]["discount"] = None
            self._reprice(session)

    def choose_shipping_rate(self, session_id: str, rate_id: str) -> None:
        session = self.session(session_id)
        if rate_id not in [o["shipping_rate"] for o in session["shipping_options"]]:
            raise invalid(f"{rate_id} is not one of this session's shipping options.", param="shipping_rate")
        session["shipping_cost"] = {"shipping_rate": rate_id}
        self._reprice(session)

    def expire_session(self, session_id: str, *, request: dict[str, Any] | None = None) -> dict[str, Any]:
        """Expire an open session (API, control API or the clock); anything else is refused like Stripe."""
        session = self.session(session_id)
        if session["status"] != "open":
            raise invalid(
                f'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout Session has a '
                f'status of "{session["status"]}".',
                param="session",
            )
        self._expire(session, request)
        return copy.deepcopy(session)

    def _expire(self, session: dict[str, Any], request: dict[str, Any] | None) -> None:
        """Stripe cancels the payment intent of earlier declined attempts, then says the session expired."""
        intent = self.session_meta[session["id"]]["intent"]
        if intent is not None and intent["status"] == "requires_payment_method":
            intent.update(
                {
                    "status": "canceled",
                    "canceled_at": self.clock.timestamp(),
                    "cancellation_reason": "abandoned",
                }
            )
            self._emit("payment_intent.canceled", copy.deepcopy(intent), request, None)
        session["status"] = "expired"
        session["url"] = None
        self._emit("checkout.session.expired", copy.deepcopy(session), request, None)

    # ---- time -----------------------------------------------------------------------------------------

    def _schedule(self, when: float, kind: str, session_id: str) -> None:
        self._seq += 1
        heapq.heappush(self._due, (when, self._seq, kind, session_id))

    def sweep(self) -> None:
        """Expire sessions and settle delayed payments whose time has come on the simulated clock.

        Called before every request, by a periodic task and after the clock moves, so a late sweep never
        shows stale state.
        """
        now = self.clock.now()
        while self._due and self._due[0][0] <= now:
            when, _, kind, session_id = heapq.heappop(self._due)
            session = self.sessions.get(session_id)
            if session is None:
                continue
            if kind == "expire" and session["status"] == "open":
                self._expire(session, None)
            elif kind == "settle" and self.session_meta[session_id]["settle_at"] == when:
                self.settle(session_id, "succeeded")
