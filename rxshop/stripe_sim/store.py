"""In-memory Stripe objects and the rules that change them.

Every method is synchronous: on one event loop nothing else runs between a read and the write that follows
it, so concurrent requests cannot interleave inside an operation. Objects are stored in Stripe's JSON shape
(plain dicts); callers get deep copies. Events go out through the `emit` callback as they happen.
"""

from __future__ import annotations

import copy
import heapq
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rxshop.stripe_sim import cards
from rxshop.stripe_sim.errors import invalid, no_such
from rxshop.stripe_sim.money import format_amount

DEFAULT_LIFETIME = 24 * 3600
_ALPHABET = string.ascii_letters + string.digits

# emit(event_type, object_snapshot, request, previous_attributes)
Emit = Callable[[str, dict[str, Any], dict[str, Any] | None, dict[str, Any] | None], None]


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


class Clock:
    """The simulator's "now": real time plus an offset that only moves forward (POST /_sim/clock/advance)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def timestamp(self) -> int:
        return int(self.now())

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.offset += seconds


@dataclass(frozen=True)
class LineSpec:
    name: str
    unit_amount: int
    quantity: int
    currency: str
    description: str | None = None
    product_metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionSpec:
    """A validated POST /v1/checkout/sessions (see params.py)."""

    line_items: list[LineSpec]
    success_url: str
    cancel_url: str | None = None
    client_reference_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    expires_at: int | None = None
    customer_email: str | None = None
    payment_intent_metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PaymentResult:
    outcome: str  # "paid" | "processing" | "declined" | "not_open"
    session: dict[str, Any]
    card: cards.TestCard | None = None


def _find(objects: dict[str, dict[str, Any]], kind: str, object_id: str, param: str) -> dict[str, Any]:
    """The object with this id, or Stripe's 404 `resource_missing` for it."""
    found = objects.get(object_id)
    if found is None:
        raise no_such(kind, object_id, param=param)
    return found


class Store:
    def __init__(self, clock: Clock, public_url: str, emit: Emit) -> None:
        self.clock = clock
        self.public_url = public_url
        self._emit = emit
        self.settle_after: float | None = None  # seconds until a delayed payment settles by itself
        self.reset()

    def reset(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}  # insertion order = creation order
        self.line_items: dict[str, list[dict[str, Any]]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.session_meta: dict[str, dict[str, Any]] = {}  # simulator-only facts (never sent as Stripe JSON)
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
        session_id = new_id("cs_test_", 58)
        currency = spec.line_items[0].currency
        items = [self._line_item(line, now) for line in spec.line_items]
        total = sum(item["amount_total"] for item in items)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "after_expiration": None,
            "allow_promotion_codes": None,
            "amount_subtotal": total,
            "amount_total": total,
            "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
            "billing_address_collection": None,
            "cancel_url": spec.cancel_url,
            "client_reference_id": spec.client_reference_id,
            "client_secret": None,
            "consent": None,
            "consent_collection": None,
            "created": now,
            "currency": currency,
            "custom_fields": [],
            "custom_text": {
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            "customer": None,
            "customer_creation": "if_required",
            "customer_details": None,
            "customer_email": spec.customer_email,
            "expires_at": spec.expires_at if spec.expires_at is not None else now + DEFAULT_LIFETIME,
            "invoice": None,
            "livemode": False,
            "locale": None,
            "metadata": dict(spec.metadata),
            "mode": "payment",
            "payment_intent": None,
            "payment_link": None,
            "payment_method_collection": "if_required",
            "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": "open",
            "submit_type": None,
            "subscription": None,
            "success_url": spec.success_url,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
            "ui_mode": "hosted",
            "url": f"{self.public_url}/pay/{session_id}",
        }
        self.sessions[session_id] = session
        self.line_items[session_id] = items
        self.session_meta[session_id] = {
            "payment_intent_metadata": dict(spec.payment_intent_metadata),
            "attempts": [],
            "settle_at": None,
        }
        self._schedule(session["expires_at"], "expire", session_id)
        return copy.deepcopy(session)

    def _line_item(self, line: LineSpec, now: int) -> dict[str, Any]:
        product_id = new_id("prod_", 14)
        self.products[product_id] = {
            "id": product_id,
            "object": "product",
            "active": False,
            "created": now,
            "description": line.description,
            "images": [],
            "livemode": False,
            "metadata": dict(line.product_metadata),
            "name": line.name,
            "type": "service",
            "updated": now,
            "url": None,
        }
        amount = line.unit_amount * line.quantity
        return {
            "id": new_id("li_"),
            "object": "item",
            "amount_discount": 0,
            "amount_subtotal": amount,
            "amount_tax": 0,
            "amount_total": amount,
            "currency": line.currency,
            "description": line.name,
            "price": {
                "id": new_id("price_"),
                "object": "price",
                "active": False,
                "billing_scheme": "per_unit",
                "created": now,
                "currency": line.currency,
                "livemode": False,
                "lookup_key": None,
                "metadata": {},
                "nickname": None,
                "product": product_id,
                "recurring": None,
                "tax_behavior": "unspecified",
                "type": "one_time",
                "unit_amount": line.unit_amount,
                "unit_amount_decimal": str(line.unit_amount),
            },
            "quantity": line.quantity,
        }

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
        session["status"] = "expired"
        session["url"] = None
        self._emit("checkout.session.expired", copy.deepcopy(session), request, None)

    def pay(self, session_id: str, *, card_digits: str, email: str, name: str | None = None) -> PaymentResult:
        """What pressing Pay does; a second Pay on a completed session charges nothing (outcome "not_open")."""
        session = self.session(session_id)
        if session["status"] != "open":
            return PaymentResult("not_open", copy.deepcopy(session))
        card = cards.behaviour(card_digits)
        meta = self.session_meta[session_id]
        meta["attempts"].append(
            {
                "at": self.clock.timestamp(),
                "last4": card_digits[-4:],
                "outcome": card.outcome,
                "decline_code": card.decline_code or None,
            }
        )
        if card.outcome == "declines":
            return PaymentResult("declined", copy.deepcopy(session), card)

        now = self.clock.timestamp()
        delayed = card.outcome == "delayed"
        intent_id, charge_id = new_id("pi_"), new_id("ch_")
        amount, currency = session["amount_total"], session["currency"]
        metadata = meta["payment_intent_metadata"]
        method_id = new_id("pm_")
        self.charges[charge_id] = {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": 0,
            "balance_transaction": None,
            "billing_details": {"address": None, "email": email, "name": name, "phone": None},
            "calculated_statement_descriptor": "RXSHOP TEST",
            "captured": True,
            "created": now,
            "currency": currency,
            "customer": None,
            "description": None,
            "disputed": False,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
            "metadata": dict(metadata),
            "outcome": {
                "network_status": "approved_by_network",
                "reason": None,
                "risk_level": "normal",
                "seller_message": "Payment complete.",
                "type": "authorized",
            },
            "paid": not delayed,
            "payment_intent": intent_id,
            "payment_method": method_id,
            "payment_method_details": {
                "card": {
                    "brand": cards.brand(card_digits),
                    "last4": card_digits[-4:],
                    "funding": "credit",
                    "country": "US",
                },
                "type": "card",
            },
            "receipt_email": None,
            "refunded": False,
            "status": "pending" if delayed else "succeeded",
        }
        self.payment_intents[intent_id] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0 if delayed else amount,
            "application": None,
            "application_fee_amount": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "capture_method": "automatic_async",
            "client_secret": f"{intent_id}_secret_{new_id('', 25)}",
            "confirmation_method": "automatic",
            "created": now,
            "currency": currency,
            "customer": None,
            "description": None,
            "last_payment_error": None,
            "latest_charge": charge_id,
            "livemode": False,
            "metadata": dict(metadata),
            "next_action": None,
            "on_behalf_of": None,
            "payment_method": method_id,
            "payment_method_types": ["card"],
            "processing": None,
            "receipt_email": None,
            "review": None,
            "setup_future_usage": None,
            "shipping": None,
            "statement_descriptor": None,
            "status": "processing" if delayed else "succeeded",
            "transfer_data": None,
            "transfer_group": None,
        }
        session.update(
            {
                "status": "complete",
                "payment_status": "unpaid" if delayed else "paid",
                "payment_intent": intent_id,
                "customer_details": {
                    "address": None,
                    "email": email,
                    "name": name,
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
                "url": None,
            }
        )
        self._emit("checkout.session.completed", copy.deepcopy(session), None, None)
        if delayed and self.settle_after is not None:
            meta["settle_at"] = self.clock.now() + self.settle_after
            self._schedule(meta["settle_at"], "settle", session_id)
        return PaymentResult("processing" if delayed else "paid", copy.deepcopy(session), card)

    def settle(self, session_id: str, outcome: str) -> dict[str, Any]:
        """Finish a delayed payment: "succeeded" pays the session, "failed" leaves it complete and unpaid."""
        if outcome not in ("succeeded", "failed"):
            raise invalid('outcome must be "succeeded" or "failed"', param="outcome")
        session = self.session(session_id)
        intent = self.payment_intents.get(session["payment_intent"] or "")
        if intent is None or intent["status"] != "processing":
            raise invalid(
                f"Checkout Session {session_id} has no delayed payment waiting to settle.", param="session"
            )
        charge = self.charges[intent["latest_charge"]]
        self.session_meta[session_id]["settle_at"] = None
        if outcome == "succeeded":
            intent.update({"status": "succeeded", "amount_received": intent["amount"]})
            charge.update({"status": "succeeded", "paid": True})
            session["payment_status"] = "paid"
        else:
            message = "The payment failed after processing."
            intent.update(
                {
                    "status": "requires_payment_method",
                    "last_payment_error": {
                        "charge": charge["id"],
                        "code": "card_declined",
                        "decline_code": "generic_decline",
                        "message": message,
                        "type": "card_error",
                    },
                }
            )
            charge.update(
                {
                    "status": "failed",
                    "paid": False,
                    "amount_captured": 0,
                    "captured": False,
                    "failure_code": "card_declined",
                    "failure_message": message,
                    "outcome": {
                        **charge["outcome"],
                        "network_status": "declined_by_network",
                        "reason": "generic_decline",
                        "type": "issuer_declined",
                        "seller_message": "The bank did not return any further details.",
                    },
                }
            )
        self._emit(f"checkout.session.async_payment_{outcome}", copy.deepcopy(session), None, None)
        return copy.deepcopy(session)

    # ---- refunds --------------------------------------------------------------------------------------

    def create_refund(
        self,
        *,
        payment_intent: str | None,
        charge: str | None,
        amount: int | None,
        reason: str | None,
        metadata: dict[str, str],
        request: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        if charge is not None:
            charge_obj = self.charge(charge, param="charge")
            if payment_intent is not None and charge_obj["payment_intent"] != payment_intent:
                raise invalid(
                    f"Charge {charge} does not belong to PaymentIntent {payment_intent}.",
                    param="payment_intent",
                )
            intent = self.payment_intents[charge_obj["payment_intent"]]
        else:
            assert payment_intent is not None
            intent = self.payment_intent(payment_intent, param="payment_intent")
            charge_obj = self.charges[intent["latest_charge"]]
        if intent["status"] != "succeeded":
            raise invalid(
                f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                param="payment_intent",
                code="charge_not_refundable",
            )
        remaining = charge_obj["amount"] - charge_obj["amount_refunded"]
        if remaining <= 0:
            raise invalid(
                f"Charge {charge_obj['id']} has already been refunded.", code="charge_already_refunded"
            )
        if amount is None:
            amount = remaining
        if amount > remaining:
            currency = charge_obj["currency"]
            raise invalid(
                f"Refund amount ({format_amount(amount, currency)}) is greater than unrefunded amount "
                f"on charge ({format_amount(remaining, currency)})",
                param="amount",
                code="amount_too_large",
            )
        refund_id = new_id("re_")
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": None,
            "charge": charge_obj["id"],
            "created": self.clock.timestamp(),
            "currency": charge_obj["currency"],
            "metadata": dict(metadata),
            "payment_intent": intent["id"],
            "reason": reason,
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }
        self.refunds[refund_id] = refund
        previous = {"amount_refunded": charge_obj["amount_refunded"], "refunded": charge_obj["refunded"]}
        charge_obj["amount_refunded"] += amount
        charge_obj["refunded"] = charge_obj["amount_refunded"] == charge_obj["amount"]
        self._emit("charge.refunded", copy.deepcopy(charge_obj), request, previous)
        return copy.deepcopy(refund)

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
