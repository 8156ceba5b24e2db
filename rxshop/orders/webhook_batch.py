"""The webhook's group commit, and the fast path of its common event (a paid checkout.session.completed
for a pending order: nearly every delivery).

The fast path is five prebuilt statements instead of the ORM path (about ten statements built per event):
read the order, record the event (a repeat stops there), move the order, write its timeline row and queue
its emails (rxshop.mail.outbox: the buyer's confirmation, the owner's notice, in one INSERT). Its checks
are fulfillment's `mismatch`, its UPDATE is fulfillment's `move_order` (with a narrower WHERE) and its
timeline row is history's. Anything else (a mismatch, a refund reported first, another status, a race lost
between the read and the UPDATE) rolls back and takes `apply_stripe_event`, which decides, flags and
records exactly as for a single delivery.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlmodel import Session

from rxshop.core.db import begin_writing, error_summary, permanent_data_error
from rxshop.core.models import UTCDateTime, utcnow
from rxshop.domain.lifecycle import OrderStatus as S
from rxshop.domain.lifecycle import Outcome
from rxshop.mail import outbox
from rxshop.orders import history, stock_sales
from rxshop.orders.fulfillment import OrderTerms, mismatch, move_order, move_params
from rxshop.orders.records import transaction
from rxshop.orders.stripe_events import EventResult, apply_stripe_event, record_unprocessable
from rxshop.payments.wire import Event, PaymentStatus

logger = logging.getLogger(__name__)

_READ = sa.text(
    "SELECT visitor_id, status, currency, amount_subtotal, livemode, shipping_offer, stripe_session_id,"
    " amount_refunded FROM orders WHERE id = :id"
)
_SEEN = sa.text("SELECT 1 FROM stripe_events WHERE id = :id")
_RECORD = sa.text(
    "INSERT INTO stripe_events (id, type, session_id, order_id, stripe_created, outcome, received_at)"
    " VALUES (:id, :type, :session_id, :order_id, :created, :outcome, :received_at)"
    " ON CONFLICT (id) DO NOTHING"
).bindparams(sa.bindparam("received_at", type_=UTCDateTime()))
# The read found it pending and unrefunded: paid it is, or nothing (then the full path decides).
_PAY = move_order(S.PAID, also_where="amount_refunded = 0")


def _fast_step(connection: sa.Connection, event: Event, source: str) -> EventResult | None:
    """The fast path inside the caller's savepoint: None (the full path decides) rolls it back."""
    checkout = event.checkout
    if (
        event.type != "checkout.session.completed"
        or checkout is None
        or checkout.payment_status != PaymentStatus.PAID
        or checkout.line_items is not None
    ):
        return None
    reference = checkout.client_reference_id or None
    meta_id = checkout.metadata.get("order_id") or None
    if reference is None or (meta_id is not None and meta_id != reference):
        return None
    row = connection.execute(_READ, {"id": reference}).first()
    if (
        row is None
        or row.status != S.PENDING
        or row.amount_refunded
        or row.stripe_session_id not in (None, checkout.id)
    ):
        return _seen_before(connection, event)
    terms = OrderTerms(reference, bool(row.livemode), row.currency, row.amount_subtotal, row.shipping_offer)
    if mismatch(terms, (), checkout) is not None:  # events carry no line items: no lines read
        return _seen_before(connection, event)
    now = utcnow()
    recorded = connection.execute(
        _RECORD,
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
    if connection.execute(_PAY, move_params(terms, checkout, now, S.PENDING)).rowcount != 1:
        # The order moved between the read and the UPDATE (another delivery, the return page): the
        # savepoint takes the event row back out, so the full path records it with whatever it decides.
        return None
    connection.execute(
        history.ADD_EVENT, history.status_row(reference, S.PENDING, S.PAID, actor=source, at=now)
    )
    outbox.write(connection, outbox.paid_messages(reference), now)  # one prebuilt INSERT: the emails
    return EventResult(Outcome.FULFILLED, order_id=reference, visitor_id=row.visitor_id)


def _seen_before(connection: sa.Connection, event: Event) -> EventResult | None:
    """A repeat (most repeats find their order paid already) is `duplicate` here, as the full path would
    answer; else None. An event recorded by a transaction not yet committed is not seen here: the full
    path's INSERT then waits for it and finds the duplicate."""
    seen = connection.execute(_SEEN, {"id": event.id}).first() is not None
    return EventResult(Outcome.DUPLICATE) if seen else None


def apply_webhook_events(*, session: Session, events: list[Event]) -> list[EventResult | Exception]:
    """Group commit: the fast path of every event in ONE transaction, each in its own SAVEPOINT (an event
    that fails there leaves nothing written and takes the full path: one bad event never fails another),
    then each other event through `apply_stripe_event` in its own transaction.

    Results in the order of `events`. An event whose data the database refuses for good (a permanent data
    error: no retry can fix it) is recorded as unprocessable for the owner, as a malformed event is; any
    other failure of an event is its exception (only that delivery is answered 5xx, and Stripe retries).
    If the shared transaction itself fails (the connection is lost), this raises and nothing of it is
    recorded: every delivery of the batch is answered 5xx. Return only after the COMMIT: the caller
    answers 2xx once the outcome is on disk.
    """
    fast: list[EventResult | None] = [None] * len(events)
    with transaction(session):
        connection = session.connection()
        begin_writing(connection)
        # In event id order: two workers' batches holding the same repeated deliveries take their event
        # rows' locks in one order (on PostgreSQL a deadlock would fail a whole batch: 5xx, retried).
        for i in sorted(range(len(events)), key=lambda i: events[i].id):
            fast[i] = _isolated_fast_step(connection, events[i])
        # The units of the orders paid here, product by product for the whole batch (one lock order).
        paid = [r.order_id for r in fast if r is not None and r.outcome == Outcome.FULFILLED and r.order_id]
        stock_sales.sell_orders(connection, paid, utcnow())
    return [
        _full_path(session, event) if done is None else done for event, done in zip(events, fast, strict=True)
    ]


_SAVEPOINT = "SAVEPOINT fast_step"
_RELEASE = "RELEASE SAVEPOINT fast_step"
_UNDO = "ROLLBACK TO SAVEPOINT fast_step"  # then released: a batch's savepoints never pile up


def _isolated_fast_step(connection: sa.Connection, event: Event) -> EventResult | None:
    """The fast path in a SAVEPOINT: rolled back, leaving nothing written, unless it answers.

    Plain statements rather than `begin_nested()`: the same SAVEPOINT, for a third of the CPU (its
    bookkeeping cost about 0.1 ms per event, bench/sqlite_durability.py's CPU column).
    """
    connection.exec_driver_sql(_SAVEPOINT)
    try:
        result = _fast_step(connection, event, "webhook")
    except Exception as err:  # noqa: BLE001 (the full path decides, in its own transaction)
        result = None
        logger.warning(
            "Webhook event=%s: fast path failed (%s); the full path decides", event.id, error_summary(err)
        )
    if result is None:
        connection.exec_driver_sql(_UNDO)
    connection.exec_driver_sql(_RELEASE)
    return result


def _full_path(session: Session, event: Event) -> EventResult | Exception:
    """`apply_stripe_event`; a permanent data error makes the event unprocessable, another is handed back."""
    try:
        return apply_stripe_event(session=session, event=event)
    except Exception as err:  # noqa: BLE001 (handed to that delivery's caller, which answers 5xx)
        if not permanent_data_error(err):
            return err
        reason = error_summary(err)
    logger.error(
        "Webhook event=%s type=%s cannot be stored (%s): recorded as unprocessable for the owner",
        event.id,
        event.type,
        reason,
    )
    try:
        outcome = record_unprocessable(
            session=session,
            event_id=event.id,
            event_type=event.type,
            created=event.created,
            detail=f"the database refused its data ({reason})",
        )
    except Exception as err:  # noqa: BLE001
        return err
    return EventResult(outcome)
