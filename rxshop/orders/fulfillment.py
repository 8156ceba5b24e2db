"""Fulfillment: apply what a Checkout Session says to its order, once, after checking it pays for exactly it.

`fulfill_checkout` is THE function for the return page, webhooks and reconciliation: idempotent and safe
under concurrency, guarded by the database (a unique Checkout Session id per order, a primary key per
Stripe event, conditional UPDATEs), never by in-process locks. The webhook's fast path
(`rxshop.orders.webhook_batch`) runs these same checks and the same UPDATE (`move_order`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from rxshop.core.models import Order, UTCDateTime, utcnow
from rxshop.domain.lifecycle import OUTCOME_FOR_STATUS, OrderStatus, Outcome, sources_of
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.domain.shipping import ShippingOption, decode_offer
from rxshop.mail import outbox
from rxshop.orders import history, stock, stock_sales
from rxshop.orders.history import InboxKind
from rxshop.orders.records import OrderView, lines_of, load_order, transaction, view_of
from rxshop.orders.views import OrderLineView
from rxshop.payments.wire import CheckoutSession, PaymentStatus, SessionStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fulfillment:
    outcome: Outcome
    order: OrderView | None


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """What a Checkout Session must match to pay for an order: the columns the checks read."""

    id: str
    livemode: bool
    currency: str
    amount_subtotal: int
    shipping_offer: str | None

    @classmethod
    def of(cls, order: Order) -> OrderTerms:
        return cls(order.id, order.livemode, order.currency, order.amount_subtotal, order.shipping_offer)


def _order_for_checkout(session: Session, checkout: CheckoutSession) -> Order | None:
    """The order this Checkout Session pays for, or None (unknown, or bound to a different session)."""
    reference = checkout.client_reference_id or None
    meta_id = checkout.metadata.get("order_id") or None
    if reference and meta_id and reference != meta_id:
        logger.warning("checkout %s names two orders (%s, %s); ignoring it", checkout.id, reference, meta_id)
        return None
    order_id = reference or meta_id
    if order_id:
        order = load_order(session, Order.id == order_id)
    else:
        order = load_order(session, Order.stripe_session_id == checkout.id)
    if order is None or order.stripe_session_id not in (None, checkout.id):
        return None
    return order


def mismatch(terms: OrderTerms, ordered: Sequence[OrderLineView], checkout: CheckoutSession) -> str | None:
    """Why this session does not pay for exactly this order, or None if it does.

    `ordered` (the order's lines) is compared only when the session carries its line items (expanded:
    the return page and reconciliation; webhook events carry none).
    """
    if checkout.livemode != terms.livemode:
        return f"livemode {checkout.livemode} != order's {terms.livemode}"
    if checkout.currency != terms.currency:
        return f"currency {checkout.currency!r} != order's {terms.currency!r}"
    subtotal = checkout.amount_subtotal if checkout.amount_subtotal is not None else checkout.amount_total
    if subtotal != terms.amount_subtotal:
        return f"amount_subtotal {subtotal} != order's {terms.amount_subtotal}"
    if checkout.line_items is not None:
        paid_for = sorted((x.description, x.quantity, x.unit_amount) for x in checkout.line_items)
        expected = sorted((x.name, x.quantity, x.unit_amount) for x in ordered)
        if paid_for != expected:
            return f"line items {paid_for} != order's {expected}"
    problem, _rate = _chosen_rate(terms, checkout)
    if problem is not None:
        return problem
    if not 0 <= checkout.amount_discount <= subtotal:
        return f"amount_discount {checkout.amount_discount} outside 0..{subtotal}"
    expected_total = subtotal - checkout.amount_discount + checkout.amount_shipping
    if checkout.amount_total != expected_total:
        return f"amount_total {checkout.amount_total} != subtotal - discount + shipping = {expected_total}"
    return None


def _chosen_rate(terms: OrderTerms, checkout: CheckoutSession) -> tuple[str | None, ShippingOption | None]:
    """(why not, the rate) for the shipping Stripe reports, against the offer stored with the order.

    Options go to Stripe in the order of the offer and Stripe keeps it, so option i is our rate i: the
    chosen rate's Stripe id finds it, and every offered amount must be the amount we asked for.
    """
    offer = decode_offer(terms.shipping_offer)
    if not offer:  # an order from before shipping existed: nothing may be charged for it
        if checkout.amount_shipping or checkout.shipping_rate:
            return f"shipping {checkout.amount_shipping} charged on an order offered none", None
        return None, None
    amounts = [amount for _shr, amount in checkout.shipping_options]
    offered = [o.amount for o in offer]
    if amounts != offered:
        return f"shipping options {amounts} != the order's offer {offered}", None
    stripe_ids = [shr for shr, _amount in checkout.shipping_options]
    if checkout.shipping_rate not in stripe_ids:
        return f"shipping rate {checkout.shipping_rate!r} is not one of the options offered", None
    chosen = offer[stripe_ids.index(checkout.shipping_rate)]
    if checkout.amount_shipping != chosen.amount:
        return f"amount_shipping {checkout.amount_shipping} != {chosen.rate_id} rate's {chosen.amount}", None
    return None, chosen


# --- The one UPDATE that moves an order ---------------------------------------------------------------------
# Prebuilt text (a Core UPDATE costs twice as much per execution in its cache key): built once per target
# here, and once more by the webhook's fast path with its narrower WHERE.

_SHIP_COLUMNS = (
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_state",
    "ship_postal_code",
    "ship_country",
)
# What the buyer told Stripe and what Stripe charged (set when the order is paid or processing).
_DELIVERY = {
    "amount_total": ":amount_total",
    "amount_discount": ":amount_discount",
    "amount_shipping": ":amount_shipping",
    "shipping_rate_id": "COALESCE(:rate_id, shipping_rate_id)",
    "shipping_rate_name": "COALESCE(:rate_name, shipping_rate_name)",
    "phone": "COALESCE(:phone, phone)",
    "promotion_code_id": "COALESCE(:promotion_code_id, promotion_code_id)",
    "coupon_id": "COALESCE(:coupon_id, coupon_id)",
    **{c: f"CASE WHEN :has_address THEN :{c} ELSE {c} END" for c in _SHIP_COLUMNS},
}
# The status an order takes when paid: a refund reported before the payment is not forgotten.
_PAID_STATUS = (
    f"CASE WHEN amount_refunded > 0 AND amount_refunded >= :amount_total THEN '{S.REFUNDED}'"
    f" WHEN amount_refunded > 0 THEN '{S.PARTIALLY_REFUNDED}' ELSE '{S.PAID}' END"
)


def move_order(target: OrderStatus, *, also_where: str = "") -> sa.TextClause:
    """`move_sql` as a SQLAlchemy statement (its datetime and boolean typed)."""
    sql = move_sql(target, also_where=also_where)
    types = [sa.bindparam("now", type_=UTCDateTime())]
    if ":has_address" in sql:
        types.append(sa.bindparam("has_address", type_=sa.Boolean()))
    return sa.text(sql).bindparams(*types)


def move_sql(target: OrderStatus, *, also_where: str = "") -> str:
    """The conditional UPDATE moving an order to `target` if the lifecycle allows it (`move_params`) and
    its status is still `:before`, the one the caller read (compare and set: the timeline row written
    with it names the change that was made, even when another path moved the order in between).

    Of N concurrent callers exactly one sees rowcount 1. It also binds the order to the session if nothing
    was bound yet (the webhook may beat the code that attaches it). `also_where`: more conditions, ANDed.
    """
    sets: dict[str, str] = {"status": f"'{target}'", "updated_at": ":now", "stripe_session_id": ":session_id"}
    if target in (S.PAID, S.PROCESSING):
        sets.update(_DELIVERY)
    if target == S.PAID:
        sets.update(status=_PAID_STATUS, paid_at=":now")
    if target != S.EXPIRED:
        sets.update(
            payment_intent_id="COALESCE(:payment_intent, payment_intent_id)",
            customer_email="COALESCE(:email, customer_email)",
        )
    sources = ", ".join(f"'{s}'" for s in sources_of(target))
    sql = (
        f"UPDATE orders SET {', '.join(f'{c} = {v}' for c, v in sets.items())} WHERE id = :order_id"
        f" AND status IN ({sources}) AND status = :before"
        " AND (stripe_session_id IS NULL OR stripe_session_id = :session_id)"
    ) + (f" AND {also_where}" if also_where else "")
    return sql


_MOVES = {target: move_order(target) for target in (S.PAID, S.PROCESSING, S.FAILED, S.EXPIRED)}


def move_params(terms: OrderTerms, checkout: CheckoutSession, now: datetime, before: str) -> dict[str, Any]:
    """The values of `move_order` for this session (checked by `mismatch` first), from status `before`."""
    _problem, rate = _chosen_rate(terms, checkout)
    address = checkout.shipping
    return {
        "order_id": terms.id,
        "before": before,
        "now": now,
        "session_id": checkout.id,
        "amount_total": checkout.amount_total,
        "amount_discount": checkout.amount_discount,
        "amount_shipping": checkout.amount_shipping,
        "rate_id": rate.rate_id if rate else None,
        "rate_name": rate.name if rate else None,
        "phone": checkout.phone[:40] if checkout.phone else None,
        "promotion_code_id": checkout.promotion_code_id and checkout.promotion_code_id[:255],
        "coupon_id": checkout.coupon_id and checkout.coupon_id[:255],
        "payment_intent": checkout.payment_intent or None,
        "email": checkout.customer_email or None,
        "has_address": address is not None,
        "ship_name": address and address.name[:200],
        "ship_line1": address and address.line1[:200],
        "ship_line2": address and address.line2 and address.line2[:200] or None,
        "ship_city": address and address.city[:200],
        "ship_state": address and address.state and address.state[:200] or None,
        "ship_postal_code": address and address.postal_code[:32],
        "ship_country": address and address.country[:2],
    }


# --- Checkout Sessions --------------------------------------------------------------------------------------


def _flag_mismatch(session: Session, order: Order, checkout: CheckoutSession, problem: str) -> None:
    """Money taken (or about to be) that does not pay for its order: for the owner, once per session."""
    if checkout.payment_status != PaymentStatus.PAID and checkout.status != SessionStatus.COMPLETE:
        return  # an open session: nothing was paid, nothing to look at
    history.flag(
        session,
        kind=InboxKind.MISMATCH,
        reference=checkout.id,
        order_id=order.id,
        session_id=checkout.id,
        amount=checkout.amount_total,
        currency=checkout.currency,
        detail=history.buyer_note(checkout.customer_email) + problem,
    )


def target_of(checkout: CheckoutSession, failed: bool) -> OrderStatus | None:
    """The status the session asks for; None: still open and unpaid (nothing to write). Shared with the
    webhook's fast path (rxshop.orders.webhook_fast), so both decide alike."""
    # Decide on payment_status, not status: a complete session may still be waiting for the money.
    if failed:
        return S.FAILED
    if checkout.payment_status in (PaymentStatus.PAID, PaymentStatus.NO_PAYMENT_REQUIRED):
        return S.PAID
    if checkout.status == SessionStatus.COMPLETE:
        # A delayed payment that failed leaves the session complete/unpaid; only its intent tells.
        failed_intent = checkout.payment_intent_status in ("requires_payment_method", "canceled")
        return S.FAILED if failed_intent else S.PROCESSING
    if checkout.status == SessionStatus.EXPIRED:
        return S.EXPIRED
    return None


def apply_checkout(
    session: Session,
    checkout: CheckoutSession,
    *,
    visitor_id: str | None,
    failed: bool = False,
    source: str = "stripe",
) -> Fulfillment:
    """The shared body of fulfill_checkout and the checkout.session.* events (inside their transaction).

    `source` names the path in the order's timeline: webhook, return page, reconcile.
    """
    order = _order_for_checkout(session, checkout)
    if order is None or (visitor_id is not None and order.visitor_id != visitor_id):
        return Fulfillment(Outcome.NOT_FOUND, None)
    terms = OrderTerms.of(order)
    ordered = lines_of(session, [order.id])[order.id] if checkout.line_items is not None else []
    problem = mismatch(terms, ordered, checkout)
    if problem is not None:
        logger.warning(
            "checkout %s does not match order %s: %s; nothing recorded", checkout.id, order.id, problem
        )
        _flag_mismatch(session, order, checkout, problem)
        return Fulfillment(Outcome.MISMATCH, view_of(session, order))

    target = target_of(checkout, failed)
    if target is None:
        return Fulfillment(Outcome.NOT_PAID, view_of(session, order))
    now = utcnow()
    moved, before, current = _move(session, order, target, move_params(terms, checkout, now, order.status))
    if current is None or current.stripe_session_id != checkout.id:
        return Fulfillment(Outcome.NOT_FOUND, None)
    if moved:
        history.status_changed(session, order.id, before, current.status, actor=source, at=now)
        outbox.order_moved(session.connection(), order.id, target, now)  # its email, in this transaction
        outcome = Outcome.FULFILLED if target == S.PAID else Outcome(target)
    else:
        outcome = OUTCOME_FOR_STATUS[OrderStatus(current.status)]
    # Stock follows in the same transaction: paid sells the held units; a session over gives them back
    # (also when the order had already been given up: a hold missed earlier ends here, reconcile included).
    if moved and target == S.PAID:
        stock_sales.sell_orders(session.connection(), [order.id], now)
    elif target in (S.FAILED, S.EXPIRED) and current.status in (S.FAILED, S.EXPIRED):
        stock.release(session.connection(), [order.id], now)
    return Fulfillment(outcome, view_of(session, current))


def _move(
    session: Session, order: Order, target: OrderStatus, params: dict[str, Any]
) -> tuple[bool, str, Order | None]:
    """(moved, the status it moved from, the order now): `move_order` from the status read, and again
    from the status found if another path moved the order in between and `target` is still allowed."""
    current: Order | None = order
    for _attempt in range(len(S)):
        before = params["before"]
        moved = session.connection().execute(_MOVES[target], params).rowcount == 1
        current = load_order(session, Order.id == order.id)
        if moved or current is None or current.status == before or current.status not in sources_of(target):
            return moved, before, current
        params = {**params, "before": current.status}
    return False, params["before"], current


def fulfill_checkout(
    *, session: Session, checkout: CheckoutSession, visitor_id: str | None = None, source: str = "return page"
) -> Fulfillment:
    """Record what a Checkout Session says about its order: THE function for the return page and webhooks.

    Idempotent and safe under concurrency: called any number of times, from any number of threads or
    hosts, for one session, exactly one call returns `fulfilled` and the order is paid once.
    Pass `visitor_id` from the return page: another visitor's order is `not_found`.
    """
    try:
        with transaction(session):
            return apply_checkout(session, checkout, visitor_id=visitor_id, source=source)
    except IntegrityError:
        # Another order already holds this session id (unique constraint): not this order's session.
        logger.warning("checkout %s is bound to another order", checkout.id)
        return Fulfillment(Outcome.NOT_FOUND, None)
