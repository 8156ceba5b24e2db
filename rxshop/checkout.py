"""The checkout service: start a Stripe Checkout for a visitor's cart, and confirm a buyer's return.

The Reflex states call these two coroutines and nothing else of the payment story: DB work runs off the
event loop (`db.in_session`, a plain session), Stripe calls are awaited on the loop. No reflex import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from rxshop import notify, orders
from rxshop.cart import price_cart
from rxshop.db import in_session
from rxshop.fulfillment import Fulfillment, fulfill_checkout
from rxshop.identity import is_visitor_id
from rxshop.lifecycle import Outcome
from rxshop.payments import (
    CheckoutGateway,
    CheckoutLineRequest,
    PaymentError,
    PaymentUnavailable,
    SessionNotFound,
    ShippingChoice,
    is_checkout_session_id,
)
from rxshop.settings import Settings
from rxshop.shipping import decode_offer

log = logging.getLogger(__name__)

# Stripe wants expires_at at least 30 minutes after creation; a minute more absorbs clock skew.
SESSION_LIFETIME_SECONDS = 31 * 60


class CheckoutRefused(ValueError):
    """The request cannot start a checkout (bad visitor id, empty cart); the message is for the buyer."""


@dataclass(frozen=True)
class CheckoutStart:
    url: str
    order_id: str
    reused: bool  # True: the visitor's open session for this same cart, not a new one


async def start_checkout(
    *,
    visitor_id: str,
    quantities: Mapping[str, object],
    gateway: CheckoutGateway,
    settings: Settings,
    client_ip: str | None = None,
    now: float | None = None,
) -> CheckoutStart:
    """Create (or reuse) the pending order and its Checkout Session; return where to send the browser.

    Raises CheckoutRefused, cart.InvalidQuantity / catalog.UnknownProduct (bad input), or
    payments.PaymentError (Stripe trouble: nothing is lost, the same call may be retried).
    """
    if not is_visitor_id(visitor_id):
        raise CheckoutRefused("Your browser session is not ready yet; please reload the page.")
    cart = price_cart(quantities)
    if cart.is_empty:
        raise CheckoutRefused("Your cart is empty: choose at least one product first.")
    now = time.time() if now is None else now
    # Fixed with the order, so a retried request carries the very same parameters as the first.
    planned_expiry = datetime.fromtimestamp(int(now) + SESSION_LIFETIME_SECONDS, UTC)

    try:
        order, reused = await in_session(
            orders.find_or_create_pending_order,
            visitor_id=visitor_id,
            cart=cart,
            now=datetime.fromtimestamp(now, UTC),
            session_expires_at=planned_expiry,
            livemode=settings.livemode,
            client_ip=client_ip,
        )
    except orders.CheckoutLimitReached as err:
        raise CheckoutRefused(str(err)) from err
    if reused and order.checkout_url:
        return CheckoutStart(url=order.checkout_url, order_id=order.id, reused=True)

    # A new order, or one whose first request timed out: the same key and parameters make Stripe hand
    # back the session it made then, if it made one, instead of a second one.
    expires_at = int((order.session_expires_at or planned_expiry).timestamp())
    try:
        checkout = await gateway.create_session(
            order_id=order.id,
            lines=[
                CheckoutLineRequest(
                    name=line.name,
                    unit_amount=line.unit_amount,
                    quantity=line.quantity,
                    product_id=line.product_id,
                )
                for line in order.lines
            ],
            currency=order.currency,
            # From configuration, never from what the browser reports about itself.
            success_url=f"{settings.app_url}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{settings.app_url}/checkout/cancel",
            expires_at=expires_at,
            idempotency_key=f"rxshop-checkout-{order.id}",
            # The offer stored with the order, so a retried request carries the very same parameters.
            shipping_options=[
                ShippingChoice(rate_id, name, amount)
                for rate_id, amount, name in decode_offer(order.shipping_offer)
            ],
            allowed_countries=settings.shipping_countries,
            collect_phone=True,
            allow_promotion_codes=True,
        )
    except PaymentError as err:
        if not (isinstance(err, PaymentUnavailable) and err.same_key_may_succeed):
            await in_session(orders.abandon_unattached_order, order_id=order.id)
        raise

    if not checkout.url:
        raise SessionNotFound("The payment service returned no checkout page; please try again.")

    await in_session(
        orders.attach_checkout_session,
        order_id=order.id,
        session_id=checkout.id,
        url=checkout.url,
        expires_at=checkout.expires_at or expires_at,
    )
    return CheckoutStart(url=checkout.url, order_id=order.id, reused=False)


async def confirm_return(*, visitor_id: str, session_id: str, gateway: CheckoutGateway) -> Fulfillment:
    """Verify a buyer's return from Checkout with Stripe and fulfill the order once.

    Anyone can open the success URL with any id: unknown, malformed and other visitors' ids all give a
    plain not_found and write nothing.
    """
    if not is_visitor_id(visitor_id) or not is_checkout_session_id(session_id):
        return Fulfillment(Outcome.NOT_FOUND, None)
    try:
        checkout = await gateway.retrieve_session(
            session_id, expand_line_items=True, expand_payment_intent=True
        )
    except SessionNotFound:
        return Fulfillment(Outcome.NOT_FOUND, None)

    result = await in_session(fulfill_checkout, checkout=checkout, visitor_id=visitor_id)
    if result.order is not None:
        # Also when nothing moved: this visitor's open tabs may have loaded before the webhook's push.
        notify.order_changed(visitor_id, result.order.id)
    return result
