"""The cancel page's service: close this visitor's open checkout at Stripe, then give back what it held.

Stripe sends a buyer who leaves its page to our cancel URL, which names the order (`?order=`). Only an
order of this visitor (the server-signed credential), still waiting for payment, is closed: its Checkout
Session is expired through the gateway FIRST (so it can no longer be paid), and what Stripe answers goes
through fulfillment like any other report (the order expires, its stock hold is released, in one
transaction). Any other visit of the page changes nothing. No reflex import.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session

from rxshop.core import notify
from rxshop.core.db import in_session
from rxshop.core.models import Order
from rxshop.domain.identity import is_visitor_id
from rxshop.domain.lifecycle import OrderStatus
from rxshop.orders.fulfillment import fulfill_checkout
from rxshop.orders.records import OrderView, load_order, transaction, view_of
from rxshop.payments.gateway import CheckoutGateway, PaymentError, PaymentUnavailable

log = logging.getLogger(__name__)
ORDER_ID = re.compile(r"ord_[0-9a-f]{24}")


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"  # closed now: nothing can be paid, the held units are back for sale
    CLOSED = "closed"  # no longer open anyway (paid, processing, expired): nothing changed
    NOT_FOUND = "not_found"  # no order named, or not this visitor's: nothing changed
    UNAVAILABLE = "unavailable"  # Stripe could not be asked: the checkout closes at its expiry


@dataclass(frozen=True)
class Cancelled:
    outcome: CancelOutcome
    order: OrderView | None = None


def order_of(*, session: Session, order_id: str, visitor_id: str) -> OrderView | None:
    """The order if it is this visitor's."""
    with transaction(session):
        order = load_order(session, Order.id == order_id, Order.visitor_id == visitor_id)
        return view_of(session, order) if order is not None else None


async def cancel_checkout(*, visitor_id: str, order_id: str, gateway: CheckoutGateway) -> Cancelled:
    """Close this visitor's open checkout of `order_id` (idempotent: a second visit finds it closed)."""
    if not is_visitor_id(visitor_id) or not isinstance(order_id, str) or not ORDER_ID.fullmatch(order_id):
        return Cancelled(CancelOutcome.NOT_FOUND)
    order = await in_session(order_of, order_id=order_id, visitor_id=visitor_id)
    if order is None:
        return Cancelled(CancelOutcome.NOT_FOUND)
    if order.status != OrderStatus.PENDING or not order.stripe_session_id:
        return Cancelled(CancelOutcome.CLOSED, order)
    try:
        checkout = await gateway.expire_session(order.stripe_session_id)
    except PaymentUnavailable:
        return Cancelled(CancelOutcome.UNAVAILABLE, order)
    except PaymentError:
        # Stripe refuses to expire a session that is not open (paid or expired meanwhile): record what it is.
        try:
            checkout = await gateway.retrieve_session(order.stripe_session_id, expand_line_items=True)
        except PaymentError:
            return Cancelled(CancelOutcome.UNAVAILABLE, order)
    result = await in_session(
        fulfill_checkout, checkout=checkout, visitor_id=visitor_id, source="cancel page"
    )
    if result.order is None:
        return Cancelled(CancelOutcome.NOT_FOUND)
    notify.order_changed(visitor_id, order.id)
    notify.stock_changed()
    if result.order.status == OrderStatus.EXPIRED:
        log.info("checkout of order %s cancelled by its buyer", order.id)
        return Cancelled(CancelOutcome.CANCELLED, result.order)
    return Cancelled(CancelOutcome.CLOSED, result.order)
