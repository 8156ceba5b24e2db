"""Paying a session, settling a delayed payment and refunding, with the events Stripe sends for each.

Event sequences (each event carries the object as it is at that moment):
- card paid: [customer.created], payment_intent.created, charge.succeeded, payment_intent.succeeded,
  checkout.session.completed
- card declined: payment_intent.created (first attempt only), charge.failed, payment_intent.payment_failed;
  the next attempt reuses that payment intent, as Checkout does
- delayed: payment_intent.created, payment_intent.processing, charge.pending, checkout.session.completed,
  then charge.succeeded, payment_intent.succeeded, checkout.session.async_payment_succeeded
  or charge.failed, payment_intent.payment_failed, checkout.session.async_payment_failed
- refund: charge.refunded, refund.created, then refund.updated and charge.refund.updated when the card
  network's reference arrives (at once here)
Store (store.py) mixes this in; it owns the tables and the clock used here.
"""

from __future__ import annotations

import copy
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from rxshop.stripe_sim import cards
from rxshop.stripe_sim.errors import invalid
from rxshop.stripe_sim.ids import new_id
from rxshop.stripe_sim.money import format_amount
from rxshop.stripe_sim.objects import checkout as checkout_shapes
from rxshop.stripe_sim.objects import payments as shapes

_APPROVED = {
    "network_status": "approved_by_network",
    "seller_message": "Payment complete.",
    "type": "authorized",
}


@dataclass(frozen=True)
class PaymentResult:
    outcome: str  # "paid" | "processing" | "declined" | "not_open"
    session: dict[str, Any]
    card: cards.TestCard | None = None


def _card(digits: str) -> dict[str, Any]:
    return {
        "brand": cards.brand(digits),
        "last4": digits[-4:],
        "fingerprint": hashlib.sha256(digits.encode()).hexdigest()[:16],
        "exp_month": 12,
        "exp_year": time.gmtime().tm_year + 3,
        "network_transaction_id": str(int(hashlib.sha256(new_id("").encode()).hexdigest()[:12], 16)),
    }


def _declined(card: cards.TestCard) -> dict[str, Any]:
    return {
        "network_status": "declined_by_network",
        "reason": card.decline_code,
        "seller_message": "The bank did not return any further details with this decline.",
        "type": "issuer_declined",
        "failure_code": card.code,
        "failure_message": card.message,
    }


class Payments:
    """Mixed into Store: the payment side of the simulator."""

    def pay(
        self: Any,
        session_id: str,
        *,
        card_digits: str,
        email: str,
        name: str | None = None,
        phone: str | None = None,
        shipping: dict[str, Any] | None = None,
        shipping_rate: str | None = None,
    ) -> PaymentResult:
        """What pressing Pay does (input already checked by buyer.check); a second Pay charges nothing."""
        session = self.session(session_id)
        if session["status"] != "open":
            return PaymentResult("not_open", copy.deepcopy(session))
        if shipping_rate and shipping_rate != (session["shipping_cost"] or {}).get("shipping_rate"):
            self.choose_shipping_rate(session_id, shipping_rate)
        card = cards.behaviour(card_digits)
        meta = self.session_meta[session_id]
        now = self.clock.timestamp()
        meta["attempts"].append(
            {
                "at": now,
                "last4": card_digits[-4:],
                "outcome": card.outcome,
                "decline_code": card.decline_code or None,
            }
        )
        intent = meta["intent"]
        if intent is None:
            intent_id = new_id("pi_")
            intent = shapes.payment_intent(
                intent_id=intent_id,
                secret=f"{intent_id}_secret_{new_id('', 25)}",
                now=now,
                amount=session["amount_total"],
                currency=session["currency"],
                metadata=meta["payment_intent_metadata"],
                customer=None,
                shipping=shapes.shipping_details(shipping, phone),
                configuration_id=self.configuration_id,
            )
            self.payment_intents[intent_id] = intent
            meta["intent"] = intent
            self._emit("payment_intent.created", copy.deepcopy(intent), None, None)
        intent.update(
            {"amount": session["amount_total"], "shipping": shapes.shipping_details(shipping, phone)}
        )
        billing: dict[str, Any] = {
            "address": shipping["address"] if shipping else None,
            "email": email,
            "name": name,
            "phone": phone,
        }
        method_id = new_id("pm_")
        charge_id = new_id("ch_")

        def make_charge(status: str, outcome: dict[str, Any]) -> dict[str, Any]:
            charge = shapes.charge(
                charge_id=charge_id,
                now=now,
                intent=intent,
                method_id=method_id,
                card=_card(card_digits),
                billing=billing,
                outcome=outcome,
                status=status,
                receipt_url=f"{self.public_url}/receipts/{charge_id}",
            )
            self.charges[charge_id] = charge
            intent.update({"latest_charge": charge_id, "payment_method": method_id})
            return charge

        if card.outcome == "declines":
            charge = make_charge("failed", _declined(card))
            intent["last_payment_error"] = {
                "charge": charge_id,
                "code": card.code,
                "decline_code": card.decline_code,
                "doc_url": "https://stripe.com/docs/error-codes/" + card.code.replace("_", "-"),
                "message": card.message,
                "type": "card_error",
            }
            self._emit("charge.failed", copy.deepcopy(charge), None, None)
            self._emit("payment_intent.payment_failed", copy.deepcopy(intent), None, None)
            return PaymentResult("declined", copy.deepcopy(session), card)

        delayed = card.outcome == "delayed"
        customer_id = None
        if session["customer_creation"] == "always":
            customer_id = new_id("cus_", 14)
            customer = self.catalog.create_customer(
                customer_id,
                new_id("", 8).upper(),
                now,
                email=email,
                name=name or (shipping or {}).get("name"),
                phone=phone,
                shipping=shipping,
                billing=billing["address"],
            )
            intent["customer"] = customer_id
            self._emit("customer.created", customer, None, None)
        charge = make_charge("pending" if delayed else "succeeded", _APPROVED)
        intent.update(
            {
                "status": "processing" if delayed else "succeeded",
                "amount_received": 0 if delayed else intent["amount"],
                "last_payment_error": None,
            }
        )
        if delayed:
            self._emit("payment_intent.processing", copy.deepcopy(intent), None, None)
            self._emit("charge.pending", copy.deepcopy(charge), None, None)
        else:
            self._emit("charge.succeeded", copy.deepcopy(charge), None, None)
            self._emit("payment_intent.succeeded", copy.deepcopy(intent), None, None)
        session.update(
            {
                "status": "complete",
                "payment_status": "unpaid" if delayed else "paid",
                "payment_intent": intent["id"],
                "customer": customer_id,
                "customer_details": checkout_shapes.customer_details(
                    email=email,
                    name=name or (shipping or {}).get("name"),
                    phone=phone,
                    billing=billing["address"],
                ),
                "collected_information": checkout_shapes.collected_information(shipping),
                "url": None,
            }
        )
        self.catalog.redeem(meta["discount"])
        self._emit("checkout.session.completed", copy.deepcopy(session), None, None)
        if delayed and self.settle_after is not None:
            meta["settle_at"] = self.clock.now() + self.settle_after
            self._schedule(meta["settle_at"], "settle", session_id)
        return PaymentResult("processing" if delayed else "paid", copy.deepcopy(session), card)

    def settle(self: Any, session_id: str, outcome: str) -> dict[str, Any]:
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
            self._emit("charge.succeeded", copy.deepcopy(charge), None, None)
            self._emit("payment_intent.succeeded", copy.deepcopy(intent), None, None)
        else:
            message = "The payment failed after processing."
            intent.update(
                {
                    "status": "requires_payment_method",
                    "last_payment_error": {
                        "charge": charge["id"],
                        "code": "card_declined",
                        "decline_code": "generic_decline",
                        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
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
            self._emit("charge.failed", copy.deepcopy(charge), None, None)
            self._emit("payment_intent.payment_failed", copy.deepcopy(intent), None, None)
        self._emit(f"checkout.session.async_payment_{outcome}", copy.deepcopy(session), None, None)
        return copy.deepcopy(session)

    def create_refund(
        self: Any,
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
            charge_obj = self.charges.get(intent["latest_charge"] or "")
        if intent["status"] != "succeeded" or charge_obj is None or charge_obj["status"] != "succeeded":
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
        refund = shapes.refund(
            refund_id=refund_id,
            now=self.clock.timestamp(),
            amount=amount,
            charge=charge_obj,
            reason=reason,
            metadata=metadata,
            status="succeeded",
        )
        self.refunds[refund_id] = refund
        previous = {"amount_refunded": charge_obj["amount_refunded"], "refunded": charge_obj["refunded"]}
        charge_obj["amount_refunded"] += amount
        charge_obj["refunded"] = charge_obj["amount_refunded"] == charge_obj["amount"]
        charge_obj["refunds"]["data"].insert(0, refund)
        answer = copy.deepcopy(refund)
        self._emit("charge.refunded", copy.deepcopy(charge_obj), request, previous)
        self._emit("refund.created", copy.deepcopy(refund), request, None)
        # The card network's reference (ARN) arrives: Stripe updates the refund and says so twice.
        before = copy.deepcopy(refund["destination_details"])
        refund["destination_details"]["card"].update(
            {
                "reference": str(int(hashlib.sha256(refund_id.encode()).hexdigest()[:22], 16))[:23],
                "reference_status": "available",
                "reference_type": "acquirer_reference_number",
            }
        )
        self._emit("refund.updated", copy.deepcopy(refund), None, {"destination_details": before})
        self._emit("charge.refund.updated", copy.deepcopy(refund), None, {"destination_details": before})
        return answer
