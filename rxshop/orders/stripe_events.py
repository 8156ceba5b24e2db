"""Stripe's events, each applied exactly once: checkout.session.* through fulfillment, charge.refunded
as refunds, and a signed event that can never be applied recorded for the owner.

One transaction per event with its de-duplication row (the primary key of `stripe_events`): a repeated
delivery, even a concurrent one, is `duplicate`. The webhook batches deliveries (`rxshop.orders.webhook_batch`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from rxshop.core.models import Order, StripeEvent, utcnow
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.domain.lifecycle import Outcome, sources_of
from rxshop.mail import outbox
from rxshop.orders import history
from rxshop.orders.fulfillment import apply_checkout
from rxshop.orders.history import InboxKind
from rxshop.orders.records import OrderView, load_order, transaction, view_of
from rxshop.payments.wire import Charge, CheckoutSession, Event, PaymentStatus

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EventResult:
    """What a webhook delivery did, and whose tabs to update (visitor_id) about which order."""

    outcome: Outcome
    order_id: str | None = None
    visitor_id: str | None = None
    order: OrderView | None = None


def _apply_refund(session: Session, charge: Charge, now: datetime) -> tuple[Outcome, Order | None]:
    """Record a charge's cumulative amount_refunded (the largest reported wins; events come out of order)."""
    payment_intent = charge.payment_intent
    order = load_order(session, Order.payment_intent_id == payment_intent) if payment_intent else None
    if order is None:
        order = load_order(session, Order.id == charge.order_id) if charge.order_id else None
        if order is not None and payment_intent and order.payment_intent_id not in (None, payment_intent):
            logger.warning("refund for %s names order %s of another payment", payment_intent, order.id)
            order = None
    if order is None:
        return Outcome.UNKNOWN_ORDER, None
    if charge.currency and charge.currency != order.currency:
        logger.warning(
            "refund in %s for order %s in %s; nothing recorded", charge.currency, order.id, order.currency
        )
        return Outcome.MISMATCH, order

    # Conditional on the status read (compare and set): if the order moved in between (the return page
    # paid it), read it again and decide on what it is now, so the timeline names the change that was made.
    current = order
    for _attempt in range(len(S)):
        before, refunded_before = current.status, current.amount_refunded
        bind_intent = order.payment_intent_id is None
        moved = session.connection().execute(refund_update(charge, order.id, before, bind_intent, now))
        found = load_order(session, Order.id == order.id)
        assert found is not None
        current = found
        if moved.rowcount == 1:
            history.status_changed(session, order.id, before, current.status, actor="webhook", at=now)
            if current.status in (S.REFUNDED, S.PARTIALLY_REFUNDED):  # the buyer's email, in this transaction
                reported = charge.amount_refunded
                outbox.refunded(session.connection(), order.id, reported - refunded_before, reported, now)
            break
        if current.status == before or current.amount_refunded >= charge.amount_refunded:
            break  # nothing moved it: a refund already recorded as large
    return refund_outcome(current.status), current


def refund_update(charge: Charge, order_id: str, before: str, bind_intent: bool, now: datetime) -> sa.Update:
    """The compare-and-set UPDATE recording a refund on an order still in status `before` (shared with
    the webhook's fast path, rxshop.orders.webhook_fast); `bind_intent`: the order has no payment intent yet."""
    return (
        sa.update(Order)
        .where(
            col(Order.id) == order_id,
            col(Order.amount_refunded) < charge.amount_refunded,
            col(Order.status) == before,
        )
        .values(**_refund_values(charge, bind_intent, now))
    )


def refund_outcome(status: str) -> Outcome:
    """A refund event's outcome from the order's status after it (both paths)."""
    return Outcome(status) if status in (S.REFUNDED, S.PARTIALLY_REFUNDED) else Outcome.REFUND_RECORDED


def _refund_values(charge: Charge, bind_intent: bool, now: datetime) -> dict[str, Any]:
    """The SET of a refund's UPDATE: the largest amount reported wins (events come out of order)."""
    reported = charge.amount_refunded
    already, status = col(Order.amount_refunded), col(Order.status)
    refunded = sa.case((already < reported, reported), else_=already)
    values: dict[str, Any] = {
        "amount_refunded": refunded,
        # SET expressions all see the old row, so the new status is computed from `refunded` too.
        "status": sa.case(
            (sa.and_(status.in_(sources_of(S.REFUNDED)), refunded >= col(Order.amount_total)), S.REFUNDED),
            (sa.and_(status.in_(sources_of(S.PARTIALLY_REFUNDED)), refunded > 0), S.PARTIALLY_REFUNDED),
            else_=status,
        ),
        "updated_at": now,
    }
    if charge.payment_intent and bind_intent:
        values["payment_intent_id"] = charge.payment_intent
    return values


def _flag_unknown_session(session: Session, event: Event) -> None:
    """Money received for a session that names no order of ours (or another order's): for the owner."""
    checkout = event.checkout
    assert checkout is not None
    history.flag(
        session,
        kind=InboxKind.UNKNOWN_SESSION,
        reference=checkout.id,
        session_id=checkout.id,
        event_id=event.id,
        amount=checkout.amount_total,
        currency=checkout.currency,
        detail=_unknown_detail(checkout),
    )


def _unknown_detail(checkout: CheckoutSession) -> str:
    """For Stripe support: who paid, and which order the session named (rxshop.admin.inbox says it plainly)."""
    named = checkout.client_reference_id or checkout.metadata.get("order_id")
    which = (
        f"names order {named}, which this shop does not have (or which waits for another session)"
        if named
        else "names no order of this shop"
    )
    return f"{history.buyer_note(checkout.customer_email)}Checkout Session {checkout.id} {which}."


def apply_stripe_event(*, session: Session, event: Event, source: str = "webhook") -> EventResult:
    """Apply one verified Stripe event exactly once, in one transaction with its de-duplication row.

    A repeated delivery (even concurrent) is `duplicate` and changes nothing. Database errors propagate
    and roll everything back, the event row included, so the endpoint answers 5xx and Stripe delivers again.
    """
    with transaction(session):
        try:
            # Core INSERT, not session.add: the primary key decides, never the Session's identity map.
            session.exec(
                sa.insert(StripeEvent).values(
                    id=event.id,
                    type=event.type,
                    session_id=event.checkout.id if event.checkout else None,
                    stripe_created=event.created,
                    outcome="received",
                    received_at=utcnow(),
                )
            )
        except IntegrityError:
            session.rollback()
            return EventResult(Outcome.DUPLICATE)

        view: OrderView | None = None
        outcome: Outcome
        if event.checkout is not None:
            result = apply_checkout(
                session,
                event.checkout,
                visitor_id=None,
                failed=event.type == "checkout.session.async_payment_failed",
                source=source,
            )
            outcome = Outcome.UNKNOWN_SESSION if result.outcome == Outcome.NOT_FOUND else result.outcome
            view = result.order
            if outcome == Outcome.UNKNOWN_SESSION and event.checkout.payment_status == PaymentStatus.PAID:
                _flag_unknown_session(session, event)
        elif event.charge is not None:
            outcome, order = _apply_refund(session, event.charge, utcnow())
            view = view_of(session, order) if order is not None else None
        else:
            outcome = Outcome.IGNORED

        session.exec(
            sa.update(StripeEvent)
            .where(col(StripeEvent.id) == event.id)
            .values(outcome=outcome, order_id=view.id if view else None)
        )
    return EventResult(
        outcome=outcome,
        order_id=view.id if view else None,
        visitor_id=view.visitor_id if view else None,
        order=view,
    )


def record_unprocessable(
    *, session: Session, event_id: str, event_type: str, created: int, detail: str
) -> Outcome:
    """Record a signed event whose data can never be applied, once, with why (the owner sees it).

    Answered 200 afterwards: Stripe would otherwise retry it for three days to the same end.
    """
    with transaction(session):
        try:
            session.exec(
                sa.insert(StripeEvent).values(
                    id=event_id,
                    type=event_type[:100],
                    stripe_created=created if -(2**63) <= created < 2**63 else None,  # a BIGINT
                    outcome=Outcome.UNPROCESSABLE,
                    detail=detail[:2000],
                    received_at=utcnow(),
                )
            )
        except IntegrityError:
            session.rollback()
            return Outcome.DUPLICATE
        history.flag(
            session,
            kind=InboxKind.UNPROCESSABLE,
            reference=event_id,
            event_id=event_id,
            detail=f"{event_type[:100]}: {detail}",
        )
    return Outcome.UNPROCESSABLE
