"""Control endpoints for checkout sessions: inspect one, pay it as the hosted page would, decline, fail a
delayed payment, expire, settle.

Pay goes through the same checks as the page's form (buyer.check), with the same messages (400 with the
fields); an address and phone are made up when the session asks for them and the body gives none.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from rxshop.stripe_sim import buyer, cards
from rxshop.stripe_sim.catalog import CodeRefused
from rxshop.stripe_sim.control.common import ControlError, json_body
from rxshop.stripe_sim.hosted import success_redirect
from rxshop.stripe_sim.payments import PaymentResult

if TYPE_CHECKING:
    from rxshop.stripe_sim.app import Simulator
    from rxshop.stripe_sim.store import Store

# What pay uses when the session collects an address or phone and the body gives none.
DEFAULT_SHIPPING = {
    "name": "Jenny Rosen",
    "address": {
        "line1": "510 Townsend St",
        "city": "San Francisco",
        "state": "CA",
        "postal_code": "94103",
        "country": "US",
    },
}
DEFAULT_PHONE = "+14155550100"
_SAMPLE_POSTAL = {
    "GB": "SW1A 1AA",
    "CA": "K1A 0B1",
    "DE": "10115",
    "FR": "75001",
    "NL": "1011 AB",
    "AU": "2000",
}


def _default_shipping(allowed: list[str]) -> dict[str, Any]:
    if "US" in allowed:
        return DEFAULT_SHIPPING
    country = allowed[0]
    address = {
        "line1": "1 Test Street",
        "city": "Testville",
        "postal_code": _SAMPLE_POSTAL.get(country, "1000"),
    }
    return {"name": "Jenny Rosen", "address": {**address, "country": country}}


def session_view(store: Store, session_id: str) -> dict[str, Any]:
    """Everything about one session: the Stripe objects, declined attempts and when it settles."""
    session = store.session(session_id)
    intent = store.payment_intents.get(session["payment_intent"] or "")
    charge = store.charges.get(intent["latest_charge"]) if intent else None
    meta = store.session_meta[session_id]
    return {
        "session": copy.deepcopy(session),
        "line_items": copy.deepcopy(store.line_items[session_id]),
        "payment_intent": copy.deepcopy(intent),
        "charge": copy.deepcopy(charge),
        "refunds": [
            copy.deepcopy(r) for r in store.refunds.values() if intent and r["payment_intent"] == intent["id"]
        ],
        "attempts": copy.deepcopy(meta["attempts"]),
        "settle_at": meta["settle_at"],
    }


def pay_with(store: Store, session_id: str, card_number: str, body: dict[str, Any]) -> dict[str, Any]:
    """The hosted page's Pay, without the form: same checks, same messages (400 with `fields`)."""
    session = store.session(session_id)
    if session["status"] != "open":
        raise ControlError(
            409, f"Checkout Session {session_id} is {session['status']}, not open: nothing was charged."
        )
    digits = cards.normalize(card_number)
    if digits is None:
        raise ControlError(400, f"Not a valid card number: {card_number!r}.")
    if body.get("promotion_code"):
        try:
            store.apply_promotion_code(session_id, str(body["promotion_code"]))
        except CodeRefused as refused:
            raise ControlError(400, f"promotion_code: {refused.message}") from None
        session = store.session(session_id)
    given = _buyer(session, body)
    result = store.pay(
        session_id,
        card_digits=digits,
        email=given.email,
        name=given.name,
        phone=given.phone,
        shipping=given.shipping,
        shipping_rate=given.shipping_rate,
    )
    return _answer(result)


def _buyer(session: dict[str, Any], body: dict[str, Any]) -> buyer.BuyerInput:
    """The body's buyer details checked like the page's form (defaults where the session asks for more)."""
    shipping = body.get("shipping")
    if shipping is not None and not isinstance(shipping, dict):
        raise ControlError(400, "shipping must be an object: {name, address: {line1, city, ...}}.")
    flat = None
    if session["shipping_address_collection"]:
        shipping = shipping or _default_shipping(session["shipping_address_collection"]["allowed_countries"])
        address = shipping.get("address")
        flat = {"name": shipping.get("name"), **(address if isinstance(address, dict) else {})}
    phone = body.get("phone")
    if phone is None and session["phone_number_collection"]["enabled"]:
        phone = DEFAULT_PHONE
    given = buyer.check(
        session,
        email=body.get("email") or "buyer@example.com",
        name=body.get("name"),
        phone=phone,
        shipping=flat,
        shipping_rate=body.get("shipping_rate"),
    )
    if given.errors:
        fields = "; ".join(f"{k}: {v}" for k, v in given.errors.items())
        raise ControlError(400, f"The payment details are not valid ({fields}).")
    return given


def _answer(result: PaymentResult) -> dict[str, Any]:
    answer: dict[str, Any] = {"outcome": result.outcome, "session": result.session}
    if result.outcome == "declined" and result.card is not None:
        answer["decline"] = {
            "message": result.card.message,
            "code": result.card.code,
            "decline_code": result.card.decline_code,
        }
    else:
        answer["redirect_url"] = success_redirect(result.session)
    return answer


async def show_session(sim: Simulator, request: Request) -> dict[str, Any]:
    return session_view(sim.store, request.path_params["id"])


async def pay(sim: Simulator, request: Request) -> dict[str, Any]:
    body = await json_body(request)
    return pay_with(sim.store, request.path_params["id"], str(body.get("card") or "4242424242424242"), body)


async def decline(sim: Simulator, request: Request) -> dict[str, Any]:
    """A declined attempt with the test card for `reason` (default generic_decline)."""
    body = await json_body(request)
    reason = body.get("reason", "generic_decline")
    declining = [c for c in cards.TEST_CARDS if c.outcome == "declines"]
    card = next((c for c in declining if c.decline_code == reason), None)
    if card is None:
        raise ControlError(400, f"reason must be one of {', '.join(c.decline_code for c in declining)}.")
    return pay_with(sim.store, request.path_params["id"], card.number, body)


async def fail(sim: Simulator, request: Request) -> dict[str, Any]:
    """A delayed payment that then fails: completed, then async_payment_failed."""
    body = await json_body(request)
    session_id = request.path_params["id"]
    pay_with(sim.store, session_id, cards.DELAYED_CARD, body)
    return {"outcome": "failed", "session": sim.store.settle(session_id, "failed")}


async def expire(sim: Simulator, request: Request) -> dict[str, Any]:
    return {"session": sim.store.expire_session(request.path_params["id"])}


async def settle(sim: Simulator, request: Request) -> dict[str, Any]:
    body = await json_body(request)
    return {"session": sim.store.settle(request.path_params["id"], str(body.get("outcome")))}
