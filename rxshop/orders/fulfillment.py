"""Fulfillment: apply what Stripe says (a Checkout Session, a webhook event) to the shop's orders, once.

`fulfill_checkout` is THE function for the return page, webhooks and reconciliation: idempotent and safe
under concurrency, guarded by the database (a unique Checkout Session id per order, a primary key per
Stripe event, conditional UPDATEs), never by in-process locks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from rxshop.core.models import Order, StripeEvent, UTCDateTime, utcnow
from rxshop.domain.lifecycle import OUTCOME_FOR_STATUS, OrderStatus, Outcome, sources_of
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.domain.shipping import decode_offer
from rxshop.orders import history
from rxshop.orders.history import InboxKind
from rxshop.orders.records import OrderView, lines_of, load_order, transaction, view_of
from rxshop.payments.gateway import Charge, CheckoutSession, Event

Offered = tuple[str, int, str]  # (our rate id, amount, name), as stored in orders.shipping_offer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fulfillment:
    outcome: Outcome
    order: OrderView | None


@dataclass(frozen=True)
class EventResult:
    """What a webhook delivery did, and whose tabs to update (visitor_id) about which order."""

    outcome: Outcome
    order_id: str | None = None
    visitor_id: str | None = None
    order: OrderView | None = None


# --- Checkout Sessions --------------------------------------------------------------------------------------------


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


def _mismatch(session: Session | None, order: Order | _OrderFacts, checkout: CheckoutSession) -> str | None:
    """Why this session does not pay for exactly this order, or None if it does."""
    if checkout.livemode != order.livemode:
        return f"livemode {checkout.livemode} != order's {order.livemode}"
    if checkout.currency != order.currency:
        return f"currency {checkout.currency!r} != order's {order.currency!r}"
    subtotal = checkout.amount_subtotal if checkout.amount_subtotal is not None else checkout.amount_total
    if subtotal != order.amount_subtotal:
        return f"amount_subtotal {subtotal} != order's {order.amount_subtotal}"
    if checkout.line_items is not None:
        assert session is not None, "line items are checked against the order's lines"
        paid_for = sorted((x.description, x.quantity, x.unit_amount) for x in checkout.line_items)
        ordered = sorted((x.name, x.quantity, x.unit_amount) for x in lines_of(session, [order.id])[order.id])
        if paid_for != ordered:
            return f"line items {paid_for} != order's {ordered}"
    problem, _rate = _chosen_rate(order, checkout)
    if problem is not None:
        return problem
    if not 0 <= checkout.amount_discount <= subtotal:
        return f"amount_discount {checkout.amount_discount} outside 0..{subtotal}"
    expected = subtotal - checkout.amount_discount + checkout.amount_shipping
    if checkout.amount_total != expected:
        return f"amount_total {checkout.amount_total} != subtotal - discount + shipping = {expected}"
    return None


def _chosen_rate(order: Order | _OrderFacts, checkout: CheckoutSession) -> tuple[str | None, Offered | None]:
    """(why not, the rate) for the shipping Stripe reports, against the offer stored with the order.

    Options go to Stripe in the order of the offer and Stripe keeps it, so option i is our rate i: the
    chosen rate's Stripe id finds it, and every offered amount must be the amount we asked for.
    """
    offer = decode_offer(order.shipping_offer)
    if not offer:  # an order from before shipping existed: nothing may be charged for it
        if checkout.amount_shipping or checkout.shipping_rate:
            return f"shipping {checkout.amount_shipping} charged on an order offered none", None
        return None, None
    amounts = [amount for _shr, amount in checkout.shipping_options]
    if amounts != [amount for _id, amount, _name in offer]:
        return f"shipping options {amounts} != the order's offer {[o[1] for o in offer]}", None
    stripe_ids = [shr for shr, _amount in checkout.shipping_options]
    if checkout.shipping_rate not in stripe_ids:
        return f"shipping rate {checkout.shipping_rate!r} is not one of the options offered", None
    chosen = offer[stripe_ids.index(checkout.shipping_rate)]
    if checkout.amount_shipping != chosen[1]:
        return f"amount_shipping {checkout.amount_shipping} != {chosen[0]} rate's {chosen[1]}", None
    return None, chosen


def _delivery_values(order: Order | _OrderFacts, checkout: CheckoutSession) -> dict[str, Any]:
    """What the buyer told Stripe and what Stripe charged, for the order row (checked by _mismatch first)."""
    _problem, rate = _chosen_rate(order, checkout)
    values: dict[str, Any] = {
        "amount_total": checkout.amount_total,
        "amount_discount": checkout.amount_discount,
        "amount_shipping": checkout.amount_shipping,
    }
    if rate is not None:
        values.update(shipping_rate_id=rate[0], shipping_rate_name=rate[2])
    if checkout.phone:
        values["phone"] = checkout.phone[:40]
    address = checkout.shipping
    if address is not None:
        values.update(
            ship_name=address.name[:200],
            ship_line1=address.line1[:200],
            ship_line2=(address.line2 or None) and address.line2[:200],
            ship_city=address.city[:200],
            ship_state=(address.state or None) and address.state[:200],
            ship_postal_code=address.postal_code[:32],
            ship_country=address.country[:2],
        )
    return values


def _flag_mismatch(session: Session, order: Order, checkout: CheckoutSession, problem: str) -> None:
    """Money taken (or about to be) that does not pay for its order: for the owner, once per session."""
    if checkout.payment_status != "paid" and checkout.status != "complete":
        return  # an open session: nothing was paid, nothing to look at
    history.flag(
        session,
        kind=InboxKind.MISMATCH,
        reference=checkout.id,
        order_id=order.id,
        session_id=checkout.id,
        amount=checkout.amount_total,
        currency=checkout.currency,
        detail=problem,
    )


def _paid_status(total: Any) -> sa.ColumnElement:
    """The status an order takes when paid: a refund reported before the payment is not forgotten."""
    return sa.case(
        (sa.and_(Order.amount_refunded > 0, Order.amount_refunded >= total), S.REFUNDED),
        (Order.amount_refunded > 0, S.PARTIALLY_REFUNDED),
        else_=S.PAID,
    )


def _advance(
    session: Session, order: Order, target: OrderStatus, checkout: CheckoutSession, now: datetime
) -> bool:
    """Move the order to `target` if the lifecycle allows it right now; True if this call did it.

    One conditional UPDATE: of N concurrent callers exactly one sees rowcount 1. It also binds the order
    to the session if nothing was bound yet (the webhook may beat the code that attaches it).
    """
    values: dict[str, Any] = {"status": target, "updated_at": now, "stripe_session_id": checkout.id}
    if target in (S.PAID, S.PROCESSING):
        values.update(_delivery_values(order, checkout))
    if target == S.PAID:
        values["status"] = _paid_status(values["amount_total"])
        values["paid_at"] = now
    if target != S.EXPIRED:
        if checkout.payment_intent:
            values["payment_intent_id"] = checkout.payment_intent
        if checkout.customer_email:
            values["customer_email"] = checkout.customer_email
    result = session.exec(
        sa.update(Order)
        .where(
            Order.id == order.id,
            Order.status.in_(sources_of(target)),
            sa.or_(Order.stripe_session_id.is_(None), Order.stripe_session_id == checkout.id),
        )
        .values(**values)
    )
    return result.rowcount == 1


def _fulfill(
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
    problem = _mismatch(session, order, checkout)
    if problem is not None:
        logger.warning(
            "checkout %s does not match order %s: %s; nothing recorded", checkout.id, order.id, problem
        )
        _flag_mismatch(session, order, checkout, problem)
        return Fulfillment(Outcome.MISMATCH, view_of(session, order))

    # Decide on payment_status, not status: a complete session may still be waiting for the money.
    if failed:
        target = S.FAILED
    elif checkout.payment_status in ("paid", "no_payment_required"):
        target = S.PAID
    elif checkout.status == "complete":
        # A delayed payment that failed leaves the session complete/unpaid; only its intent tells.
        failed_intent = checkout.payment_intent_status in ("requires_payment_method", "canceled")
        target = S.FAILED if failed_intent else S.PROCESSING
    elif checkout.status == "expired":
        target = S.EXPIRED
    else:
        return Fulfillment(Outcome.NOT_PAID, view_of(session, order))

    before, now = order.status, utcnow()
    moved = _advance(session, order, target, checkout, now)
    current = load_order(session, Order.id == order.id)
    if current is None or current.stripe_session_id != checkout.id:
        return Fulfillment(Outcome.NOT_FOUND, None)
    if moved:
        history.status_changed(session, order.id, before, current.status, actor=source, at=now)
        outcome = Outcome.FULFILLED if target == S.PAID else Outcome(target)
    else:
        outcome = OUTCOME_FOR_STATUS[OrderStatus(current.status)]
    return Fulfillment(outcome, view_of(session, current))


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
            return _fulfill(session, checkout, visitor_id=visitor_id, source=source)
    except IntegrityError:
        # Another order already holds this session id (unique constraint): not this order's session.
        logger.warning("checkout %s is bound to another order", checkout.id)
        return Fulfillment(Outcome.NOT_FOUND, None)


# --- Stripe events ---------------------------------------------------------------------------------------


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

    reported = charge.amount_refunded
    refunded = sa.case((Order.amount_refunded < reported, reported), else_=Order.amount_refunded)
    values: dict[str, Any] = {
        "amount_refunded": refunded,
        # SET expressions all see the old row, so the new status is computed from `refunded` too.
        "status": sa.case(
            (sa.and_(Order.status.in_(sources_of(S.REFUNDED)), refunded >= Order.amount_total), S.REFUNDED),
            (sa.and_(Order.status.in_(sources_of(S.PARTIALLY_REFUNDED)), refunded > 0), S.PARTIALLY_REFUNDED),
            else_=Order.status,
        ),
        "updated_at": now,
    }
    if payment_intent and order.payment_intent_id is None:
        values["payment_intent_id"] = payment_intent
    before = order.status
    session.exec(
        sa.update(Order).where(Order.id == order.id, Order.amount_refunded < reported).values(**values)
    )
    current = load_order(session, Order.id == order.id)
    assert current is not None
    history.status_changed(session, order.id, before, current.status, actor="webhook", at=now)
    if current.status in (S.REFUNDED, S.PARTIALLY_REFUNDED):
        return Outcome(current.status), current
    return Outcome.REFUND_RECORDED, current


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
        detail=f"paid session for order {checkout.client_reference_id or checkout.metadata.get('order_id')!r}, "
        "which the shop does not have (or which is bound to another session)",
    )


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
        if event.checkout is not None:
            result = _fulfill(
                session,
                event.checkout,
                visitor_id=None,
                failed=event.type == "checkout.session.async_payment_failed",
                source=source,
            )
            outcome = Outcome.UNKNOWN_SESSION if result.outcome == Outcome.NOT_FOUND else result.outcome
            view = result.order
            if outcome == Outcome.UNKNOWN_SESSION and event.checkout.payment_status == "paid":
                _flag_unknown_session(session, event)
        elif event.charge is not None:
            outcome, order = _apply_refund(session, event.charge, utcnow())
            view = view_of(session, order) if order is not None else None
        else:
            outcome = Outcome.IGNORED

        session.exec(
            sa.update(StripeEvent)
            .where(StripeEvent.id == event.id)
            .values(outcome=outcome, order_id=view.id if view else None)
        )
    return EventResult(
        outcome=outcome,
        order_id=view.id if view else None,
        visitor_id=view.visitor_id if view else None,
        order=view,
    )


# --- The fast path of the common event ----------------------------------------------------------------------

# A paid `checkout.session.completed` for a pending order is nearly every webhook delivery. It goes through
# four prebuilt statements instead of the ORM path (about ten ORM/Core statements built per event): read
# the order, record the event (a repeat stops there), move the order, write its timeline row. The checks
# are `_mismatch` itself, on the same columns; anything else (a mismatch, a refund reported first, another
# status, a race lost between the read and the UPDATE) rolls back and takes the full path, which decides,
# flags and records exactly as before.

_SHIP_COLUMNS = (
    "ship_name",
    "ship_line1",
    "ship_line2",
    "ship_city",
    "ship_state",
    "ship_postal_code",
    "ship_country",
)


_FAST_READ = sa.text(
    "SELECT visitor_id, status, currency, amount_subtotal, livemode, shipping_offer, stripe_session_id,"
    " amount_refunded FROM orders WHERE id = :id"
)
_FAST_SEEN = sa.text("SELECT 1 FROM stripe_events WHERE id = :id")
_FAST_FORGET = sa.text("DELETE FROM stripe_events WHERE id = :id")
_FAST_EVENT = sa.text(
    "INSERT INTO stripe_events (id, type, session_id, order_id, stripe_created, outcome, received_at)"
    " VALUES (:id, :type, :session_id, :order_id, :created, :outcome, :received_at)"
    " ON CONFLICT (id) DO NOTHING"
).bindparams(sa.bindparam("received_at", type_=UTCDateTime()))
_FAST_PAY = sa.text(
    "UPDATE orders SET status = :paid, updated_at = :now, paid_at = :now, stripe_session_id = :session_id,"
    " amount_total = :amount_total, amount_discount = :amount_discount, amount_shipping = :amount_shipping,"
    " shipping_rate_id = COALESCE(:rate_id, shipping_rate_id),"
    " shipping_rate_name = COALESCE(:rate_name, shipping_rate_name),"
    " phone = COALESCE(:phone, phone), payment_intent_id = COALESCE(:payment_intent, payment_intent_id),"
    " customer_email = COALESCE(:email, customer_email),"
    + ", ".join(f" {c} = CASE WHEN :has_address THEN :{c} ELSE {c} END" for c in _SHIP_COLUMNS)
    + " WHERE id = :id AND status = :pending AND amount_refunded = 0"
    " AND (stripe_session_id IS NULL OR stripe_session_id = :session_id)"
).bindparams(sa.bindparam("now", type_=UTCDateTime()), sa.bindparam("has_address", type_=sa.Boolean()))
_FAST_TIMELINE = sa.text(
    "INSERT INTO order_events (order_id, at, kind, detail, actor) VALUES (:order_id, :at, :kind, :detail, :actor)"
).bindparams(sa.bindparam("at", type_=UTCDateTime()))


@dataclass(frozen=True)
class _OrderFacts:
    """The columns `_mismatch` reads, from one row (it never needs the lines: events carry none)."""

    id: str
    livemode: bool
    currency: str
    amount_subtotal: int
    shipping_offer: str | None


def apply_paid_checkout_fast(
    *, session: Session, event: Event, source: str = "webhook"
) -> EventResult | None:
    """A paid checkout.session.completed for a pending order, in 4 prebuilt statements, one transaction;
    None: not that case (nothing written, the caller takes `apply_stripe_event`). A repeat is `duplicate`."""
    with transaction(session):
        return _fast_step(session.connection(), event, source)


def _fast_step(connection: sa.Connection, event: Event, source: str) -> EventResult | None:
    """The fast path inside the caller's transaction: None leaves nothing written."""
    checkout = event.checkout
    if (
        event.type != "checkout.session.completed"
        or checkout is None
        or checkout.payment_status != "paid"
        or checkout.line_items is not None
    ):
        return None
    reference = checkout.client_reference_id or None
    meta_id = checkout.metadata.get("order_id") or None
    if reference is None or (meta_id is not None and meta_id != reference):
        return None
    row = connection.execute(_FAST_READ, {"id": reference}).first()
    if (
        row is None
        or row.status != S.PENDING
        or row.amount_refunded
        or row.stripe_session_id not in (None, checkout.id)
    ):
        return _seen_before(connection, event)
    facts = _OrderFacts(reference, bool(row.livemode), row.currency, row.amount_subtotal, row.shipping_offer)
    if _mismatch(None, facts, checkout) is not None:  # events carry no line items: no lines read
        return _seen_before(connection, event)
    now = utcnow()
    recorded = connection.execute(
        _FAST_EVENT,
        {
            "id": event.id,
            "type": event.type,
            "session_id": checkout.id,
            "order_id": reference,
            "created": event.created,
            "outcome": Outcome.FULFILLED,
            "received_at": now,
        },
    )
    if recorded.rowcount != 1:
        return EventResult(Outcome.DUPLICATE)
    values = _delivery_values(facts, checkout)
    moved = connection.execute(
        _FAST_PAY,
        {
            "id": reference,
            "paid": S.PAID,
            "pending": S.PENDING,
            "now": now,
            "session_id": checkout.id,
            "amount_total": values["amount_total"],
            "amount_discount": values["amount_discount"],
            "amount_shipping": values["amount_shipping"],
            "rate_id": values.get("shipping_rate_id"),
            "rate_name": values.get("shipping_rate_name"),
            "phone": values.get("phone"),
            "payment_intent": checkout.payment_intent or None,
            "email": checkout.customer_email or None,
            "has_address": checkout.shipping is not None,
            **{k: values.get(k) for k in _SHIP_COLUMNS},
        },
    )
    if moved.rowcount != 1:
        # The order moved between the read and the UPDATE (another delivery, the return page): take the
        # event row back out, so the full path records it with whatever it decides.
        connection.execute(_FAST_FORGET, {"id": event.id})
        return None
    connection.execute(
        _FAST_TIMELINE,
        {
            "order_id": reference,
            "at": now,
            "kind": history.EventKind.STATUS,
            "detail": f"{S.PENDING} -> {S.PAID}",
            "actor": source,
        },
    )
    return EventResult(Outcome.FULFILLED, order_id=reference, visitor_id=row.visitor_id)


def _seen_before(connection: sa.Connection, event: Event) -> EventResult | None:
    """A repeat (most repeats find their order paid already) is `duplicate` here, as the full path would
    answer; else None. An event recorded by a transaction not yet committed is not seen here: the full
    path's INSERT then waits for it and finds the duplicate."""
    seen = connection.execute(_FAST_SEEN, {"id": event.id}).first() is not None
    return EventResult(Outcome.DUPLICATE) if seen else None


def apply_webhook_events(*, session: Session, events: list[Event]) -> list[EventResult | Exception]:
    """Group commit: the fast path of every event in ONE transaction, then each other event through
    `apply_stripe_event` in its own. Results in the order of `events`; an event whose full path failed
    gets its exception (only that delivery is answered 5xx). If the shared transaction fails, this raises
    and nothing of it is recorded: every delivery of the batch is answered 5xx and Stripe retries them.
    Return only after the COMMIT: the caller answers 2xx once the outcome is on disk.
    """
    fast: list[EventResult | None] = [None] * len(events)
    with transaction(session):
        connection = session.connection()
        # In event id order: two workers' batches holding the same repeated deliveries take their event
        # rows' locks in one order (on PostgreSQL a deadlock would fail a whole batch: 5xx, retried).
        for i in sorted(range(len(events)), key=lambda i: events[i].id):
            fast[i] = _fast_step(connection, events[i], "webhook")
    results: list[EventResult | Exception] = []
    for event, result in zip(events, fast, strict=True):
        if result is None:
            try:
                result = apply_stripe_event(session=session, event=event)
            except Exception as err:  # noqa: BLE001 (handed to that delivery's caller, which answers 5xx)
                results.append(err)
                continue
        results.append(result)
    return results


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
                    stripe_created=created,
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
